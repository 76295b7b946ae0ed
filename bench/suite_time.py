"""The whole test suite's wall time, beside its target of 10 minutes.

Runs the README's test command once, ``scripts/dev test`` (ruff, mypy, import-linter, the
migration checks on both databases, then every test on SQLite and PostgreSQL, browsers
included, on every core), and prints its wall time beside the target with PASS/MISS, its
CPU time (and that over the cores: the least wall time an idle machine could take), the
test counts, the 25 slowest tests pytest reported, how fast the machine was (a fixed piece of
pure-Python work timed before and after the run), and how busy it was: the share
of the CPUs in use during a few seconds before the run (another suite or benchmark running
beside it makes every figure worse) and the load average sampled during the run.

    .venv/bin/python bench/suite_time.py                # the whole suite
    .venv/bin/python bench/suite_time.py -- tests/unit  # arguments after -- go to pytest
    WENXING_CORPUS=../shared/corpus .venv/bin/python bench/suite_time.py   # with the corpus

The suite's output is kept in bench/out/suite_time.log and the figures in
bench/out/suite_time.json. A failing suite is reported as such (its exit status is
returned): its time says nothing about a passing one.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
TARGET_SECONDS = 600.0
SUMMARY = re.compile(r"^=+ (?P<counts>.*?) in (?P<seconds>[\d.]+)s(?: \([\d:]+\))? =+$")
STEP = re.compile(r"==> \[\s*(?P<at>\d+)s\] (?P<step>.*?)(?:\x1b\[0m)?$")
DURATION = re.compile(r"^(?P<seconds>[\d.]+)s (?P<phase>setup|call|teardown)\s+(?P<test>\S.*)$")


def cpu_busy_share(seconds: float) -> float:
    """The share of all CPUs busy over ``seconds`` (from /proc/stat)."""

    def sample() -> tuple[int, int]:
        fields = [int(v) for v in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
        idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
        return sum(fields), idle

    total0, idle0 = sample()
    time.sleep(seconds)
    total1, idle1 = sample()
    spent = max(total1 - total0, 1)
    return 1.0 - (idle1 - idle0) / spent


def reference_work() -> float:
    """CPU seconds of a fixed piece of pure-Python work (dicts, strings and integers, as in
    most of the suite). The same machine kind ran a fifth faster or slower from one run to
    the next; runs compared by this figure tell a slower machine from a slower suite."""
    started = time.process_time()
    counts: dict[str, int] = {}
    for n in range(2_000_000):
        key = str(n % 5_003)
        counts[key] = counts.get(key, 0) + n % 7
    sorted(counts.items())
    return time.process_time() - started


def _children_cpu() -> float:
    """CPU seconds of this process's finished children and theirs (the whole suite: pytest,
    its workers, Chromium, the servers it started; not a PostgreSQL that detached)."""
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def minutes(seconds: float) -> str:
    return f"{int(seconds // 60)}m {seconds % 60:04.1f}s"


class LoadSampler(threading.Thread):
    """The 1-minute load average every few seconds while the suite runs."""

    def __init__(self, every: float = 5.0):
        super().__init__(daemon=True)
        self.every = every
        self.samples: list[float] = []
        self._done = threading.Event()

    def run(self) -> None:
        while not self._done.wait(self.every):
            self.samples.append(os.getloadavg()[0])

    def stop(self) -> None:
        self._done.set()
        self.join()


def run_suite(pytest_args: list[str], log: Path, echo: bool) -> tuple[int, float, list[str]]:
    command = ["bash", str(ROOT / "scripts" / "dev"), "test", *pytest_args]
    lines: list[str] = []
    started = time.perf_counter()
    with (
        log.open("w", encoding="utf-8", buffering=1) as kept,  # line by line: watchable
        subprocess.Popen(
            command,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
        ) as suite,
    ):
        assert suite.stdout is not None
        for line in suite.stdout:
            kept.write(line)
            lines.append(line.rstrip("\n"))
            if echo:
                sys.stdout.write(line)
        status = suite.wait()
    return status, time.perf_counter() - started, lines


def slowest(lines: list[str]) -> list[dict[str, object]]:
    found = []
    for line in lines:
        match = DURATION.match(line.strip())
        if match:
            found.append(
                {
                    "seconds": float(match["seconds"]),
                    "phase": match["phase"],
                    "test": match["test"],
                }
            )
    return found[:25]


def steps(lines: list[str]) -> list[tuple[int, str]]:
    """(seconds since the start, step) for each step ``scripts/dev`` announced."""
    return [(int(m["at"]), m["step"]) for line in lines if (m := STEP.search(line))]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--settle", type=float, default=10.0, help="seconds of CPU sampling before the run"
    )
    parser.add_argument("--echo", action="store_true", help="print the suite's output live")
    parser.add_argument("pytest_args", nargs="*", help="after --: arguments for pytest")
    args, _ignored = parser.parse_known_args(argv)  # `scripts/dev bench` passes its own
    OUT.mkdir(parents=True, exist_ok=True)
    log = OUT / "suite_time.log"

    busy_before = cpu_busy_share(args.settle)
    speed_before = statistics.median(reference_work() for _ in range(3))
    sampler = LoadSampler()
    sampler.start()
    children_before = _children_cpu()
    status, wall, lines = run_suite(args.pytest_args, log, args.echo)
    cpu = _children_cpu() - children_before
    sampler.stop()
    speed_after = statistics.median(reference_work() for _ in range(3))

    # The main run's summary comes first; the attack run alone (when there is one) after it.
    summaries = [m for line in lines if (m := SUMMARY.match(line.strip()))]
    summary = summaries[0] if summaries else None
    counts = summary["counts"] if summary else "no pytest summary (see the log)"
    pytest_seconds = float(summary["seconds"]) if summary else None
    load = statistics.mean(sampler.samples) if sampler.samples else os.getloadavg()[0]
    verdict = "PASS" if wall <= TARGET_SECONDS else "MISS"
    cores = os.cpu_count() or 1

    print(f"suite time (scripts/dev test, {cores} cores)")
    print(
        f"  whole command   {minutes(wall):>10}   target <= {minutes(TARGET_SECONDS)}   {verdict}"
    )
    if pytest_seconds is not None:
        print(f"  pytest alone    {minutes(pytest_seconds):>10}   ({counts})")
        for later in summaries[1:]:
            print(f"  then alone      {minutes(float(later['seconds'])):>10}   ({later['counts']})")
    else:
        print(f"  pytest          {counts}")
    print(
        f"  machine         {busy_before:.0%} of the CPUs busy in the {args.settle:.0f} s "
        f"before the run; load average during the run {load:.1f} "
        f"(max {max(sampler.samples, default=load):.1f}) on {cores} cores"
    )
    print(
        f"  machine speed   reference work {speed_before:.2f} s of CPU before the run, "
        f"{speed_after:.2f} s after (medians of 3; lower is faster: compare runs by it)"
    )
    # On a shared machine the wall time says more about the others than about the suite;
    # its CPU time spread over every core is what it would take at best on an idle one.
    print(
        f"  CPU time        {minutes(cpu):>10}   on {cores} cores at best "
        f"{minutes(cpu / cores)} of wall time on an idle machine"
    )
    if busy_before > 0.15:
        print("  NOTE: the machine was busy before the run; the figure is pessimistic")
    if status != 0:
        print(f"  the suite FAILED (exit status {status}); see {log.relative_to(ROOT)}")
    announced = steps(lines)
    if announced:
        print("  steps (seconds since the start of scripts/dev test):")
        for at, step in announced:
            print(f"    {at:6d}s  {step}")
    durations = slowest(lines)
    if durations:
        print("  the 25 slowest test phases (pytest --durations=25):")
        for row in durations:
            print(f"    {row['seconds']:7.2f}s {row['phase']:<8} {row['test']}")

    (OUT / "suite_time.json").write_text(
        json.dumps(
            {
                "wall_seconds": round(wall, 1),
                "cpu_seconds": round(cpu, 1),
                "pytest_seconds": pytest_seconds,
                "target_seconds": TARGET_SECONDS,
                "verdict": verdict,
                "exit_status": status,
                "counts": counts,
                "cpu_busy_before": round(busy_before, 3),
                "load_mean": round(load, 2),
                "load_samples": sampler.samples,
                "reference_work_seconds": [round(speed_before, 3), round(speed_after, 3)],
                "cores": cores,
                "steps": announced,
                "slowest": durations,
            },
            indent=2,
            ensure_ascii=False,
        ),
        encoding="utf-8",
    )
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
