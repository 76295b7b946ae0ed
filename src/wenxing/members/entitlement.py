"""Who may read what, now: the one rule every read and download checks.

A pure function of an account's view (role, suspension, subscriptions), the plans and
the material's publication time:

* a suspended account: nothing;
* editors and admins: everything;
* a member (a subscription active now, ``starts_at ≤ now < ends_at``): any material
  published in ``[run start − archive window, run end]``, where the run is the chain of
  back-to-back subscriptions containing now and the window is the longest among them;
* free users and visitors: the public preview only.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from wenxing import clock


@dataclass(frozen=True)
class Plan:
    code: str
    name: str
    months: int
    archive_months: int
    daily_quota: int


@dataclass(frozen=True)
class Period:
    plan: str
    starts_at: datetime
    ends_at: datetime


@dataclass(frozen=True)
class AccountView:
    """What entitlement needs to know about an account (None stands for a visitor)."""

    role: str  # user, editor, admin
    suspended: bool
    periods: tuple[Period, ...]


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str  # full, staff, preview-visitor, preview-free, suspended, outside-window
    window: tuple[datetime, datetime] | None = None


def parse_plans(raw: Iterable[dict]) -> dict[str, Plan]:
    plans = {}
    for item in raw:
        plan = Plan(
            str(item["code"]),
            str(item["name"]),
            int(item["months"]),
            int(item["archive_months"]),
            int(item["daily_quota"]),
        )
        plans[plan.code] = plan
    return plans


def add_months(moment: datetime, months: int, zone: str | None = None) -> datetime:
    """Calendar months, the day clamped to the month's length (Jan 31 + 1 month = Feb 28/29).

    With ``zone``, ``moment`` is naive UTC and the months are counted on that zone's
    calendar (the publisher's): a month's membership redeemed at 02:00 on 1 March Beijing
    time (still 28 February in UTC) ends on 1 April there, as one redeemed at 10:00."""
    if zone is not None:
        local = clock.local(moment, zone)
        moved = add_months(local.replace(tzinfo=None), months)
        return clock.stored(moved, zone)
    index = moment.month - 1 + months
    year, month = moment.year + index // 12, index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def current_run(periods: Sequence[Period], now: datetime) -> list[Period] | None:
    """The back-to-back subscriptions around ``now``, or None when none is active."""
    ordered = sorted(periods, key=lambda p: p.starts_at)
    runs: list[list[Period]] = []
    for period in ordered:
        if runs and period.starts_at <= max(p.ends_at for p in runs[-1]):
            runs[-1].append(period)
        else:
            runs.append([period])
    for run in runs:
        if run[0].starts_at <= now < max(p.ends_at for p in run):
            return run
    return None


def role_now(account: AccountView | None, now: datetime) -> str:
    """visitor, free, member, editor, admin or suspended."""
    if account is None:
        return "visitor"
    if account.suspended:
        return "suspended"
    if account.role in ("editor", "admin"):
        return account.role
    return "member" if current_run(account.periods, now) else "free"


def may_read(
    account: AccountView | None, published_at: datetime, now: datetime, plans: dict[str, Plan]
) -> Decision:
    """Whether the account may read the full text of a material published at ``published_at``."""
    role = role_now(account, now)
    if role == "suspended":
        return Decision(False, "suspended")
    if role in ("editor", "admin"):
        return Decision(True, "staff")
    if role in ("visitor", "free"):
        return Decision(False, f"preview-{role}")
    assert account is not None
    run = current_run(account.periods, now)
    assert run is not None
    window_months = max((plans[p.plan].archive_months for p in run if p.plan in plans), default=0)
    start = add_months(run[0].starts_at, -window_months)
    end = max(p.ends_at for p in run)
    if start <= published_at <= end:
        return Decision(True, "full", (start, end))
    return Decision(False, "outside-window", (start, end))


def daily_quota(account: AccountView, now: datetime, plans: dict[str, Plan]) -> int | None:
    """Downloads allowed per day now (None: no limit, for staff)."""
    if account.role in ("editor", "admin"):
        return None
    active = [p for p in account.periods if p.starts_at <= now < p.ends_at]
    return max((plans[p.plan].daily_quota for p in active if p.plan in plans), default=0)


def quota_resets_at(now_utc: datetime, timezone: str) -> datetime:
    """The next midnight in the publisher's time zone, as naive UTC."""
    return clock.next_midnight(now_utc, timezone)
