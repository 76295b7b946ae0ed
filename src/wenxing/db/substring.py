"""Finding rows whose text contains what the publisher typed, through an index on both
databases (the console's search of material titles and tags, of members' names, usernames
and phones).

A ``LIKE '%…%'`` reads every row: at a hundred thousand materials or members, a rare title
takes longer than a page may. So each searched table has a trigram index beside it
(migration 0019): on SQLite an FTS5 table with the ``trigram`` tokenizer over the columns,
kept current by triggers on the table (``material_text``, ``member_text``); on PostgreSQL a
GIN index of ``pg_trgm`` on each column, which ``ILIKE`` uses by itself. A trigram index
answers three characters or more; shorter text is matched by reading the rows (one or two
characters match so many rows that a page fills at once). The ``LIKE`` is always applied as
well, so what matches is exactly what a ``LIKE`` would find.

These objects are not tables of the models: ``beside_the_models`` names them for the
schema comparison (``alembic check``, ``migrate.schema_drift``), and ``missing`` tells when
a migration that rebuilt a table on SQLite (batch mode copies it) lost its triggers.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, Select, column, or_, select, table, text
from sqlalchemy.orm import InstrumentedAttribute, Session

MIN_INDEXED = 3  # characters a trigram index can look up
# The SQLite FTS5 table beside each searched table, and the columns it holds.
SQLITE_INDEXES = {
    "materials": ("material_text", ("title", "tags")),
    "members": ("member_text", ("name", "username", "phone")),
}
# The PostgreSQL trigram indexes, one per searched column.
POSTGRES_INDEXES = {
    f"ix_{name}_{col}_trgm": (name, col)
    for name, (_fts, columns) in SQLITE_INDEXES.items()
    for col in columns
}
_FTS_SHADOWS = ("", "_data", "_idx", "_docsize", "_config")


def beside_the_models(name: str | None) -> bool:
    """Whether a table or index of this name is one of the search indexes kept here."""
    if name is None:
        return False
    tables = {fts + shadow for fts, _cols in SQLITE_INDEXES.values() for shadow in _FTS_SHADOWS}
    return name in tables or name in POSTGRES_INDEXES


def missing(connection) -> list[str]:
    """The search indexes (or, on SQLite, the triggers feeding them) the database lacks."""
    if connection.dialect.name == "sqlite":
        wanted = []
        for fts, _columns in SQLITE_INDEXES.values():
            wanted += [fts, f"{fts}_ai", f"{fts}_ad", f"{fts}_au"]
        present = connection.exec_driver_sql(
            "SELECT name FROM sqlite_master WHERE type IN ('table', 'trigger')"
        ).scalars()
    else:
        trigrams = "SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'"
        if connection.exec_driver_sql(trigrams).first() is None:
            return []  # not installed on this server: searches read the rows (0019)
        wanted = list(POSTGRES_INDEXES)
        present = connection.exec_driver_sql("SELECT indexname FROM pg_indexes").scalars()
    have = set(present)
    return [name for name in wanted if name not in have]


def contains(
    session: Session, columns: list[InstrumentedAttribute], wanted: str
) -> ColumnElement[bool]:
    """Rows where one of ``columns`` (of one table) contains ``wanted``, ignoring the case
    of Latin letters; ``%`` and ``_`` stand for themselves."""
    like = "%" + wanted.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    if session.get_bind().dialect.name != "sqlite":
        return or_(*(c.ilike(like, escape="\\") for c in columns))
    # SQLite's LIKE already ignores the case of Latin letters: lower() would only cost time.
    matched = or_(*(c.like(like, escape="\\") for c in columns))
    if len(wanted) < MIN_INDEXED:
        return matched
    owner = columns[0].class_
    fts, _names = SQLITE_INDEXES[owner.__tablename__]
    phrase = '"' + wanted.replace('"', '""') + '"'
    found: Select = (
        select(column("rowid"))
        .select_from(table(fts))
        .where(text(f"{fts} MATCH :phrase").bindparams(phrase=phrase))
    )
    return owner.id.in_(found) & matched
