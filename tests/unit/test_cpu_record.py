"""The suite's CPU recorder (WENXING_TEST_CPU, tests/cpu_record.py) and its report
(bench/suite_cpu.py): a child's CPU is counted once, while it runs and after it is waited
for; the report sums tests into modules."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

from bench import suite_cpu

from tests.cpu_record import LiveDescendants, _cpu

BURN = "import time\nend = time.process_time() + 0.6\nwhile time.process_time() < end: pass\n"


def test_a_childs_cpu_is_counted_while_it_runs_and_once_when_waited_for():
    live = LiveDescendants(os.getpid())
    start = _cpu() + live()
    child = subprocess.Popen(
        [sys.executable, "-c", BURN + "import sys; sys.stdin.read()"], stdin=subprocess.PIPE
    )
    try:
        # Burning, not yet waited for: only the live figure sees it.
        deadline = time.monotonic() + 60
        while _cpu() + live() - start < 0.6:
            assert time.monotonic() < deadline, "the running child's CPU was not seen"
            time.sleep(0.05)
    finally:
        child.communicate(b"")  # it exits and is waited for
    total = _cpu() + live() - start
    assert 0.6 <= total < 1.1  # once, not twice (1.2), with the interpreter's start


def test_the_report_sums_tests_into_modules(tmp_path, capsys):
    for worker, tests in {
        "gw0": {"tests/a.py::t1": 2.0, "tests/b.py::t1": 1.0},
        "gw1": {"tests/a.py::t2[sqlite]": 3.0},
    }.items():
        record = {
            "worker": worker,
            "pid": 1,
            "cpu": sum(tests.values()) + 0.5,
            "wall": 9.0,
            "outside": 0.5,
            "tests": {
                name: {"cpu": cpu, "waited": cpu, "wall": cpu} for name, cpu in tests.items()
            },
        }
        (tmp_path / f"cpu-{worker}-1.json").write_text(json.dumps(record))
    merged = tmp_path / "merged.json"
    assert suite_cpu.main([str(tmp_path), "--json", str(merged)]) == 0
    modules = json.loads(merged.read_text())["modules"]
    assert modules["tests/a.py"] == {"cpu": 5.0, "wall": 5.0, "n": 2}
    assert modules["tests/b.py"]["cpu"] == 1.0
    out = capsys.readouterr().out
    assert "CPU: 7.0 s in all, 6.0 s in the tests" in out
    assert out.index("tests/a.py::t2[sqlite]") < out.index("tests/a.py::t1")
