"""Live delivery: the hub fans committed events out to SSE streams by audience, a
reconnecting client resumes from Last-Event-ID, heartbeats keep a quiet stream open, the
bell counts unread notifications and the changes that matter raise their events."""

from __future__ import annotations

import asyncio
import json
import re
import threading
import time

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.helpers import account, import_sample, signed_in
from wenxing.live import events
from wenxing.live import hub as live_hub
from wenxing.live.hub import Hub
from wenxing.live.models import Notification
from wenxing.live.notify import notify
from wenxing.materials import catalog
from wenxing.web.app import create_app
from wenxing.web.auth import CSRF_COOKIE
from wenxing.web.live import PAGE_SIZE


def parse_sse(text: str) -> list[dict]:
    """SSE messages (id, event, data) of a stream's text, comments and retry left out."""
    messages = []
    for block in text.split("\n\n"):
        fields: dict = {}
        for line in block.splitlines():
            if line.startswith(":") or ":" not in line:
                continue
            name, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if name == "data":
                fields["data"] = fields.get("data", "") + value
            elif name in ("id", "event"):
                fields[name] = value
        if "event" in fields:
            fields["data"] = json.loads(fields["data"])
            messages.append(fields)
    return messages


@pytest.fixture
def people(runtime):
    publisher = runtime.publisher_settings()
    with runtime.db.transaction() as session:
        member = account(session, publisher, "会员甲", subscribed=True, username="member")
        other = account(session, publisher, "会员乙", subscribed=True, username="other")
        free = account(session, publisher, "免费丙", subscribed=False, username="free")
        editor = account(session, publisher, "编辑丁", subscribed=False, username="editor")
        editor.role = "editor"
        session.flush()
        return {"member": member.id, "other": other.id, "free": free.id, "editor": editor.id}


def test_audiences_and_visibility():
    assert live_hub.audiences(None, "visitor") == ["public"]
    assert live_hub.audiences(3, "free") == ["public", "member:3"]
    assert live_hub.audiences(3, "member") == ["public", "members", "member:3"]
    assert live_hub.audiences(4, "admin") == ["public", "members", "staff", "member:4"]
    assert live_hub.audiences(5, "suspended") == ["public", "member:5"]
    # the batched new-material notice counts for members (who got the rows) only
    assert live_hub.visible("notification", "members", 3, "member")
    assert not live_hub.visible("notification", "members", 4, "admin")
    assert live_hub.visible("material.published", "members", 4, "admin")
    assert not live_hub.visible("notification", "member:3", 4, "admin")


def test_the_hub_hands_events_out_by_audience_and_drops_slow_streams(runtime, people):
    hub = Hub(runtime.db, poll_seconds=0.2)
    hub.start()
    got: dict[str, list[int]] = {}

    async def listen():
        streams = {
            "visitor": hub.subscribe(None, "visitor"),
            "member": hub.subscribe(people["member"], "member"),
            "other": hub.subscribe(people["other"], "member"),
            "editor": hub.subscribe(people["editor"], "editor"),
        }
        await asyncio.to_thread(_emit_some, runtime, people)
        # Read up to the last event _emit_some commits, which every stream sees: the hub
        # hands events out in id order, so what a stream was to get has come before it.
        # (Reading until two quiet seconds took a hub stalled that long on a loaded
        # machine for the end.)
        for name, stream in streams.items():
            got[name] = []
            while True:
                frame = await stream.next(30.0)
                if frame is False or frame is None or _LAST.encode() in frame.data:
                    break
                got[name].append(frame.data.decode())
                if len(got[name]) >= 10:
                    break
        slow = hub.subscribe(None, "visitor")
        for n in range(live_hub.QUEUE_SIZE + 5):
            slow.offer(live_hub.Frame(n, b"x"))
        assert slow.closed and await slow.next(0.1) is None

    try:
        asyncio.run(listen())
    finally:
        hub.stop()
    kinds = {name: [t.split("\n")[1] for t in frames] for name, frames in got.items()}
    assert kinds["visitor"] == ["event: material.published"]
    assert kinds["member"] == [
        "event: material.published",
        "event: material.new_version",
        "event: notification",
    ]
    assert kinds["other"] == ["event: material.published", "event: material.new_version"]
    assert kinds["editor"] == [
        "event: material.published",
        "event: material.new_version",
        "event: report.decided",
    ]


_LAST = "最后一条"


