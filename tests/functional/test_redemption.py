"""Activation codes under concurrency, on both databases: exactly once, nothing lost."""

from __future__ import annotations

import itertools
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

import pytest
from sqlalchemy import func, select

from wenxing import audit
from wenxing.members import redemption
from wenxing.members.entitlement import add_months
from wenxing.members.models import ActivationCode, Subscription
from wenxing.members.service import add_member
from wenxing.members.subscriptions import plans

NOW = datetime(2026, 11, 26, 12, 0, 0)


def _setup(runtime, members: int, codes: int, plan="month"):
    publisher = runtime.publisher_settings()
    known = plans(publisher)
    with runtime.db.transaction() as session:
        ids = [add_member(session, f"会员{i}").id for i in range(members)]
        made = redemption.generate_batch(
            session, known[plan], codes, "test-batch", "wechat", None, actor="test"
        )
    return ids, made, known


def _count(runtime, query):
    with runtime.db.reading() as session:
        return session.scalar(query)


def test_fifty_concurrent_redemptions_of_one_code(runtime):
    ids, [code], known = _setup(runtime, 50, 1)
    barrier = threading.Barrier(50)

    def attempt(member_id: int) -> str:
        barrier.wait(timeout=30)
        try:
            redemption.redeem(runtime.db, code, member_id, known, now=NOW, actor="test")
            return "ok"
        except redemption.AlreadyRedeemed:
            return "already"

    with ThreadPoolExecutor(max_workers=50) as pool:
        outcomes = Counter(pool.map(attempt, ids))
    assert outcomes == {"ok": 1, "already": 49}
    assert _count(runtime, select(func.count()).select_from(Subscription)) == 1
    redeemed = _count(
        runtime,
        select(func.count())
        .select_from(audit.AuditEvent)
        .where(audit.AuditEvent.type == audit.CODE_REDEEM),
    )
    failed = _count(
        runtime,
        select(func.count())
        .select_from(audit.AuditEvent)
        .where(audit.AuditEvent.type == audit.CODE_REDEEM_FAILED),
    )
    assert (redeemed, failed) == (1, 49)
    with runtime.db.reading() as session:
        row = session.scalar(select(ActivationCode))
        period = session.scalar(select(Subscription))
        assert row.state == "redeemed" and row.redeemed_by == period.member_id
        assert (period.starts_at, period.ends_at) == (NOW, add_months(NOW, 1))


def test_a_thousand_codes_redeemed_at_once_none_lost(runtime):
    ids, made, known = _setup(runtime, 100, 1000)
    jobs = [(ids[n % 100], code) for n, code in enumerate(made)]

    def attempt(job):
        member_id, code = job
        return redemption.redeem(runtime.db, code, member_id, known, now=NOW, actor="test")

    with ThreadPoolExecutor(max_workers=20) as pool:
        done = list(pool.map(attempt, jobs))
    assert len(done) == 1000
    with runtime.db.reading() as session:
        assert (
            session.scalar(
                select(func.count())
                .select_from(ActivationCode)
                .where(ActivationCode.state == "redeemed")
            )
            == 1000
        )
        for member_id in ids[:10]:
            periods = session.scalars(
                select(Subscription)
                .where(Subscription.member_id == member_id)
                .order_by(Subscription.starts_at)
            ).all()
            assert len(periods) == 10
            # Stacked end to end: no period lost to a race, none overlapping another.
            assert periods[0].starts_at == NOW
            for earlier, later in itertools.pairwise(periods):
                assert later.starts_at == earlier.ends_at
            assert periods[-1].ends_at == add_months(NOW, 10)


def test_states_and_messages(runtime):
    ids, made, known = _setup(runtime, 2, 3)
    first, second, third = made
    redemption.redeem(runtime.db, first, ids[0], known, now=NOW, actor="test")
    with pytest.raises(redemption.AlreadyRedeemed, match="already been redeemed"):
        redemption.redeem(runtime.db, first, ids[1], known, now=NOW, actor="test")
    with runtime.db.transaction() as session:
        redemption.revoke(session, second, actor="test", now=NOW)
    with pytest.raises(redemption.CodeRevoked):
        redemption.redeem(runtime.db, second, ids[1], known, now=NOW, actor="test")
    with runtime.db.transaction() as session:
        session.scalar(select(ActivationCode).where(ActivationCode.code == third)).expires_at = NOW
    with pytest.raises(redemption.CodeExpired, match="expired on 2026-11-26"):
        redemption.redeem(runtime.db, third, ids[1], known, now=NOW, actor="test")
    typo = ("0" if first[3] != "0" else "1").join([first[:3], first[4:]])
    from wenxing.members.codes import CodeTypo

    with pytest.raises(CodeTypo):
        redemption.redeem(runtime.db, typo, ids[1], known, now=NOW, actor="test")
    with runtime.db.reading() as session:
        assert session.scalar(select(func.count()).select_from(Subscription)) == 1


def test_a_retry_by_the_member_who_redeemed_answers_the_same_period(runtime):
    """A worker that died after committing a redemption lost its answer; the member's retry
    is told it worked, with the same period, and nothing is extended twice. Anyone else
    still hears that the code is used."""
    ids, [code], known = _setup(runtime, 2, 1)
    first = redemption.redeem(runtime.db, code, ids[0], known, now=NOW, actor="test")
    later = datetime(2026, 11, 26, 12, 5, 0)
    retry = redemption.redeem(runtime.db, code, ids[0], known, now=later, actor="test")
    assert retry.repeated and not first.repeated
    assert (retry.member, retry.plan, retry.ends_at) == (first.member, first.plan, first.ends_at)
    with pytest.raises(redemption.AlreadyRedeemed):
        redemption.redeem(runtime.db, code, ids[1], known, now=later, actor="test")
    assert _count(runtime, select(func.count()).select_from(Subscription)) == 1


def test_failed_attempts_are_rate_limited(runtime):
    ids, [code], known = _setup(runtime, 1, 1)
    for _ in range(3):
        with pytest.raises(redemption.CodeNotFound):
            redemption.redeem(
                runtime.db,
                "0000-0000-0000-0000-0",
                ids[0],
                known,
                now=NOW,
                actor="test",
                ip="10.0.0.1",
                failure_limit=3,
            )
    with pytest.raises(redemption.TooManyAttempts):
        redemption.redeem(
            runtime.db, code, ids[0], known, now=NOW, actor="test", ip="10.0.0.1", failure_limit=3
        )
    later = datetime(2026, 11, 26, 13, 0, 1)
    done = redemption.redeem(
        runtime.db, code, ids[0], known, now=later, actor="test", ip="10.0.0.1", failure_limit=3
    )
    assert done.plan == "month"
