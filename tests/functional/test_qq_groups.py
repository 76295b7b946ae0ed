"""QQ groups end to end, on both databases, against local stand-ins for a OneBot v11
framework and the QQ official bot platform (``tests/qq_receivers.py``, 127.0.0.1 only).

Announcements: robots added in the console, the receivers down, a material published, the
app restarted, the receivers back: each group gets the announcement exactly once; a wrong
access token or app secret fails at once and the robots page says so in Chinese.
The 会员群 door: a member links a QQ number with a one-time code sent in a private chat;
join requests are approved for a current member and refused with reasons for an expired
member and an unknown number; a member whose plan ends is reminded and, after the grace
period, removed (the clock passed in); a report with a bad signature changes nothing; every
decision is in the audit log and in the console's list of the group.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from tests.functional.test_bots import _admin, _csrf, _deliveries, _wait, robots_installation
from tests.helpers import account
from tests.qq_receivers import Official, OneBot
from wenxing import jobs
from wenxing.audit import AuditEvent
from wenxing.db.base import utcnow
from wenxing.live import qq_door, qq_links, qq_send
from wenxing.live.models import QQDecision, QQLink, QQSeat, Robot
from wenxing.members.models import Member
from wenxing.members.subscriptions import grant, plans
from wenxing.runtime import open_runtime
from wenxing.settings import change as change_setting
from wenxing.web import live as live_pages
from wenxing.web.app import create_app

TOKEN = "onebot-access-token-0123"
EVENT_SECRET = "onebot-event-secret-4567"
APP_ID = "102030405"
APP_SECRET = "qqbotAppSecret0123456789"
OPENID = "C9F778FE6ADF9D1D1DBE395BF744A33A"
GROUP = "612345678"
TITLE = "在全区重点工作推进会上的讲话"


@pytest.fixture
def robots_runtime(runtime, settings):
    return robots_installation(runtime, settings)


@pytest.fixture
def door_runtime(robots_runtime, monkeypatch):
    """The installation for the door's tests, which pass their own clock to
    ``qq_door.sweep``: the served app's hub does not sweep beside them. It would, 5 s after
    the app starts, with the real clock, by which the member the test moved past their end
    is current: the reminder undone (``reminded_at`` cleared, told again) or the removal
    lost (the seat no longer as read). On a loaded machine the test reaches its sweeps
    after those 5 s; on an idle one, before."""
    monkeypatch.setattr(live_pages, "_every_few_minutes", lambda _db, _now: None)
    return robots_runtime


def _add(client, name, platform, audience, url, secret, **qq) -> int:
    data = {
        "name": name,
        "platform": platform,
        "audience": audience,
        "webhook_url": url,
        "secret": secret,
        "csrf_token": _csrf(client),
        **qq,
    }
    response = client.post("/console/robots", data=data, follow_redirects=False)
    assert response.status_code == 303, response.text
    with client.app.state.runtime.db.reading() as session:
        return session.scalar(select(Robot.id).where(Robot.name == name))


def test_qq_announcements_survive_receivers_down_and_a_restart(robots_runtime):
    runtime = robots_runtime
    qq_send.forget_tokens()
    onebot = OneBot(TOKEN, EVENT_SECRET)
    official = Official(APP_ID, APP_SECRET, OPENID)
    client = _admin(create_app(runtime))
    _add(client, "会员群QQ", "onebot", "member", onebot.url, TOKEN, target=GROUP)
    _add(client, "免费群官方", "qqbot", "free", official.url, APP_SECRET, target=OPENID,
         app_id=APP_ID)  # fmt: skip
    onebot.stop()
    official.stop()
    published = client.post(
        "/console/materials/1/publish", data={"csrf_token": _csrf(client)}, follow_redirects=False
    )
    assert published.status_code == 303
    _wait(
        lambda: (rows := _deliveries(runtime)) and all(d.attempts >= 2 for d in rows),
        "the sender tries QQ while it is down",
    )
    assert {d.state for d in _deliveries(runtime)} <= {"pending", "sending"}
    client.__exit__(None, None, None)
    runtime.close()

    restarted = open_runtime(runtime.settings)
    try:
        client = _admin(create_app(restarted))
        onebot.start()
        official.start()
        _wait(lambda: {d.state for d in _deliveries(restarted)} == {"sent"}, "all sent")
        (group_message,) = onebot.of("send_group_msg")
        assert group_message["group_id"] == int(GROUP) and TITLE in group_message["message"]
        assert "/materials/1/read" in group_message["message"]  # the member group's link
        assert len(official.messages) == 1 and TITLE in official.messages[0]["content"]
        assert "/read" not in official.messages[0]["content"]
        assert official.messages[0]["msg_type"] == 0 and len(official.tokens) == 1
        assert onebot.refused == [] and official.refused == []
        page = client.get("/console/robots").text
        assert page.count('class="delivery state-sent"') == 2
        client.__exit__(None, None, None)
    finally:
        restarted.close()
        onebot.stop()
        official.stop()


def test_a_wrong_token_or_app_secret_fails_at_once_and_is_said_in_chinese(robots_runtime):
    runtime = robots_runtime
    qq_send.forget_tokens()
    onebot = OneBot(TOKEN, EVENT_SECRET)
    official = Official(APP_ID, APP_SECRET, OPENID)
    client = _admin(create_app(runtime))
    try:
        _add(client, "错令牌", "onebot", "member", onebot.url, "not-the-token", target=GROUP)
        _add(client, "错密钥", "qqbot", "free", official.url, "not-the-secret", target=OPENID,
             app_id=APP_ID)  # fmt: skip
        client.post("/console/materials/1/publish", data={"csrf_token": _csrf(client)})
        _wait(lambda: {d.state for d in _deliveries(runtime)} == {"failed"}, "both fail")
        assert [d.attempts for d in _deliveries(runtime)] == [1, 1]  # at once, not retried
        assert onebot.refused == [403] and official.refused == ["token"]
        page = client.get("/console/robots").text
        assert "QQ 拒绝了访问令牌" in page
        assert "QQ 开放平台没有发放访问令牌：请核对 AppID 和 AppSecret（code 100016" in page
    finally:
        client.__exit__(None, None, None)
        onebot.stop()
        official.stop()


def _door(runtime):
    """A 会员群 robot with its event secret, a 免费群 robot, and three accounts: a current
    member, one whose plan ended a month ago, one never subscribed."""
    client = _admin(create_app(runtime))
    onebot = OneBot(TOKEN, EVENT_SECRET)
    member_robot = _add(client, "会员群", "onebot", "member", onebot.url, TOKEN, target=GROUP,
                        event_secret=EVENT_SECRET)  # fmt: skip
    free_robot = _add(client, "免费群", "onebot", "free", onebot.url, TOKEN, target="700100200",
                      event_secret=EVENT_SECRET)  # fmt: skip
    with runtime.db.transaction() as session:
        publisher = runtime.publisher_settings()
        account(session, publisher, "在期会员", subscribed=True, username="current")
        lapsed = account(session, publisher, "过期会员", subscribed=False, username="lapsed")
        month = plans(publisher)["month"]
        grant(session, lapsed.id, month, actor="test", reason="test", now=utcnow() - timedelta(60))
    return client, onebot, member_robot, free_robot


def _post(client, robot_id, onebot, payload, secret=None):
    body, headers = onebot.event(payload, secret)
    return client.post(f"/qq/onebot/{robot_id}/events", content=body, headers=headers)


def _link(runtime, client, onebot, robot_id, username, qq):
    with runtime.db.transaction() as session:
        member_id = session.scalar(select(Member.id).where(Member.username == username))
        code = qq_links.start(session, member_id, qq, utcnow())
    message = {"post_type": "message", "message_type": "private", "sub_type": "friend",
               "user_id": int(qq), "message": f"绑定 {code}", "raw_message": f"绑定 {code}"}  # fmt: skip
    return _post(client, robot_id, onebot, message)


def _join(qq: str, group: str = GROUP) -> dict:
    return {"post_type": "request", "request_type": "group", "sub_type": "add",
            "group_id": int(group), "user_id": int(qq), "comment": "", "flag": f"flag-{qq}"}  # fmt: skip


def _jobs_done(runtime, onebot, action: str, count: int) -> None:
    """Run the queued jobs here (the app's own runner may take some first) until the
    framework has been told ``count`` times of ``action``."""
    jobs.run_pending(runtime)
    _wait(lambda: len(onebot.of(action)) >= count, f"{count} {action}")


def _counts(runtime) -> tuple[int, ...]:
    with runtime.db.reading() as session:
        return tuple(
            session.scalar(select(func.count()).select_from(table))
            for table in (QQDecision, QQSeat, QQLink, jobs.Job, AuditEvent)
        )


def test_the_member_group_door(door_runtime):
    runtime = door_runtime
    client, onebot, robot_id, free_id = _door(runtime)
    try:
        linked = _link(runtime, client, onebot, robot_id, "current", "10001001")
        assert linked.status_code == 200 and "绑定成功" in linked.json()["reply"]
        assert _link(runtime, client, onebot, robot_id, "lapsed", "10001002").status_code == 200
        with runtime.db.transaction() as session:
            member_id = session.scalar(select(Member.id).where(Member.username == "lapsed"))
            code = qq_links.start(session, member_id, "10001002", utcnow())
        friend = {"post_type": "request", "request_type": "friend", "user_id": 10001002,
                  "comment": f"验证码 {code}", "flag": "friend-flag"}  # fmt: skip
        assert _post(client, robot_id, onebot, friend).json() == {"approve": True}
        wrong = _post(client, robot_id, onebot, {"post_type": "message",
                      "message_type": "private", "user_id": 10001003, "message": "123456"})  # fmt: skip
        assert "验证码不对" in wrong.json()["reply"]

        before = _counts(runtime)
        forged = _post(client, robot_id, onebot, _join("10001001"), secret="guessed")
        assert forged.status_code == 401
        unsigned = client.post(f"/qq/onebot/{robot_id}/events", content=b'{"post_type":"x"}')
        assert unsigned.status_code == 401
        assert _counts(runtime) == before  # a bad signature changes nothing
        assert "签名不符的事件上报" in client.get("/console/robots").text

        for qq in ("10001001", "10001002", "10001009"):
            assert _post(client, robot_id, onebot, _join(qq)).status_code == 204
        assert _post(client, free_id, onebot, _join("10001009", "700100200")).status_code == 204
        again = _counts(runtime)
        assert _post(client, robot_id, onebot, _join("10001002")).status_code == 204
        assert _counts(runtime) == again  # reported twice, decided once
        _jobs_done(runtime, onebot, "set_group_add_request", 4)
        answers = {(b["flag"], b["approve"]): b.get("reason") for b in
                   onebot.of("set_group_add_request")}  # fmt: skip
        assert answers[("flag-10001001", True)] is None
        assert "会员已到期" in answers[("flag-10001002", False)]
        assert "没有绑定本站账户" in answers[("flag-10001009", False)]
        assert len(answers) == 4  # the free group let the unknown number in
        assert len(onebot.of("set_group_add_request")) == 4

        _reminded_then_removed(runtime, onebot, robot_id)
        kinds = _audit_kinds(runtime)
        assert kinds.count("qq:link") == 3 and kinds.count("qq:approve") == 2
        assert kinds.count("qq:refuse") == 2
        assert kinds.count("qq:remind") == 1 and kinds.count("qq:remove") == 1
        page = client.get(f"/console/robots/{robot_id}/door").text
        for words in ("已同意加群", "已拒绝加群", "已提醒续费", "已移出群", "10001009"):
            assert words in page, words
        assert page.count('class="door-row') == 5
    finally:
        client.__exit__(None, None, None)
        onebot.stop()


def _reminded_then_removed(runtime, onebot, robot_id) -> None:
    with runtime.db.reading() as session:
        ends = session.scalar(select(Member.membership_ends).where(Member.username == "current"))
        grace = runtime.publisher_settings().qq_grace_days
    assert qq_door.sweep(runtime.db, ends - timedelta(minutes=5)) == 0  # still a member
    assert qq_door.sweep(runtime.db, ends + timedelta(minutes=5)) == 1  # reminded
    assert qq_door.sweep(runtime.db, ends + timedelta(minutes=10)) == 0  # once
    assert qq_door.sweep(runtime.db, ends + timedelta(days=grace) - timedelta(hours=1)) == 0
    assert qq_door.sweep(runtime.db, ends + timedelta(days=grace, minutes=6)) == 1  # removed
    # Two runners (the app's and this thread's) take the two jobs: the kick can be told
    # before the reminder, queued first, is.
    _jobs_done(runtime, onebot, "set_group_kick", 1)
    _wait(lambda: len(onebot.of("send_private_msg")) >= 1, "the reminder")
    (reminder,) = onebot.of("send_private_msg")
    assert reminder["user_id"] == 10001001 and "会员已到期" in reminder["message"]
    (kick,) = onebot.of("set_group_kick")
    assert kick == {"group_id": int(GROUP), "user_id": 10001001, "reject_add_request": False}
    with runtime.db.reading() as session:
        seat = session.scalar(select(QQSeat).where(QQSeat.qq == "10001001"))
        assert seat.removed_at is not None


def _audit_kinds(runtime) -> list[str]:
    with runtime.db.reading() as session:
        return list(
            session.scalars(
                select(AuditEvent.type).where(AuditEvent.type.like("qq:%")).order_by(AuditEvent.id)
            )
        )


def test_a_renewed_member_is_not_removed_and_the_masthead_names_the_groups(door_runtime):
    runtime = door_runtime
    client, onebot, robot_id, _free = _door(runtime)
    try:
        _link(runtime, client, onebot, robot_id, "current", "10001001")
        _post(client, robot_id, onebot, _join("10001001"))
        with runtime.db.reading() as session:
            ends = session.scalar(
                select(Member.membership_ends).where(Member.username == "current")
            )
        assert qq_door.sweep(runtime.db, ends + timedelta(minutes=1)) == 1  # reminded
        with runtime.db.transaction() as session:
            member_id = session.scalar(select(Member.id).where(Member.username == "current"))
            month = plans(runtime.publisher_settings())["month"]
            renewed_until = grant(
                session, member_id, month, actor="test", reason="renewed", now=ends
            ).ends_at
        # Renewed: stays past the grace, to the last minute of the new month (a calendar
        # month: 28 days from a February end, so not "ends + 30 days").
        grace = timedelta(days=runtime.publisher_settings().qq_grace_days)
        assert qq_door.sweep(runtime.db, ends + grace + timedelta(hours=1)) == 0
        assert qq_door.sweep(runtime.db, renewed_until - timedelta(minutes=1)) == 0
        assert _audit_kinds(runtime).count("qq:remove") == 0

        assert not any("会员群" in line for line in runtime.publisher_settings().masthead_lines())
        with runtime.db.transaction() as session:
            change_setting(session, "member_qq_group", GROUP, actor="publisher:test")
            change_setting(session, "free_qq_link", "https://qm.qq.com/q/free", actor="t")
        lines = runtime.publisher_settings().masthead_lines()
        assert f"会员群：{GROUP}    免费QQ群：https://qm.qq.com/q/free" in lines
        with runtime.db.transaction() as session:
            for name, bad in (("member_qq_group", "0123"), ("free_qq_link", "http://x y")):
                try:
                    change_setting(session, name, bad, actor="publisher:test")
                except ValueError as refused:
                    assert refused.code.startswith("setting.qq_")
                else:
                    raise AssertionError(f"{name}={bad!r} accepted")
    finally:
        client.__exit__(None, None, None)
        onebot.stop()


def test_a_framework_refusing_the_token_leaves_an_unsent_row_in_the_groups_list(
    robots_runtime,
):
    runtime = robots_runtime
    client = _admin(create_app(runtime))
    onebot = OneBot(TOKEN, EVENT_SECRET)
    try:
        robot_id = _add(client, "会员群", "onebot", "member", onebot.url, "wrong-token",
                        target=GROUP, event_secret=EVENT_SECRET)  # fmt: skip
        assert _post(client, robot_id, onebot, _join("10001009")).status_code == 204
        jobs.run_pending(runtime)
        _wait(lambda: onebot.refused == [403], "the framework refuses the token")

        def unsent() -> bool:
            with runtime.db.reading() as session:
                return session.scalar(select(QQDecision).where(QQDecision.action == "unsent"))

        _wait(unsent, "the refusal is noted")
        page = client.get(f"/console/robots/{robot_id}/door").text
        assert "未能通知 QQ 框架" in page and "请核对机器人的访问令牌" in page
        assert onebot.of("set_group_add_request") == []
    finally:
        client.__exit__(None, None, None)
        onebot.stop()
