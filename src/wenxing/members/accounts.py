"""Signing up and in, and the devices an account is signed in on.

Passwords are hashed with argon2id. A session is a random token in the member's cookie; the
database keeps only its SHA-256, so a database dump signs no one in. An account holds at
most ``max_sessions`` devices: signing in on one more ends the oldest. Signing in from more
than ``sharing_networks`` different /24 networks within a day flags the account for the
admin, since a shared account is a form of resale.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from wenxing import audit, limits
from wenxing.config import PublisherSettings, Settings
from wenxing.db.engine import write_later
from wenxing.members.models import AccountSession, Member
from wenxing.members.service import MemberError, add_member, normalise_phone

# argon2id parameters by the ``password_cost`` setting: the library's recommended ones
# (RFC 9106's second choice: 3 passes over 64 MiB in 4 lanes), and a cheap set for test
# suites, which sign thousands of accounts up and in. A hash made at either cost verifies
# under both; one that does not match the current cost is replaced at the next sign-in.
PASSWORD_HASHERS = {
    "standard": PasswordHasher(),
    "test": PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1),
}
_USERNAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{2,39}$")
_NUMBER = re.compile(r"^WX-\d+$", re.IGNORECASE)
MIN_PASSWORD = 8


def password_hasher() -> PasswordHasher:
    """The hasher new password hashes are made with (the ``password_cost`` setting)."""
    return PASSWORD_HASHERS[Settings().password_cost]


class SignInFailed(MemberError):
    """Wrong identifier or password (the message never says which)."""


class SignInThrottled(MemberError):
    """Too many wrong passwords for this account lately, from any address: even the right
    password is refused until the window has passed (nothing is recorded for the attempt)."""


@dataclass(frozen=True)
class SignedIn:
    member: Member
    token: str  # goes in the cookie; never stored
    ended: list[str]  # session ids ended to stay within the device limit
    flagged: bool  # this sign-in raised the account-sharing flag


def token_id(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def network_of(ip: str | None) -> str | None:
    """The /24 (IPv4) or /48 (IPv6) network an address belongs to."""
    if not ip:
        return None
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return None
    prefix = 24 if address.version == 4 else 48
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False))


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise MemberError("account.password_short", min=MIN_PASSWORD)


def sign_up(
    session: Session,
    *,
    name: str,
    password: str,
    phone: str | None = None,
    username: str | None = None,
    ip: str | None = None,
) -> Member:
    """A new free account, identified by phone number or username (or both).

    Issue 17: whether the username or phone number already has an account is told by one
    sentence for both (``account.identifier_unavailable``), only after every check that does
    not look at the accounts, and after the same work either way (the password is hashed
    before looking), so neither the answer's words nor its timing say which was taken. The
    one exception is a phone of the roster (``members import``) whose member has no password
    yet: ``account.unclaimed`` sends them to claim that account (领取账号) instead."""
    if not phone and not username:
        raise MemberError("account.identifier_missing")
    if username is not None:
        username = username.strip()
        if not _USERNAME.match(username):
            raise MemberError("account.username_format")
    normalised = normalise_phone(phone)
    if not name.strip():
        raise MemberError("member.name_missing")
    check_password(password)
    password_hash = password_hasher().hash(password)  # taken or not: the same work
    name_taken = username is not None and session.scalar(
        select(Member.id).where(func.lower(Member.username) == username.lower())
    )
    holder = (
        session.scalar(select(Member).where(Member.phone == normalised)) if normalised else None
    )
    if holder is not None and not holder.password_hash and not name_taken:
        # an imported member who has not claimed the account: 领取账号, not a new one
        raise MemberError("account.unclaimed", phone=normalised)
    if name_taken or holder is not None:
        raise MemberError("account.identifier_unavailable")
    member = add_member(session, name, phone)
    member.username = username
    member.password_hash = password_hash
    audit.record(session, audit.MEMBER_CREATE, actor=member.number, subject=member.number, ip=ip)
    return member


def sign_up_refused(session: Session, ip: str | None, now: datetime) -> None:
    """Record a refused sign-up from ``ip``: it counts towards the address's sign-ups."""
    audit.record(session, audit.MEMBER_SIGN_UP_FAILED, actor="anonymous", ip=ip, at=now)


def set_password(
    session: Session, member: Member, password: str, *, now: datetime, keep: str | None = None
) -> list[str]:
    """A new password, and every other session and API token of the account ended (a
    password changed because it leaked must shut out whoever used it); ``keep`` is the
    session id of the device making the change, if any. The ended session ids."""
    check_password(password)
    member.password_hash = password_hasher().hash(password)
    return end_all_sessions(session, member.id, now, keep=keep)


