"""The hub: one per app process, handing committed events to the open SSE streams.

A thread waits for events and reads them from the outbox (``live_events``) in id order
beyond the last one it has seen:

* on PostgreSQL it LISTENs on ``wenxing_events`` with a connection of its own, so a commit
  in any worker wakes it at once;
* on SQLite it waits on this process's commits (``events.wait_for_commit``);
* on both it also reads the table every ``POLL_SECONDS``, which catches a notification
  it missed and events written by another process (the CLI, another worker on SQLite).

On PostgreSQL an event's id is taken when it is written but seen at commit, so a smaller
id can appear after a larger one. Missing ids are remembered for ``GAP_SECONDS`` and asked
for again; an event later than that (or one a client was offline for) is read from the
table when the client resumes with ``Last-Event-ID``.

Each stream has a bounded queue on its event loop; a stream that falls ``QUEUE_SIZE``
events behind is closed (its browser reconnects and resumes from the table) rather than
holding memory for a client that does not read. The thread also checks the streams'
sessions every ``ROLE_SECONDS`` (a role is worked out once when a stream opens, not per
event): a stream whose session ended (signed out, a new password, a suspension, expiry) or
whose role changed is closed, so nothing reaches a reader who may no longer see it (the
browser reconnects as who it now is). It runs the expiry reminders every ``REMIND_SECONDS``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.exc import OperationalError

from wenxing.background import first_line
from wenxing.db.base import utcnow
from wenxing.db.engine import Database, is_sqlite
from wenxing.live import events
from wenxing.live.models import LiveEvent

log = logging.getLogger("wenxing.live")

POLL_SECONDS = 2.0
QUEUE_SIZE = 100
BATCH = 500
GAP_SECONDS = 30.0
MAX_GAPS = 1000
ROLE_SECONDS = 30.0  # issue 17: an ended session's stream closes within this
REMIND_SECONDS = 300.0
BACKLOG = 200  # events a resuming client is sent at most
_WAIT_SLICE = 0.5  # how long the PostgreSQL wait blocks before looking at the stop flag

MEMBER_ROLES = ("member", "editor", "admin")
STAFF_ROLES = ("editor", "admin")


def audiences(member_id: int | None, role: str) -> list[str]:
    """The audiences an account with ``role`` (entitlement.role_now) may see."""
    seen = ["public"]
    if role in MEMBER_ROLES:
        seen.append("members")
    if role in STAFF_ROLES:
        seen.append("staff")
    if member_id is not None:
        seen.append(f"member:{member_id}")
    return seen


def visible(type_: str, audience: str, member_id: int | None, role: str) -> bool:
    if audience == "members" and type_ == events.NOTIFICATION:
        # The new-material notice is one event for the rows added to every member with a
        # subscription now (announce.py); staff get no row, so no bell change either.
        return role == "member"
    return audience in audiences(member_id, role)


def encode(event_id: int, type_: str, payload: str) -> bytes:
    """One SSE message (the payload is the stored JSON: one line)."""
    data = "".join(f"data: {line}\n" for line in payload.splitlines() or [""])
    return f"id: {event_id}\nevent: {type_}\n{data}\n".encode()


@dataclass(frozen=True)
class Frame:
    id: int
    data: bytes


class Stream:
    """One open SSE connection: who it is for and its queue (used on its event loop)."""

    def __init__(
        self, loop: asyncio.AbstractEventLoop, member_id: int | None, role: str, token: str | None
    ):
        self.loop = loop
        self.member_id = member_id
        self.role = role
        self.token = token
        self.role_at = time.monotonic()
        self.queue: asyncio.Queue[Frame | None] = asyncio.Queue(QUEUE_SIZE)
        self.closed = False

    def offer(self, frame: Frame) -> None:
        if self.closed:
            return
        try:
            self.queue.put_nowait(frame)
        except asyncio.QueueFull:  # a client that does not read: it reconnects and resumes
            log.info("live: dropping a stream %s events behind", QUEUE_SIZE)
            self.close()

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        while not self.queue.empty():
            self.queue.get_nowait()
        self.queue.put_nowait(None)

    async def next(self, timeout: float) -> Frame | bool | None:
        """The next frame; None when the stream is closed; False after ``timeout``."""
        try:
            return await asyncio.wait_for(self.queue.get(), timeout)
        except TimeoutError:
            return False


def _offer_all(streams: list[Stream], frame: Frame) -> None:
    for stream in streams:
        stream.offer(frame)


def _close_all(streams: list[Stream]) -> None:
    for stream in streams:
        stream.close()


@dataclass
class _Cursor:
    """Where the hub is in the outbox: the last id read and the ids still missing."""

    last: int = 0
    gaps: dict[int, float] = field(default_factory=dict)

    def advance(self, ids: list[int], now: float) -> None:
        for event_id in ids:
            self.gaps.pop(event_id, None)
            if event_id > self.last:
                self.gaps.update(dict.fromkeys(range(self.last + 1, event_id), now))
                self.last = event_id
        for event_id, since in list(self.gaps.items()):
            if now - since > GAP_SECONDS:
                del self.gaps[event_id]
        while len(self.gaps) > MAX_GAPS:
            del self.gaps[min(self.gaps)]


RoleLookup = Callable[[Database, "Stream", datetime], "str | None"]


class Hub:
    """This process's dispatcher. ``role_of(db, stream, now)`` gives a stream's role now
    (None: its session has ended); ``remind(db, now)`` runs the periodic reminders."""

    def __init__(
        self,
        db: Database,
        *,
        role_of: RoleLookup | None = None,
        remind: Callable[[Database, datetime], object] | None = None,
        poll_seconds: float = POLL_SECONDS,
    ):
        self.db = db
        self.role_of = role_of
        self.remind = remind
        self.poll_seconds = poll_seconds
        self._streams: set[Stream] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._cursor = _Cursor()
        self._listener: Any = None  # the PostgreSQL LISTEN connection (psycopg)
        self.dispatched = 0

    # -- streams (called on the event loop) --------------------------------------------
    def subscribe(self, member_id: int | None, role: str, token: str | None = None) -> Stream:
        stream = Stream(asyncio.get_running_loop(), member_id, role, token)
        if self._stop.is_set():
            stream.close()
            return stream
        with self._lock:
            self._streams.add(stream)
        return stream

    def unsubscribe(self, stream: Stream) -> None:
        with self._lock:
            self._streams.discard(stream)

    def count(self) -> int:
        with self._lock:
            return len(self._streams)

    # -- the thread --------------------------------------------------------------------
    def start(self) -> None:
        if self._thread is not None:
            return
        with self.db.reading() as session:
            self._cursor.last = session.scalar(select(func.max(LiveEvent.id))) or 0
        self._thread = threading.Thread(target=self._run, name="wenxing-live", daemon=True)
        self._thread.start()

    def close_streams(self) -> None:
        """End every open stream (the server is stopping; may be called from any thread or
        a signal handler). New streams are closed at once from now on."""
        self._stop.set()
        with self._lock:
            streams, self._streams = list(self._streams), set()
        for loop, group in _by_loop(streams).items():
            with contextlib.suppress(RuntimeError):  # that loop has already closed
                loop.call_soon_threadsafe(_close_all, group)

    def stop(self, timeout: float = 5.0) -> None:
        self.close_streams()
        with events._committed:  # wake the SQLite wait
            events._committed.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        sqlite = is_sqlite(self.db.engine)
        next_roles = time.monotonic() + ROLE_SECONDS
        next_remind = time.monotonic() + 5.0  # let the app start first
        seen = events.committed_count()
        while not self._stop.is_set():
            try:
                if sqlite:
                    seen = events.wait_for_commit(seen, self.poll_seconds)
                else:
                    self._wait_for_notify()
                if self._stop.is_set():
                    break
                self.dispatch_new()
                now = time.monotonic()
                if now >= next_roles:
                    next_roles = now + ROLE_SECONDS
                    self.refresh_roles()
                if self.remind is not None and now >= next_remind:
                    next_remind = now + REMIND_SECONDS
                    self.remind(self.db, utcnow())
            except _database_away() as exc:
                log.warning("live hub: database unreachable (%s); trying again", first_line(exc))
                self._drop_listener()
                self._stop.wait(self.poll_seconds)
            except Exception:
                log.exception("live hub: reading events failed; trying again")
                self._drop_listener()
                self._stop.wait(self.poll_seconds)
        self._drop_listener()

    def _wait_for_notify(self) -> None:
        """Block until a NOTIFY arrives or ``poll_seconds`` pass (or the hub stops)."""
        deadline = time.monotonic() + self.poll_seconds
        if self._listener is None:
            self._listener = _listen(self.db)
        while not self._stop.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                return
            for _notify in self._listener.notifies(timeout=min(left, _WAIT_SLICE), stop_after=1):
                return

    def _drop_listener(self) -> None:
        if self._listener is not None:
            with contextlib.suppress(Exception):
                self._listener.close()
            self._listener = None

    def dispatch_new(self) -> int:
        """Read events beyond the cursor (and the missing ids) and hand them out."""
        handed = 0
        while True:
            cursor = self._cursor
            condition = LiveEvent.id > cursor.last
            if cursor.gaps:
                condition = or_(condition, LiveEvent.id.in_(list(cursor.gaps)))
            with self.db.reading() as session:
                rows = session.execute(
                    select(LiveEvent.id, LiveEvent.type, LiveEvent.audience, LiveEvent.payload)
                    .where(condition)
                    .order_by(LiveEvent.id)
                    .limit(BATCH)
                ).all()
            cursor.advance([r.id for r in rows], time.monotonic())
            for row in rows:
                self._hand_out(row.id, row.type, row.audience, row.payload)
            handed += len(rows)
            if len(rows) < BATCH:
                return handed

    def _hand_out(self, event_id: int, type_: str, audience: str, payload: str) -> None:
        with self._lock:
            targets = [s for s in self._streams if visible(type_, audience, s.member_id, s.role)]
        if not targets:
            return
        frame = Frame(event_id, encode(event_id, type_, payload))
        for loop, group in _by_loop(targets).items():
            try:
                loop.call_soon_threadsafe(_offer_all, group, frame)
            except RuntimeError:
                with self._lock:
                    self._streams.difference_update(group)
        self.dispatched += 1

    def refresh_roles(self) -> None:
        """Check each signed-in stream's session and role again: a stream whose session has
        ended or whose role changed (a membership that began or ended, a suspension) is
        closed; its browser reconnects as who it now is."""
        if self.role_of is None:
            return
        with self._lock:
            signed_in = [s for s in self._streams if s.member_id is not None]
        now = utcnow()
        for stream in signed_in:
            role = self.role_of(self.db, stream, now)
            if role is None or role != stream.role:
                self.unsubscribe(stream)
                with contextlib.suppress(RuntimeError):
                    stream.loop.call_soon_threadsafe(stream.close)
            else:
                stream.role_at = time.monotonic()


def _by_loop(streams: list[Stream]) -> dict[asyncio.AbstractEventLoop, list[Stream]]:
    grouped: dict[asyncio.AbstractEventLoop, list[Stream]] = {}
    for stream in streams:
        grouped.setdefault(stream.loop, []).append(stream)
    return grouped


def _database_away() -> tuple[type[Exception], ...]:
    """The errors of a database that went away: SQLAlchemy's, and psycopg's own from the
    LISTEN connection once it has loaded psycopg (an installation on SQLite never does)."""
    psycopg = sys.modules.get("psycopg")
    return (OperationalError,) if psycopg is None else (OperationalError, psycopg.OperationalError)


def _listen(db: Database):
    import psycopg

    url = db.engine.url.set(drivername="postgresql")
    connection = psycopg.connect(url.render_as_string(hide_password=False), autocommit=True)
    connection.execute(f"LISTEN {events.CHANNEL}")
    return connection
