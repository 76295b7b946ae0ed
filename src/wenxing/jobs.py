"""Background jobs: work a request hands off and a runner does soon after (tracing a report).

A job is a row, written in the transaction of the change that needs it, so a job exists
exactly when its cause does. Runners claim jobs one at a time:

* embedded (SQLite): one runner thread per process, woken at once when this process adds
  a job and every ``POLL_SECONDS`` otherwise; a claim is a conditional update, made under
  SQLite's write lock, so two processes never claim the same job;
* PostgreSQL with several workers: every worker runs a runner; a claim is
  ``SELECT … FOR UPDATE SKIP LOCKED``, so runners never wait on each other's rows.

A claimed job is held by a lease: its runner renews ``claimed_at`` every
``LEASE_SECONDS`` / 3 while the job runs, however long it takes, so a long job is never
claimed twice. A job whose lease ran out (its runner's process died: killed, or out of
memory) is claimed again once; when its lease runs out a second time the job is
``failed`` ("its runner died twice") and its kind's give-up hook says so, rather than
handing the same poison to a third runner. A job that raises is retried up to
``MAX_ATTEMPTS`` times with a growing delay, then stays ``failed`` with its error for the
console.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import DateTime, Integer, String, Text, select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Mapped, Session, mapped_column

from wenxing.background import PollingThread, first_line
from wenxing.db.base import Base, utcnow
from wenxing.db.engine import Database, is_sqlite, rowcount

log = logging.getLogger("wenxing.jobs")

POLL_SECONDS = 2.0
LEASE_SECONDS = 60
MAX_ATTEMPTS = 3
MAX_LOST_LEASES = 2  # a job whose runner died this many times is failed, not run again
LOST_LEASE = "its runner died while running it (lease expired), twice"


class Job(Base):
    __tablename__ = "jobs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    payload: Mapped[str] = mapped_column(Text, default="{}")
    # queued → running → done | failed (queued again after an error, while attempts last)
    state: Mapped[str] = mapped_column(String(16), default="queued", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    run_after: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    claimed_by: Mapped[str | None] = mapped_column(String(80))
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


# A handler gets the runtime (database, secret, settings) and the job's payload.
Handler = Callable[[Any, dict[str, Any]], None]
GiveUp = Callable[[Any, dict[str, Any], str], None]
_HANDLERS: dict[str, Handler] = {}
_GIVE_UP: dict[str, GiveUp] = {}
_added = threading.Condition()  # notified when this process adds a job
_added_count = 0


def handler(kind: str, on_give_up: GiveUp | None = None) -> Callable[[Handler], Handler]:
    """Register the function that runs jobs of ``kind`` (it opens its own transactions), and
    what to do when a job of that kind has failed for the last time
    (``on_give_up(runtime, payload, error)``: say so where people look)."""

    def register(function: Handler) -> Handler:
        _HANDLERS[kind] = function
        if on_give_up is not None:
            _GIVE_UP[kind] = on_give_up
        return function

    return register


def enqueue(session: Session, kind: str, **payload: Any) -> Job:
    """Add a job to the caller's transaction; runners in this process look at once when the
    transaction has committed (others within ``POLL_SECONDS``)."""
    job = Job(kind=kind, payload=json.dumps(payload, ensure_ascii=False), run_after=utcnow())
    session.add(job)
    session.flush()

    from sqlalchemy import event

    @event.listens_for(session, "after_commit", once=True)
    def _wake(_session) -> None:
        global _added_count
        with _added:
            _added_count += 1
            _added.notify_all()

    return job


@dataclass(frozen=True)
class Claimed:
    id: int
    kind: str
    payload: dict[str, Any]
    attempts: int
    worker: str = ""
    abandoned: bool = False  # its lease ran out MAX_LOST_LEASES times: failed, not run


def claim(db: Database, worker: str, now: datetime | None = None) -> Claimed | None:
    """Claim the oldest runnable job, or return None."""
    now = now or utcnow()
    runnable = (Job.state == "queued") & (Job.run_after <= now)
    stale = (Job.state == "running") & (Job.claimed_at < now - timedelta(seconds=LEASE_SECONDS))
    with db.transaction() as session:
        query = select(Job).where(runnable | stale).order_by(Job.run_after, Job.id).limit(1)
        if not is_sqlite(session.get_bind()):
            query = query.with_for_update(skip_locked=True)
        job = session.scalars(query).first()
        if job is None:
            return None
        if job.state == "running" and _lost_leases(job) + 1 >= MAX_LOST_LEASES:
            taken = rowcount(
                session.execute(
                    update(Job)
                    .where(
                        Job.id == job.id, Job.state == "running", Job.claimed_at == job.claimed_at
                    )
                    .values(state="failed", finished_at=now, error=LOST_LEASE)
                    .execution_options(synchronize_session=False)
                )
            )
            if not taken:
                return None
            log.error("job %s (%s) failed: %s", job.id, job.kind, LOST_LEASE)
            payload = json.loads(job.payload)
            return Claimed(job.id, job.kind, payload, job.attempts, worker, abandoned=True)
        lost = _lost_leases(job) + (1 if job.state == "running" else 0)
        # On SQLite the write transaction (BEGIN IMMEDIATE) already excludes other claimers;
        # the conditional update keeps the claim honest anywhere.
        taken = rowcount(
            session.execute(
                update(Job)
                .where(Job.id == job.id, Job.state == job.state)
                .values(
                    state="running",
                    claimed_by=worker,
                    claimed_at=now,
                    attempts=Job.attempts + 1,
                    error=f"lease lost {lost}" if lost else Job.error,
                )
                .execution_options(synchronize_session=False)
            )
        )
        if not taken:
            return None
        if lost:
            log.warning("job %s (%s): its runner died; running it again", job.id, job.kind)
        return Claimed(job.id, job.kind, json.loads(job.payload), job.attempts + 1, worker)


def _lost_leases(job: Job) -> int:
    """How often the job's runner died holding it (kept in ``error`` while it runs)."""
    error = job.error or ""
    if error.startswith("lease lost "):
        return int(error.split()[-1])
    return 0


