"""The event outbox and notifications, on both databases."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from wenxing.live import events
from wenxing.live.models import LiveEvent, Notification
from wenxing.live.notify import mark_read, notify, unread_count
from wenxing.members.service import add_member


@pytest.fixture
def two_members(runtime):
    with runtime.db.transaction() as session:
        return [add_member(session, name).id for name in ("张三", "李四")]


def test_an_event_exists_exactly_when_its_change_commits(runtime, two_members):
    seen = events.committed_count()
    with pytest.raises(RuntimeError), runtime.db.transaction() as session:
        events.emit(session, events.MATERIAL_PUBLISHED, "public", material=1)
        raise RuntimeError("the change failed")
    assert events.committed_count() == seen  # nobody woken for a rolled-back event
    with runtime.db.transaction() as session:
        first = events.emit(session, events.MATERIAL_PUBLISHED, "public", material=1, title="讲话")
        second = events.emit(session, events.MATERIAL_NEW_VERSION, "members", material=1)
    assert events.committed_count() == seen + 1
    with runtime.db.reading() as session:
        rows = session.scalars(select(LiveEvent).order_by(LiveEvent.id)).all()
    assert [(r.id, r.type, r.audience) for r in rows] == [
        (first.id, "material.published", "public"),
        (second.id, "material.new_version", "members"),
    ]
    assert json.loads(rows[0].payload) == {"material": 1, "title": "讲话"}
    with runtime.db.transaction() as session, pytest.raises(ValueError):
        events.emit(session, "material.deleted", "public")
    with runtime.db.transaction() as session, pytest.raises(ValueError):
        events.emit(session, events.MATERIAL_PUBLISHED, "everyone")


def test_notifications_once_per_key_with_an_event_each(runtime, two_members):
    a, b = two_members
    with runtime.db.transaction() as session:
        added = notify(
            session, [a, b, a], "expiry", "会员将在 7 天后到期", link="/account", dedupe="exp7:1"
        )
    assert added == 2
    with runtime.db.transaction() as session:
        assert notify(session, [a, b], "expiry", "会员将在 7 天后到期", dedupe="exp7:1") == 0
    with runtime.db.reading() as session:
        assert session.scalar(select(func.count()).select_from(Notification)) == 2
        audiences = sorted(
            session.scalars(select(LiveEvent.audience).where(LiveEvent.type == "notification"))
        )
        assert audiences == [f"member:{a}", f"member:{b}"]
        assert unread_count(session, a) == 1
    with runtime.db.transaction() as session:
        assert mark_read(session, a) == 1
        assert mark_read(session, a) == 0
    with runtime.db.reading() as session:
        assert unread_count(session, a) == 0 and unread_count(session, b) == 1
