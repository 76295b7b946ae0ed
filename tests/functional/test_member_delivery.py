"""Copies a member asks for: entitlement and the daily quota decide, the publisher bypasses."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.helpers import SAMPLE
from wenxing.db.base import utcnow
from wenxing.delivery.issue import NotEntitled, issue_copy
from wenxing.materials import catalog
from wenxing.materials.importer import ImportOptions, MaterialImporter
from wenxing.members.service import add_member
from wenxing.members.subscriptions import grant, plans
from wenxing.settings import change as change_setting


@pytest.fixture
def setup(runtime):
    importer = MaterialImporter(runtime.db, runtime.settings, runtime.publisher_settings())
    importer.run([SAMPLE], ImportOptions(publish=True))
    with runtime.db.transaction() as session:
        plan_list = [{**plan, "daily_quota": 2} for plan in runtime.publisher_settings().plans]
        change_setting(session, "plans", plan_list, actor="publisher:test")
        member_id = add_member(session, "张三").id
    return member_id


def _issue(runtime, member_id, actor="member", fmt="txt"):
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
            fmt,
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
    assert _issue(runtime, setup, fmt="docx").copy_id >= 2**32
    with pytest.raises(NotEntitled) as refused:
        _issue(runtime, setup, fmt="html")
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
    lost = _issue(runtime, setup, fmt="docx")  # logged, never delivered: the worker "died"
    with pytest.raises(NotEntitled):  # still within the grace: it may yet be delivered
        _issue(runtime, setup, fmt="html")
    with runtime.db.transaction() as session:
        row = session.get(IssuedCopy, lost.copy_id)
        row.created_at -= DELIVERY_GRACE + timedelta(seconds=1)
    again = _issue(runtime, setup, fmt="html")  # the lost copy's download was given back
    with runtime.db.reading() as session:
        rows = {r.id: r.delivered_at for r in session.scalars(select(IssuedCopy))}
    assert rows[delivered.copy_id] is not None and rows[lost.copy_id] is None
    assert again.copy_id in rows and len(rows) == 3


def test_the_same_copy_is_handed_out_again_the_same_day_without_spending_quota(runtime, setup):
    """Opening a material again the same publisher-local day is the same copy: the same
    ledger line, byte for byte the same marked file, and no new download counted."""
    from wenxing.delivery.issue import copies_left_today
    from wenxing.delivery.models import IssuedCopy
    from wenxing.members.models import Member

    _subscribe(runtime, setup)
    first = {fmt: _issue(runtime, setup, fmt=fmt) for fmt in ("html", "pdf")}
    for _ in range(5):
        for fmt, issued in first.items():
            again = _issue(runtime, setup, fmt=fmt)
            assert again.copy_id == issued.copy_id and again.data == issued.data
    with runtime.db.reading() as session:
        rows = session.scalars(select(IssuedCopy)).all()
        left = copies_left_today(
            session, runtime.publisher_settings(), session.get(Member, setup), utcnow()
        )
    assert sorted(r.format for r in rows) == ["html", "pdf"] and left == 0
    # The next publisher-local day, the copy is a new one.
    with runtime.db.transaction() as session:
        for row in session.scalars(select(IssuedCopy)):
            row.created_at -= timedelta(days=1)
    assert _issue(runtime, setup, fmt="html").copy_id != first["html"].copy_id


def test_a_publisher_copy_is_never_reused_for_the_member(runtime, setup):
    _subscribe(runtime, setup)
    handed = _issue(runtime, setup, actor="publisher:cli")
    own = _issue(runtime, setup)
    assert own.copy_id != handed.copy_id
    assert _issue(runtime, setup, actor="publisher:cli").copy_id not in (
        handed.copy_id,
        own.copy_id,
    )


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
