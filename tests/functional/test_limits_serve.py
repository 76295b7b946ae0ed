"""Bursts of 50 parallel requests at `wenxing serve` with two worker processes, on SQLite and
PostgreSQL: each limit gives exactly its number (issue 17 found 15 accounts from one
address's burst, 27 copies of a quota of 20, 37 passwords tried of 10, 5 devices of 3)."""

from __future__ import annotations

import pytest
from bench.egress import Browser, in_parallel, serve
from sqlalchemy import func, select

from tests.conftest import TEST_SECRET
from tests.helpers import PASSWORD, account, import_sample, stop_server
from wenxing.delivery.issue import FORMATS
from wenxing.members import accounts
from wenxing.members.models import AccountSession, Member
from wenxing.members.subscriptions import plans
from wenxing.settings import change as change_setting

# Tests that start `wenxing serve` with two workers and load it run one at a time (one
# xdist group): two such servers side by side on a 2-core machine starve each other.
pytestmark = pytest.mark.xdist_group("servers")

BURST = 50


def signed_in(base: str, identifier: str) -> Browser:
    browser = Browser(base)
    browser.get("/signin")
    status, _body = browser.post(
        "/signin",
        {
            "identifier": identifier,
            "password": PASSWORD,
            "csrf_token": browser.cookie("wx_csrf"),
            "next": "/",
        },
    )
    assert status == 200  # followed the redirect home
    return browser


def test_bursts_at_a_server_with_two_workers_get_exactly_each_limit(runtime, settings, tmp_path):
    import_sample(runtime)
    publisher = runtime.publisher_settings()
    with runtime.db.transaction() as session:
        member = account(session, publisher, "会员", subscribed=True, username="paid")
        member_id = member.id
    quota = 2
    cut = tuple({**p, "daily_quota": quota} if p["code"] == "month" else p for p in publisher.plans)
    with runtime.db.transaction() as session:
        change_setting(session, "plans", [dict(p) for p in cut], actor="publisher:test")
    assert plans(runtime.publisher_settings())["month"].daily_quota == quota
    server, base = serve(settings.database_url, 2, tmp_path, TEST_SECRET)
    try:
        made = in_parallel(BURST, lambda n: Browser(base).sign_up(f"burst{n:02d}", PASSWORD))
        assert sum(1 for status in made if status == 200) == accounts.SIGN_UPS_PER_HOUR, [
            m for m in made if m not in (200, 429)
        ]

        devices = in_parallel(BURST, lambda n: signed_in(base, "paid"))
        assert all(isinstance(d, Browser) for d in devices), [
            d for d in devices if not isinstance(d, Browser)
        ][:3]
        reader = signed_in(base, "paid")  # the newest device
        # The same material in the same format is one copy a day (opened again it spends
        # nothing), so the burst asks for the sample in every format: with the quota cut to 2
        # exactly two formats are issued, each answered 200 every time, the others 403.
        formats = list(FORMATS)
        copies = in_parallel(
            BURST, lambda n: reader.get(f"/materials/1/download/{formats[n % len(formats)]}")[0]
        )
        by_format = {f: set(copies[i :: len(formats)]) for i, f in enumerate(formats)}
        assert sorted(by_format.values(), key=sorted) == sorted(
            [{200}] * quota + [{403}] * (len(formats) - quota), key=sorted
        ), by_format

        # Last: the address's failures then refuse every sign-in from it.
        guesser = Browser(base)
        guesser.get("/signin")
        token = guesser.cookie("wx_csrf")
        tried = in_parallel(
            BURST,
            lambda n: guesser.post(
                "/signin",
                {"identifier": f"nobody{n}", "password": "x" * 8, "csrf_token": token},
            )[0],
        )
        assert tried.count(400) == accounts.SIGN_IN_FAILURES_PER_15_MIN
        assert tried.count(429) == BURST - accounts.SIGN_IN_FAILURES_PER_15_MIN

    finally:
        status, _err = stop_server(server)
    assert status == 0, (tmp_path / "server.log").read_text()[-2000:]
    with runtime.db.reading() as session:
        signed = session.scalar(
            select(func.count())
            .select_from(AccountSession)
            .where(AccountSession.member_id == member_id, AccountSession.ended_at.is_(None))
        )
        members = session.scalar(select(func.count()).select_from(Member))
    assert signed == publisher.max_sessions
    assert members == 1 + accounts.SIGN_UPS_PER_HOUR
