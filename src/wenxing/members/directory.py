"""The publisher's list of members: searched, filtered, exported and changed in bulk.

Filters: the plan a member holds now, membership ending within N days, membership ended
(and none now), suspended, flagged for sharing an account. The search is the number
exactly, or part of the name, username or phone (through a trigram index,
``db/substring.py``). The end of a member's membership is read from the member's row
(``Member.membership_ends``, kept with every period written), so the filters on it and the
dashboard's counts are indexed ranges, not a look at every member's periods; a count stops
at ``COUNT_LIMIT`` (the list says "more than"), so no filter reads the whole table to count. ``export_csv`` writes the filtered list
with dates in the publisher's time zone; ``bulk_grant`` and ``bulk_suspend`` change many
members in one transaction through the same rules as one (``subscriptions.grant``,
``roster.suspend``), each member audited as when done alone.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Select, exists, func, or_, select
from sqlalchemy.orm import Session

from wenxing import audit
from wenxing.audit import AuditEvent
from wenxing.db.daily import per_local_day
from wenxing.db.substring import contains
from wenxing.errors import DomainError
from wenxing.members import roster
from wenxing.members.entitlement import Plan
from wenxing.members.models import Member, Subscription
from wenxing.members.subscriptions import grant

STATES = ("active", "suspended")
MAX_BULK = 1000  # members one bulk action may change
MAX_EXPORT = 100_000  # rows of one CSV export
COUNT_LIMIT = 10_000  # a list counts its members up to this, then says "more than"
STATE_NAMES = {"active": "正常", "suspended": "已暂停"}
ROLE_NAMES = {"user": "会员", "editor": "编辑", "admin": "管理员"}


@dataclass(frozen=True)
class MemberFilter:
    q: str = ""
    plan: str = ""  # a plan's code: holding it now
    expiring_days: int | None = None  # membership ends within this many days
    expired: bool = False  # had membership, none now
    suspended: bool = False
    flagged: bool = False  # flagged for sharing the account

    def query(self) -> dict[str, str]:
        values = {
            "q": self.q,
            "plan": self.plan,
            "expiring": str(self.expiring_days or ""),
            "expired": "1" if self.expired else "",
            "suspended": "1" if self.suspended else "",
            "flagged": "1" if self.flagged else "",
        }
        return {name: value for name, value in values.items() if value}


def _current(now: datetime):
    return (
        (Subscription.member_id == Member.id)
        & (Subscription.starts_at <= now)
        & (Subscription.ends_at > now)
    )


def filtered(session: Session, query: Select, wanted: MemberFilter, now: datetime) -> Select:
    """``query`` (over ``Member``) narrowed to the members ``wanted`` describes."""
    if wanted.q:
        query = query.where(
            or_(
                Member.number == wanted.q.upper(),
                contains(session, [Member.name, Member.username, Member.phone], wanted.q),
            )
        )
    if wanted.plan:
        query = query.where(exists().where(_current(now), Subscription.plan == wanted.plan))
    if wanted.expiring_days is not None:
        until = now + timedelta(days=wanted.expiring_days)
        query = query.where(Member.membership_ends > now, Member.membership_ends <= until)
    if wanted.expired:
        query = query.where(Member.membership_ends <= now)
    if wanted.suspended:
        query = query.where(Member.status == "suspended")
    if wanted.flagged:
        flagged = select(AuditEvent.subject).where(AuditEvent.type == audit.MEMBER_SHARING_FLAG)
        query = query.where(Member.number.in_(flagged))
    return query


def count(session: Session, wanted: MemberFilter, now: datetime, limit: int | None = None) -> int:
    """How many members the filter matches; with ``limit``, at most ``limit + 1`` (more than
    ``limit`` when it says so)."""
    matching = filtered(session, select(Member.id), wanted, now)
    if limit is not None:
        matching = matching.limit(limit + 1)
    return session.scalar(select(func.count()).select_from(matching.subquery())) or 0


def page(
    session: Session, wanted: MemberFilter, now: datetime, *, limit: int, offset: int
) -> list[Member]:
    """A page of the filtered list, newest account first (rows detached from nothing: the
    caller's session holds them)."""
    return list(
        session.scalars(
            filtered(session, select(Member), wanted, now)
            .order_by(Member.id.desc())
            .limit(limit)
            .offset(offset)
        )
    )


def membership_ends(session: Session, member_ids: Sequence[int]) -> dict[int, datetime]:
    """When each member's membership (stacked periods) ends, for those who had one."""
    if not member_ids:
        return {}
    rows = session.execute(
        select(Subscription.member_id, func.max(Subscription.ends_at))
        .where(Subscription.member_id.in_(list(member_ids)))
        .group_by(Subscription.member_id)
    ).all()
    return dict(rows)


def find(session: Session, number: str) -> Member | None:
    return session.scalar(select(Member).where(Member.number == number.strip().upper()))


def _local(moment: datetime | None, zone: ZoneInfo) -> str:
    if moment is None:
        return ""
    return moment.replace(tzinfo=UTC).astimezone(zone).strftime("%Y-%m-%d %H:%M")


def export_csv(session: Session, wanted: MemberFilter, now: datetime, timezone: str) -> str:
    """The filtered list as CSV with a Chinese header; moments in ``timezone`` (named in
    the header)."""
    zone = ZoneInfo(timezone)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [
            "会员号",
            "称呼",
            "手机号",
            "用户名",
            "角色",
            "状态",
            f"注册时间（{timezone}）",
            f"会员到期（{timezone}）",
        ]
    )
    offset, size = 0, 2000
    while offset < MAX_EXPORT:
        rows = page(session, wanted, now, limit=size, offset=offset)
        ends = membership_ends(session, [m.id for m in rows])
        for m in rows:
            writer.writerow(
                [
                    m.number,
                    m.name,
                    m.phone or "",
                    m.username or "",
                    ROLE_NAMES.get(m.role, m.role),
                    STATE_NAMES.get(m.status, m.status),
                    _local(m.created_at, zone),
                    _local(ends.get(m.id), zone),
                ]
            )
        if len(rows) < size:
            break
        offset += size
    return out.getvalue()


