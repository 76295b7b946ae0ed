"""Where the suite's CPU goes: a pytest plugin, on when ``WENXING_TEST_CPU=DIR`` is set.

For each test it records the CPU seconds (user + system) of the process running it, the xdist
worker, with its waited-for children (``getrusage`` of ``RUSAGE_SELF`` plus
``RUSAGE_CHILDREN``: ``waited``) and with the change in those of its descendants still
running (``/proc/PID/stat``: a Chromium, a fork server and its children), ``cpu`` being the
sum, and the wall seconds, over setup, call and teardown together, and writes them, one
JSON file per process, to ``DIR`` when the session ends (``bench/suite_cpu.py DIR`` merges
them and prints the top tests and modules).

What a figure covers:
- a module- or session-scoped fixture is built in the setup of its first test and torn down
  in the teardown of its last: its cost is on those tests (a module's total is right);
- a child is counted as it runs (a Chromium kept across tests in the tests that use it;
  when it is waited for, its CPU moves from the live to the waited figure, counted once),
  but a process that left the tree (a daemon, an orphan) or was never in it (PostgreSQL's
  backends) is not; ``waited`` alone counts a live child only in the test that waits for
  it (``CHROMIUM_PROCESS.close()`` runs in the setup of the first test after the browser
  tests);
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


TICK = os.sysconf("SC_CLK_TCK")


def _cpu() -> float:
    """This process's CPU seconds with those of the children it waited for."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _process_table() -> dict[int, tuple[int, int, int]]:
    """Every process's (parent, own CPU ticks, its waited-for children's ticks)."""
    table = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as stat:
                raw = stat.read()
        except OSError:
            continue  # gone meanwhile
        fields = raw[raw.rfind(b")") + 2 :].split()
        own, waited = int(fields[11]) + int(fields[12]), int(fields[13]) + int(fields[14])
        table[int(entry.name)] = (int(fields[1]), own, waited)
    return table


def _children_cpu() -> float:
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


class LiveDescendants:
    """The CPU seconds so far of the processes below ``root`` (``/proc/PID/stat``): those
    running, with the children each waited for, and those that left the tree unwaited for
    (orphans). One waited for by a running descendant is in that one's figure from then on;
    what ``root`` waited for is in its ``RUSAGE_CHILDREN``: of the processes that left
    below ``root`` (its children and theirs that went with them: a stopped server and its
    workers, a closed Chromium), what that did not grow by is counted as orphaned."""

    def __init__(self, root: int):
        self.root = root
        self.seen: dict[int, tuple[int, int, int]] = {}
        self.gone = 0.0
        self.reaped = _children_cpu()

    def __call__(self) -> float:
        table = _process_table()
        reaped = _children_cpu()
        children: dict[int, list[int]] = {}
        for pid, (parent, _own, _waited) in table.items():
            children.setdefault(parent, []).append(pid)
        now, stack = {}, list(children.get(self.root, []))
        while stack:
            pid = stack.pop()
            now[pid] = table[pid]
            stack.extend(children.get(pid, []))
        left = 0  # ticks of those gone with no running parent in the tree
        for pid, (parent, own, waited) in self.seen.items():
            if pid in now:
                continue
            if pid in table:  # running outside the tree: its parent died first
                self.gone += (own + waited) / TICK
            elif parent in now:  # exited: did its parent wait for it?
                if now[parent][2] - self.seen[parent][2] < own + waited:
                    self.gone += (own + waited) / TICK
            else:
                left += own + waited
        self.gone += max(0.0, left / TICK - (reaped - self.reaped))
        self.seen, self.reaped = now, reaped
        return self.gone + sum(own + waited for _p, own, waited in now.values()) / TICK


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
        self.live = LiveDescendants(os.getpid()) if Path("/proc/self/stat").exists() else None
        self.started_wall = time.monotonic()

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_protocol(self, item: pytest.Item) -> Iterator[None]:
        cpu0, live0, wall0 = _cpu(), self._live(), time.monotonic()
        try:
            return (yield)
        finally:
            waited = _cpu() - cpu0
            live = self._live() - live0
            self.tests[_test_id(item)] = {
                "cpu": round(waited + live, 4),
                "waited": round(waited, 4),
                "wall": round(time.monotonic() - wall0, 4),
                # when it started, in seconds since the process started: the file keeps the
                # tests sorted by id, so this is what says in which order they ran
                "start": round(wall0 - self.started_wall, 3),
            }

    def _live(self) -> float:
        return self.live() if self.live else 0.0

    def pytest_sessionfinish(self) -> None:
        if not self.tests:
            return  # a --collect-only run
        cpu = _cpu() + self._live()  # its whole life, its start and collection included
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
