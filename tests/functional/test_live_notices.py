"""The notices the live domain sends where changes happen: a new version to those who took
a copy of an older one, a decided report, a granted membership, expiry reminders."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import select

from tests.helpers import SAMPLE, account, signed_in
from wenxing.db.base import utcnow
from wenxing.live import announce
from wenxing.live.models import LiveEvent, Notification
from wenxing.live.reminders import remind_expiring
from wenxing.materials.importer import ImportOptions, MaterialImporter
from wenxing.members.subscriptions import membership_end
from wenxing.web.app import create_app


def notices(runtime, member_id: int, kind: str | None = None) -> list[Notification]:
    with runtime.db.reading() as session:
        query = select(Notification).where(Notification.member_id == member_id)
        if kind:
            query = query.where(Notification.kind == kind)
        return list(session.scalars(query.order_by(Notification.id)))


def event_types(runtime) -> list[tuple[str, str]]:
    with runtime.db.reading() as session:
        return [(e.type, e.audience) for e in session.scalars(select(LiveEvent).order_by("id"))]


def test_a_new_version_is_told_to_holders_of_older_copies_only(runtime, tmp_path):
    source = tmp_path / "讲话.txt"
    text = SAMPLE.read_text("utf-8")
    source.write_text(text, "utf-8")
    importer = MaterialImporter(runtime.db, runtime.settings, runtime.publisher_settings())
    importer.run([source], ImportOptions(publish=True))
    publisher = runtime.publisher_settings()
    with runtime.db.transaction() as session:
        reader = account(session, publisher, "读者", subscribed=True, username="reader").id
        other = account(session, publisher, "旁人", subscribed=True, username="other").id
    app = create_app(runtime)
    assert signed_in(app, "reader").get("/materials/1/download/txt").status_code == 200
    source.write_text(text + "\n同志们，让我们再接再厉，奋勇争先！\n", "utf-8")
    assert [i["version"] for i in importer.run([source], ImportOptions()).imported] == [2]
    (notice,) = notices(runtime, reader, "version")
    assert "第 2 版" in notice.title and notice.link == "/materials/1"
    assert notices(runtime, other, "version") == []
    with runtime.db.reading() as session:
        event = session.get(LiveEvent, notice.event_id)
        assert event.type == "material.new_version" and event.audience == "public"
        payload = json.loads(event.payload)
    assert payload["version"] == 2 and payload["link"] == "/materials/1"
    assert "同志们" not in event.payload  # titles and links, never body text
    source.write_text(text + "\n同志们，让我们再接再厉，奋勇争先，开创新局面！\n", "utf-8")
    importer.run([source], ImportOptions())
    second, third = notices(runtime, reader, "version")  # once per version
    assert "第 2 版" in second.title and "第 3 版" in third.title
    importer.run([source], ImportOptions())  # unchanged: no version, no notice
    assert len(notices(runtime, reader, "version")) == 2


def test_publishing_notifies_members_in_one_statement_once(runtime):
    publisher = runtime.publisher_settings()
    with runtime.db.transaction() as session:
        members = [
            account(session, publisher, f"会员{n}", subscribed=True, username=f"member{n}").id
            for n in range(30)
        ]
        free = account(session, publisher, "免费", subscribed=False, username="free").id
    MaterialImporter(runtime.db, runtime.settings, runtime.publisher_settings()).run(
        [SAMPLE], ImportOptions(publish=True)
    )
    assert all(len(notices(runtime, m, "material")) == 1 for m in members)
    assert notices(runtime, free) == []
    published = [t for t in event_types(runtime) if t[0] != "subscription.granted"]
    published = [t for t in published if not t[1].startswith("member:")]
    assert published == [("material.published", "public"), ("notification", "members")]
    from wenxing.materials import catalog

    with runtime.db.transaction() as session:
        catalog.set_published(session, 1, False)
    with runtime.db.transaction() as session:
        catalog.set_published(session, 1, True)
    assert all(len(notices(runtime, m, "material")) == 1 for m in members)  # not again


def test_a_decided_report_is_told_to_reporter_and_sanctioned(runtime):
    publisher = runtime.publisher_settings()
    with runtime.db.transaction() as session:
        reporter = account(session, publisher, "举报人", subscribed=False, username="reporter").id
        leaker = account(session, publisher, "外传者", subscribed=True, username="leaker").id
    with runtime.db.transaction() as session:
        announce.report_decided(
            session,
            report_id=7,
            receipt="JB-2345-6789-AB",
            state="confirmed",
            reporter_id=reporter,
            sanctioned=[(leaker, "suspend")],
        )
    (told,) = notices(runtime, reporter, "report")
    assert told.link == "/report/JB-2345-6789-AB" and "已确认" in told.title
    (sanction,) = notices(runtime, leaker, "sanction")
    assert "暂停" in sanction.title
    assert ("report.decided", "staff") in event_types(runtime)


def test_a_granted_membership_is_told_with_its_end(runtime):
    publisher = runtime.publisher_settings()
    with runtime.db.transaction() as session:
        member = account(session, publisher, "会员", subscribed=True, username="member1").id
    (granted,) = notices(runtime, member, "subscription")
    assert granted.title.startswith("会员已开通") and granted.link == "/account"
    assert ("subscription.granted", f"member:{member}") in event_types(runtime)


def test_expiry_reminders_7_and_1_days_before_once_each(runtime):
    publisher = runtime.publisher_settings()
    with runtime.db.transaction() as session:
        member = account(session, publisher, "会员", subscribed=True, username="member1").id
        suspended = account(session, publisher, "暂停", subscribed=True, username="member2")
        suspended.status = "suspended"
    with runtime.db.reading() as session:
        ends = membership_end(session, member, utcnow())
    assert remind_expiring(runtime.db, ends - timedelta(days=8)) == 0
    assert remind_expiring(runtime.db, ends - timedelta(days=6, hours=23)) == 1
    assert remind_expiring(runtime.db, ends - timedelta(days=5)) == 0  # once
    assert remind_expiring(runtime.db, ends - timedelta(hours=20)) == 1
    assert remind_expiring(runtime.db, ends - timedelta(hours=2)) == 0
    assert remind_expiring(runtime.db, ends + timedelta(hours=1)) == 0  # ended: nothing
    seven, one = notices(runtime, member, "expiry")
    assert "7 天后" in seven.title and "不到 1 天" in one.title
    assert notices(runtime, suspended.id, "expiry") == []
    expiring = [a for t, a in event_types(runtime) if t == "subscription.expiring"]
    assert expiring == [f"member:{member}", f"member:{member}"]


def test_an_extended_membership_is_reminded_for_its_new_end(runtime):
    from wenxing.members.subscriptions import grant, plans

    publisher = runtime.publisher_settings()
    with runtime.db.transaction() as session:
        member = account(session, publisher, "会员", subscribed=True, username="member1").id
    with runtime.db.reading() as session:
        ends = membership_end(session, member, utcnow())
    assert remind_expiring(runtime.db, ends - timedelta(days=3)) == 1
    with runtime.db.transaction() as session:
        grant(session, member, plans(publisher)["month"], actor="t", reason="t", now=utcnow())
    assert remind_expiring(runtime.db, ends - timedelta(days=2)) == 0  # the run goes on
    with runtime.db.reading() as session:
        later = membership_end(session, member, utcnow())
    assert later > ends
    assert remind_expiring(runtime.db, later - timedelta(days=3)) == 1


def test_the_console_uploads_a_new_version_of_a_material(runtime, tmp_path):
    from wenxing.web.auth import CSRF_COOKIE

    source = tmp_path / "讲话.txt"
    text = SAMPLE.read_text("utf-8")
    source.write_text(text, "utf-8")
    MaterialImporter(runtime.db, runtime.settings, runtime.publisher_settings()).run(
        [source], ImportOptions(publish=True)
    )
    publisher = runtime.publisher_settings()
    with runtime.db.transaction() as session:
        reader = account(session, publisher, "读者", subscribed=True, username="reader").id
        account(session, publisher, "编辑", subscribed=False, username="writer").role = "editor"
    app = create_app(runtime)
    assert signed_in(app, "reader").get("/materials/1/download/txt").status_code == 200
    editor = signed_in(app, "writer")
    revised = (text + "\n同志们，让我们再接再厉！\n").encode()
    answer = editor.post(
        "/console/materials/1/versions/new",
        data={"csrf_token": editor.cookies[CSRF_COOKIE], "publish": "1"},
        files={"file": ("修订稿.txt", revised, "text/plain")},
    )
    assert answer.status_code == 200 and "第 2 版" in answer.text
    (notice,) = notices(runtime, reader, "version")
    assert notice.link == "/materials/1"
    again = editor.post(
        "/console/materials/1/versions/new",
        data={"csrf_token": editor.cookies[CSRF_COOKIE]},
        files={"file": ("修订稿.txt", revised, "text/plain")},
    )
    assert again.status_code == 200 and "已跳过" in again.text
    missing = editor.post(
        "/console/materials/999/versions/new",
        data={"csrf_token": editor.cookies[CSRF_COOKIE]},
        files={"file": ("x.txt", revised, "text/plain")},
    )
    assert missing.status_code == 404
    with runtime.db.reading() as session:
        from wenxing.materials.models import Material

        assert session.get(Material, 1).current_version == 2
