"""Opening an installation: database, schema revision, server secret and settings."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.exc import OperationalError, SQLAlchemyError

from wenxing import serverkey
from wenxing.config import PublisherSettings, Settings
from wenxing.db import migrate
from wenxing.db.engine import Database


class NotReady(RuntimeError):
    """The installation cannot be used as it is; the message says what to do."""


@dataclass
class Runtime:
    settings: Settings
    db: Database
    secret: bytes
    _search: object = field(default=None, repr=False)

    def publisher_settings(self) -> PublisherSettings:
        with self.db.reading() as session:
            return PublisherSettings.load(session)

    def search_index(self):
        """This node's search index of the database (opened once per runtime)."""
        if self._search is None:
            from wenxing.search.sync import NODE_OPENING, NodeIndex

            with NODE_OPENING:  # threads of a server ask at once: one opens, all share it
                if self._search is None:
                    self._search = NodeIndex(self.db, self.settings.search_path())
        return self._search

    def close(self) -> None:
        self.db.dispose()


def _connect(settings: Settings) -> Database:
    try:
        db = Database(settings.database_url)
        with db.engine.connect():
            pass
    except OperationalError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        raise NotReady(f"cannot connect to the database: {reason}") from exc
    return db


def initialise(settings: Settings) -> tuple[Runtime, str]:
    """Create or migrate the database and establish the server secret (``wenxing init``)."""
    db = _connect(settings)
    try:
        revision = migrate.upgrade(db.engine)
        with db.transaction() as session:
            secret = serverkey.establish_secret(session, settings)
    except serverkey.SecretError as exc:
        db.dispose()
        raise NotReady(str(exc)) from exc
    except SQLAlchemyError as exc:
        db.dispose()
        raise NotReady(f"cannot migrate the database: {exc}") from exc
    return Runtime(settings, db, secret), revision


def open_runtime(settings: Settings) -> Runtime:
    """Open an initialised installation, refusing a stale schema or a wrong secret."""
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
        with db.reading() as session:
            secret = serverkey.verify_secret(session, settings)
    except serverkey.SecretError as exc:
        db.dispose()
        raise NotReady(str(exc)) from exc
    except NotReady:
        db.dispose()
        raise
    return Runtime(settings, db, secret)
