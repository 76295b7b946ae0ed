"""Linking a QQ number on the account page, in Debian's Chromium (issue 26), at 390×844 and
1366×768, on both databases: a member asks for a one-time code, the page shows it; the
member "sends it to the robot" (the OneBot framework's signed event report, POSTed to the
served app as the framework does), the robot's quick reply says it is linked, and the
reloaded page shows the number. A mistyped number is refused in Chinese; a code from
another QQ number links nothing. Screenshots in ``build/artifacts/qq/``."""

from __future__ import annotations

import hashlib
import hmac
import json

import httpx2
import pytest
from sqlalchemy import select

from tests.e2e.conftest import artifacts
from tests.helpers import PASSWORD, account
from wenxing.live import bot_credentials
from wenxing.live.models import QQLink, Robot

EVENT_SECRET = "onebot-event-secret-4567"
SCREENS = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1366, "height": 768}}


@pytest.fixture(params=sorted(SCREENS))
def screen(request):
    return request.param


def _robot(runtime) -> int:
    with runtime.db.transaction() as session:
        robot = Robot(
            name="会员群", platform="onebot", audience="member", webhook_url="", target="612345678"
        )
        session.add(robot)
        session.flush()
        url = "http://127.0.0.1:9/"  # never called here
        bot_credentials.write(runtime.secret, robot, url, "token", EVENT_SECRET)
        return robot.id


def _report(base: str, robot_id: int, qq: int, text: str, secret: str = EVENT_SECRET):
    body = json.dumps(
        {
            "time": 1765000000,
            "self_id": 3100200300,
            "post_type": "message",
            "message_type": "private",
            "sub_type": "friend",
            "user_id": qq,
            "message": text,
            "raw_message": text,
        },
        ensure_ascii=False,
    ).encode()
    signature = "sha1=" + hmac.new(secret.encode(), body, hashlib.sha1).hexdigest()
    headers = {"Content-Type": "application/json", "X-Signature": signature}
    return httpx2.post(f"{base}/qq/onebot/{robot_id}/events", content=body, headers=headers)


def test_a_member_links_a_qq_number_with_the_one_time_code(runtime, serve, browser, screen):
    with runtime.db.transaction() as session:
        account(session, runtime.publisher_settings(), "李明", subscribed=True, username="liming")
    robot_id = _robot(runtime)
    base = serve()
    context = browser.new_context(viewport=SCREENS[screen], locale="zh-CN")
    page = context.new_page()
    page.goto(base + "/signin?next=/account")
    page.fill("#identifier", "liming")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(base + "/account")

    page.fill("#qq-number", "0123")
    page.click("#qq button[type=submit]")
    assert "QQ 号是 5 到 12 位数字" in page.inner_text("#qq-error")

    page.fill("#qq-number", "10001001")
    page.click("#qq button[type=submit]")
    code = page.inner_text("#qq-code strong").strip()
    assert len(code) == 6 and code.isdigit()
    assert "10001001" in page.inner_text("#qq-code")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= SCREENS[screen]["width"], "the page scrolls sideways"
    _shot(page, runtime, "code", screen)

    other = _report(base, robot_id, 10009999, f"绑定 {code}")  # another QQ number
    assert other.status_code == 200 and "验证码不对" in other.json()["reply"]
    forged = _report(base, robot_id, 10001001, code, secret="guessed")
    assert forged.status_code == 401
    sent = _report(base, robot_id, 10001001, f"绑定 {code}")
    assert sent.status_code == 200 and "绑定成功" in sent.json()["reply"]

    page.goto(base + "/account#qq")
    assert "已绑定 QQ 号：10001001" in page.inner_text("#qq-linked")
    _shot(page, runtime, "linked", screen)
    with runtime.db.reading() as session:
        link = session.scalar(select(QQLink))
        assert link.qq == "10001001" and link.pending_qq is None
    context.close()


def _shot(page, runtime, name: str, screen: str) -> None:
    folder = artifacts() / "qq"
    folder.mkdir(exist_ok=True)
    backend = runtime.db.engine.url.get_backend_name()
    page.screenshot(path=str(folder / f"{backend}-{name}-{screen}.png"), full_page=True)


def test_the_robots_page_and_a_groups_door_list(runtime, serve, browser, screen):
    from wenxing.db.base import utcnow
    from wenxing.live import qq_door
    from wenxing.members.models import Member

    robot_id = _robot(runtime)
    with runtime.db.transaction() as session:
        publisher = runtime.publisher_settings()
        account(session, publisher, "管理员", subscribed=False, username="boss")
        session.scalar(select(Member).where(Member.username == "boss")).role = "admin"
        robot = session.get(Robot, robot_id)
        for qq in ("10001001", "10001002", "10001003"):
            qq_door.decide(session, robot, qq, f"flag-{qq}", utcnow())
    base = serve()
    context = browser.new_context(viewport=SCREENS[screen], locale="zh-CN")
    page = context.new_page()
    page.goto(base + "/signin?next=/console/robots")
    page.fill("#identifier", "boss")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(base + "/console/robots")
    assert "加群记录" in page.inner_text(f"#robot-{robot_id}")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= SCREENS[screen]["width"], "the robots page scrolls sideways"
    _shot(page, runtime, "robots", screen)
    page.click(f"#robot-{robot_id} >> text=加群记录")
    page.wait_for_url(base + f"/console/robots/{robot_id}/door")
    # The refusals; "unsent" rows may follow them, as the app's runner finds the robot's
    # address (port 9, not in webhook_hosts) refused.
    rows = page.locator("tr.door-row.action-refused")
    assert rows.count() == 3
    assert "没有绑定本站账户" in rows.first.inner_text()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= SCREENS[screen]["width"], "the page scrolls sideways"
    _shot(page, runtime, "door", screen)
    context.close()
