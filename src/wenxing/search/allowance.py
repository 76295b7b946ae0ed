"""The per-minute search allowance.

Since issue 17 every search is counted in the database before it runs (``local_share``
is 0): the allowance is exact however many processes serve. The machinery below, which
let a process allow a share of the allowance in memory, is kept for the flush of counts
written before that change and may go.

What it did:

A process keeps, per subject (an account number or an address) and minute, the count it
last read from the database (``seen``) and the searches it has allowed since without
writing them (``pending``). A search is allowed here, in memory, while the subject has
fewer than ``local_share(per_minute)`` pending searches in this process (a tenth of the
allowance) and ``seen + pending`` is under the allowance. Every other search is counted in
the database at once, exactly as ``service.count_search`` counts it, together with the
subject's pending searches. Pending searches of every subject are written in one
transaction at least every ``FLUSH_SECONDS`` (by the search that finds them due) and when
the process stops (the app's shutdown, ``Runtime.close``).

What it costs in accuracy: the searches another process has allowed but not yet written
are invisible here. A process whose ``seen`` is behind can allow up to its local share
more than the allowance before its next write tells it the count, and then refuses for the
rest of the minute; so a subject gets at most ``local_share`` searches a minute per process
of the deployment beyond ``search_per_minute`` (3 per process at the default 30). Under an
allowance of 10 a minute the share is 0 and every search is counted in the database before
it runs, as before. A refusal is always right: the database's count is never below what
this process has seen and allowed.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import SQLAlchemyError

from wenxing.db.engine import Database
from wenxing.search.service import (
    RateLimited,
    add_searches,
    count_search,
    minute_of,
    retry_after,
)

log = logging.getLogger(__name__)

FLUSH_SECONDS = 1.0  # searches allowed in memory are written at least this often
LOCAL_SHARE = 10  # a process may allow 1/LOCAL_SHARE of the allowance before writing


def local_share(per_minute: int) -> int:
    """Searches of one subject a process may allow in memory between two writes: none.

    Every limit is exact under concurrency (rule 9 of the architecture), so every search is
    counted in the database, holding its subject (``service.count_search``), before it
    runs; allowing a share in memory let each worker process give a few more."""
    del per_minute
    return 0


@dataclass
class _Tally:
    seen: int = 0  # the subject's count in the database when this process last wrote it
    pending: int = 0  # allowed here, not written yet
    writing: int = 0  # being written now (with a search being counted in the database)


class SearchAllowance:
    """One database's search counts in this process, shared by its threads."""

    def __init__(
        self,
        db: Database,
        *,
        flush_seconds: float = FLUSH_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ):
        self._db = db
        self._flush_seconds = flush_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._tallies: dict[tuple[str, int], _Tally] = {}
        self._latest = 0  # the latest minute asked about
        self._flushed_at = clock()
        self._flushing = False

    def take(self, subject: str, per_minute: int, now: datetime) -> None:
        """Count one search of ``subject`` at ``now`` (naive UTC); RateLimited when the
        minute's allowance is used up."""
        minute = minute_of(now)
        with self._lock:
            self._latest = max(self._latest, minute)
            tally = self._tallies.setdefault((subject, minute), _Tally())
            if tally.seen + tally.pending + tally.writing >= per_minute:
                raise RateLimited(retry_after(now))  # the database holds at least as many
            here = tally.pending < local_share(per_minute)
            if here:
                tally.pending += 1
            else:  # counted in the database now; meanwhile it is held like the pending
                granted, tally.pending = tally.pending, 0
                tally.writing += granted + 1
            due = not self._flushing and self._clock() - self._flushed_at >= self._flush_seconds
            if due:
                self._flushing = True
        try:
            if not here:
                self._count_now(tally, subject, granted, per_minute, now)
        finally:
            if due:
                self._flush_quietly()

    def _count_now(
        self, tally: _Tally, subject: str, granted: int, per_minute: int, now: datetime
    ) -> None:
        """This search counted in the database, with the ``granted`` ones allowed before it."""
        count = None
        try:
            with self._db.transaction() as session:
                if granted:
                    add_searches(session, subject, minute_of(now), granted)
                with suppress(RateLimited):  # refused: the granted ones are still written
                    count = count_search(session, subject, per_minute, now)
        except BaseException:
            with self._lock:
                tally.writing -= granted + 1
                tally.pending += granted
            raise
        with self._lock:
            tally.writing -= granted + 1
            tally.seen = max(tally.seen, per_minute if count is None else count)
        if count is None:
            raise RateLimited(retry_after(now))

    def flush(self) -> None:
        """Write every pending count now, in one transaction."""
        with self._lock:
            self._flushing = True
            batch = [(key, tally, tally.pending) for key, tally in self._tallies.items()]
            batch = [(key, tally, n) for key, tally, n in batch if n]
            for _key, tally, n in batch:
                tally.pending -= n
                tally.writing += n
        counts: dict[tuple[str, int], int] = {}
        try:
            if batch:
                with self._db.transaction() as session:
                    for (subject, minute), _tally, n in batch:
                        counts[(subject, minute)] = add_searches(session, subject, minute, n)
        finally:
            with self._lock:
                for key, tally, n in batch:
                    tally.writing -= n
                    if key in counts:
                        tally.seen = max(tally.seen, counts[key])
                    else:  # not written: kept for the next flush
                        tally.pending += n
                self._forget_old_minutes()
                self._flushed_at = self._clock()
                self._flushing = False

    def _flush_quietly(self) -> None:
        """A flush in a search's path: a failure is logged and the counts wait for the next
        one (the search itself was allowed)."""
        try:
            self.flush()
        except SQLAlchemyError:
            log.exception("search counts not written; kept for the next flush")

    def _forget_old_minutes(self) -> None:
        old = [
            key
            for key, tally in self._tallies.items()
            if key[1] < self._latest and not tally.pending and not tally.writing
        ]
        for key in old:
            del self._tallies[key]
