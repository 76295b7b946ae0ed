"""Copies a member asks for: entitlement and the daily quota decide, the publisher bypasses."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.helpers import SAMPLE
from wenxing.config import set_publisher_setting
from wenxing.db.base import utcnow
from wenxing.delivery.issue import NotEntitled, issue_copy
from wenxing.materials import catalog
from wenxing.materials.importer import ImportOptions, MaterialImporter
from wenxing.members.service import add_member
from wenxing.members.subscriptions import grant, plans


@pytest.fixture
def setup(runtime):
    importer = MaterialImporter(runtime.db, runtime.settings, runtime.publisher_settings())
    importer.run([SAMPLE], ImportOptions(publish=True))
    with runtime.db.transaction() as session:
        plan_list = runtime.publisher_settings()["plans"]
        for plan in plan_list:
            plan["daily_quota"] = 2
        set_publisher_setting(session, "plans", plan_list)
        member_id = add_member(session, "张三").id
    return member_id


def _issue(runtime, member_id, actor="member"):
    from wenxing.members.models import Member

    with runtime.db.transaction() as session:
        material = catalog.get_material(session, 1)
        member = session.get(Member, member_id)
        return issue_copy(
            session,
            runtime.secret,
            runtime.publisher_settings(),
            member,
            material,
            "txt",
            actor=actor,
        )


def _subscribe(runtime, member_id):
    """A month's membership that started a minute ago."""
    month = plans(runtime.publisher_settings())["month"]
    with runtime.db.transaction() as session:
        grant(
            session,
            member_id,
            month,
            actor="test",
            reason="test",
            now=utcnow() - timedelta(minutes=1),
        )


def test_free_user_is_refused_and_publisher_is_not(runtime, setup):
    with pytest.raises(NotEntitled) as refused:
        _issue(runtime, setup)
    assert refused.value.reason == "preview-free"
    assert refused.value.user_message == "这份材料仅对会员开放，开通会员后即可阅读全文和下载。"
    assert _issue(runtime, setup, actor="publisher:cli").copy_id >= 2**32


def test_member_gets_copies_up_to_the_daily_quota(runtime, setup):
    _subscribe(runtime, setup)
    assert _issue(runtime, setup).copy_id >= 2**32
    assert _issue(runtime, setup).copy_id >= 2**32
    with pytest.raises(NotEntitled) as refused:
        _issue(runtime, setup)
    assert refused.value.reason == "quota" and refused.value.resets_at > utcnow()
    assert "daily quota of 2 copies used" in str(refused.value)
    # The member is told in Chinese, at the publisher's local midnight.
    assert re.fullmatch(
        r"今日下载次数已用完，\d{4}年\d\d月\d\d日 00:00 恢复。", refused.value.user_message
    )
    assert _issue(runtime, setup, actor="publisher:cli").copy_id >= 2**32  # not counted


def test_a_copy_never_delivered_gives_its_download_back(runtime, setup):
    """The ledger row marks delivery: a copy logged by a worker that died before sending it
    counts while its delivery may still be under way, and not after the grace."""
    from wenxing.delivery.issue import DELIVERY_GRACE, mark_delivered
    from wenxing.delivery.models import IssuedCopy

    _subscribe(runtime, setup)
    delivered = _issue(runtime, setup)
    with runtime.db.transaction() as session:
        mark_delivered(session, [delivered.copy_id])
    lost = _issue(runtime, setup)  # logged, never marked delivered: the worker "died"
    with pytest.raises(NotEntitled):  # still within the grace: it may yet be delivered
        _issue(runtime, setup)
    with runtime.db.transaction() as session:
        row = session.get(IssuedCopy, lost.copy_id)
        row.created_at -= DELIVERY_GRACE + timedelta(seconds=1)
    again = _issue(runtime, setup)  # the lost copy's download was given back
    with runtime.db.reading() as session:
        rows = {r.id: r.delivered_at for r in session.scalars(select(IssuedCopy))}
    assert rows[delivered.copy_id] is not None and rows[lost.copy_id] is None
    assert again.copy_id in rows and len(rows) == 3


def test_material_older_than_the_archive_window(runtime, setup):
    _subscribe(runtime, setup)
    with runtime.db.transaction() as session:
        catalog.get_material(session, 1).published_at = utcnow() - timedelta(days=4 * 366)
    with pytest.raises(NotEntitled) as refused:
        _issue(runtime, setup)
    assert refused.value.reason == "outside-window"
    assert "不在您当前会员权益的时间范围内" in refused.value.user_message


def test_first_copies_made_at_once_build_one_plan_and_all_succeed(runtime, setup, monkeypatch):
    """Requests that arrive while a version's first copy is being made wait for that plan
    (and the loser of the insert reads the winner's row) instead of each building one."""
    import threading

    from wenxing import fingerprint
    from wenxing.delivery import marking
    from wenxing.delivery.models import MarkingPlan

    monkeypatch.setattr(marking, "_built", type(marking._built)())  # nothing from other tests
    builds = []
    real_build = fingerprint.build_plan

    def counting_build(*args, **kwargs):
        builds.append(threading.get_ident())
        return real_build(*args, **kwargs)

    monkeypatch.setattr(fingerprint, "build_plan", counting_build)
    start = threading.Barrier(6)
    results, failures = [], []

    def one():
        start.wait()
        try:
            results.append(_issue(runtime, setup, actor="publisher:cli"))
        except Exception as exc:  # collected and asserted below
            failures.append(exc)

    threads = [threading.Thread(target=one) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert failures == []
    assert len(results) == 6 and len({r.copy_id for r in results}) == 6
    assert len(builds) == 1
    with runtime.db.reading() as session:
        assert len(session.scalars(select(MarkingPlan)).all()) == 1