class _Lease:
    """Renews a running job's lease until stopped (a thread beside the job)."""

    def __init__(self, db: Database, job: Claimed) -> None:
        self.db, self.job = db, job
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="wenxing-job-lease", daemon=True)

    def __enter__(self) -> _Lease:
        self._thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(LEASE_SECONDS / 3):
            try:
                renew(self.db, self.job)
            except OperationalError as exc:  # the database is away: one line, no traceback
                log.warning(
                    "job %s: renewing its lease waits for the database (%s)",
                    self.job.id,
                    first_line(exc),
                )
            except Exception:  # (the next renewal tries again; the log says why)
                log.exception("job %s: renewing its lease failed", self.job.id)


def renew(db: Database, job: Claimed, now: datetime | None = None) -> bool:
    """Extend the lease of a job this runner holds; False when it holds it no more."""
    with db.transaction() as session:
        return bool(
            rowcount(
                session.execute(
                    update(Job)
                    .where(Job.id == job.id, Job.state == "running", Job.claimed_by == job.worker)
                    .values(claimed_at=now or utcnow())
                    .execution_options(synchronize_session=False)
                )
            )
        )


def run_one(runtime, worker: str) -> bool:
    """Claim and run one job; False when there was none."""
    db = runtime.db
    job = claim(db, worker)
    if job is None:
        return False
    if job.abandoned:
        _give_up(runtime, job, LOST_LEASE)
        return True
    function = _HANDLERS.get(job.kind)
    try:
        if function is None:
            raise LookupError(f"no handler for job kind {job.kind!r}")
        with _Lease(db, job):
            function(runtime, job.payload)
    except Exception as exc:  # (a job's failure is recorded, never raised)
        log.exception("job %s (%s) failed on attempt %s", job.id, job.kind, job.attempts)
        error = f"{exc.__class__.__name__}: {exc}"[:2000]
        if _finish(db, job, error=error):
            _give_up(runtime, job, error)
    else:
        _finish(db, job, error=None)
    return True


def _give_up(runtime, job: Claimed, error: str) -> None:
    if job.kind in _GIVE_UP:
        try:
            _GIVE_UP[job.kind](runtime, job.payload, error)
        except Exception:  # (the job stays failed; the log says why)
            log.exception("job %s (%s): recording the failure failed", job.id, job.kind)


def _finish(db: Database, job: Claimed, error: str | None) -> bool:
    """Record the outcome; True when the job has now failed for good."""
    now = utcnow()
    with db.transaction() as session:
        row = session.get(Job, job.id)
        if row is None or (job.worker and row.claimed_by != job.worker):
            return False  # gone, or another runner took it after this one lost its lease
        row.error = error
        if error is None:
            row.state, row.finished_at = "done", now
        elif job.attempts >= MAX_ATTEMPTS:
            row.state, row.finished_at = "failed", now
            return True
        else:
            row.state = "queued"
            row.run_after = now + timedelta(seconds=5 * 4 ** (job.attempts - 1))
    return False


def run_pending(runtime, worker: str | None = None, limit: int = 1000) -> int:
    """Run runnable jobs until none is left (or ``limit``); the number run."""
    worker = worker or _worker_name()
    done = 0
    while done < limit and run_one(runtime, worker):
        done += 1
    return done


def _worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"[:80]


class Runner(PollingThread):
    """A thread that runs this process's share of jobs until stopped: woken when this
    process adds a job, and every ``poll_seconds`` for other processes'."""

    thread_name = "wenxing-jobs"
    stop_seconds = 10.0
    log = log
    failed = "job runner: claiming failed; trying again"

    def __init__(self, runtime, poll_seconds: float = POLL_SECONDS):
        super().__init__(poll_seconds)
        self.runtime = runtime

    def _loop(self) -> None:
        self._worker = _worker_name()  # (the thread's own)
        super()._loop()

    def _mark(self) -> int:
        with _added:
            return _added_count

    def _round(self) -> None:
        run_pending(self.runtime, self._worker)

    def _wait(self, seen: int) -> None:
        with _added:
            if _added_count == seen and not self._stop.is_set():
                _added.wait(self.poll_seconds)

    def _wake(self) -> None:
        with _added:
            _added.notify_all()
