"""Running the Alembic migrations from code (used by `wenxing init` and the tests)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, MetaData

from wenxing.db import substring
from wenxing.db.engine import is_sqlite

if TYPE_CHECKING:
    from alembic.config import Config

# Alembic (with Mako and its dialect modules, about a fifth of a second) is imported where a
# migration is looked at, not by every command and server worker that imports this module.

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config() -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None, "the migrations folder has no revision"
    return head


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


class MigrationError(RuntimeError):
    """A migration would leave the database inconsistent; nothing of it was kept."""


def upgrade(engine: Engine, target: str = "head") -> str:
    """Bring the schema to ``target`` (the newest revision by default), all in one
    transaction; returns the revision reached.

    On SQLite, changing a table's columns means copying it into a new table that replaces
    it; with foreign keys enforced, dropping a table that others refer to fails (or, worse,
    cascades). SQLite's own procedure is followed: foreign keys off for the whole
    migration (the pragma only takes effect outside a transaction), ``foreign_key_check``
    before the commit, and the migration rolled back if any reference is left dangling."""
    from alembic import command

    config = alembic_config()
    with engine.connect() as conn:
        sqlite = is_sqlite(conn)
        if sqlite:
            _raw_pragma(conn, "PRAGMA foreign_keys=OFF")
        try:
            with conn.begin():
                config.attributes["connection"] = conn
                command.upgrade(config, target)
                if sqlite:
                    dangling = conn.exec_driver_sql("PRAGMA foreign_key_check").all()
                    if dangling:
                        table, rowid, parent, _fk = dangling[0]
                        raise MigrationError(
                            f"migration left {len(dangling)} dangling reference(s), e.g. "
                            f"{table} row {rowid} to {parent}; nothing was changed"
                        )
        finally:
            if sqlite:
                _raw_pragma(conn, "PRAGMA foreign_keys=ON")
    return current_revision(engine) or target


def _raw_pragma(conn: Connection, statement: str) -> None:
    """Run a pragma on the driver's connection itself, outside any transaction."""
    driver = conn.connection.driver_connection
    assert driver is not None  # an open connection has its driver's
    driver.execute(statement)


def schema_drift(engine: Engine, metadata: MetaData) -> list[str]:
    """How the database's schema differs from the models' ``metadata`` (``schema.metadata``;
    what ``alembic check`` reports), one line per difference; empty when they agree."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn,
            opts={
                "compare_type": True,
                "include_name": lambda name, _type, _parents: not substring.beside_the_models(name),
            },
        )
        drift = [_describe(diff) for diff in compare_metadata(context, metadata)]
        return drift + [f"missing search index {name}" for name in substring.missing(conn)]


def _describe(diff) -> str:
    if isinstance(diff, list):  # column changes come as a list of tuples
        diff = diff[0]
    action, *rest = diff
    names = [getattr(item, "name", None) for item in rest]
    named = [str(n) for n in names if n]
    return f"{action} {' '.join(named)}".strip()
