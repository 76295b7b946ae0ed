"""Opening an installation: database, schema revision, server secret and settings."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.exc import OperationalError, SQLAlchemyError

from wenxing import installation, schema, serverkey, wiring
from wenxing.config import PublisherSettings, Settings, settings_changes_here
from wenxing.db import migrate
from wenxing.db.engine import Database
from wenxing.live import bot_credentials
from wenxing.search import gauges
from wenxing.search.allowance import SearchAllowance
from wenxing.search.sync import NODE_OPENING, NodeIndex

SETTINGS_SECONDS = 1.0  # how stale another process's setting change may be
_ALLOWANCE_MADE = threading.Lock()


class NotReady(RuntimeError):
    """The installation cannot be used as it is; the message says what to do."""


class DatabaseDown(NotReady):
    """The database cannot be reached (it may come back: a server waits for it)."""


@dataclass
class Runtime:
    settings: Settings
    db: Database
    secret: bytes
    # How long a search waits for a rebuild of a damaged or stale index before answering
    # from the database (None: until it is done, as the command line does; the server
    # sets a few seconds).
    search_wait: float | None = None
    _search: Any = field(default=None, repr=False)
    _allowance: Any = field(default=None, repr=False)
    _settings: tuple | None = field(default=None, repr=False)

    def publisher_settings(self) -> PublisherSettings:
        """The publisher settings, read at most every ``SETTINGS_SECONDS`` (every request
        asks): a change made in this process shows at once, one made by another worker or
        the command line within that time. (``PublisherSettings`` hands out copies, so the
        one kept is never changed by its users.)"""
        now, changes = time.monotonic(), settings_changes_here()
        kept = self._settings
        if kept is not None and kept[1] == changes and now - kept[0] < SETTINGS_SECONDS:
            return kept[2]
        with self.db.reading() as session:
            loaded = PublisherSettings.load(session)
        self._settings = (now, changes, loaded)
        return loaded

    def search_index(self):
        """This node's search index of the database (opened once per runtime)."""
        if self._search is None:
            with NODE_OPENING:  # threads of a server ask at once: one opens, all share it
                if self._search is None:
                    self._search = NodeIndex(
                        self.db, self.settings.search_path(), wait=self.search_wait
                    )
        return self._search

    def search_index_state(self, session) -> tuple[int, bool]:
        """(changes not yet in this node's search index, whether it is being rebuilt), for
        the metrics' gauges; read in ``session``."""
        return gauges.index_state(session, self._search)

    def search_allowance(self):
        """This process's search counts against ``search_per_minute`` (one per runtime)."""
        if self._allowance is None:
            with _ALLOWANCE_MADE:
                if self._allowance is None:
                    self._allowance = SearchAllowance(self.db)
        return self._allowance

    def close(self) -> None:
        """Write what is kept in memory for the database, then close its connections."""
        try:
            if self._allowance is not None:
                self._allowance.flush()
        finally:
            self.db.dispose()


def _connect(settings: Settings) -> Database:
    try:
        db = Database(settings.database_url)
        with db.engine.connect():
            pass
    except OperationalError as exc:
        raise DatabaseDown(f"cannot connect to the database: {_reason(exc)}") from exc
    return db


def _reason(exc: OperationalError) -> str:
    """The driver's first line of why the database could not be used."""
    return str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)


def initialise(settings: Settings) -> tuple[Runtime, str]:
    """Create or migrate the database and establish the server secret (``wenxing init``);
    then seal what a migration could not, for want of the secret (robots' webhooks)."""
    wiring.install()
    db = _connect(settings)
    try:
        revision = migrate.upgrade(db.engine)
        with db.transaction() as session:
            secret = serverkey.establish_secret(session, settings)
            installation.ensure_identity(session)
            bot_credentials.seal_plain_rows(session, secret)
    except serverkey.SecretError as exc:
        db.dispose()
        raise NotReady(str(exc)) from exc
    except SQLAlchemyError as exc:
        db.dispose()
        raise NotReady(f"cannot migrate the database: {exc}") from exc
    return Runtime(settings, db, secret), revision


def open_runtime(settings: Settings) -> Runtime:
    """Open an initialised installation, refusing a stale schema or a wrong secret (and
    install the domain events' handlers, ``wiring.install``)."""
    wiring.install()
    db = _connect(settings)
    try:
        current = migrate.current_revision(db.engine)
        head = migrate.head_revision()
        if current is None:
            raise NotReady("database is not initialised: run `wenxing init`")
        if current != head:
            raise NotReady(
                f"database schema is at revision {current}, this wenxing needs {head}: "
                "run `wenxing init` to migrate"
            )
        if settings.environment == "development":
            drift = migrate.schema_drift(db.engine, schema.metadata)
            if drift:
                raise NotReady(
                    f"database schema differs from what this wenxing expects at revision "
                    f"{head} ({'; '.join(drift[:3])}{' …' if len(drift) > 3 else ''}): a "
                    "migration was edited or the schema changed by hand"
                )
        with db.reading() as session:
            secret = serverkey.verify_secret(session, settings)
    except serverkey.SecretError as exc:
        db.dispose()
        raise NotReady(str(exc)) from exc
    except NotReady:
        db.dispose()
        raise
    except OperationalError as exc:  # the database went away after the connection test
        db.dispose()
        raise DatabaseDown(f"cannot connect to the database: {_reason(exc)}") from exc
    return Runtime(settings, db, secret)
