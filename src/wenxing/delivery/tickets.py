"""Single-use download links, for members reading inside WeChat.

WeChat's own browser often cannot save a .docx or .pdf, and it holds the member's session
cookie where the system browser does not. A member who taps a download button there is
given a link instead of a file: made for them, for one material and format, usable once and
for a few minutes, in any browser. Making the link logs no copy and spends nothing; the
copy is logged (and counted against the daily quota, through ``record_copy``) only when the
link is used and the file is fetched.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlalchemy.orm import Session

from wenxing.db.engine import rowcount
from wenxing.delivery.issue import DeliveryError
from wenxing.delivery.models import DownloadTicket
from wenxing.i18n import _

TICKET_LIFETIME = timedelta(minutes=15)


class TicketRefused(DeliveryError):
    """The link is unknown, used or expired."""

    @property
    def user_message(self) -> str:
        return _(
            "这个下载链接已失效（每个链接只能下载一次，15 分钟内有效）。请回到微信里的资料页重新获取。"
        )


@dataclass(frozen=True)
class Ticket:
    member_id: int
    material_id: int
    format: str


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def make_ticket(session: Session, member_id: int, material_id: int, fmt: str, now: datetime) -> str:
    """A new link token for this member, material and format (only its hash is stored)."""
    token = secrets.token_urlsafe(24)
    session.add(
        DownloadTicket(
            token_hash=_hash(token),
            member_id=member_id,
            material_id=material_id,
            format=fmt,
            created_at=now,
            expires_at=now + TICKET_LIFETIME,
        )
    )
    session.flush()
    return token


def peek_ticket(session: Session, token: str, now: datetime) -> Ticket:
    """The link's ticket while it can still be used (nothing is spent)."""
    row = session.get(DownloadTicket, _hash(token))
    if row is None or row.used_at is not None or row.expires_at <= now:
        raise TicketRefused("download link unknown, used or expired")
    return Ticket(row.member_id, row.material_id, row.format)


def use_ticket(session: Session, token: str, now: datetime) -> Ticket:
    """Spend the link: one conditional UPDATE, so of two fetches at once exactly one wins.
    The caller's transaction also logs the copy; if that fails, the link stays unused."""
    ticket = peek_ticket(session, token, now)
    won = rowcount(
        session.execute(
            update(DownloadTicket)
            .where(
                DownloadTicket.token_hash == _hash(token),
                DownloadTicket.used_at.is_(None),
                DownloadTicket.expires_at > now,
            )
            .values(used_at=now)
            .execution_options(synchronize_session=False)
        )
    )
    if won != 1:
        raise TicketRefused("download link already used")
    return ticket


def give_back(session: Session, token: str) -> None:
    """Make a spent link usable again (its file could not be made)."""
    session.execute(
        update(DownloadTicket)
        .where(DownloadTicket.token_hash == _hash(token))
        .values(used_at=None)
        .execution_options(synchronize_session=False)
    )