def end_all_sessions(
    session: Session, member_id: int, now: datetime, *, keep: str | None = None
) -> list[str]:
    """Sign the account out everywhere (its API tokens are sessions too), but ``keep``."""
    ended = []
    for row in devices(session, member_id):
        if row.id != keep:
            row.ended_at = now
            ended.append(row.id)
    return ended


def _find(session: Session, identifier: str) -> Member | None:
    """The account signing in: by member number (WX-10001), phone number or username
    (usernames start with a letter and hold no hyphen, so they never look like a number)."""
    identifier = identifier.strip()
    if _NUMBER.fullmatch(identifier):
        return session.scalar(select(Member).where(Member.number == identifier.upper()))
    try:
        phone = normalise_phone(identifier)
    except MemberError:
        phone = None
    if phone:
        return session.scalar(select(Member).where(Member.phone == phone))
    return session.scalar(select(Member).where(func.lower(Member.username) == identifier.lower()))


def _verify(member: Member | None, password: str) -> bool:
    hasher = password_hasher()
    if member is None or not member.password_hash:
        hasher.hash(password)  # spend the same time, so a timing does not tell who exists
        return False
    try:
        hasher.verify(member.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
    if hasher.check_needs_rehash(member.password_hash):
        member.password_hash = hasher.hash(password)
    return True


def sign_in(
    session: Session,
    identifier: str,
    password: str,
    *,
    now: datetime,
    ip: str | None,
    user_agent: str | None,
    max_sessions: int,
    sharing_networks: int,
) -> SignedIn:
    """Check the password and open a session. A suspended account may sign in (to read why).

    A wrong password is recorded in ``session`` before SignInFailed is raised: catch it
    inside the transaction and let the transaction commit, so the failure is kept.
    """
    member = _find(session, identifier)
    if member is not None:
        limits.hold(session, limits.Subject("sign-in:account", member.id))
        if _account_failures(session, member.number, now) >= SIGN_IN_FAILURES_PER_ACCOUNT:
            password_hasher().hash(password)  # the same time as a checked password
            raise SignInThrottled("account.sign_in_throttled", number=member.number)
    if not _verify(member, password):
        audit.record(
            session,
            audit.MEMBER_SIGN_IN_FAILED,
            actor="anonymous",
            subject=member.number if member else None,
            ip=ip,
            at=now,
        )
        raise SignInFailed("account.sign_in_failed")
    assert member is not None
    limits.hold(session, limits.Subject("devices", member.id))
    token = secrets.token_urlsafe(32)
    session.add(
        AccountSession(
            id=token_id(token),
            member_id=member.id,
            created_at=now,
            last_seen_at=now,
            ip=ip,
            network=network_of(ip),
            user_agent=(user_agent or "")[:300] or None,
        )
    )
    session.flush()
    ended = _enforce_device_limit(session, member.id, max_sessions, now)
    flagged = _check_sharing(session, member, sharing_networks, now, ip)
    audit.record(
        session,
        audit.MEMBER_SIGN_IN,
        actor=member.number,
        subject=member.number,
        ip=ip,
        at=now,
        user_agent=(user_agent or "")[:120],
    )
    return SignedIn(member, token, ended, flagged)


def _enforce_device_limit(session: Session, member_id: int, limit: int, now: datetime) -> list[str]:
    active = session.scalars(
        select(AccountSession)
        .where(AccountSession.member_id == member_id, AccountSession.ended_at.is_(None))
        .order_by(AccountSession.created_at, AccountSession.id)
    ).all()
    ended = []
    for old in active[: max(0, len(active) - limit)]:
        old.ended_at = now
        ended.append(old.id)
    return ended


def _check_sharing(
    session: Session, member: Member, limit: int, now: datetime, ip: str | None
) -> bool:
    day_ago = now - timedelta(hours=24)
    networks = (
        session.scalar(
            select(func.count(func.distinct(AccountSession.network))).where(
                AccountSession.member_id == member.id,
                AccountSession.created_at > day_ago,
                AccountSession.network.is_not(None),
            )
        )
        or 0
    )
    if networks <= limit:
        return False
    already = session.scalar(
        select(func.count())
        .select_from(audit.AuditEvent)
        .where(
            audit.AuditEvent.type == audit.MEMBER_SHARING_FLAG,
            audit.AuditEvent.subject == member.number,
            audit.AuditEvent.at > day_ago,
        )
    )
    if already:
        return False
    audit.record(
        session,
        audit.MEMBER_SHARING_FLAG,
        actor="system",
        subject=member.number,
        ip=ip,
        at=now,
        networks=networks,
    )
    return True


@dataclass(frozen=True)
class SessionLifetimes:
    """How long a session lasts on the server: ``idle`` unused, ``absolute`` after signing
    in (the publisher settings ``session_idle_days`` and ``session_lifetime_days``)."""

    idle: timedelta
    absolute: timedelta

    @classmethod
    def of(cls, publisher: PublisherSettings) -> SessionLifetimes:
        return cls(
            timedelta(days=publisher.session_idle_days),
            timedelta(days=publisher.session_lifetime_days),
        )


DEFAULT_LIFETIMES = SessionLifetimes.of(PublisherSettings.defaults())  # 30 and 180 days


def member_for_token(
    session: Session,
    token: str,
    now: datetime,
    lifetimes: SessionLifetimes = DEFAULT_LIFETIMES,
) -> Member | None:
    """The account a session token (cookie or bearer) signs in, while the session lasts:
    not ended, used within ``lifetimes.idle``, opened within ``lifetimes.absolute`` (the
    web passes the publisher's settings; the defaults are theirs)."""
    row = session.get(AccountSession, token_id(token))
    if row is None or row.ended_at is not None:
        return None
    if now - row.last_seen_at > lifetimes.idle or now - row.created_at > lifetimes.absolute:
        return None
    if now - row.last_seen_at > timedelta(minutes=5):  # not a write on every page
        write_later(session, partial(_seen, session_id=row.id, now=now))
    return session.get(Member, row.member_id)


def _seen(session: Session, *, session_id: str, now: datetime) -> None:
    """A device's last-seen time, as one conditional statement rather than a change left in
    the session. Of a member's requests arriving together only one writes; on PostgreSQL
    the others skip the locked row instead of queueing behind that request's transaction."""
    stale = (
        select(AccountSession.id)
        .where(
            AccountSession.id == session_id,
            AccountSession.last_seen_at < now - timedelta(minutes=5),
        )
        .with_for_update(skip_locked=True)
    )
    session.execute(
        update(AccountSession)
        .where(AccountSession.id.in_(stale))
        .values(last_seen_at=now)
        .execution_options(synchronize_session=False)
    )


def devices(session: Session, member_id: int) -> list[AccountSession]:
    return list(
        session.scalars(
            select(AccountSession)
            .where(AccountSession.member_id == member_id, AccountSession.ended_at.is_(None))
            .order_by(AccountSession.created_at.desc())
        )
    )


def end_session(session: Session, member_id: int, session_id: str, now: datetime) -> None:
    """Sign one device out (the member's own, or any for an admin acting for them)."""
    row = session.get(AccountSession, session_id)
    if row is None or row.member_id != member_id or row.ended_at is not None:
        raise MemberError("account.no_such_device")
    row.ended_at = now


SIGN_IN_FAILURES_PER_15_MIN = 10  # per address: guessing passwords
SIGN_IN_FAILURES_PER_ACCOUNT = 10  # per account in 15 minutes, whatever the addresses
SIGN_UPS_PER_HOUR = 5  # per address: making throwaway accounts


def _account_failures(session: Session, number: str, now: datetime) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(audit.AuditEvent)
            .where(
                audit.AuditEvent.type == audit.MEMBER_SIGN_IN_FAILED,
                audit.AuditEvent.subject == number,
                audit.AuditEvent.at > now - timedelta(minutes=15),
            )
        )
        or 0
    )


