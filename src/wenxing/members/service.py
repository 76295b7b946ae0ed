"""Creating and finding members."""

from __future__ import annotations

import re
import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from wenxing.errors import DomainError
from wenxing.installation import member_number_offset
from wenxing.members.models import FIRST_NUMBER, Member

_PHONE = re.compile(r"^1[3-9]\d{9}$")
_NUMBER = re.compile(r"^WX-(\d+)$", re.IGNORECASE)


class MemberError(DomainError):
    """Bad member data (a ``member.*`` or ``account.*`` code); the message says what is
    wrong."""


class MemberNotFound(LookupError):
    pass


def normalise_phone(phone: str | None) -> str | None:
    if phone is None or not phone.strip():
        return None
    digits = re.sub(r"[\s-]", "", phone.strip())
    if digits.startswith("+86"):
        digits = digits[3:]
    if not _PHONE.match(digits):
        raise MemberError("member.phone_format", phone=phone)
    return digits


def add_member(session: Session, name: str, phone: str | None = None) -> Member:
    """A new member with the next member number (the caller's transaction commits)."""
    name = name.strip()
    if not name:
        raise MemberError("member.name_missing")
    if len(name) > 100:
        raise MemberError("member.name_too_long")
    phone = normalise_phone(phone)
    if phone and session.scalar(select(Member.id).where(Member.phone == phone)):
        raise MemberError("member.phone_taken", phone=phone)
    # The number follows the row id, so concurrent sign-ups can never draw the same one.
    member = Member(name=name, phone=phone, number=f"tmp-{uuid.uuid4().hex[:12]}")
    session.add(member)
    session.flush()
    # A restore moves numbers on (installation.member_number_offset): a number given out
    # after the backup and lost with it is never given to someone else.
    member.number = f"WX-{FIRST_NUMBER - 1 + member.id + member_number_offset(session)}"
    session.flush()
    return member


def find_member(session: Session, ref: str) -> Member:
    """A member by database id (``12``) or member number (``WX-10012``)."""
    ref = ref.strip()
    if _NUMBER.match(ref):
        member = session.scalar(select(Member).where(Member.number == ref.upper()))
    elif ref.isdigit():
        member = session.get(Member, int(ref))
    else:
        raise MemberError("member.bad_reference", ref=ref)
    if member is None:
        raise MemberNotFound(ref)
    return member
