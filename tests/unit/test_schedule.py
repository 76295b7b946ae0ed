"""The run's long groups are handed out first, one to each worker (tests/schedule.py)."""

from __future__ import annotations

from types import SimpleNamespace

from tests.schedule import LONG_GROUPS, LongGroupsFirst


class Worker:
    """What the scheduler sees of an xdist worker: the tests it is told to run."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.gateway = SimpleNamespace(id=name)
        self.sent: list[list[int]] = []
        self.shutting_down = False

    def send_runtest_some(self, indices: list[int]) -> None:
        self.sent.append(indices)

    def shutdown(self) -> None:
        self.shutting_down = True


class Config:
    def __init__(self, workers: int) -> None:
        self.option = SimpleNamespace(loadscopereorder=True)
        self.workers = workers

    def getvalue(self, name: str):
        assert name == "tx"
        return [f"{self.workers}*popen"]


def collection() -> list[str]:
    """As xdist's workers report it: a grouped test's id ends in ``@group``. 40 tests in
    groups larger than the long ones by count, then the long groups, then single tests."""
    ids = [f"tests/functional/test_big{n}.py::test_{i}@big{n}" for n in range(4) for i in range(10)]
    ids += [f"tests/e2e/test_page.py::test_{i}@e2e-{1 + i % 2}" for i in range(8)]
    ids += [f"tests/functional/test_limits_serve.py::test_{i}@servers" for i in range(3)]
    ids += [f"tests/unit/test_single.py::test_{i}" for i in range(20)]
    return ids


def test_the_long_groups_go_first_one_to_each_worker():
    scheduler = LongGroupsFirst(Config(3))
    workers = [Worker(f"gw{n}") for n in range(3)]
    tests = collection()
    for worker in workers:
        scheduler.add_node(worker)
        scheduler.add_node_collection(worker, tests)
    scheduler.schedule()
    first = {
        worker.name: {tests[i].rpartition("@")[2] for i in worker.sent[0]} for worker in workers
    }
    assert first == {"gw0": {"e2e-1"}, "gw1": {"e2e-2"}, "gw2": {"servers"}}
    assert LONG_GROUPS == ("e2e-1", "e2e-2", "servers")
    # The rest keep xdist's order: the largest groups by count, then the single tests.
    assert next(iter(scheduler.workqueue)) == "big0"
    assert list(scheduler.workqueue)[-1] == "tests/unit/test_single.py::test_19"
    # Every test is handed out once.
    while scheduler.workqueue:
        for worker in workers:
            for index in worker.sent[-1]:
                scheduler.mark_test_complete(worker, index)
    sent = sorted(i for worker in workers for indices in worker.sent for i in indices)
    assert sent == list(range(len(tests)))
