"""Entitlement as a table: role × subscription state × material age, boundaries to the second."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from wenxing.config import PublisherSettings
from wenxing.members.entitlement import (
    AccountView,
    Period,
    add_months,
    daily_quota,
    may_read,
    parse_plans,
    quota_resets_at,
    role_now,
)

PLANS = parse_plans(PublisherSettings.defaults().plans)
SECOND = timedelta(seconds=1)
NOW = datetime(2026, 11, 26, 12, 0, 0)
START = datetime(2026, 3, 1, 8, 30, 0)  # the active subscription's start
END = add_months(START, 12)  # 2027-03-01 08:30
ARCHIVE_START = add_months(START, -36)  # 2023-03-01 08:30

ACTIVE = (Period("year", START, END),)
EXPIRED = (Period("year", datetime(2024, 1, 1), datetime(2025, 1, 1)),)
# Stacked: a month, then a year redeemed while the month was running (starts at its end).
STACK_START = datetime(2026, 10, 1)
STACKED = (
    Period("month", STACK_START, add_months(STACK_START, 1)),
    Period("year", add_months(STACK_START, 1), add_months(STACK_START, 13)),
)

AGES = {
    "inside-window": ARCHIVE_START,  # exactly at the window's start: inside
    "just-outside": ARCHIVE_START - SECOND,
    "during": datetime(2026, 6, 1),
    "after-end": END + SECOND,
}


def account(role="user", periods=(), suspended=False):
    return AccountView(role=role, suspended=suspended, periods=periods)


CASES = [
    # (who, periods, suspended, age, allowed, reason)
    *[("visitor", None, False, age, False, "preview-visitor") for age in AGES],
    *[("user", (), False, age, False, "preview-free") for age in AGES],
    *[("user", EXPIRED, False, age, False, "preview-free") for age in AGES],
    ("user", ACTIVE, False, "inside-window", True, "full"),
    ("user", ACTIVE, False, "just-outside", False, "outside-window"),
    ("user", ACTIVE, False, "during", True, "full"),
    ("user", ACTIVE, False, "after-end", False, "outside-window"),
    *[("user", ACTIVE, True, age, False, "suspended") for age in AGES],
    *[("editor", (), False, age, True, "staff") for age in AGES],
    *[("admin", EXPIRED, False, age, True, "staff") for age in AGES],
    *[("admin", ACTIVE, True, age, False, "suspended") for age in AGES],
]


@pytest.mark.parametrize(("who", "periods", "suspended", "age", "allowed", "reason"), CASES)
def test_entitlement_table(who, periods, suspended, age, allowed, reason):
    view = None if who == "visitor" else account(who, periods, suspended)
    decision = may_read(view, AGES[age], NOW, PLANS)
    assert (decision.allowed, decision.reason) == (allowed, reason)


def test_stacked_subscriptions_share_the_first_start():
    view = account("user", STACKED)
    window_start = add_months(STACK_START, -36)
    assert may_read(view, window_start, NOW, PLANS).allowed
    assert not may_read(view, window_start - SECOND, NOW, PLANS).allowed
    # During the second period the window still counts from the first one's start.
    later = add_months(STACK_START, 5)
    assert may_read(view, window_start, later, PLANS).allowed
    assert may_read(view, add_months(STACK_START, 13), later, PLANS).allowed
    assert not may_read(view, add_months(STACK_START, 13) + SECOND, later, PLANS).allowed


def test_subscription_boundaries_to_the_second():
    view = account("user", ACTIVE)
    assert role_now(view, START - SECOND) == "free"
    assert role_now(view, START) == "member"
    assert role_now(view, END - SECOND) == "member"
    assert role_now(view, END) == "free"  # ends_at is the first second without membership
    assert may_read(view, START, END - SECOND, PLANS).allowed
    assert not may_read(view, START, END, PLANS).allowed


def test_a_gap_starts_a_new_run():
    old = Period("year", datetime(2020, 1, 1), datetime(2021, 1, 1))
    new = Period("year", datetime(2026, 1, 1), datetime(2027, 1, 1))
    view = account("user", (old, new))
    assert not may_read(view, datetime(2022, 12, 31, 23, 59, 59), NOW, PLANS).allowed
    assert may_read(view, datetime(2023, 1, 1), NOW, PLANS).allowed


def test_month_arithmetic_clamps_days():
    assert add_months(datetime(2026, 1, 31), 1) == datetime(2026, 2, 28)
    assert add_months(datetime(2024, 2, 29), -12) == datetime(2023, 2, 28)
    assert add_months(datetime(2026, 11, 26, 8, 0, 5), -36) == datetime(2023, 11, 26, 8, 0, 5)


def test_quota_and_reset():
    assert daily_quota(account("user", ACTIVE), NOW, PLANS) == PLANS["year"].daily_quota
    assert daily_quota(account("user", EXPIRED), NOW, PLANS) == 0
    assert daily_quota(account("admin"), NOW, PLANS) is None
    # 2026-11-26 12:00 UTC is 20:00 in Beijing; the quota resets at 16:00 UTC (midnight there).
    assert quota_resets_at(NOW, "Asia/Shanghai") == datetime(2026, 11, 26, 16, 0, 0)
    assert quota_resets_at(datetime(2026, 11, 26, 16, 0, 0), "Asia/Shanghai") == datetime(
        2026, 11, 27, 16, 0, 0
    )
