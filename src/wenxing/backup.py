"""Backups and restores that keep every copy traceable.

A backup is a folder:

* ``database.sqlite`` (SQLite's online backup API: one consistent snapshot, whatever the
  server commits meanwhile, WAL included) or ``database.pgdump`` (``pg_dump -Fc`` in the
  snapshot the manifest's counts were taken in);
* ``settings.json``: the publisher settings, readable without restoring;
* ``manifest.json``: what it is (revision, installation identity and epoch, counts, sizes
  and SHA-256 of the files, when) and the check value of the server secret it was made
  under. The secret itself is never in a backup: keep it apart (docs/operations.md).

A restore refuses a backup made under another secret (its copies' fingerprints could not be
read), checks the files against the manifest, and puts the snapshot in place in one step
with a new installation epoch above every epoch it knew, so that every node's search index
rebuilds itself (``search.sync``) and member numbers move on by a gap (a number handed out
after the backup must never name someone else). Copy ids are random, so none is reused.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import sqlite3
import subprocess
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import psycopg
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from wenxing import __version__, installation, serverkey
from wenxing.config import Settings
from wenxing.db import migrate
from wenxing.db.base import utcnow
from wenxing.db.engine import Database, normalise_url
from wenxing.db.meta import ServerMeta, SettingRow

FORMAT = "wenxing-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
SETTINGS = "settings.json"
SQLITE_FILE = "database.sqlite"
PG_FILE = "database.pgdump"
DEFAULT_MEMBER_GAP = 10_000
COUNTED = (
    "materials",
    "material_versions",
    "members",
    "subscriptions",
    "activation_codes",
    "issued_copies",
    "reports",
    "audit_events",
)


class BackupError(RuntimeError):
    """A backup or restore cannot be done as asked; nothing was changed."""


@dataclass
class Restored:
    epoch: int
    revision: str
    member_offset: int
    manifest: dict


# --- backup ---------------------------------------------------------------------------------


def backup(db: Database, secret: bytes, target: Path) -> dict:
    """Write a consistent snapshot of the database into the new folder ``target``; the
    manifest. A partial folder is removed on any failure."""
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise BackupError(f"{target} exists and is not an empty folder")
    parent = target.resolve().parent
    if not parent.is_dir():
        raise BackupError(f"folder {parent} does not exist")
    partial = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=parent))
    try:
        if db.backend == "sqlite":
            facts = _backup_sqlite(db, partial / SQLITE_FILE)
        else:
            facts = _backup_postgresql(db, partial / PG_FILE)
        (partial / SETTINGS).write_text(
            json.dumps(facts.pop("settings"), ensure_ascii=False, indent=2, sort_keys=True)
        )
        manifest = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "wenxing": __version__,
            "created_at": utcnow().isoformat(timespec="seconds") + "Z",
            "backend": db.backend,
            **facts,
            "files": {
                p.name: {"bytes": p.stat().st_size, "sha256": _sha256(p)}
                for p in sorted(partial.iterdir())
            },
        }
        if manifest["secret_check"] != serverkey.check_value(secret):
            raise BackupError("the database's secret check value is not this server's secret")
        _write_json(partial / MANIFEST, manifest)
        _fsync_folder(partial)
        if target.exists():
            target.rmdir()
        partial.rename(target)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return manifest


def _facts(conn) -> dict:
    """Revision, identity, secret check value, counts and settings, read in the snapshot."""
    meta = dict(conn.execute(select(ServerMeta.key, ServerMeta.value)).all())
    revision = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    counts = {
        name: conn.execute(select(func.count()).select_from(text(name))).scalar()
        for name in COUNTED
    }
    settings = {
        n: json.loads(v) for n, v in conn.execute(select(SettingRow.name, SettingRow.value))
    }
    if serverkey.CHECK_KEY not in meta:
        raise BackupError("the database has no secret check value: run `wenxing init` first")
    return {
        "revision": revision,
        "installation": {
            "id": meta.get(installation.ID_KEY),
            "epoch": int(meta.get(installation.EPOCH_KEY, "1")),
        },
        "secret_check": meta[serverkey.CHECK_KEY],
        "counts": counts,
        "settings": settings,
    }


def _backup_sqlite(db: Database, path: Path) -> dict:
    source_path = make_url(db.url).database
    assert source_path is not None  # a file database (the caller chose this backend)
    source = sqlite3.connect(source_path, timeout=30)
    try:
        copy = sqlite3.connect(path)
        try:
            source.backup(copy)  # a consistent snapshot, committed WAL frames included
            copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
            problem = copy.execute("PRAGMA integrity_check").fetchone()[0]
            if problem != "ok":
                raise BackupError(f"the snapshot failed SQLite's integrity check: {problem}")
        finally:
            copy.close()
    except sqlite3.OperationalError as exc:
        raise BackupError(_sqlite_failure(exc)) from exc
    finally:
        source.close()
    snapshot = Database(f"sqlite:///{path}")
    try:
        with snapshot.engine.connect() as conn:
            return _facts(conn)
    finally:
        snapshot.dispose()


def _sqlite_failure(exc: sqlite3.OperationalError) -> str:
    if "full" in str(exc).lower():
        return "disk full: the backup could not be written (SQLITE_FULL)"
    return f"SQLite: {exc}"


def libpq_url(url: str) -> str:
    """The database URL as pg_dump, pg_restore and psql take it."""
    parsed = make_url(normalise_url(url)).set(drivername="postgresql")
    return parsed.render_as_string(hide_password=False)


def _backup_postgresql(db: Database, path: Path) -> dict:
    """``pg_dump -Fc`` in the very snapshot the manifest's counts are read in (an exported
    snapshot held open by a repeatable-read transaction)."""
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
        raise BackupError(f"pg_dump failed: {_last_line(done.stderr)}")
    facts["pg_dump"] = tool["version"]
    facts["server_version"] = server
    return facts


def _facts_in_snapshot(url: str, snapshot: str) -> dict:
    engine = create_engine(normalise_url(url), poolclass=NullPool)  # no ping before the SET
    with engine.connect() as conn:
        conn.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        conn.exec_driver_sql(f"SET TRANSACTION SNAPSHOT '{snapshot}'")
        facts = _facts(conn)
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


# --- restore --------------------------------------------------------------------------------


def read_manifest(source: Path) -> dict:
    path = source / MANIFEST
    if not path.is_file():
        raise BackupError(f"{source} is not a wenxing backup (no {MANIFEST})")
    try:
        manifest = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise BackupError(f"{path} cannot be read: {exc}") from exc
    if manifest.get("format") != FORMAT or manifest.get("format_version") != FORMAT_VERSION:
        raise BackupError(f"{path} is not a wenxing backup manifest this wenxing reads")
    for name, facts in manifest["files"].items():
        file = source / name
        if not file.is_file() or file.stat().st_size != facts["bytes"]:
            raise BackupError(f"{file} is missing or not the size the manifest says")
        if _sha256(file) != facts["sha256"]:
            raise BackupError(f"{file} is damaged (its SHA-256 differs from the manifest's)")
    return manifest


def restore(settings: Settings, source: Path, *, member_gap: int = DEFAULT_MEMBER_GAP) -> Restored:
    """Put the backup in ``source`` in place of the configured database (stop the service
    first). Refuses a backup made under another server secret."""
    manifest = read_manifest(source)
    secret = serverkey.read_secret(settings)
    if secret is None:
        raise BackupError(
            "the server secret is missing: set WENXING_SECRET or restore the key file "
            f"{settings.key_file()} first (it is not part of a backup)"
        )
    if serverkey.check_value(secret) != manifest["secret_check"]:
        raise BackupError(
            "this backup was made under another server secret: its copies' fingerprints "
            "could not be read with this one; configure the secret it was made with"
        )
    backend = make_url(normalise_url(settings.database_url)).get_backend_name()
    if backend != manifest["backend"]:
        raise BackupError(
            f"this backup is of a {manifest['backend']} database; the configured one is {backend}"
        )
    if backend == "sqlite":
        restored = _restore_sqlite(settings, source, manifest, member_gap)
    else:
        restored = _restore_postgresql(settings, source, manifest, member_gap)
    db = Database(settings.database_url)
    try:
        restored.revision = migrate.upgrade(db.engine)
    finally:
        db.dispose()
    return restored


def _new_epoch_statements(previous: list[int], now: datetime) -> dict[str, str]:
    return installation.epoch_values(previous, now)


def _offset_after(conn, member_gap: int) -> int:
    """The member-number offset that puts the next member ``member_gap`` numbers past the
    highest number given so far (numbers are ``WX-`` and 10000 + id + offset)."""
    from wenxing.members.models import FIRST_NUMBER

    numbers = [
        int(n[3:])
        for (n,) in conn.execute(text("SELECT number FROM members"))
        if re.fullmatch(r"WX-\d+", n)
    ]
    highest = max(numbers, default=FIRST_NUMBER - 1)
    next_id = (conn.execute(text("SELECT max(id) FROM members")).scalar() or 0) + 1
    return max(0, highest + 1 + member_gap - (FIRST_NUMBER - 1) - next_id)


def _current_epoch(settings: Settings) -> list[int]:
    """The epoch of the database being replaced, if it can be read (so the new one is above
    it too: restoring the same backup twice never repeats an epoch)."""
    try:
        db = Database(settings.database_url)
        try:
            with db.engine.connect() as conn:
                value = conn.execute(
                    select(ServerMeta.value).where(ServerMeta.key == installation.EPOCH_KEY)
                ).scalar()
        finally:
            db.dispose()
        return [int(value)] if value else []
    except Exception:  # no database there yet, or not one of ours: nothing to stay above
        return []


def _meta_updates(conn, values: dict[str, str]) -> None:
    for key, value in values.items():
        conn.execute(text("DELETE FROM server_meta WHERE key = :k"), {"k": key})
        conn.execute(
            text("INSERT INTO server_meta (key, value) VALUES (:k, :v)"), {"k": key, "v": value}
        )


def _restore_sqlite(settings: Settings, source: Path, manifest: dict, gap: int) -> Restored:
    database = make_url(normalise_url(settings.database_url)).database
    assert database is not None  # a file database (the caller chose this backend)
    target = Path(database).resolve()
    if not target.parent.is_dir():
        raise BackupError(f"folder {target.parent} does not exist")
    previous = [manifest["installation"]["epoch"], *_current_epoch(settings)]
    staged = target.with_name(f".{target.name}.restoring")
    staged.unlink(missing_ok=True)
    try:
        shutil.copyfile(source / SQLITE_FILE, staged)
        db = Database(f"sqlite:///{staged}")
        try:
            with db.engine.begin() as conn:
                values = _new_epoch_statements(previous, utcnow())
                offset = _offset_after(conn, gap)
                values[installation.OFFSET_KEY] = str(offset)
                _meta_updates(conn, values)
            with db.engine.connect() as conn:
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            db.dispose()
        for suffix in ("-wal", "-shm"):  # the old database's journal must not meet the new one
            target.with_name(target.name + suffix).unlink(missing_ok=True)
        os.replace(staged, target)
    except BaseException:
        staged.unlink(missing_ok=True)
        for suffix in ("-wal", "-shm"):
            staged.with_name(staged.name + suffix).unlink(missing_ok=True)
        raise
    return Restored(int(values[installation.EPOCH_KEY]), manifest["revision"], offset, manifest)


def _restore_postgresql(settings: Settings, source: Path, manifest: dict, gap: int) -> Restored:
    """The snapshot replaces the database's public schema in one transaction (psql reading
    pg_restore's script), the new epoch written in the same transaction: a failure leaves
    the database as it was."""
    restore_tool, psql = _pg_tool("pg_restore"), _pg_tool("psql")
    conninfo = libpq_url(settings.database_url)
    try:
        with psycopg.connect(conninfo, connect_timeout=10) as conn:
            _check_tool_version(restore_tool, conn.info.server_version)
    except psycopg.OperationalError as exc:
        raise BackupError(f"cannot connect to the database: {_last_line(str(exc))}") from exc
    previous = [manifest["installation"]["epoch"], *_current_epoch(settings)]
    values = _new_epoch_statements(previous, utcnow())
    script = subprocess.run(
        [restore_tool["path"], "--no-owner", "--no-privileges", "-f", "-", str(source / PG_FILE)],
        capture_output=True,
    )
    if script.returncode != 0:
        raise BackupError(f"pg_restore failed: {_last_line(script.stderr.decode())}")
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
            f"the restore failed and was rolled back: {_last_line(done.stderr.decode())}"
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


# --- helpers --------------------------------------------------------------------------------


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _write_json(path: Path, document: dict) -> None:
    with path.open("w") as handle:
        json.dump(document, handle, ensure_ascii=False, indent=2, sort_keys=True)
        handle.flush()
        os.fsync(handle.fileno())


def _fsync_folder(folder: Path) -> None:
    for file in folder.iterdir():
        with file.open("rb") as handle:
            os.fsync(handle.fileno())
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _last_line(message: str) -> str:
    lines = [line.strip() for line in message.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "no message"