def _emit_some(runtime, people):
    time.sleep(0.1)
    with runtime.db.transaction() as session:
        events.emit(session, events.MATERIAL_PUBLISHED, "public", material=1, title="讲话")
    with runtime.db.transaction() as session:
        events.emit(session, events.MATERIAL_NEW_VERSION, "members", material=1)
        events.emit(session, events.REPORT_DECIDED, "staff", report=1)
        events.emit(session, events.NOTIFICATION, f"member:{people['member']}", title="x")
    with runtime.db.transaction() as session:
        events.emit(session, events.MATERIAL_PUBLISHED, "public", material=2, title=_LAST)


def test_the_cursor_asks_again_for_ids_that_commit_late():
    cursor = live_hub._Cursor(last=10)
    cursor.advance([11, 14], now=0.0)
    assert cursor.last == 14 and set(cursor.gaps) == {12, 13}
    cursor.advance([12], now=1.0)
    assert set(cursor.gaps) == {13}
    cursor.advance([], now=live_hub.GAP_SECONDS + 1)
    assert cursor.gaps == {}


def test_a_stream_resumes_from_last_event_id_and_sees_only_its_own(runtime, people):
    with runtime.db.transaction() as session:
        first = events.emit(session, events.MATERIAL_PUBLISHED, "public", material=1, title="甲")
        events.emit(session, events.NOTIFICATION, f"member:{people['member']}", title="给甲")
        events.emit(session, events.NOTIFICATION, f"member:{people['other']}", title="给乙")
        events.emit(session, events.REPORT_DECIDED, "staff", report=1)
        events.emit(session, events.MATERIAL_NEW_VERSION, "public", material=1, title="乙")
    app = create_app(runtime)  # no lifespan: the stream sends what was missed and ends
    visitor = TestClient(app)
    answer = visitor.get("/events", headers={"Last-Event-ID": str(first.id)})
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/event-stream")
    assert "retry: 3000" in answer.text
    assert [m["event"] for m in parse_sse(answer.text)] == ["material.new_version"]
    member = signed_in(app, "member")
    seen = parse_sse(member.get(f"/events?last={first.id - 1}").text)
    assert [(m["event"], m["data"].get("title")) for m in seen] == [
        ("material.published", "甲"),
        ("notification", "给甲"),
        ("material.new_version", "乙"),
    ]
    assert [int(m["id"]) for m in seen] == sorted(int(m["id"]) for m in seen)
    editor = signed_in(app, "editor")
    assert "report.decided" in [m["event"] for m in parse_sse(editor.get("/events?last=0").text)]
    assert parse_sse(visitor.get("/events").text) == []  # no id: from now on


def test_a_live_stream_gets_published_materials_and_heartbeats(runtime, people, monkeypatch):
    from wenxing.web import live

    monkeypatch.setattr(live, "HEARTBEAT_SECONDS", 0.3)
    import_sample(runtime, publish=False)
    app = create_app(runtime)
    received: list[str] = []
    with TestClient(app) as client:  # the lifespan starts the hub
        client.get("/")

        def publish():
            with runtime.db.transaction() as session:
                catalog.set_published(session, 1, True)

        # Published once the stream is subscribed (its headers are sent after that) and
        # has sent a heartbeat. Published from a thread started a second before the
        # stream, the event was missed whenever subscribing took longer than that, and
        # this loop then read heartbeats for ever.
        publisher = threading.Thread(target=publish)
        with client.stream("GET", "/events") as stream:
            for line in stream.iter_lines():
                received.append(line)
                if line == ": heartbeat" and publisher.ident is None:
                    publisher.start()
                if line.startswith("data:") and "material" in line:
                    break
        publisher.join()
    text = "\n".join(received)
    assert ": heartbeat" in text
    message = parse_sse(text + "\n\n")[-1]
    assert message["event"] == "material.published"
    assert message["data"]["link"] == "/materials/1" and message["data"]["material"] == 1
    assert set(message["data"]) == {"material", "title", "kind", "date", "link"}


