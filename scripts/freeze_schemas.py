"""Freeze the schema of every released migration revision, as it was released.

For each revision the migrations folder is taken from the commit that added that revision
(so a migration edited later — 0002 gained ``wording_vetoes`` — is frozen as databases
made at the time have it), run on a scratch SQLite file and a scratch PostgreSQL database,
and the resulting schema is written to ``tests/fixtures/schemas/REV.BACKEND.sql``, with
its ``alembic_version`` row. ``tests/functional/test_migration_history.py`` builds a
database from each, fills it with data and upgrades it to head.

Run from the repository root, once per new release:
    .venv/bin/python scripts/freeze_schemas.py [REV ...]
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

import psycopg
from alembic import command
from alembic.config import Config

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "tests" / "fixtures" / "schemas"
VERSIONS = "src/wenxing/db/migrations/versions"
PG_ADMIN = os.environ.get("WENXING_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")


def release_commits() -> dict[str, str]:
    """revision → the commit that added its file."""
    found = {}
    for path in sorted((REPO / VERSIONS).glob("0*.py")):
        commit = subprocess.run(
            ["git", "log", "--diff-filter=A", "--format=%H", "--", str(path)],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
        if commit:
            found[path.name[:4]] = commit[-1]
    return found


def migrations_at(commit: str, into: Path) -> Path:
    folder = into / "migrations"
    subprocess.run(
        f"git archive {commit} src/wenxing/db/migrations | tar -x -C {into}",
        shell=True,
        cwd=REPO,
        check=True,
    )
    (into / "src/wenxing/db/migrations").rename(folder)
    return folder


def upgrade(folder: Path, url: str, revision: str) -> None:
    from wenxing.db.engine import make_engine

    config = Config()
    config.set_main_option("script_location", str(folder))
    engine = make_engine(url)
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, revision)
    engine.dispose()


def sqlite_schema(path: Path) -> str:
    conn = sqlite3.connect(path)
    rows = conn.execute(
        "SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL "
        "AND name NOT LIKE 'sqlite_%' ORDER BY CASE type WHEN 'table' THEN 0 ELSE 1 END, rowid"
    ).fetchall()
    version = conn.execute("SELECT version_num FROM alembic_version").fetchone()[0]
    conn.close()
    lines = [f"{sql};" for _type, _name, sql in rows]
    lines.append(f"INSERT INTO alembic_version (version_num) VALUES ('{version}');")
    return "\n".join(lines) + "\n"


def postgresql_schema(dbname: str) -> str:
    base = PG_ADMIN.rpartition("/")[0]
    dump = subprocess.run(
        ["pg_dump", "--schema-only", "--no-owner", "--no-privileges", "-d", f"{base}/{dbname}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    with psycopg.connect(f"{base}/{dbname}") as conn:
        version = conn.execute("SELECT version_num FROM alembic_version").fetchone()[0]
    # (psql meta-commands such as \\restrict, which pg_dump 15.14+ writes, are psql's alone)
    kept = [
        line
        for line in dump.splitlines()
        if not line.startswith("-- Dumped") and not line.startswith("\\")
    ]
    kept.append(f"INSERT INTO public.alembic_version (version_num) VALUES ('{version}');")
    return "\n".join(kept) + "\n"


def freeze(revision: str, commit: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = migrations_at(commit, Path(tmp))
        db = Path(tmp) / "frozen.db"
        upgrade(folder, f"sqlite:///{db}", revision)
        (OUT / f"{revision}.sqlite.sql").write_text(sqlite_schema(db))
        name = f"wenxing_freeze_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            admin.execute(f"CREATE DATABASE {name}")
        try:
            base = PG_ADMIN.rpartition("/")[0].replace("postgresql://", "postgresql+psycopg://")
            upgrade(folder, f"{base}/{name}", revision)
            (OUT / f"{revision}.postgresql.sql").write_text(postgresql_schema(name))
        finally:
            with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
                admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    print(f"froze {revision} as released in {commit[:8]}")


def main(wanted: list[str]) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for revision, commit in release_commits().items():
        if not wanted or revision in wanted:
            freeze(revision, commit)


if __name__ == "__main__":
    main(sys.argv[1:])
