"""Counting rows per day as the publisher's clock has it (the console's charts).

Moments are stored as naive UTC; a day is the publisher's local day, so a redemption at
23:30 UTC is counted on the next day in Beijing. Each day is counted between its own first
moments in UTC (right across a change of summer time), all days in one statement: one
range count on the column's index per day, which reads no row (nothing is computed per row,
so a fortnight of a hundred thousand sign-ups costs what counting index entries costs).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session


def local_days(now: datetime, timezone: str, count: int) -> list[date]:
    """The last ``count`` local days up to today's (naive UTC ``now``), oldest first."""
    today = now.replace(tzinfo=UTC).astimezone(ZoneInfo(timezone)).date()
    return [today - timedelta(days=n) for n in range(count - 1, -1, -1)]


def utc_start(day: date, timezone: str) -> datetime:
    """The first moment of the local ``day`` as a naive UTC moment."""
    local = datetime.combine(day, time(0), ZoneInfo(timezone))
    return local.astimezone(UTC).replace(tzinfo=None)


def per_local_day(
    session: Session, column, days: list[date], timezone: str, *conditions
) -> list[int]:
    """How many rows have ``column`` on each of ``days`` (local, consecutive, oldest
    first), among the rows ``conditions`` keep."""
    starts = [utc_start(d, timezone) for d in [*days, days[-1] + timedelta(days=1)]]
    counts = [
        select(func.count())
        .where(column >= since, column < until, *conditions)
        .scalar_subquery()
        .label(f"day{n}")
        for n, (since, until) in enumerate(pairwise(starts))
    ]
    return [int(n or 0) for n in session.execute(select(*counts)).one()]
