"""The search allowance: every search counted in the database, exact in one process and
across processes (issue 17: the share a process used to allow in memory is gone)."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import select

from tests.helpers import in_threads
from wenxing.search.allowance import SearchAllowance
from wenxing.search.models import SearchUsage
from wenxing.search.service import RateLimited

NOW = datetime(2026, 3, 1, 12, 0, 30)


def counted(runtime, subject: str = "ip:10.0.0.1") -> int:
    with runtime.db.reading() as session:
        rows = session.scalars(select(SearchUsage.count).where(SearchUsage.subject == subject))
        return sum(rows)


def take_until_refused(allowance: SearchAllowance, per_minute: int, limit: int) -> int:
    allowed = 0
    for _ in range(limit):
        try:
            allowance.take("ip:10.0.0.1", per_minute, NOW)
        except RateLimited as refused:
            assert refused.retry_after == 30
            break
        allowed += 1
    return allowed


def count_allowed(allowance: SearchAllowance, per_minute: int, attempts: int, now=NOW) -> int:
    """How many of ``attempts`` searches are allowed (the refused ones are tried on)."""
    allowed = 0
    for _ in range(attempts):
        try:
            allowance.take("ip:10.0.0.1", per_minute, now)
        except RateLimited:
            continue
        allowed += 1
    return allowed


def test_one_process_allows_exactly_the_allowance(runtime):
    for minute, per_minute in enumerate((3, 25, 40)):
        allowance = SearchAllowance(runtime.db)
        now = datetime(2026, 3, 1, 12, minute, 30)
        allowed = count_allowed(allowance, per_minute, per_minute + 5, now)
        allowance.flush()
        assert allowed == per_minute
    assert counted(runtime) == 3 + 25 + 40


def test_threads_of_one_process_allow_exactly_the_allowance(runtime):
    allowance = SearchAllowance(runtime.db)
    per_minute, threads = 40, 8
    allowed: list[int] = []

    def work(number: int) -> None:
        allowed.extend([number] * count_allowed(allowance, per_minute, 10))

    errors = in_threads(threads, work)
    assert not errors, errors[:3]
    allowance.flush()
    assert len(allowed) == per_minute
    assert counted(runtime) == per_minute


def test_two_processes_allow_exactly_the_allowance(runtime):
    """Two processes' allowances taking searches in turn: exactly the allowance, every
    search allowed written at once."""
    per_minute = 30
    first = SearchAllowance(runtime.db)
    second = SearchAllowance(runtime.db)
    allowed = 0
    for _ in range(3 * per_minute):
        for allowance in (first, second):  # in turn, one search each
            allowed += count_allowed(allowance, per_minute, 1)
    first.flush()
    second.flush()
    assert allowed == per_minute
    assert counted(runtime) == allowed
    for allowance in (first, second):  # both know the minute is used up
        with pytest.raises(RateLimited):
            allowance.take("ip:10.0.0.1", per_minute, NOW)


def test_under_ten_a_minute_processes_count_every_search_in_the_database(runtime):
    first = SearchAllowance(runtime.db)
    second = SearchAllowance(runtime.db)
    allowed = take_until_refused(first, 9, 5) + take_until_refused(second, 9, 20)
    assert allowed == 9 and counted(runtime) == 9