def test_the_notifications_page_is_paged_like_the_other_lists(runtime, people):
    with runtime.db.transaction() as session:
        for n in range(PAGE_SIZE + 5):
            notify(session, [people["member"]], "material", f"通知{n:02d}", link="/materials/1")
    with runtime.db.reading() as session:
        mine = Notification.member_id == people["member"]
        total = session.scalar(select(func.count()).select_from(Notification).where(mine))
    assert PAGE_SIZE < total <= 2 * PAGE_SIZE
    member = signed_in(create_app(runtime), "member")

    def ids(text: str) -> list[int]:
        return [int(n) for n in re.findall(r'<li class="(?:un)?read" id="n(\d+)">', text)]

    first = member.get("/account/notifications")
    assert first.status_code == 200 and "第 1 页，共 2 页" in first.text
    assert 'rel="next" href="/account/notifications?page=2"' in first.text
    assert '<span class="button" aria-current="page">1</span>' in first.text
    second = member.get("/account/notifications", params={"page": 2})
    assert second.status_code == 200 and "第 2 页，共 2 页" in second.text
    assert 'rel="prev" href="/account/notifications?page=1"' in second.text
    assert 'rel="next"' not in second.text
    seen = ids(first.text) + ids(second.text)
    assert len(seen) == total and seen == sorted(set(seen), reverse=True)  # newest first
    past = member.get("/account/notifications", params={"page": 3})
    assert past.status_code == 404 and "没有这一页" in past.text
    for bad in ("0", "x", "1000000"):
        refused = member.get("/account/notifications", params={"page": bad})
        assert refused.status_code == 400 and "请求参数有误" in refused.text, bad


def test_the_bell_counts_and_notifications_are_marked_read(runtime, people):
    import_sample(runtime, publish=False)
    with runtime.db.transaction() as session:
        catalog.set_published(session, 1, True)
    app = create_app(runtime)
    member = signed_in(app, "member")
    home = member.get("/")
    assert 'id="bell"' in home.text and 'data-count="2"' in home.text  # subscription, material
    assert '<script src="/static/live.js" defer></script>' in home.text
    assert 'id="bell"' not in TestClient(app).get("/").text
    page = member.get("/account/notifications")
    assert page.status_code == 200
    assert "新材料：" in page.text and 'href="/materials/1"' in page.text
    listed = member.get("/api/v1/notifications").json()
    assert listed["unread"] == 2 and [i["kind"] for i in listed["items"]] == [
        "material",
        "subscription",
    ]
    token = member.cookies[CSRF_COOKIE]
    one = listed["items"][0]["id"]
    refused = member.post(f"/account/notifications/{one}/read", data={"csrf_token": "x"})
    assert refused.status_code == 403
    marked = member.post(
        f"/account/notifications/{one}/read", data={"csrf_token": token}, follow_redirects=False
    )
    assert marked.status_code == 303
    assert member.get("/api/v1/notifications?unread=true").json()["total"] == 1
    assert member.post("/api/v1/notifications/read", json={}).status_code == 403  # no header
    done = member.post("/api/v1/notifications/read", json={}, headers={"X-CSRF-Token": token})
    assert done.json() == {"marked": 1, "unread": 0}
    assert 'data-count="0"' in member.get("/").text
    other = signed_in(app, "other")
    assert other.get("/api/v1/notifications").json()["unread"] == 2  # B's are B's own
    with runtime.db.reading() as session:
        free = session.scalars(
            select(Notification).where(Notification.member_id == people["free"])
        ).all()
    assert free == []  # a free user is not told of a material they cannot read


def test_a_resumed_stream_never_replays_a_withdrawn_material(runtime, people):
    """Issue 17: the backlog of a resuming stream leaves out every event naming a material
    withdrawn since (its event, its notification, a digest listing it) for every role below
    editor; staff, who still see the material in the console, get them."""
    import_sample(runtime, publish=False)
    with runtime.db.transaction() as session:
        start = events.emit(session, events.REPORT_DECIDED, "staff", report=0).id
        material = catalog.set_published(session, 1, True)
        title = material.title
        events.emit(
            session,
            events.MATERIAL_DIGEST,
            "public",
            digest=None,
            count=1,
            title=f"新材料 1 份：《{title}》等",
            link="/published/999",
            materials=[{"material": 1, "title": title, "link": "/materials/1"}],
        )
        events.emit(session, events.MATERIAL_PUBLISHED, "public", material=99, title="别的")
    app = create_app(runtime)
    clients = {
        "visitor": TestClient(app),
        "free": signed_in(app, "free"),
        "member": signed_in(app, "member"),
        "editor": signed_in(app, "editor"),
    }

    def replayed(client, how):
        if how == "header":
            answer = client.get("/events", headers={"Last-Event-ID": str(start)})
        else:
            answer = client.get(f"/events?last={start}")
        assert answer.status_code == 200
        return answer.text

    before = replayed(clients["member"], "header")
    assert title in before and "notification" in before  # the control: it was there
    with runtime.db.transaction() as session:
        catalog.set_published(session, 1, False)
    for role, client in clients.items():
        for how in ("header", "query"):
            text = replayed(client, how)
            if role == "editor":
                assert title in text
            else:
                assert title not in text, (role, how)
                assert '/materials/1"' not in text, (role, how)
                assert "别的" in text  # events of other materials still come