def _members(session: Session, numbers: Sequence[str]) -> list[Member]:
    if not numbers:
        raise DomainError("member.bulk_none")
    if len(numbers) > MAX_BULK:
        raise DomainError("member.bulk_too_many", limit=MAX_BULK)
    wanted = list(dict.fromkeys(n.strip().upper() for n in numbers))
    return list(session.scalars(select(Member).where(Member.number.in_(wanted))))


def bulk_grant(
    session: Session,
    numbers: Sequence[str],
    plan: Plan,
    *,
    actor: str,
    reason: str,
    now: datetime,
    ip: str | None = None,
) -> int:
    """Give each member a plan's length of membership; returns how many."""
    if not reason.strip():
        raise DomainError("member.grant_reason")
    rows = _members(session, numbers)
    for member in rows:
        grant(session, member.id, plan, actor=actor, reason=reason.strip(), now=now, ip=ip)
    return len(rows)


def bulk_suspend(
    session: Session,
    numbers: Sequence[str],
    reason: str,
    *,
    actor: str,
    now: datetime,
    ip: str | None = None,
) -> int:
    """Suspend each member not suspended yet (signed out everywhere); returns how many."""
    if not reason.strip():
        raise DomainError("member.suspension_reason")
    changed = 0
    for member in _members(session, numbers):
        if member.status != "suspended":
            roster.suspend(session, member, reason, actor=actor, now=now, ip=ip)
            changed += 1
    return changed


def figures(session: Session, now: datetime) -> dict[str, int]:
    """The dashboard's member counts: accounts, suspended, members now, ending in 7/30
    days."""
    members = session.scalar(select(func.count()).select_from(Member)) or 0
    suspended = select(func.count()).where(Member.status == "suspended")  # an index range
    # Periods stack end to end from the moment they are bought or granted, so a member
    # whose last period ends after now holds one now.
    subscribed = select(func.count()).where(Member.membership_ends > now)
    return {
        "members": members,
        "suspended": session.scalar(suspended) or 0,
        "subscribed": session.scalar(subscribed) or 0,
        "expiring_7": count(session, MemberFilter(expiring_days=7), now),
        "expiring_30": count(session, MemberFilter(expiring_days=30), now),
    }


def signups_per_day(session: Session, days: list, timezone: str) -> list[int]:
    return per_local_day(session, Member.created_at, days, timezone)


def flagged_recently(session: Session, limit: int = 10) -> list[tuple[str, datetime]]:
    """The accounts most recently flagged for sharing, with when."""
    return [
        (e.subject or "", e.at)
        for e in audit.events(session, {"type": audit.MEMBER_SHARING_FLAG}, limit=limit)
    ]
