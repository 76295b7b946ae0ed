"""Members' QQ numbers, proven with a one-time code.

On the account page a member types their QQ number and gets a 6-digit code, valid for
``CODE_MINUTES``; they send it to a group robot's QQ account in a private chat, which the
OneBot framework reports to wenxing (``qq_door``). A code counts only from the QQ number it
was asked for, so nobody links a number they cannot send from. A verified number belongs to
one account. The 会员群 door lets a QQ number in when its account has a current plan.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from wenxing import audit
from wenxing.errors import DomainError
from wenxing.live.models import QQLink
from wenxing.members.models import Member

CODE_MINUTES = 30
QQ_NUMBER = re.compile(r"[1-9][0-9]{4,11}")
_CODE_IN_TEXT = re.compile(r"(?<![0-9])([0-9]{6})(?![0-9])")


@dataclass(frozen=True)
class LinkView:
    """What the account page shows: the verified number, or the one waiting with its
    code's expiry (the code itself is shown once, when asked for)."""

    qq: str | None
    pending_qq: str | None
    expires_at: datetime | None


def _hash(qq: str, code: str) -> str:
    return hashlib.sha256(f"wenxing:qq-link:{qq}:{code}".encode()).hexdigest()


def check_number(qq: str) -> str:
    qq = qq.strip()
    if not QQ_NUMBER.fullmatch(qq):
        raise DomainError("qq.number")
    return qq


def _row(session: Session, member_id: int) -> QQLink:
    row = session.scalar(select(QQLink).where(QQLink.member_id == member_id))
    if row is None:
        row = QQLink(member_id=member_id)
        session.add(row)
    return row


def start(session: Session, member_id: int, qq: str, now: datetime) -> str:
    """Ask to link ``qq`` to the account: the one-time code the member is to send."""
    qq = check_number(qq)
    owner = session.scalar(select(QQLink.member_id).where(QQLink.qq == qq))
    if owner is not None and owner != member_id:
        raise DomainError("qq.taken")
    code = f"{secrets.randbelow(1_000_000):06d}"
    row = _row(session, member_id)
    row.pending_qq, row.code_hash = qq, _hash(qq, code)
    row.code_expires_at = now + timedelta(minutes=CODE_MINUTES)
    session.flush()
    return code


def confirm(session: Session, qq: str, text: str, now: datetime) -> tuple[str, int | None]:
    """A private message from ``qq``: ("linked", member id) when it carries a waiting code
    asked for this number; ("wrong", None) when it carries six digits that are no such
    code; ("ignored", None) when it has none."""
    found = _CODE_IN_TEXT.findall(text or "")
    if not found:
        return "ignored", None
    waiting = session.scalars(
        select(QQLink).where(QQLink.pending_qq == qq, QQLink.code_expires_at > now)
    ).all()
    hashes = {_hash(qq, code) for code in found}
    row = next((r for r in waiting if r.code_hash in hashes), None)
    if row is None:
        return "wrong", None
    owner = session.scalar(select(QQLink).where(QQLink.qq == qq, QQLink.id != row.id))
    if owner is not None:  # the owner proved it again from another account: moved
        owner.qq = owner.verified_at = None
        session.flush()
    row.qq, row.verified_at = qq, now
    row.pending_qq = row.code_hash = row.code_expires_at = None
    number = session.scalar(select(Member.number).where(Member.id == row.member_id))
    audit.record(session, audit.QQ_LINK, actor=f"qq:{qq}", subject=number, qq=qq)
    return "linked", row.member_id


def unlink(session: Session, member_id: int, *, actor: str, ip: str | None) -> None:
    row = session.scalar(select(QQLink).where(QQLink.member_id == member_id))
    if row is None or (row.qq is None and row.pending_qq is None):
        return
    if row.qq:
        audit.record(session, audit.QQ_UNLINK, actor=actor, subject=actor, ip=ip, qq=row.qq)
    row.qq = row.verified_at = row.pending_qq = row.code_hash = row.code_expires_at = None


def view(session: Session, member_id: int, now: datetime) -> LinkView:
    row = session.scalar(select(QQLink).where(QQLink.member_id == member_id))
    if row is None:
        return LinkView(None, None, None)
    waiting = row.code_expires_at is not None and row.code_expires_at > now
    pending = row.pending_qq if waiting else None
    return LinkView(row.qq, pending, row.code_expires_at if waiting else None)


def member_of(session: Session, qq: str) -> Member | None:
    """The account a verified QQ number belongs to."""
    return session.scalar(
        select(Member).join(QQLink, QQLink.member_id == Member.id).where(QQLink.qq == qq)
    )
