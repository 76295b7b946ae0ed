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

import json
import shutil
import tempfile
from pathlib import Path

from sqlalchemy.engine import make_url

from wenxing import __version__, serverkey
from wenxing.backup.common import (
    DEFAULT_MEMBER_GAP,
    FORMAT,
    FORMAT_VERSION,
    MANIFEST,
    PG_FILE,
    SETTINGS,
    SQLITE_FILE,
    BackupError,
    Restored,
    fsync_folder,
    sha256,
    write_json,
)
from wenxing.backup.postgres import backup_postgresql, restore_postgresql
from wenxing.backup.sqlite import backup_sqlite, restore_sqlite
from wenxing.config import Settings
from wenxing.db import migrate
from wenxing.db.base import utcnow
from wenxing.db.engine import Database, normalise_url

__all__ = ["DEFAULT_MEMBER_GAP", "BackupError", "Restored", "backup", "read_manifest", "restore"]


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
            facts = backup_sqlite(db, partial / SQLITE_FILE)
        else:
            facts = backup_postgresql(db, partial / PG_FILE)
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
                p.name: {"bytes": p.stat().st_size, "sha256": sha256(p)}
                for p in sorted(partial.iterdir())
            },
        }
        if manifest["secret_check"] != serverkey.check_value(secret):
            raise BackupError("the database's secret check value is not this server's secret")
        write_json(partial / MANIFEST, manifest)
        fsync_folder(partial)
        if target.exists():
            target.rmdir()
        partial.rename(target)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return manifest


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
        if sha256(file) != facts["sha256"]:
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
        restored = restore_sqlite(settings, source, manifest, member_gap)
    else:
        restored = restore_postgresql(settings, source, manifest, member_gap)
    db = Database(settings.database_url)
    try:
        restored.revision = migrate.upgrade(db.engine)
    finally:
        db.dispose()
    return restored
