"""The order in which xdist hands out the run's work: the groups that take minutes first.

``--dist loadgroup`` makes each xdist group one unit of work and every other test a unit of
its own, and hands the units out largest first by number of tests (pytest-xdist 3.8,
``LoadScopeScheduling.schedule``), a worker asking for the next when it has two tests or
fewer left. A group's number of tests says little about its time: the ``servers`` group
(tests/functional/test_limits_serve.py, test_live_serve.py, test_metrics.py) has 8 tests and
runs for over three minutes on its worker, one after another by design, while 14 groups
with more tests came before it (the browser halves, test_search.py's 34, …). Handed out
after them, it could start minutes into the run and be the last thing running, two cores
idle beside it. Handed out with the browser halves at the start, it runs beside them and
the many short tests fill the workers that finish first.
"""

from __future__ import annotations

from xdist.scheduler import LoadGroupScheduling

# The groups that take minutes on one worker, in the order they are handed out: one to
# each worker at the start (three workers on the 2-core reference machine). Every other
# unit keeps xdist's order after them.
LONG_GROUPS = ("e2e-1", "e2e-2", "servers")


class LongGroupsFirst(LoadGroupScheduling):
    """xdist's ``loadgroup`` scheduling with ``LONG_GROUPS`` at the head of its queue."""

    _ordered = False

    def _assign_work_unit(self, node) -> None:
        if not self._ordered:  # the queue is complete by the first assignment
            self._ordered = True
            for scope in reversed(LONG_GROUPS):
                if scope in self.workqueue:
                    self.workqueue.move_to_end(scope, last=False)
        super()._assign_work_unit(node)
