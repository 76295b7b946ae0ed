"""The evidence sandbox's cost on normal evidence: trace time with and without it.

Against a fresh SQLite database in a temporary folder: `wenxing init`, the sample imported
and published, 50 members each issued a .txt copy (the recipients a trace checks), not
timed. Per format, each round issues the sample to one more member and builds the evidence
a reporter would send: the .txt, .docx or .pdf copy itself, or a PNG screenshot of page 2
of the .pdf copy (pdftoppm, 1080 pixels wide). Each round then times, in random order:

* plain: ``evidence.read_evidence`` in this process, then ``trace.trace_all``;
* sandboxed: ``evidence.read_sandboxed`` (a child forked from the fork server under the
  default limits: 512 MB, 60 s CPU, 300 s wall), then ``trace.trace_all``;

and checks both name that member. Also timed: an empty sandbox call (the fixed cost of a
child). No bombs here: tests/bombs.py builds those for the tests, at their own sizes.

    .venv/bin/python bench/evidence_sandbox.py            # 7 rounds (PNG: 3)
    .venv/bin/python bench/evidence_sandbox.py --quick    # 3 rounds (PNG: 1)

Target (issue 19): sandboxed ≤ 1.3 × plain for the text formats (.txt .docx .pdf), median
over rounds; the PNG figure is printed beside it for information. Written to
bench/out/evidence_sandbox.json. The exit code is 0 whether the target passes or misses.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
OUT = ROOT / "bench" / "out"
SAMPLE = ROOT / "src" / "wenxing" / "demo" / "sample.txt"
FORMATS = ("txt", "docx", "pdf", "png")
TEXT_TARGET = 1.3
RECIPIENTS = 50


def open_runtime(folder: Path):
    from wenxing.config import Settings
    from wenxing.runtime import initialise

    runtime, _revision = initialise(
        Settings(
            database_url=f"sqlite:///{folder / 'bench.db'}",
            secret="s" * 40,
            search_dir=folder / "search",
        )
    )
    return runtime


def setup(runtime) -> None:
    from wenxing.delivery.issue import issue_copy
    from wenxing.materials import catalog
    from wenxing.materials.importer import ImportOptions, MaterialImporter
    from wenxing.members.service import add_member

    importer = MaterialImporter(runtime.db, runtime.settings, runtime.publisher_settings())
    importer.run([SAMPLE], ImportOptions(publish=True))
    publisher = runtime.publisher_settings()
    with runtime.db.transaction() as session:
        material = catalog.get_material(session, 1)
        for n in range(RECIPIENTS):
            member = add_member(session, f"会员{n}")
            issue_copy(
                session, runtime.secret, publisher, member, material, "txt", actor="publisher:bench"
            )


def evidence_for(runtime, fmt: str, folder: Path, n: int) -> tuple[str, bytes, str]:
    """(member number, file bytes, file name) of a newly issued copy in ``fmt``."""
    from wenxing.delivery.issue import issue_copy
    from wenxing.materials import catalog
    from wenxing.members.service import add_member

    with runtime.db.transaction() as session:
        member = add_member(session, f"对象{fmt}{n}")
        issued = issue_copy(
            session,
            runtime.secret,
            runtime.publisher_settings(),
            member,
            catalog.get_material(session, 1),
            "pdf" if fmt == "png" else fmt,
            actor="publisher:bench",
        )
        number = member.number
    if fmt != "png":
        return number, issued.data, f"copy.{fmt}"
    pdf = folder / f"copy-{n}.pdf"
    pdf.write_bytes(issued.data)
    stem = folder / f"page-{n}"
    command = ["pdftoppm", "-png", "-f", "2", "-l", "2", "-scale-to-x", "1080"]
    command += ["-scale-to-y", "-1", "-singlefile", str(pdf), str(stem)]
    subprocess.run(command, check=True)
    return number, stem.with_suffix(".png").read_bytes(), "截图.png"


def timed_trace(runtime, read, data: bytes, name: str) -> tuple[float, list[str]]:
    from wenxing.reports.trace import trace_all

    bound = float(runtime.publisher_settings().accusation_bound)
    started = time.perf_counter()
    evidence = read(data, name)
    with runtime.db.reading() as session:
        results = trace_all(session, runtime.secret, evidence, bound)
    took = time.perf_counter() - started
    named = {a["member"] for r in results for a in r.accused}
    # An exact copy tag the issuance log agrees with names its member too (reports.cases).
    named |= {
        t["member"]
        for r in results
        for t in r.copy_tags
        if t.get("issuance") == "agrees" and t.get("member")
    }
    return took, sorted(named)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="3 rounds (PNG: 1)")
    args = parser.parse_args()
    rounds = 3 if args.quick else 7
    from wenxing import sandbox
    from wenxing.reports.evidence import read_evidence, read_sandboxed

    limits = sandbox.Limits()

    def sandboxed(data: bytes, name: str):
        return read_sandboxed(data, name, limits)

    load_before = os.getloadavg()[0]
    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="wenxing-bench-sandbox-") as tmp:
        folder = Path(tmp)
        runtime = open_runtime(folder)
        setup(runtime)
        sandbox.call("builtins:len", "warm", limits=limits)  # the fork server starts once
        empty = []
        for _ in range(20):
            started = time.perf_counter()
            sandbox.call("builtins:len", "x", limits=limits)
            empty.append(time.perf_counter() - started)
        rng = random.Random(19)
        n = 0
        for fmt in FORMATS:
            plain_times, boxed_times, right = [], [], True
            for _ in range(rounds if fmt != "png" else max(1, rounds // 2 - 1)):
                n += 1
                number, data, name = evidence_for(runtime, fmt, folder, n)
                order = [("plain", read_evidence), ("sandboxed", sandboxed)]
                rng.shuffle(order)
                for label, read in order:
                    took, named = timed_trace(runtime, read, data, name)
                    (plain_times if label == "plain" else boxed_times).append(took)
                    right = right and named == [number]
            plain, boxed = statistics.median(plain_times), statistics.median(boxed_times)
            results[fmt] = {
                "plain_s": round(plain, 4),
                "sandboxed_s": round(boxed, 4),
                "ratio": round(boxed / plain, 3),
                "rounds": len(plain_times),
                "named_right": right,
            }
        runtime.close()
    load_after = os.getloadavg()[0]
    print("evidence sandbox: median trace time per format, plain vs sandboxed")
    print(f"{'format':<8}{'plain s':>10}{'sandbox s':>11}{'ratio':>8}  target   result  named")
    for fmt, r in results.items():
        text = fmt != "png"
        verdict = ("PASS" if r["ratio"] <= TEXT_TARGET else "MISS") if text else "info"
        target = f"≤{TEXT_TARGET}×" if text else "—"
        print(
            f"{fmt:<8}{r['plain_s']:>10.3f}{r['sandboxed_s']:>11.3f}{r['ratio']:>7.2f}×"
            f"  {target:<7}  {verdict:<6}  {'ok' if r['named_right'] else 'WRONG'}"
        )
    child_ms = statistics.median(empty) * 1000
    print(f"empty sandbox call (fork + limits + answer): median {child_ms:.1f} ms")
    busy = max(load_before, load_after) > 1.0
    print(
        f"load average {load_before:.2f} → {load_after:.2f}"
        + (" (the machine was busy: wall times are inflated)" if busy else "")
    )
    OUT.mkdir(parents=True, exist_ok=True)
    document = {
        "formats": results,
        "empty_call_ms": round(child_ms, 2),
        "target_text_ratio": TEXT_TARGET,
        "load": [load_before, load_after],
    }
    (OUT / "evidence_sandbox.json").write_text(json.dumps(document, indent=2), "utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
