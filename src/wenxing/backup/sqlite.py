"""A SQLite database backed up with SQLite's online backup API (one consistent snapshot,
committed WAL frames included) and restored by putting a staged copy in place in one step."""

from __future__ import annotations

import os
import shutil
import sqlite3
from pathlib import Path

from sqlalchemy.engine import make_url

from wenxing import installation
from wenxing.backup.common import (
    SQLITE_FILE,
    BackupError,
    Restored,
    current_epoch,
    meta_updates,
    new_epoch_values,
    offset_after,
    snapshot_facts,
)
from wenxing.config import Settings
from wenxing.db.base import utcnow
from wenxing.db.engine import Database, normalise_url


def backup_sqlite(db: Database, path: Path) -> dict:
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
            return snapshot_facts(conn)
    finally:
        snapshot.dispose()


def _sqlite_failure(exc: sqlite3.OperationalError) -> str:
    if "full" in str(exc).lower():
        return "disk full: the backup could not be written (SQLITE_FULL)"
    return f"SQLite: {exc}"


def restore_sqlite(settings: Settings, source: Path, manifest: dict, gap: int) -> Restored:
    database = make_url(normalise_url(settings.database_url)).database
    assert database is not None  # a file database (the caller chose this backend)
    target = Path(database).resolve()
    if not target.parent.is_dir():
        raise BackupError(f"folder {target.parent} does not exist")
    previous = [manifest["installation"]["epoch"], *current_epoch(settings)]
    staged = target.with_name(f".{target.name}.restoring")
    staged.unlink(missing_ok=True)
    try:
        shutil.copyfile(source / SQLITE_FILE, staged)
        db = Database(f"sqlite:///{staged}")
        try:
            with db.engine.begin() as conn:
                values = new_epoch_values(previous, utcnow())
                offset = offset_after(conn, gap)
                values[installation.OFFSET_KEY] = str(offset)
                meta_updates(conn, values)
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
