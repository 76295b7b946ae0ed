"""Where the test suite's CPU goes: merges what ``WENXING_TEST_CPU=DIR`` recorded (one JSON
file per pytest process, tests/cpu_record.py) and prints the tests and the modules that took
the most CPU, with their wall time, and each process's total.

    WENXING_TEST_CPU=bench/out/cpu scripts/dev test
    .venv/bin/python bench/suite_cpu.py bench/out/cpu            # top 25 tests and modules
    .venv/bin/python bench/suite_cpu.py bench/out/cpu --top 40 --json merged.json

A test's CPU is its process's (user + system, with the children it waited for) over its
setup, call and teardown; a module's is its tests' sum (its module-scoped world included).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path


def load(folder: Path) -> tuple[list[dict], dict[str, dict[str, float]]]:
    """The processes' records and every test's figures (a test run twice is summed)."""
    processes = []
    tests: dict[str, dict[str, float]] = defaultdict(lambda: {"cpu": 0.0, "wall": 0.0})
    for path in sorted(folder.glob("cpu-*.json")):
        record = json.loads(path.read_text(encoding="utf-8"))
        processes.append(record)
        for name, figures in record["tests"].items():
            tests[name]["cpu"] += figures["cpu"]
            tests[name]["wall"] += figures["wall"]
    return processes, dict(tests)


def by_module(tests: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
    modules: dict[str, dict[str, float]] = defaultdict(lambda: {"cpu": 0.0, "wall": 0.0, "n": 0})
    for name, figures in tests.items():
        module = modules[name.partition("::")[0]]
        module["cpu"] += figures["cpu"]
        module["wall"] += figures["wall"]
        module["n"] += 1
    return dict(modules)


def table(title: str, rows: dict[str, dict[str, float]], top: int, total: float) -> list[str]:
    ranked = sorted(rows.items(), key=lambda kv: kv[1]["cpu"], reverse=True)[:top]
    lines = [f"\n{title}", f"{'#':>3} {'CPU s':>8} {'share':>6} {'wall s':>8}  name"]
    for rank, (name, figures) in enumerate(ranked, 1):
        share = figures["cpu"] / total if total else 0.0
        count = f" ({int(figures['n'])} tests)" if "n" in figures else ""
        lines.append(
            f"{rank:>3} {figures['cpu']:8.1f} {share:6.1%} {figures['wall']:8.1f}  {name}{count}"
        )
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path, help="the folder WENXING_TEST_CPU named")
    parser.add_argument("--top", type=int, default=25, help="rows per table (default 25)")
    parser.add_argument("--json", type=Path, help="also write the merged figures here")
    args = parser.parse_args(argv)
    processes, tests = load(args.folder)
    if not processes:
        print(f"no cpu-*.json in {args.folder}", file=sys.stderr)
        return 1
    in_tests = sum(t["cpu"] for t in tests.values())
    whole = sum(p["cpu"] for p in processes)
    lines = [f"{len(tests)} tests in {len(processes)} processes"]
    for p in sorted(processes, key=lambda p: p["worker"]):
        lines.append(
            f"  {p['worker']:>5} (pid {p['pid']}): {p['cpu']:7.1f} s CPU, {p['wall']:7.1f} s wall,"
            f" {len(p['tests'])} tests, {p['outside']:.1f} s CPU outside the tests"
        )
    lines.append(f"CPU: {whole:.1f} s in all, {in_tests:.1f} s in the tests")
    modules = by_module(tests)
    lines += table("tests by CPU", tests, args.top, in_tests)
    lines += table("modules by CPU", modules, args.top, in_tests)
    print("\n".join(lines))
    if args.json:
        merged = {"processes": processes, "tests": tests, "modules": modules}
        args.json.write_text(json.dumps(merged, indent=1, sort_keys=True), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
