"""One way to make every limit exact under concurrency: hold the limit's subject.

A limit that counts and then writes (the daily downloads, the devices signed in, sign-in
failures per address and per account, sign-ups per address, reports per hour, redemption
failures, requests per day, searches per minute, snippets per day) is exact only if no
other request counts the same subject between this request's count and its write. Every
limit therefore calls :func:`hold` with its subject first thing in the write transaction
that counts and writes; requests for the same subject then take turns, others do not wait.

* PostgreSQL: ``pg_advisory_xact_lock`` keyed by a 64-bit hash of the subject, released
  when the transaction ends (commit or rollback), so nothing is ever left held.
* SQLite: one writer at a time already (``Database.transaction`` opens ``BEGIN IMMEDIATE``
  after the process's write turn); holding checks that the caller is in such a transaction,
  since a count taken in a read transaction would be stale by the time of the write.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.orm import Session

from wenxing.db.engine import is_write_session


class NotInWriteTransaction(RuntimeError):
    """A limit was counted outside a write transaction (a bug: its count could be stale)."""


@dataclass(frozen=True)
class Subject:
    """What a limit counts for: ``scope`` names the limit (``quota``, ``sign-in:ip``…),
    ``value`` the account or address it counts."""

    scope: str
    value: str | int

    def lock_key(self) -> int:
        """A signed 64-bit key for PostgreSQL's advisory locks."""
        digest = hashlib.blake2b(f"{self.scope}\x1f{self.value}".encode(), digest_size=8)
        return int.from_bytes(digest.digest(), "big", signed=True)


def hold(session: Session, subject: Subject) -> None:
    """Take ``subject``'s turn until the session's transaction ends: call it before counting."""
    if not is_write_session(session):
        raise NotInWriteTransaction(f"limit {subject.scope} counted outside a write transaction")
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": subject.lock_key()})
