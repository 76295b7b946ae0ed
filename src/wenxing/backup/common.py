"""What a backup and a restore share: the backup's format (its files and manifest), the
error, the facts read in a snapshot (revision, identity, secret check, counts, settings),
the new epoch and member-number offset a restore writes, and file helpers."""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import func, select, text

from wenxing import installation, serverkey
from wenxing.config import Settings
from wenxing.db.engine import Database
from wenxing.db.meta import ServerMeta, SettingRow
from wenxing.members.models import FIRST_NUMBER

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


def snapshot_facts(conn) -> dict:
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


def new_epoch_values(previous: list[int], now: datetime) -> dict[str, str]:
    return installation.epoch_values(previous, now)


def offset_after(conn, member_gap: int) -> int:
    """The member-number offset that puts the next member ``member_gap`` numbers past the
    highest number given so far (numbers are ``WX-`` and 10000 + id + offset)."""
    numbers = [
        int(n[3:])
        for (n,) in conn.execute(text("SELECT number FROM members"))
        if re.fullmatch(r"WX-\d+", n)
    ]
    highest = max(numbers, default=FIRST_NUMBER - 1)
    next_id = (conn.execute(text("SELECT max(id) FROM members")).scalar() or 0) + 1
    return max(0, highest + 1 + member_gap - (FIRST_NUMBER - 1) - next_id)


def current_epoch(settings: Settings) -> list[int]:
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


def meta_updates(conn, values: dict[str, str]) -> None:
    for key, value in values.items():
        conn.execute(text("DELETE FROM server_meta WHERE key = :k"), {"k": key})
        conn.execute(
            text("INSERT INTO server_meta (key, value) VALUES (:k, :v)"), {"k": key, "v": value}
        )


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_json(path: Path, document: dict) -> None:
    with path.open("w") as handle:
        json.dump(document, handle, ensure_ascii=False, indent=2, sort_keys=True)
        handle.flush()
        os.fsync(handle.fileno())


def fsync_folder(folder: Path) -> None:
    for file in folder.iterdir():
        with file.open("rb") as handle:
            os.fsync(handle.fileno())
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def last_line(message: str) -> str:
    lines = [line.strip() for line in message.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "no message"
