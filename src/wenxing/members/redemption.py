"""Activation codes in the database: batches, redemption exactly once, revocation, gifts.

Redemption is one conditional UPDATE (``state = 'issued'`` and not expired) whose row count
says whether this call won the code; the subscription extension and the audit event join
the same transaction. A failed attempt is audited in a transaction of its own (the attempt
itself rolled back), and recent failures per account and per address are rate-limited.
"""

from __future__ import annotations

import csv
import io
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from wenxing import audit, clock, limits
from wenxing.config import PublisherSettings
from wenxing.db.base import utcnow
from wenxing.db.engine import Database
from wenxing.events import SubscriptionGranted, raise_
from wenxing.members.codes import CodeError, format_code, generate_code, normalise_code
from wenxing.members.entitlement import Plan
from wenxing.members.models import ActivationCode, CodeBatch, Member, Subscription
from wenxing.members.subscriptions import extend, plans


class RedeemError(CodeError):
    """A code that exists but cannot be redeemed now, or too many failed attempts."""


class CodeNotFound(RedeemError):
    pass


class AlreadyRedeemed(RedeemError):
    pass


class CodeRevoked(RedeemError):
    pass


class CodeExpired(RedeemError):
    pass


class TooManyAttempts(RedeemError):
    pass


@dataclass(frozen=True)
class Redemption:
    member: str
    plan: str
    ends_at: datetime
    # True when the member had redeemed this code before (a retry after a lost answer):
    # the same period is returned and nothing is extended again.
    repeated: bool = False


def generate_batch(
    session: Session,
    plan: Plan,
    count: int,
    label: str,
    channel: str,
    expires_at: datetime | None,
    *,
    actor: str,
) -> list[str]:
    """Create ``count`` codes in a new batch; returns them in canonical form."""
    if not 1 <= count <= 100_000:
        raise CodeError("code.batch_count", low=1, high=100_000)
    label = label.strip()
    if not label:
        raise CodeError("code.batch_label")
    if session.scalar(select(CodeBatch.id).where(CodeBatch.label == label)):
        raise CodeError("code.batch_exists", label=label)
    batch = CodeBatch(
        label=label,
        channel=channel.strip() or label,
        plan=plan.code,
        count=count,
        expires_at=expires_at,
    )
    session.add(batch)
    session.flush()
    codes = {generate_code() for _ in range(count)}
    while len(codes) < count:  # 80 random bits: a repeat is all but impossible, still checked
        codes.add(generate_code())
    session.add_all(
        ActivationCode(code=c, batch_id=batch.id, plan=plan.code, expires_at=expires_at)
        for c in sorted(codes)
    )
    audit.record(
        session,
        audit.CODE_GENERATE,
        actor=actor,
        subject=label,
        plan=plan.code,
        count=count,
        channel=batch.channel,
    )
    return sorted(codes)


def recent_failures(session: Session, member: str | None, ip: str | None, now: datetime) -> int:
    conditions = []
    if member:
        conditions.append(audit.AuditEvent.subject == member)
    if ip:
        conditions.append(audit.AuditEvent.ip == ip)
    if not conditions:
        return 0
    return (
        session.scalar(
            select(func.count())
            .select_from(audit.AuditEvent)
            .where(
                audit.AuditEvent.type == audit.CODE_REDEEM_FAILED,
                audit.AuditEvent.at > now - timedelta(hours=1),
                or_(*conditions),
            )
        )
        or 0
    )


def redeem(
    db: Database,
    entry: str,
    member_id: int,
    plans: dict[str, Plan],
    *,
    now: datetime,
    actor: str,
    ip: str | None = None,
    failure_limit: int = 10,
) -> Redemption:
    """Redeem a code for a member, exactly once. Raises a CodeError subclass on failure."""
    failure: CodeError | None = None
    with db.transaction() as session:
        # Lock the member first: their subscriptions are extended below, and two of their
        # redemptions must not both start at the same end. The failures are counted and a new
        # one recorded in this same transaction, holding the account and the address
        # (``limits.hold``), so parallel wrong guesses count one by one.
        member = session.scalar(select(Member).where(Member.id == member_id).with_for_update())
        if member is None:
            raise LookupError(member_id)
        number = member.number
        limits.hold(session, limits.Subject("redeem:member", member_id))
        if ip:
            limits.hold(session, limits.Subject("redeem:ip", ip))
        if recent_failures(session, number, ip, now) >= failure_limit:
            raise TooManyAttempts("code.too_many_attempts")
        try:
            code = normalise_code(entry)
            with session.begin_nested():
                return _redeem_in(session, code, member, plans, now=now, actor=actor, ip=ip)
        except CodeError as exc:
            failure = exc
            audit.record(
                session,
                audit.CODE_REDEEM_FAILED,
                actor=actor,
                subject=number,
                ip=ip,
                at=now,
                reason=exc.__class__.__name__,
                entry=entry[:40],
            )
    assert failure is not None  # the block returned otherwise
    raise failure


def redeem_code(
    db: Database,
    publisher: PublisherSettings,
    entry: str,
    member_id: int,
    *,
    actor: str,
    ip: str | None = None,
    now: datetime | None = None,
) -> tuple[Redemption, Plan]:
    """The one redemption service the site, the API and the command line call: the
    publisher's plans and failure limit applied to :func:`redeem`. Returns the redemption
    and the plan it granted; raises a CodeError subclass on failure."""
    known = plans(publisher)
    done = redeem(
        db,
        entry,
        member_id,
        known,
        now=now or utcnow(),
        actor=actor,
        ip=ip,
        failure_limit=publisher.redeem_failures_per_hour,
    )
    return done, known[done.plan]


