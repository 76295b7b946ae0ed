"""Subscriptions: stacking periods, granting memberships, and an account's entitlement view."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Select, exists, func, select
from sqlalchemy.orm import Session

from wenxing import audit
from wenxing.config import PublisherSettings
from wenxing.db.base import utcnow
from wenxing.events import SubscriptionGranted, raise_
from wenxing.members.entitlement import (
    AccountView,
    Period,
    Plan,
    add_months,
    current_run,
    parse_plans,
)
from wenxing.members.models import ActivationCode, Member, Subscription


class UnknownPlan(ValueError):
    pass


def plans(publisher: PublisherSettings) -> dict[str, Plan]:
    return parse_plans(publisher.plans)


def plan_named(publisher: PublisherSettings, code: str) -> Plan:
    known = plans(publisher)
    if code not in known:
        raise UnknownPlan(f"unknown plan {code!r}; plans are {', '.join(sorted(known))}")
    return known[code]


def unredeemed_codes_outside(session: Session, plans: set[str]) -> tuple[str, int] | None:
    """A plan outside ``plans`` that codes still to be redeemed would grant, and how many
    such codes there are (None when there is none): such a plan may not be removed."""
    usable = ActivationCode.expires_at.is_(None) | (ActivationCode.expires_at > utcnow())
    waiting = session.execute(
        select(ActivationCode.plan, func.count())
        .where(ActivationCode.state == "issued", ActivationCode.plan.not_in(plans), usable)
        .group_by(ActivationCode.plan)
    ).first()
    return None if waiting is None else (waiting[0], waiting[1])


def lock_member(session: Session, member_id: int) -> Member:
    """The member row, locked for this transaction (PostgreSQL; SQLite writers queue anyway)."""
    member = session.scalar(select(Member).where(Member.id == member_id).with_for_update())
    if member is None:
        raise LookupError(member_id)
    return member


def extend(
    session: Session, member: Member, months: int, plan: str, source: str, now: datetime
) -> Subscription:
    """Add a period after the member's last one (or from now when none is active).

    The caller holds the member's row lock, so two extensions never start at the same end.
    """
    latest = session.scalar(
        select(Subscription.ends_at)
        .where(Subscription.member_id == member.id, Subscription.ends_at > now)
        .order_by(Subscription.ends_at.desc())
        .limit(1)
    )
    starts_at = latest if latest is not None else now
    zone = PublisherSettings.load(session).timezone  # months on the publisher's calendar
    period = Subscription(
        member_id=member.id,
        plan=plan,
        starts_at=starts_at,
        ends_at=add_months(starts_at, months, zone),
        source=source,
    )
    session.add(period)
    member.membership_ends = max(period.ends_at, member.membership_ends or period.ends_at)
    session.flush()
    return period


def grant(
    session: Session,
    member_id: int,
    plan: Plan,
    *,
    actor: str,
    reason: str,
    now: datetime,
    ip: str | None = None,
) -> Subscription:
    """Give a member a plan's length of membership (rewards, goodwill), audited and
    announced to the member (``SubscriptionGranted``)."""
    member = lock_member(session, member_id)
    period = extend(session, member, plan.months, plan.code, f"grant:{actor}"[:40], now)
    raise_(session, SubscriptionGranted(member.id, plan.code, plan.name, period.ends_at))
    audit.record(
        session,
        audit.SUBSCRIPTION_GRANT,
        actor=actor,
        subject=member.number,
        ip=ip,
        plan=plan.code,
        ends_at=period.ends_at,
        reason=reason,
    )
    return period


def account_view(session: Session, member: Member) -> AccountView:
    rows = session.scalars(select(Subscription).where(Subscription.member_id == member.id))
    return AccountView(
        role=member.role,
        suspended=member.status == "suspended",
        periods=tuple(Period(r.plan, r.starts_at, r.ends_at) for r in rows),
    )


def membership_end(session: Session, member_id: int, now: datetime) -> datetime | None:
    return session.scalar(
        select(Subscription.ends_at)
        .where(Subscription.member_id == member_id, Subscription.ends_at > now)
        .order_by(Subscription.ends_at.desc())
        .limit(1)
    )


def subscribed_now(now: datetime) -> Select:
    """The ids of active, non-staff accounts with a subscription running at ``now`` (the
    accounts ``entitlement.role_now`` calls members)."""
    running = exists().where(
        Subscription.member_id == Member.id,
        Subscription.starts_at <= now,
        Subscription.ends_at > now,
    )
    return select(Member.id).where(Member.role == "user", Member.status == "active", running)


def ending_between(session: Session, start: datetime, end: datetime) -> dict[int, datetime]:
    """Active members whose membership (their current run of back-to-back subscriptions)
    ends in ``(start, end]``, with that end."""
    candidates = select(Subscription.member_id).where(
        Subscription.ends_at > start, Subscription.ends_at <= end
    )
    rows = session.execute(
        select(
            Subscription.member_id, Subscription.plan, Subscription.starts_at, Subscription.ends_at
        )
        .join(Member, Member.id == Subscription.member_id)
        .where(Subscription.member_id.in_(candidates), Member.status == "active")
    ).all()
    periods: dict[int, list[Period]] = {}
    for member_id, plan, starts_at, ends_at in rows:
        periods.setdefault(member_id, []).append(Period(plan, starts_at, ends_at))
    ending = {}
    for member_id, theirs in periods.items():
        run = current_run(theirs, start)
        if run is None:
            continue
        run_end = max(p.ends_at for p in run)
        if start < run_end <= end:
            ending[member_id] = run_end
    return ending
