"""Getting back into an account, in Debian's Chromium (issue 22), at 390×844 with WeChat's
user agent and at 1366×768, on both databases: an imported member claims the account by an
SMS code (a loopback receiver that checks the provider's signature) and signs in; a member
who forgot the password resets it by an SMS code and by a link an admin made on the
console; a new member signs up with a phone verified by an SMS code, and an imported
member who tries to sign up is taken to 领取账号 with the same code; the account page and
the notifications show the publisher's dates. Each ends with a screenshot in
``build/artifacts/recover/`` (``WENXING_ARTIFACTS``)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import update

from tests.e2e.conftest import artifacts
from tests.helpers import PASSWORD, account
from tests.sms_receiver import Receiver
from wenxing import settings
from wenxing.live.models import Notification
from wenxing.live.notify import notify
from wenxing.members.models import Member, Subscription
from wenxing.members.service import add_member

WECHAT = (
    "Mozilla/5.0 (Linux; Android 13; V2183A Build/TP1A.220624.014; wv) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Version/4.0 Chrome/107.0.5304.141 Mobile Safari/537.36 "
    "MicroMessenger/8.0.34.2340(0x2800223B) WeChat/arm64 NetType/WIFI Language/zh_CN"
)
SCREENS = {
    "phone": ({"width": 390, "height": 844}, WECHAT),
    "desktop": ({"width": 1366, "height": 768}, None),
}
NEW_PASSWORD = "新的密码abc123"


@pytest.fixture(params=sorted(SCREENS))
def screen(request):
    return request.param


def _context(browser, screen: str):
    viewport, agent = SCREENS[screen]
    options = {"viewport": viewport, "locale": "zh-CN"}
    if agent:
        options.update(user_agent=agent, is_mobile=True, has_touch=True)
    return browser.new_context(**options)


def _shot(page, runtime, name: str, screen: str) -> None:
    folder = artifacts() / "recover"
    folder.mkdir(exist_ok=True)
    backend = runtime.db.engine.url.get_backend_name()
    page.screenshot(path=str(folder / f"{backend}-{name}-{screen}.png"), full_page=True)


def test_an_imported_member_claims_the_account_by_sms(runtime, serve, browser, screen):
    receiver = Receiver()
    try:
        with runtime.db.transaction() as session:
            settings.change(session, "sms", actor="test", value=receiver.config("tencent"))
            number = add_member(session, "王芳", "13800138000").number
        base = serve()
        page = _context(browser, screen).new_page()
        page.goto(base + "/signin")
        page.get_by_role("link", name="领取账号").click()
        page.fill("#phone", "13800138000")
        page.get_by_role("button", name="获取验证码").click()
        page.fill("#code", receiver.last_code("13800138000"))
        page.fill("#password", NEW_PASSWORD)
        page.fill("#password_again", NEW_PASSWORD)
        page.get_by_role("button", name="设置新密码并登录").click()
        page.wait_for_url("**/account?reset=1")
        assert number in page.inner_text("header")
        _shot(page, runtime, "claimed", screen)
        page.get_by_role("button", name="退出").click()
        page.goto(base + "/signin")
        page.fill("#identifier", "13800138000")
        page.fill("#password", NEW_PASSWORD)
        page.get_by_role("button", name="登录").click()
        page.wait_for_url(base + "/")
        assert number in page.inner_text("header")
    finally:
        receiver.close()


def test_a_forgotten_password_is_reset_by_a_console_link(runtime, serve, browser, screen):
    publisher = runtime.publisher_settings()
    with runtime.db.transaction() as session:
        boss = account(session, publisher, "管理员", subscribed=False, username="boss")
        boss.role = "admin"
        member = account(session, publisher, "李明", subscribed=True, username="liming")
        number = member.number
    base = serve()
    desk = browser.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN")
    console = desk.new_page()
    console.goto(base + f"/signin?next=/console/members/{number}")
    console.fill("#identifier", "boss")
    console.fill("#password", PASSWORD)
    console.get_by_role("button", name="登录").click()
    console.get_by_role("button", name="生成重置链接").click()
    link = console.input_value("#reset-link")
    page = _context(browser, screen).new_page()
    page.goto(link.replace(runtime.settings.public_url.rstrip("/"), base))
    page.fill("#password", NEW_PASSWORD)
    page.fill("#password_again", NEW_PASSWORD)
    page.get_by_role("button", name="设置新密码并登录").click()
    page.wait_for_url("**/account?reset=1")
    _shot(page, runtime, "reset-by-link", screen)
    page.goto(link.replace(runtime.settings.public_url.rstrip("/"), base))
    assert "链接无效" in page.inner_text("main")  # used once
    assert number in page.inner_text("header")  # the error page knows who is signed in


def test_dates_are_the_publishers(runtime, serve, browser, screen):
    late = datetime(2030, 12, 6, 17, 30)  # naive UTC: already 7 December in Beijing
    publisher = runtime.publisher_settings()
    with runtime.db.transaction() as session:
        member = account(session, publisher, "李明", subscribed=True, username="liming")
        session.execute(
            update(Subscription).where(Subscription.member_id == member.id).values(ends_at=late)
        )
        notify(session, [member.id], "expiry", "会员即将到期")
        session.execute(
            update(Notification)
            .where(Notification.member_id == member.id)
            .values(created_at=late - timedelta(days=3))
        )
    base = serve()
    page = _context(browser, screen).new_page()
    page.goto(base + "/signin?next=/account")
    page.fill("#identifier", "liming")
    page.fill("#password", PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url("**/account")
    assert "会员有效期至 2030-12-07" in page.inner_text("main")
    page.goto(base + "/account/notifications")
    assert "2030-12-04 01:30" in page.inner_text("main")
    _shot(page, runtime, "notification-dates", screen)


def _with_receiver(runtime):
    receiver = Receiver()
    with runtime.db.transaction() as session:
        settings.change(session, "sms", actor="test", value=receiver.config("aliyun"))
    return receiver


def _sign_in_works(browser, base: str, identifier: str, password: str) -> bool:
    page = browser.new_context(locale="zh-CN").new_page()
    page.goto(base + "/signin?next=/account")
    page.fill("#identifier", identifier)
    page.fill("#password", password)
    page.get_by_role("button", name="登录").click()
    page.wait_for_load_state()
    return page.url.endswith("/account")


def test_a_forgotten_password_is_reset_by_sms(runtime, serve, browser, screen):
    receiver = _with_receiver(runtime)
    try:
        publisher = runtime.publisher_settings()
        with runtime.db.transaction() as session:
            member = account(session, publisher, "李明", subscribed=True, phone="13900139000")
            number = member.number
        base = serve()
        page = _context(browser, screen).new_page()
        page.goto(base + "/signin")
        page.get_by_role("link", name="忘记密码").click()
        page.fill("#phone", "13900139000")
        page.get_by_role("button", name="获取验证码").click()
        page.fill("#code", receiver.last_code("13900139000"))
        page.fill("#password", NEW_PASSWORD)
        page.fill("#password_again", NEW_PASSWORD)
        page.get_by_role("button", name="设置新密码并登录").click()
        page.wait_for_url("**/account?reset=1")
        assert number in page.inner_text("header")
        _shot(page, runtime, "reset-by-sms", screen)
        assert not _sign_in_works(browser, base, "13900139000", PASSWORD)
        assert _sign_in_works(browser, base, "13900139000", NEW_PASSWORD)
    finally:
        receiver.close()


def _fill_sign_up(page, phone: str) -> None:
    page.fill("#name", "新会员")
    page.fill("#phone", phone)
    page.get_by_role("button", name="获取验证码").click()
    page.wait_for_selector("text=验证码已发送")


def test_sign_up_verifies_the_phone_by_sms(runtime, serve, browser, screen):
    receiver = _with_receiver(runtime)
    try:
        base = serve()
        page = _context(browser, screen).new_page()
        page.goto(base + "/signup")
        _fill_sign_up(page, "13812345678")
        assert page.input_value("#name") == "新会员"  # kept while the code was sent
        assert page.locator("form.card button[hidden]").is_hidden()  # Enter's button, unseen
        code = receiver.last_code("13812345678")
        page.fill("#code", code)
        page.fill("#password", NEW_PASSWORD)
        page.fill("#password_again", NEW_PASSWORD)
        page.check("#agree")
        page.press("#password_again", "Enter")  # Enter signs up; it sends no second code
        page.wait_for_url(base + "/")
        with runtime.db.reading() as session:
            made = session.query(Member).filter_by(phone="13812345678").one()
            assert made.name == "新会员"
            number = made.number
        assert number in page.inner_text("header")
        assert [c for p, c in receiver.codes if p == "13812345678"] == [code]
        _shot(page, runtime, "signed-up-by-sms", screen)
    finally:
        receiver.close()


def test_an_imported_member_signing_up_is_taken_to_claim(runtime, serve, browser, screen):
    receiver = _with_receiver(runtime)
    try:
        with runtime.db.transaction() as session:
            number = add_member(session, "王芳", "13312345678").number
        base = serve()
        page = _context(browser, screen).new_page()
        page.goto(base + "/signup")
        _fill_sign_up(page, "13312345678")
        page.fill("#code", receiver.last_code("13312345678"))
        page.fill("#password", NEW_PASSWORD)
        page.fill("#password_again", NEW_PASSWORD)
        page.check("#agree")
        page.get_by_role("button", name="注册", exact=True).click()
        page.wait_for_selector("h1:has-text('领取账号')")
        assert "已在本站的会员名单中" in page.inner_text("main")
        _shot(page, runtime, "sign-up-to-claim", screen)
        page.fill("#password", NEW_PASSWORD)
        page.fill("#password_again", NEW_PASSWORD)
        page.get_by_role("button", name="设置新密码并登录").click()
        page.wait_for_url("**/account?reset=1")
        assert number in page.inner_text("header")
    finally:
        receiver.close()