def _redeem_in(
    session: Session,
    code: str,
    member: Member,
    plans: dict[str, Plan],
    *,
    now: datetime,
    actor: str,
    ip: str | None,
) -> Redemption:
    won = session.execute(
        update(ActivationCode)
        .where(
            ActivationCode.code == code,
            ActivationCode.state == "issued",
            or_(ActivationCode.expires_at.is_(None), ActivationCode.expires_at > now),
        )
        .values(state="redeemed", redeemed_by=member.id, redeemed_at=now)
        .returning(ActivationCode.id, ActivationCode.plan)
        .execution_options(synchronize_session=False)
    ).first()
    if won is None:
        row = session.scalar(select(ActivationCode).where(ActivationCode.code == code))
        earlier = _earlier_redemption(session, row, member)
        if earlier is not None:
            return earlier
        raise _why_not(row, now)
    code_id, plan_code = won
    plan = plans.get(plan_code)
    if plan is None:
        raise RedeemError("code.plan_gone", plan=plan_code)
    period = extend(session, member, plan.months, plan.code, f"code:{code_id}", now)
    raise_(session, SubscriptionGranted(member.id, plan.code, plan.name, period.ends_at))
    audit.record(
        session,
        audit.CODE_REDEEM,
        actor=actor,
        subject=member.number,
        ip=ip,
        at=now,
        code=format_code(code),
        plan=plan.code,
        ends_at=period.ends_at,
    )
    return Redemption(member.number, plan.code, period.ends_at)


def _earlier_redemption(
    session: Session, row: ActivationCode | None, member: Member
) -> Redemption | None:
    """The member's own earlier redemption of this code, answered again: a member whose
    first answer was lost (the worker died after the commit) and who tries again is told
    it worked, with the same period, not that the code is used."""
    if row is None or row.state != "redeemed" or row.redeemed_by != member.id:
        return None
    period = session.scalar(
        select(Subscription).where(
            Subscription.member_id == member.id, Subscription.source == f"code:{row.id}"
        )
    )
    if period is None:
        return None
    return Redemption(member.number, period.plan, period.ends_at, repeated=True)


def _why_not(row: ActivationCode | None, now: datetime) -> RedeemError:
    if row is None:
        return CodeNotFound("code.not_found")
    if row.state == "redeemed":
        return AlreadyRedeemed("code.redeemed")
    if row.state == "revoked":
        return CodeRevoked("code.revoked")
    return CodeExpired("code.expired", date=f"{row.expires_at:%Y-%m-%d}")


def revoke(session: Session, entry: str, *, actor: str, now: datetime) -> ActivationCode:
    code = normalise_code(entry)
    row = session.scalar(select(ActivationCode).where(ActivationCode.code == code))
    if row is None:
        raise CodeNotFound("code.not_found")
    if row.state != "issued":
        raise RedeemError("code.not_revocable", state=row.state)
    row.state, row.revoked_at = "revoked", now
    audit.record(session, audit.CODE_REVOKE, actor=actor, subject=format_code(code))
    return row


def gift_code(session: Session, plan: Plan, *, actor: str, reason: str) -> str:
    """A single code for someone without an account (a reporter's reward), audited."""
    label = f"gift-{uuid.uuid4().hex[:12]}"
    [code] = generate_batch(session, plan, 1, label, "gift", None, actor=actor)
    audit.record(
        session,
        audit.GIFT_CODE,
        actor=actor,
        subject=format_code(code),
        plan=plan.code,
        reason=reason,
    )
    return code


def latest_redeemed_plan(session: Session, member_id: int) -> str | None:
    """The plan (its code) of the code ``member_id`` redeemed last, if any."""
    return session.scalar(
        select(ActivationCode.plan)
        .where(ActivationCode.redeemed_by == member_id, ActivationCode.state == "redeemed")
        .order_by(ActivationCode.redeemed_at.desc(), ActivationCode.id.desc())
        .limit(1)
    )


def code_state(row: ActivationCode, now: datetime) -> str:
    if row.state == "issued" and row.expires_at is not None and row.expires_at <= now:
        return "expired"
    return row.state


def export_batch(session: Session, label: str, now: datetime, timezone: str | None = None) -> str:
    """The batch's codes and their states as CSV (for the publisher's sales records), on
    the publisher's clock (``timezone``, else the ``timezone`` setting read in ``session``):
    ``redeemed_at`` is the local time with its UTC offset (2027-12-07T09:30:00+08:00),
    ``expires_at`` the last local day a code redeems."""
    if timezone is None:
        timezone = PublisherSettings.load(session).timezone
    batch = session.scalar(select(CodeBatch).where(CodeBatch.label == label))
    if batch is None:
        raise LookupError(label)
    rows = session.execute(
        select(ActivationCode, Member.number)
        .outerjoin(Member, Member.id == ActivationCode.redeemed_by)
        .where(ActivationCode.batch_id == batch.id)
        .order_by(ActivationCode.id)
    ).all()
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        ["code", "plan", "channel", "state", "redeemed_by", "redeemed_at", "expires_at"]
    )
    for code, number in rows:
        writer.writerow(
            [
                format_code(code.code),
                code.plan,
                batch.channel,
                code_state(code, now),
                number or "",
                _local_moment(code.redeemed_at, timezone),
                _last_day(code.expires_at, timezone),
            ]
        )
    return out.getvalue()


def _local_moment(moment: datetime | None, timezone: str | None) -> str:
    return clock.local(moment, timezone).isoformat(timespec="seconds") if moment else ""


def _last_day(expires_at: datetime | None, timezone: str | None) -> str:
    """The publisher's last day a code redeems: its end is stored as the next local
    midnight (the command line) or the day's last second (the console)."""
    if expires_at is None:
        return ""
    return clock.day_of(expires_at - timedelta(seconds=1), timezone)
