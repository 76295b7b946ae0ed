"""Where the suite's CPU goes: a pytest plugin, on when ``WENXING_TEST_CPU=DIR`` is set.

For each test it records the CPU seconds (user + system) of the process running it, the xdist
worker, with its waited-for children (``getrusage`` of ``RUSAGE_SELF`` plus
``RUSAGE_CHILDREN``), and the wall seconds, over setup, call and teardown together, and
writes them, one JSON file per process, to ``DIR`` when the session ends
(``bench/suite_cpu.py DIR`` merges them and prints the top tests and modules).

What a figure covers:
- a module- or session-scoped fixture is built in the setup of its first test and torn down
  in the teardown of its last: its cost is on those tests (a module's total is right);
- a child counts only once waited for: a server or Chromium kept across tests is counted in
  the test that stops it (``CHROMIUM_PROCESS.close()`` runs in the setup of the first test
  after the browser tests), a detached process (PostgreSQL's own backends) never;
- what the process spends outside the tests (its start, collection) is kept per file as
  ``outside`` so that the sum of the tests and it is the whole process.
"""

from __future__ import annotations

import json
import os
import resource
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

ENV = "WENXING_TEST_CPU"


def _cpu() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _test_id(item: pytest.Item) -> str:
    """The test's id without the ``@group`` xdist appends to a grouped test's id."""
    nodeid = item.nodeid
    if item.get_closest_marker("xdist_group") is not None and "@" in nodeid:
        nodeid = nodeid.rsplit("@", 1)[0]
    return nodeid


class CpuRecorder:
    def __init__(self, folder: Path, worker: str):
        self.folder = folder
        self.worker = worker
        self.tests: dict[str, dict[str, float | str]] = {}
        self.started_wall = time.monotonic()

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_protocol(self, item: pytest.Item) -> Iterator[None]:
        cpu0, wall0 = _cpu(), time.monotonic()
        try:
            return (yield)
        finally:
            self.tests[_test_id(item)] = {
                "cpu": round(_cpu() - cpu0, 4),
                "wall": round(time.monotonic() - wall0, 4),
            }

    def pytest_sessionfinish(self) -> None:
        cpu = _cpu()  # the process's whole life, its start and collection included
        wall = time.monotonic() - self.started_wall
        in_tests = sum(float(t["cpu"]) for t in self.tests.values())
        self.folder.mkdir(parents=True, exist_ok=True)
        record = {
            "worker": self.worker,
            "pid": os.getpid(),
            "cpu": round(cpu, 3),
            "wall": round(wall, 3),
            "outside": round(cpu - in_tests, 3),
            "tests": self.tests,
        }
        path = self.folder / f"cpu-{self.worker}-{os.getpid()}.json"
        path.write_text(json.dumps(record, indent=1, sort_keys=True), encoding="utf-8")


def register(config: pytest.Config) -> None:
    """Register the recorder if ``WENXING_TEST_CPU`` names a folder. Under xdist only the
    workers record (they run the tests); the controller does not."""
    folder = os.environ.get(ENV)
    if not folder:
        return
    workerinput = getattr(config, "workerinput", None)
    if workerinput is None and getattr(config.option, "numprocesses", None):
        return  # xdist's controller: it runs no test
    worker = workerinput["workerid"] if workerinput else "main"
    config.pluginmanager.register(CpuRecorder(Path(folder), worker), "wenxing-cpu-record")
