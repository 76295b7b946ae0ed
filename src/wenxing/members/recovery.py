"""Getting back into an account: a code sent by SMS, or a one-time link from the console.

Four kinds of ``RecoveryToken``: ``sms`` (a 6-digit code to the account's phone, 10
minutes), ``signup`` (the same, proving a new account's phone at sign-up: ``check_signup_code``
before the account is made, ``signup_code_used`` after; an unclaimed imported member's phone
then goes on to claim that account with the very code, which ``reset_with_code`` accepts), ``link`` (a reset link an editor makes on the console's member page, shown once,
24 hours) and ``invite`` (an imported member's invitation link, in the roster export, 30
days). Imported members, who have no password, claim their account by either way; the
account's phone is then known to be theirs.

Only SHA-256 digests are stored. Each token is used once; a new password ends every other
session of the account (``accounts.set_password``). Limits, over both kinds of code (each
text message costs the publisher): one code per phone a minute,
``SENDS_PER_HOUR`` per phone and ``SENDS_PER_HOUR_PER_IP`` per address; a code dies after
``GUESSES_PER_CODE`` wrong tries, and an address may make ``GUESSES_PER_IP`` wrong tries in
15 minutes over all phones (the audit log counts them). Whether a phone has an account is
never told: asking for a code answers the same either way.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from wenxing import audit, limits
from wenxing.members.accounts import set_password
from wenxing.members.models import Member, RecoveryToken
from wenxing.members.service import MemberError, normalise_phone

CODE_MINUTES = 10
LINK_HOURS = 24
INVITE_DAYS = 30
RESEND_SECONDS = 60
SENDS_PER_HOUR = 5
SENDS_PER_HOUR_PER_IP = 10
GUESSES_PER_CODE = 5
GUESSES_PER_IP = 20
SMS_KINDS = ("sms", "signup")


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.strip().encode()).hexdigest()


@dataclass(frozen=True)
class Outgoing:
    """A code to send once the transaction that stored it has committed."""

    phone: str
    code: str


def request_code(
    session: Session, phone: str, *, ip: str | None, now: datetime, kind: str = "sms"
) -> Outgoing | None:
    """Store a new SMS code for ``phone``; the code to send, or None when nothing is sent
    (a reset code for a phone with no account: the caller answers the same). ``kind``:
    ``sms`` (a reset) or ``signup`` (sent whether or not the phone has an account: only the
    phone's holder reads it). MemberError when a limit refuses; call it in a write
    transaction (the phone is held)."""
    if kind not in SMS_KINDS:
        raise ValueError(kind)
    normalised = normalise_phone(phone)
    if not normalised:
        raise MemberError("member.phone_format", phone=phone)
    limits.hold(session, limits.Subject("sms:phone", normalised))
    _check_send_limits(session, normalised, ip, now)
    member = session.scalar(select(Member).where(Member.phone == normalised))
    code = f"{secrets.randbelow(1_000_000):06d}"
    session.add(
        RecoveryToken(
            member_id=member.id if member else None,
            kind=kind,
            phone=normalised,
            secret_hash=_digest(code),
            attempts=0,
            created_at=now,
            expires_at=now + timedelta(minutes=CODE_MINUTES),
            created_by="anonymous",
            ip=ip,
        )
    )
    if kind == "signup":
        audit.record(session, audit.MEMBER_SIGNUP_CODE, actor="anonymous", ip=ip)
        return Outgoing(normalised, code)
    if member is None:
        return None
    audit.record(session, audit.MEMBER_RESET_CODE, actor="anonymous", subject=member.number, ip=ip)
    return Outgoing(normalised, code)


def _check_send_limits(session: Session, phone: str, ip: str | None, now: datetime) -> None:
    """MemberError when ``phone`` had a code this minute or too many this hour, or ``ip``
    asked for too many this hour (codes of every kind count)."""
    recent = select(func.count()).where(
        RecoveryToken.kind.in_(SMS_KINDS), RecoveryToken.created_at > now - timedelta(hours=1)
    )
    last = session.scalar(
        select(func.max(RecoveryToken.created_at)).where(
            RecoveryToken.kind.in_(SMS_KINDS), RecoveryToken.phone == phone
        )
    )
    if last is not None and now - last < timedelta(seconds=RESEND_SECONDS):
        wait = RESEND_SECONDS - int((now - last).total_seconds())
        raise MemberError("recovery.too_soon", seconds=max(wait, 1))
    if (session.scalar(recent.where(RecoveryToken.phone == phone)) or 0) >= SENDS_PER_HOUR:
        raise MemberError("recovery.too_many_sends")
    if ip and (session.scalar(recent.where(RecoveryToken.ip == ip)) or 0) >= SENDS_PER_HOUR_PER_IP:
        raise MemberError("recovery.too_many_sends")


def _latest_code(session: Session, phone: str | None, kinds: tuple[str, ...]):
    return session.scalar(
        select(RecoveryToken)
        .where(RecoveryToken.kind.in_(kinds), RecoveryToken.phone == phone)
        .order_by(RecoveryToken.created_at.desc(), RecoveryToken.id.desc())
        .limit(1)
    )


def _checked_code(
    session: Session, phone: str | None, code: str, kinds: tuple[str, ...], ip, now
) -> RecoveryToken:
    """The latest live code of ``kinds`` sent to ``phone`` when ``code`` is it. A wrong
    code is counted (the code's attempts, the address's failures) before MemberError."""
    if not code.strip():
        raise MemberError("recovery.code_needed")
    if ip:
        limits.hold(session, limits.Subject("reset:ip", ip))
        if _failures_from(session, ip, now) >= GUESSES_PER_IP:
            raise MemberError("recovery.too_many_guesses")
    token = _latest_code(session, phone, kinds)
    if token is None or token.used_at is not None or token.expires_at <= now:
        _failed(session, None, ip, now)
        raise MemberError("recovery.wrong_code")
    if token.attempts >= GUESSES_PER_CODE:
        raise MemberError("recovery.too_many_guesses")
    if not secrets.compare_digest(token.secret_hash, _digest(code)):
        token.attempts += 1
        _failed(session, token, ip, now)
        raise MemberError("recovery.wrong_code")
    return token


def check_signup_code(
    session: Session, phone: str, code: str, *, ip: str | None, now: datetime
) -> RecoveryToken:
    """The sign-up code sent to ``phone``, when ``code`` is it (MemberError otherwise: a
    wrong code is recorded first, so catch it inside the transaction and commit). Mark it
    used with ``signup_code_used`` once the account is made."""
    return _checked_code(session, normalise_phone(phone), code, ("signup",), ip, now)


def signup_phone(
    session: Session, phone: str, code: str, *, check: str, ip: str | None, now: datetime
) -> RecoveryToken | None:
    """How a phone given at sign-up is taken, by ``check``: ``sms`` (its code must be
    right: ``check_signup_code``), ``none`` (as given, no sender and sign-up left open) or
    ``closed`` (no sender and phone sign-up closed: MemberError)."""
    if check == "closed":
        raise MemberError("account.phone_unverified")
    if check == "sms":
        return check_signup_code(session, phone, code, ip=ip, now=now)
    return None


def signup_code_used(token: RecoveryToken, member: Member, now: datetime) -> None:
    token.used_at = now
    token.member_id = member.id


def reset_with_code(
    session: Session, phone: str, code: str, password: str, *, ip: str | None, now: datetime
) -> Member:
    """Set a new password with the latest SMS code sent to ``phone`` (a reset code, or the
    sign-up code of a phone that turned out to be an imported member's). A wrong code is
    recorded before MemberError is raised: catch it inside the transaction and commit."""
    normalised = normalise_phone(phone) if phone.strip() else None
    token = _checked_code(session, normalised, code, SMS_KINDS, ip, now)
    if token.member_id is None:
        raise MemberError("recovery.wrong_code")
    return _use(session, token, password, ip=ip, now=now, via="sms")


def make_link(
    session: Session, member: Member, *, kind: str, actor: str, ip: str | None, now: datetime
) -> str:
    """A new one-time link token for ``member`` (``link``: 24 hours; ``invite``: 30 days),
    made by ``actor``; earlier unused links of the same kind stop working. Shown once: only
    its digest is kept."""
    if kind not in ("link", "invite"):
        raise ValueError(kind)
    for old in session.scalars(
        select(RecoveryToken).where(
            RecoveryToken.member_id == member.id,
            RecoveryToken.kind == kind,
            RecoveryToken.used_at.is_(None),
        )
    ):
        old.expires_at = min(old.expires_at, now)
    secret = secrets.token_urlsafe(24)
    lasting = timedelta(hours=LINK_HOURS) if kind == "link" else timedelta(days=INVITE_DAYS)
    session.add(
        RecoveryToken(
            member_id=member.id,
            kind=kind,
            phone=None,
            secret_hash=_digest(secret),
            attempts=0,
            created_at=now,
            expires_at=now + lasting,
            created_by=actor,
            ip=ip,
        )
    )
    audit.record(
        session, audit.MEMBER_RESET_LINK, actor=actor, subject=member.number, ip=ip, kind=kind
    )
    return secret


def link_holder(session: Session, secret: str, now: datetime) -> tuple[Member, RecoveryToken]:
    """The account a link opens (MemberError ``recovery.link_invalid`` when it is unknown,
    used or expired)."""
    token = session.scalar(
        select(RecoveryToken).where(
            RecoveryToken.secret_hash == _digest(secret),
            RecoveryToken.kind.in_(("link", "invite")),
        )
    )
    if token is None or token.used_at is not None or token.expires_at <= now:
        raise MemberError("recovery.link_invalid")
    member = session.get(Member, token.member_id)
    if member is None:
        raise MemberError("recovery.link_invalid")
    return member, token


def reset_with_link(
    session: Session, secret: str, password: str, *, ip: str | None, now: datetime
) -> Member:
    _member, token = link_holder(session, secret, now)
    return _use(session, token, password, ip=ip, now=now, via=token.kind)


def _use(
    session: Session,
    token: RecoveryToken,
    password: str,
    *,
    ip: str | None,
    now: datetime,
    via: str,
) -> Member:
    member = session.get(Member, token.member_id)
    if member is None:
        raise MemberError("recovery.link_invalid")
    set_password(session, member, password, now=now)  # checks it; ends every session
    token.used_at = now
    audit.record(
        session,
        audit.MEMBER_PASSWORD_RESET,
        actor=member.number,
        subject=member.number,
        ip=ip,
        via=via,
    )
    return member


def _failed(session: Session, token: RecoveryToken | None, ip: str | None, now: datetime) -> None:
    subject = None
    if token is not None and token.member_id is not None:
        member = session.get(Member, token.member_id)
        subject = member.number if member else None
    audit.record(
        session, audit.MEMBER_RESET_FAILED, actor="anonymous", subject=subject, ip=ip, at=now
    )


def _failures_from(session: Session, ip: str, now: datetime) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(audit.AuditEvent)
            .where(
                audit.AuditEvent.type == audit.MEMBER_RESET_FAILED,
                audit.AuditEvent.ip == ip,
                audit.AuditEvent.at > now - timedelta(minutes=15),
            )
        )
        or 0
    )


def member_numbered(session: Session, number: str) -> Member | None:
    return session.scalar(select(Member).where(Member.number == number.strip().upper()))
