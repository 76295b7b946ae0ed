"""The installation's identity and epoch, kept in ``server_meta``.

* ``installation_id``: random, made once by ``wenxing init`` and kept by every backup and
  restore: it names the library, whichever database server holds it.
* ``installation_epoch``: 1 at ``init``, raised by every restore above any epoch the
  snapshot or the database it replaces had; with ``epoch_nonce`` (random per epoch) it says
  which life of the library a database is in. A search index remembers the identity and
  epoch it was built from and is rebuilt when they differ (``search.sync``): a restored
  database never trusts an index that saw commits the restore took away.
* ``member_number_offset``: member numbers are printed on copies and key their
  fingerprints, so a number handed out after a backup and lost with the restore must never
  be handed to someone else. A restore moves the next number on by a gap (``restore``).
* ``legacy_copy_id_max``: the largest copy id issued under the first copy-tag scheme (row
  numbers); every copy since has a random id above 2³², so the two never meet.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from wenxing.db.base import utcnow
from wenxing.db.meta import ServerMeta

ID_KEY = "installation_id"
EPOCH_KEY = "installation_epoch"
NONCE_KEY = "epoch_nonce"
STARTED_KEY = "epoch_started_at"
OFFSET_KEY = "member_number_offset"
LEGACY_COPY_KEY = "legacy_copy_id_max"


@dataclass(frozen=True)
class Identity:
    installation_id: str
    epoch: int
    nonce: str
    started_at: str

    @property
    def token(self) -> str:
        """One string that changes whenever the database is another library or another
        life of this one (what a search index compares)."""
        return f"{self.installation_id}:{self.epoch}:{self.nonce}"


def _get(session: Session, key: str) -> str | None:
    row = session.get(ServerMeta, key)
    return row.value if row else None


def _put(session: Session, key: str, value: str) -> None:
    row = session.get(ServerMeta, key)
    if row is None:
        session.add(ServerMeta(key=key, value=value))
    else:
        row.value = value


def ensure_identity(session: Session, now: datetime | None = None) -> Identity:
    """Give a database an identity and its first epoch if it has none (``init``)."""
    if _get(session, ID_KEY) is None:
        _put(session, ID_KEY, secrets.token_hex(16))
    if _get(session, EPOCH_KEY) is None:
        _put(session, EPOCH_KEY, "1")
        _put(session, NONCE_KEY, secrets.token_hex(8))
        _put(session, STARTED_KEY, (now or utcnow()).isoformat())
    session.flush()
    made = identity(session)
    assert made is not None  # written just above
    return made


def identity(session: Session) -> Identity | None:
    """The database's identity and epoch (None before ``init`` gave it one)."""
    rows = dict(
        session.execute(
            select(ServerMeta.key, ServerMeta.value).where(
                ServerMeta.key.in_((ID_KEY, EPOCH_KEY, NONCE_KEY, STARTED_KEY))
            )
        ).all()
    )
    if ID_KEY not in rows or EPOCH_KEY not in rows:
        return None
    return Identity(
        rows[ID_KEY], int(rows[EPOCH_KEY]), rows.get(NONCE_KEY, ""), rows.get(STARTED_KEY, "")
    )


def epoch_values(previous_epochs: list[int], now: datetime) -> dict[str, str]:
    """The ``server_meta`` values of a new epoch above every one given (a restore)."""
    return {
        EPOCH_KEY: str(max([0, *previous_epochs]) + 1),
        NONCE_KEY: secrets.token_hex(8),
        STARTED_KEY: now.isoformat(),
    }


def member_number_offset(session: Session) -> int:
    value = _get(session, OFFSET_KEY)
    return int(value) if value else 0


def legacy_copy_id_max(session: Session) -> int:
    value = _get(session, LEGACY_COPY_KEY)
    return int(value) if value else 0
