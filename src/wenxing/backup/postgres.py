"""A PostgreSQL database backed up with ``pg_dump -Fc`` in the snapshot the manifest's
facts are read in, and restored by psql running pg_restore's script, the new epoch and the
member-number offset in one transaction."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from sqlalchemy import create_engine, select
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from wenxing import installation
from wenxing.backup.common import (
    PG_FILE,
    BackupError,
    Restored,
    current_epoch,
    last_line,
    new_epoch_values,
    snapshot_facts,
)
from wenxing.config import Settings
from wenxing.db.base import utcnow
from wenxing.db.engine import Database, normalise_url
from wenxing.db.meta import ServerMeta


def libpq_url(url: str) -> str:
    """The database URL as pg_dump, pg_restore and psql take it."""
    parsed = make_url(normalise_url(url)).set(drivername="postgresql")
    return parsed.render_as_string(hide_password=False)


def backup_postgresql(db: Database, path: Path) -> dict:
    """``pg_dump -Fc`` in the very snapshot the manifest's counts are read in (an exported
    snapshot held open by a repeatable-read transaction)."""
    import psycopg  # here: an installation on SQLite never loads the PostgreSQL driver

    tool = _pg_tool("pg_dump")
    conninfo = libpq_url(db.url)
    with psycopg.connect(conninfo) as conn:
        server = conn.info.server_version
        _check_tool_version(tool, server)
        conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        exported = conn.execute("SELECT pg_export_snapshot()").fetchone()
        assert exported is not None  # a SELECT of a function returns one row
        snapshot = exported[0]
        facts = _facts_in_snapshot(db.url, snapshot)
        done = subprocess.run(
            [
                tool["path"],
                "-Fc",
                "--no-owner",
                "--no-privileges",
                f"--snapshot={snapshot}",
                "-f",
                str(path),
                "-d",
                conninfo,
            ],
            capture_output=True,
            text=True,
        )
        conn.rollback()
    if done.returncode != 0:
        raise BackupError(f"pg_dump failed: {last_line(done.stderr)}")
    facts["pg_dump"] = tool["version"]
    facts["server_version"] = server
    return facts


def _facts_in_snapshot(url: str, snapshot: str) -> dict:
    engine = create_engine(normalise_url(url), poolclass=NullPool)  # no ping before the SET
    with engine.connect() as conn:
        conn.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        conn.exec_driver_sql(f"SET TRANSACTION SNAPSHOT '{snapshot}'")
        facts = snapshot_facts(conn)
        conn.rollback()
    engine.dispose()
    return facts


def _pg_tool(name: str) -> dict:
    path = shutil.which(name)
    if path is None:
        raise BackupError(f"{name} is not installed (Debian: postgresql-client)")
    out = subprocess.run([path, "--version"], capture_output=True, text=True).stdout
    match = re.search(r"(\d+)(?:\.(\d+))?", out)
    if match is None:
        raise BackupError(f"cannot tell the version of {path}: {out.strip()!r}")
    return {"path": path, "version": out.strip(), "major": int(match.group(1))}


def _check_tool_version(tool: dict, server_version: int) -> None:
    """pg_dump and pg_restore read servers up to their own major version only."""
    server_major = server_version // 10000
    if tool["major"] < server_major:
        raise BackupError(
            f"{tool['version']} is older than the server (PostgreSQL {server_major}): "
            f"install postgresql-client-{server_major}"
        )


def restore_postgresql(settings: Settings, source: Path, manifest: dict, gap: int) -> Restored:
    """The snapshot replaces the database's public schema in one transaction (psql reading
    pg_restore's script), the new epoch written in the same transaction: a failure leaves
    the database as it was."""
    import psycopg

    restore_tool, psql = _pg_tool("pg_restore"), _pg_tool("psql")
    conninfo = libpq_url(settings.database_url)
    try:
        with psycopg.connect(conninfo, connect_timeout=10) as conn:
            _check_tool_version(restore_tool, conn.info.server_version)
    except psycopg.OperationalError as exc:
        raise BackupError(f"cannot connect to the database: {last_line(str(exc))}") from exc
    previous = [manifest["installation"]["epoch"], *current_epoch(settings)]
    values = new_epoch_values(previous, utcnow())
    script = subprocess.run(
        [restore_tool["path"], "--no-owner", "--no-privileges", "-f", "-", str(source / PG_FILE)],
        capture_output=True,
    )
    if script.returncode != 0:
        raise BackupError(f"pg_restore failed: {last_line(script.stderr.decode())}")
    epoch_sql = "".join(
        f"DELETE FROM public.server_meta WHERE key = {_literal(k)};\n"
        f"INSERT INTO public.server_meta (key, value) VALUES ({_literal(k)}, {_literal(v)});\n"
        for k, v in values.items()
    )
    offset_sql = _pg_offset_sql(gap)
    whole = (
        b"DROP SCHEMA IF EXISTS public CASCADE;\nCREATE SCHEMA public;\n"
        + script.stdout
        + b"\n"
        + epoch_sql.encode()
        + offset_sql.encode()
    )
    done = subprocess.run(
        [psql["path"], "-X", "-q", "-1", "-v", "ON_ERROR_STOP=1", "-d", conninfo],
        input=whole,
        capture_output=True,
    )
    if done.returncode != 0:
        raise BackupError(
            f"the restore failed and was rolled back: {last_line(done.stderr.decode())}"
        )
    db = Database(settings.database_url)
    try:
        with db.engine.connect() as conn:
            offset = int(
                conn.execute(
                    select(ServerMeta.value).where(ServerMeta.key == installation.OFFSET_KEY)
                ).scalar()
                or 0
            )
    finally:
        db.dispose()
    return Restored(int(values[installation.EPOCH_KEY]), manifest["revision"], offset, manifest)


def _pg_offset_sql(gap: int) -> str:
    """The member-number offset, computed in the restoring transaction (see _offset_after);
    the members' id sequence is taken as it is, so numbers only move further on."""
    first = 10001
    return f"""
DELETE FROM public.server_meta WHERE key = '{installation.OFFSET_KEY}';
INSERT INTO public.server_meta (key, value)
SELECT '{installation.OFFSET_KEY}', GREATEST(0,
    COALESCE((SELECT max(substr(number, 4)::bigint) FROM public.members
              WHERE number ~ '^WX-[0-9]+$'), {first - 1})
    + 1 + {int(gap)} - {first - 1}
    - (SELECT last_value + CASE WHEN is_called THEN 1 ELSE 0 END FROM public.members_id_seq)
)::text;
"""


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"