def too_many_attempts(session: Session, kind: str, ip: str | None, now: datetime) -> bool:
    """Whether an address has used up its sign-in failures (``kind="sign-in"``) or its
    sign-ups (``kind="sign-up"``) for now; both are counted from the audit log.

    Call it in the write transaction that then records the attempt: it holds the address
    (``limits.hold``) until that transaction ends, so parallel attempts count one by one."""
    if not ip:
        return False
    limits.hold(session, limits.Subject(kind, ip))
    events: tuple[str, ...]
    events, window, limit = {
        "sign-in": (
            (audit.MEMBER_SIGN_IN_FAILED,),
            timedelta(minutes=15),
            SIGN_IN_FAILURES_PER_15_MIN,
        ),
        # Sign-ups and refused sign-ups (a username taken…) alike: the form cannot be used
        # to try usernames one after another.
        "sign-up": (
            (audit.MEMBER_CREATE, audit.MEMBER_SIGN_UP_FAILED),
            timedelta(hours=1),
            SIGN_UPS_PER_HOUR,
        ),
    }[kind]
    count = session.scalar(
        select(func.count())
        .select_from(audit.AuditEvent)
        .where(
            audit.AuditEvent.type.in_(events),
            audit.AuditEvent.ip == ip,
            audit.AuditEvent.at > now - window,
        )
    )
    return (count or 0) >= limit
