"""The search allowance counted in memory: written in batches, exact in one process, within
its documented tolerance across processes, never lost at shutdown or on a failed write."""

from __future__ import annotations

from datetime import datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from tests.helpers import SAMPLE, in_threads
from wenxing.config import set_publisher_setting
from wenxing.materials.importer import ImportOptions, MaterialImporter
from wenxing.search import allowance as allowance_module
from wenxing.search.allowance import SearchAllowance, local_share
from wenxing.search.models import SearchUsage
from wenxing.search.service import RateLimited
from wenxing.web.app import create_app

NOW = datetime(2026, 3, 1, 12, 0, 30)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


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


def test_searches_allowed_in_memory_are_written_at_the_next_flush(runtime):
    clock = Clock()
    allowance = SearchAllowance(runtime.db, clock=clock)
    for _ in range(5):
        allowance.take("ip:10.0.0.1", 100, NOW)  # a share of 10 may wait in memory
    assert counted(runtime) == 0
    clock.now += allowance_module.FLUSH_SECONDS
    allowance.take("ip:10.0.0.1", 100, NOW)  # finds the flush due and writes all six
    assert counted(runtime) == 6
    allowance.take("A0001", 100, NOW)
    allowance.flush()
    assert counted(runtime) == 6 and counted(runtime, "A0001") == 1


def test_beyond_the_local_share_a_search_is_counted_in_the_database_at_once(runtime):
    allowance = SearchAllowance(runtime.db, clock=Clock())
    share = local_share(100)
    for _ in range(share):
        allowance.take("ip:10.0.0.1", 100, NOW)
    assert counted(runtime) == 0
    allowance.take("ip:10.0.0.1", 100, NOW)
    assert counted(runtime) == share + 1


def test_one_process_allows_exactly_the_allowance(runtime):
    for minute, per_minute in enumerate((3, 25, 40)):
        allowance = SearchAllowance(runtime.db, clock=Clock())
        now = datetime(2026, 3, 1, 12, minute, 30)
        allowed = count_allowed(allowance, per_minute, per_minute + 5, now)
        allowance.flush()
        assert allowed == per_minute
    assert counted(runtime) == 3 + 25 + 40


def test_threads_of_one_process_allow_exactly_the_allowance(runtime):
    allowance = SearchAllowance(runtime.db, clock=Clock())
    per_minute, threads = 40, 8
    allowed: list[int] = []

    def work(number: int) -> None:
        allowed.extend([number] * count_allowed(allowance, per_minute, 10))

    errors = in_threads(threads, work)
    assert not errors, errors[:3]
    allowance.flush()
    assert len(allowed) == per_minute
    assert counted(runtime) == per_minute


def test_two_processes_stay_within_the_documented_tolerance(runtime):
    """Each process may allow its local share in memory: together at most that much each
    beyond the allowance, and every search allowed is written."""
    per_minute = 30
    first = SearchAllowance(runtime.db, clock=Clock())
    second = SearchAllowance(runtime.db, clock=Clock())
    allowed = 0
    for _ in range(3 * per_minute):
        for allowance in (first, second):  # in turn, one search each
            allowed += count_allowed(allowance, per_minute, 1)
    first.flush()
    second.flush()
    assert per_minute <= allowed <= per_minute + 2 * local_share(per_minute)
    assert counted(runtime) == allowed
    for allowance in (first, second):  # both know the minute is used up
        with pytest.raises(RateLimited):
            allowance.take("ip:10.0.0.1", per_minute, NOW)


def test_under_ten_a_minute_processes_count_every_search_in_the_database(runtime):
    first = SearchAllowance(runtime.db, clock=Clock())
    second = SearchAllowance(runtime.db, clock=Clock())
    allowed = take_until_refused(first, 9, 5) + take_until_refused(second, 9, 20)
    assert allowed == 9 and counted(runtime) == 9


def test_a_failed_write_keeps_the_counts_for_the_next_flush(runtime, monkeypatch):
    clock = Clock()
    allowance = SearchAllowance(runtime.db, clock=clock)
    allowance.take("ip:10.0.0.1", 100, NOW)
    real = allowance_module.add_searches

    def broken(*args, **kwargs):
        raise OperationalError("UPDATE search_usage", {}, Exception("database is locked"))

    monkeypatch.setattr(allowance_module, "add_searches", broken)
    clock.now += allowance_module.FLUSH_SECONDS
    allowance.take("ip:10.0.0.1", 100, NOW)  # the search is still allowed; the flush failed
    with pytest.raises(OperationalError):
        allowance.flush()
    assert counted(runtime) == 0
    monkeypatch.setattr(allowance_module, "add_searches", real)
    allowance.flush()
    assert counted(runtime) == 2


def test_old_minutes_are_forgotten_once_written(runtime):
    allowance = SearchAllowance(runtime.db, clock=Clock())
    allowance.take("ip:10.0.0.1", 100, datetime(2026, 3, 1, 12, 0, 30))
    allowance.take("ip:10.0.0.1", 100, datetime(2026, 3, 1, 12, 1, 30))
    allowance.flush()
    assert len(allowance._tallies) == 1
    assert counted(runtime) == 2


def test_the_server_writes_its_counts_when_it_stops(runtime, monkeypatch):
    monkeypatch.setattr(runtime, "_allowance", SearchAllowance(runtime.db, clock=Clock()))
    importer = MaterialImporter(runtime.db, runtime.settings, runtime.publisher_settings())
    assert not importer.run([SAMPLE], ImportOptions(publish=True)).failed
    with runtime.db.transaction() as session:
        set_publisher_setting(session, "search_per_minute", 1000)
    with TestClient(create_app(runtime), client=("10.0.0.7", 1)) as client:  # runs the lifespan
        for _ in range(3):
            assert client.get("/api/v1/search", params={"q": "乡村振兴"}).status_code == 200
            assert client.get("/search", params={"q": "乡村振兴"}).status_code == 200
        assert counted(runtime, "ip:10.0.0.7") == 0  # all six in memory (a share of 100)
    assert counted(runtime, "ip:10.0.0.7") == 6
