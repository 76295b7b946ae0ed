"""Engines and transactions.

SQLite is used as a real database: WAL journal, a busy timeout, foreign keys on, and
write transactions opened with ``BEGIN IMMEDIATE`` so that two writers queue on the lock
instead of failing half-way with "database is locked" when a read lock is upgraded.
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import CursorResult, Result, make_url
from sqlalchemy.orm import Session, sessionmaker

SQLITE_BUSY_TIMEOUT_MS = 30_000
LOCK_SUFFIX = "-writers.lock"
_WRITE_OPTION = "wenxing_write"
_LATER = "wenxing_write_later"


class DatabaseUrlError(ValueError):
    """The database URL is not one wenxing can use."""


def normalise_url(url: str) -> str:
    """Accept the short PostgreSQL forms and point them at the psycopg 3 driver."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    try:
        parsed = make_url(url)
    except Exception as exc:
        raise DatabaseUrlError(f"cannot parse database URL {url!r}") from exc
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise DatabaseUrlError(
            f"unsupported database {parsed.get_backend_name()!r}; use sqlite:/// or postgresql://"
        )
    return url


def make_engine(url: str, **kwargs) -> Engine:
    url = normalise_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _make_sqlite_engine(url, parsed.database, **kwargs)
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


def _make_sqlite_engine(url: str, database: str | None, **kwargs) -> Engine:
    if database and database != ":memory:":
        parent = Path(database).expanduser().resolve().parent
        if not parent.is_dir():
            raise DatabaseUrlError(f"folder {parent} for the SQLite database does not exist")
    engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:
        # Let SQLAlchemy, not pysqlite, decide when transactions begin (see _on_begin).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        if conn.get_execution_options().get(_WRITE_OPTION):
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            conn.exec_driver_sql("BEGIN")

    return engine


def is_sqlite(engine: Engine | Connection) -> bool:
    return engine.dialect.name == "sqlite"


def rowcount(result: Result[Any]) -> int:
    """The rows an INSERT, UPDATE or DELETE touched: its result is a ``CursorResult``,
    which the type of ``Session.execute`` does not say."""
    return cast("CursorResult[Any]", result).rowcount


log = logging.getLogger(__name__)


def is_write_session(session: Session) -> bool:
    """Whether ``session`` came from :meth:`Database.transaction` (a write transaction)."""
    return bool(session.get_bind().get_execution_options().get(_WRITE_OPTION))


class WriteTurn:
    """Writers of one SQLite database taking turns, in this process and across processes.

    Threads of one process wait on a re-entrant Python lock; the thread holding it then
    waits on an exclusive ``flock`` of a file beside the database, which the kernel hands
    to the next process the moment the holder lets go. Without the file lock, two worker
    processes met only at SQLite's own lock, whose busy handler polls with sleeps growing
    to 100 ms: under load an unlucky request waited most of a second. SQLite's lock and
    busy timeout still guard against writers that do not take this turn (a second copy
    of the command line, ``sqlite3`` by hand).

    The file is opened per process (after a fork the parent's descriptor would share its
    lock); where it cannot be made (a read-only folder) the turn is per process only."""

    def __init__(self, lock_path: Path | None):
        self._path = lock_path
        self._threads = threading.RLock()
        self._depth = 0
        self._fd: int | None = None
        self._fd_pid = 0

    def _file(self) -> int | None:
        if self._path is None:
            return None
        if self._fd is not None and self._fd_pid == os.getpid():
            return self._fd
        try:
            self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        except OSError as exc:
            log.warning(
                "cannot open %s (%s); SQLite writers queue per process only",
                self._path,
                exc.strerror,
            )
            self._path = None
            return None
        self._fd_pid = os.getpid()
        return self._fd

    def __enter__(self) -> WriteTurn:
        self._threads.acquire()
        if self._depth == 0:
            fd = self._file()
            if fd is not None:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX)
                except BaseException:
                    self._threads.release()
                    raise
        self._depth += 1
        return self

    def __exit__(self, *_exc) -> None:
        self._depth -= 1
        try:
            if self._depth == 0 and self._fd is not None and self._fd_pid == os.getpid():
                fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self._threads.release()

    def close(self) -> None:
        if self._fd is not None and self._fd_pid == os.getpid():
            os.close(self._fd)
        self._fd = None


def _sqlite_lock_path(engine: Engine) -> Path | None:
    database = engine.url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database).expanduser().resolve().with_name(Path(database).name + LOCK_SUFFIX)


def write_later(session: Session, write: Callable[[Session], None]) -> None:
    """Run ``write(session)`` now in a write transaction, or, in a read-only unit of work,
    in a short write transaction of its own once the read is over."""
    later = session.info.get(_LATER)
    if later is None:
        write(session)
    else:
        later.append(write)


class Database:
    """An engine and the two kinds of unit of work the services run in."""

    def __init__(self, url: str, engine: Engine | None = None):
        self.url = normalise_url(url)
        self.engine = engine if engine is not None else make_engine(self.url)
        self._reader = sessionmaker(self.engine, expire_on_commit=False)
        self._writer = sessionmaker(
            self.engine.execution_options(**{_WRITE_OPTION: True}), expire_on_commit=False
        )
        self._write_turn = (
            WriteTurn(_sqlite_lock_path(self.engine)) if is_sqlite(self.engine) else nullcontext()
        )

    @property
    def backend(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One write transaction: committed when the block ends, rolled back on any error.

        On SQLite writers take turns here (:class:`WriteTurn`) before asking SQLite for its
        write lock: they wait in line instead of all polling SQLite's lock with growing
        sleeps (which gave the unlucky ones seconds under load). The turn is re-entrant,
        as a nested write transaction on one thread already was."""
        with self._write_turn, self._writer() as session, session.begin():
            yield session

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """A read-only unit of work (never committed; what it loaded stays readable after
        the block, detached). On SQLite it does not take the write
        lock, so pages that only read never queue behind each other or behind writers.

        A write that can wait until the read is over (a device's last-seen time) is handed
        to :func:`write_later`; such writes are made in one short write transaction after
        the block ends without an error."""
        later: list[Callable[[Session], None]] = []
        with self._reader() as session:
            session.info[_LATER] = later
            try:
                yield session
            finally:
                # Ends the transaction like a rollback, but keeps what was loaded: objects
                # read here are used after the block (a page renders them).
                session.close()
        if later:
            with self.transaction() as writing:
                for write in later:
                    write(writing)

    def dispose(self) -> None:
        self.engine.dispose()
        if isinstance(self._write_turn, WriteTurn):
            self._write_turn.close()
