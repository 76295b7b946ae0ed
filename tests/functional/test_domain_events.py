"""Domain events on both databases: raised in the change's transaction, handled in it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from tests.helpers import import_sample
from wenxing import events
from wenxing.db.base import utcnow
from wenxing.live.models import LiveEvent, Notification
from wenxing.materials import catalog
from wenxing.members.service import add_member
from wenxing.search.models import SearchChange


def _count(runtime, model, *where) -> int:
    with runtime.db.reading() as session:
        return session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def test_handlers_run_inside_the_raising_transaction(runtime):
    calls: list[tuple[object, list[object]]] = []

    @events.handles(events.MaterialEdited)
    def handler(session, event):
        calls.append((event, events.raised(session)))

    try:
        with runtime.db.transaction() as session:
            events.raise_(session, events.MaterialEdited(41))
            events.raise_(session, events.MaterialEdited(42))
            assert events.raised(session) == [events.MaterialEdited(41), events.MaterialEdited(42)]
        assert calls == [
            (events.MaterialEdited(41), [events.MaterialEdited(41)]),
            (events.MaterialEdited(42), [events.MaterialEdited(41), events.MaterialEdited(42)]),
        ]
        with runtime.db.transaction() as session:  # a new transaction starts with none
            assert events.raised(session) == []
    finally:
        events._handlers[events.MaterialEdited].remove(handler)


def test_what_an_event_causes_is_rolled_back_with_it(runtime):
    with runtime.db.transaction() as session:
        member = add_member(session, "王五").id
    granted = events.SubscriptionGranted(member, "month", "月度会员", utcnow() + timedelta(days=30))
    with pytest.raises(RuntimeError), runtime.db.transaction() as session:
        events.raise_(session, granted)
        assert session.scalar(select(func.count()).select_from(Notification)) == 1
        raise RuntimeError("the change failed")
    assert _count(runtime, Notification) == 0
    assert _count(runtime, LiveEvent, LiveEvent.type == "subscription.granted") == 0
    with runtime.db.transaction() as session:
        events.raise_(session, granted)
    assert _count(runtime, Notification, Notification.member_id == member) == 1
    assert _count(runtime, LiveEvent, LiveEvent.audience == f"member:{member}") >= 1


@pytest.mark.parametrize("publish", [False, True])
def test_a_material_change_is_noted_for_search_once_per_transaction(runtime, publish):
    report = import_sample(runtime, publish=publish)
    material_id = report.imported[0]["id"]
    # An import that publishes raises two events (its version stored, the material
    # published) in one transaction: one change is noted, as before there were events.
    assert _count(runtime, SearchChange, SearchChange.material_id == material_id) == 1
    with runtime.db.transaction() as session:
        catalog.set_published(session, material_id, not publish)
    with runtime.db.transaction() as session:
        catalog.set_published(session, material_id, publish)
    with runtime.db.transaction() as session:
        events.raise_(session, events.MaterialEdited(material_id))
        events.raise_(session, events.MaterialEdited(material_id))
    assert _count(runtime, SearchChange, SearchChange.material_id == material_id) == 4
    published = _count(runtime, LiveEvent, LiveEvent.type == "material.published")
    assert published == (2 if publish else 1)
