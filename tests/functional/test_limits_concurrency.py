"""Every limit is exact under concurrency (architecture rule 9): 50 parallel attempts at each
limit, on SQLite and PostgreSQL, give exactly the limit. The attempts run in 50 threads of
this process, each its own unit of work on its own database connection, as requests of one
worker do; tests/functional/test_limits_serve.py sends bursts to `wenxing serve` itself."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from tests.helpers import PASSWORD, account, import_sample, in_threads
from wenxing import audit
from wenxing.db.base import utcnow
from wenxing.delivery.issue import NotEntitled, record_copy
from wenxing.limits import NotInWriteTransaction, Subject, hold
from wenxing.materials.models import Material
from wenxing.members import accounts, redemption
from wenxing.members.codes import CodeError
from wenxing.members.models import AccountSession, Member
from wenxing.members.subscriptions import plans
from wenxing.reports import intake
from wenxing.requests import RequestRefused, post_request
from wenxing.search.allowance import SearchAllowance
from wenxing.search.service import RateLimited

ATTEMPTS = 50


class Tally:
    def __init__(self) -> None:
        self.allowed = 0
        self.refused = 0
        self._lock = threading.Lock()

    def count(self, allowed: bool) -> None:
        with self._lock:
            if allowed:
                self.allowed += 1
            else:
                self.refused += 1


def burst(work) -> None:
    errors = in_threads(ATTEMPTS, work)
    assert not errors, errors[:3]


@pytest.fixture
def member_id(runtime):
    with runtime.db.transaction() as session:
        return account(
            session, runtime.publisher_settings(), "甲", subscribed=True, username="jia"
        ).id


def test_holding_needs_a_write_transaction(runtime):
    with runtime.db.reading() as session, pytest.raises(NotInWriteTransaction):
        hold(session, Subject("quota", 1))
    with runtime.db.transaction() as session:
        hold(session, Subject("quota", 1))
        hold(session, Subject("quota", 1))  # re-entrant within one transaction


def test_daily_quota(runtime, member_id):
    """50 parallel first copies never make more copies than the day's quota. The same
    material in the same format is one copy a day (opened again, it is handed out again and
    spends nothing), so the burst asks for the sample's four formats with a quota of 2:
    exactly two formats are issued, every ask for them is answered with that one copy, and
    every ask for the others is refused for the quota."""
    from wenxing.delivery.issue import FORMATS
    from wenxing.delivery.models import IssuedCopy

    import_sample(runtime)
    stored = runtime.publisher_settings()
    quota = 2
    publisher = stored.model_copy(
        update={
            "plans": tuple(
                {**plan, "daily_quota": quota} if plan["code"] == "month" else plan
                for plan in stored.plans
            )
        }
    )
    assert plans(publisher)["month"].daily_quota == quota
    formats = list(FORMATS)
    answered: dict[str, list[bool]] = {fmt: [] for fmt in formats}
    lock = threading.Lock()

    def work(n: int) -> None:
        fmt = formats[n % len(formats)]
        try:
            with runtime.db.transaction() as session:
                member = session.get(Member, member_id)
                material = session.scalars(select(Material)).first()
                record_copy(
                    session, runtime.secret, publisher, member, material, fmt, actor="member:web"
                )
            allowed = True
        except NotEntitled as refused:
            assert refused.reason == "quota"
            allowed = False
        with lock:
            answered[fmt].append(allowed)

    burst(work)
    with runtime.db.reading() as session:
        issued = set(
            session.scalars(select(IssuedCopy.format).where(IssuedCopy.member_id == member_id))
        )
        rows = session.scalar(
            select(func.count()).select_from(IssuedCopy).where(IssuedCopy.member_id == member_id)
        )
    assert rows == quota and len(issued) == quota
    for fmt, answers in answered.items():
        assert answers and all(answers) == (fmt in issued) and any(answers) == (fmt in issued)


def test_device_limit(runtime, member_id):
    publisher = runtime.publisher_settings()

    def work(n: int) -> None:
        with runtime.db.transaction() as session:
            accounts.sign_in(
                session,
                "jia",
                PASSWORD,
                now=utcnow(),
                ip=f"198.51.100.{n}",
                user_agent="burst",
                max_sessions=publisher.max_sessions,
                sharing_networks=1000,
            )

    burst(work)
    with runtime.db.reading() as session:
        active = session.scalar(
            select(func.count())
            .select_from(AccountSession)
            .where(AccountSession.member_id == member_id, AccountSession.ended_at.is_(None))
        )
    assert active == publisher.max_sessions


def _guess(runtime, tally: Tally, identifier: str, ip: str) -> None:
    """One wrong password as the sign-in form tries it."""
    with runtime.db.transaction() as session:
        if accounts.too_many_attempts(session, "sign-in", ip, utcnow()):
            tally.count(False)
            return
        try:
            accounts.sign_in(
                session,
                identifier,
                "wrong password",
                now=utcnow(),
                ip=ip,
                user_agent="burst",
                max_sessions=3,
                sharing_networks=3,
            )
        except accounts.SignInFailed:
            tally.count(True)  # a password tried (recorded at the commit)
        except accounts.SignInThrottled:
            tally.count(False)


def _failures(runtime) -> int:
    with runtime.db.reading() as session:
        return session.scalar(
            select(func.count())
            .select_from(audit.AuditEvent)
            .where(audit.AuditEvent.type == audit.MEMBER_SIGN_IN_FAILED)
        )


def test_sign_in_failures_per_address(runtime):
    tally = Tally()
    burst(lambda n: _guess(runtime, tally, f"nobody{n}", "203.0.113.7"))
    assert tally.allowed == _failures(runtime) == accounts.SIGN_IN_FAILURES_PER_15_MIN


def test_sign_in_failures_per_account_from_many_addresses(runtime, member_id):
    tally = Tally()
    burst(lambda n: _guess(runtime, tally, "jia", f"203.0.113.{n}"))
    assert tally.allowed == _failures(runtime) == accounts.SIGN_IN_FAILURES_PER_ACCOUNT
    # Now even the right password is refused, from a fresh address.
    with runtime.db.transaction() as session, pytest.raises(accounts.SignInThrottled):
        accounts.sign_in(
            session,
            "jia",
            PASSWORD,
            now=utcnow(),
            ip="192.0.2.200",
            user_agent="x",
            max_sessions=3,
            sharing_networks=3,
        )


def test_sign_ups_per_address(runtime):
    tally = Tally()

    def work(n: int) -> None:
        with runtime.db.transaction() as session:
            if accounts.too_many_attempts(session, "sign-up", "203.0.113.8", utcnow()):
                tally.count(False)
                return
            accounts.sign_up(
                session, name="乙", password=PASSWORD, username=f"burst{n}", ip="203.0.113.8"
            )
            tally.count(True)

    burst(work)
    with runtime.db.reading() as session:
        made = session.scalar(select(func.count()).select_from(Member))
    assert tally.allowed == made == accounts.SIGN_UPS_PER_HOUR


def test_redemption_failures(runtime, member_id):
    known = plans(runtime.publisher_settings())
    tally = Tally()

    def work(n: int) -> None:
        try:
            redemption.redeem(
                runtime.db,
                f"WX{n:02d}-AAAA-BBBB-CCCC",
                member_id,
                known,
                now=utcnow(),
                actor="member:web",
                ip="203.0.113.9",
                failure_limit=10,
            )
        except redemption.TooManyAttempts:
            tally.count(False)
        except CodeError:
            tally.count(True)

    burst(work)
    now = utcnow()
    with runtime.db.reading() as session:
        recorded = redemption.recent_failures(session, None, "203.0.113.9", now)
    assert tally.allowed == recorded == 10


def test_reports_per_hour(runtime):
    limits = intake.Limits(max_file_bytes=1 << 20, per_hour_ip=5, per_day_contact=1000)
    tally = Tally()

    def work(n: int) -> None:
        try:
            with runtime.db.transaction() as session:
                intake.submit(
                    session,
                    intake.Submission(
                        platform="xianyu",
                        link=f"https://example.invalid/{n}",
                        contact=f"139001390{n:02d}",
                        text="这是转卖的材料全文" * 20,
                    ),
                    reporter=None,
                    ip="203.0.113.10",
                    user_agent="burst",
                    limits=limits,
                    now=utcnow(),
                )
            tally.count(True)
        except intake.ReportRefused as refused:
            assert refused.code == "rate_ip"
            tally.count(False)

    burst(work)
    assert (tally.allowed, tally.refused) == (5, ATTEMPTS - 5)


def test_requests_per_day(runtime, member_id):
    tally = Tally()
    per_day = 3

    def work(n: int) -> None:
        try:
            with runtime.db.transaction() as session:
                post_request(
                    session,
                    session.get(Member, member_id),
                    topic=f"关于第{n}项工作的讲话稿",
                    per_day=per_day,
                    today=utcnow().date(),
                    now=utcnow(),
                )
            tally.count(True)
        except RequestRefused:
            tally.count(False)

    burst(work)
    assert (tally.allowed, tally.refused) == (per_day, ATTEMPTS - per_day)


def test_searches_per_minute(runtime):
    # Two allowances stand for two worker processes: neither may give a share of its own.
    workers = [SearchAllowance(runtime.db), SearchAllowance(runtime.db)]
    tally = Tally()
    now = utcnow().replace(second=5)
    per_minute = 30

    def work(n: int) -> None:
        try:
            workers[n % 2].take("ip:203.0.113.11", per_minute, now)
            tally.count(True)
        except RateLimited:
            tally.count(False)

    burst(work)
    for allowance in workers:
        allowance.flush()
    assert (tally.allowed, tally.refused) == (per_minute, ATTEMPTS - per_minute)
    # A minute later the allowance is back.
    workers[0].take("ip:203.0.113.11", per_minute, now + timedelta(minutes=1))
