"""Paying, reading and downloading as a member meets them, in Debian's Chromium (issue 22):
at 390×844 with WeChat's user agent and at 1366×768, on both databases. Each test keeps a
screenshot in ``build/artifacts/`` (``WENXING_ARTIFACTS`` overrides)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.conftest import artifacts
from tests.helpers import PASSWORD, account, import_sample
from wenxing.members.redemption import generate_batch
from wenxing.members.subscriptions import plans
from wenxing.settings import change as change_setting

WECHAT_UA = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.47(0x18002f2c) NetType/WIFI"
)
SCREENS = {
    "wechat-390x844": {"viewport": {"width": 390, "height": 844}, "user_agent": WECHAT_UA},
    "desktop-1366x768": {"viewport": {"width": 1366, "height": 768}},
}


@pytest.fixture
def server(runtime, serve):
    import_sample(runtime)
    publisher = runtime.publisher_settings()
    with runtime.db.transaction() as session:
        account(session, publisher, "免费", subscribed=False, username="free1")
        account(session, publisher, "会员", subscribed=True, username="paid1")
        [code] = generate_batch(
            session, plans(publisher)["month"], 1, "e2e", "shop", None, actor="test"
        )
    base = serve()
    with runtime.db.transaction() as session:
        listed = [dict(plan) for plan in publisher.plans]
        listed[0].update(price=39, shop_url=f"{base}/categories")  # the "shop", served here
        change_setting(session, "plans", listed, actor="publisher:test")
    return base, code


def _shot(page, runtime, name: str, screen: str, **options) -> None:
    """A screenshot kept per database and screen (both runs keep theirs)."""
    folder = artifacts() / "member-pay"
    folder.mkdir(exist_ok=True)
    backend = runtime.db.engine.url.get_backend_name()
    page.screenshot(path=str(folder / f"{backend}-{name}-{screen}.png"), **options)


def _signed_in(browser, base: str, username: str, screen: str, **options):
    context = browser.new_context(locale="zh-CN", **SCREENS[screen], **options)
    page = context.new_page()
    page.goto(f"{base}/signin?next=/materials/1")
    page.fill("#identifier", username)
    page.fill("#password", PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(f"{base}/materials/1")
    return context, page


@pytest.mark.parametrize("screen", list(SCREENS))
def test_a_free_user_pays_redeems_in_place_and_is_back_on_the_material(
    runtime, server, browser, screen
):
    base, code = server
    _context, page = _signed_in(browser, base, "free1", screen)
    assert "¥39" in page.locator("#pay").inner_text()
    with page.expect_popup() as shop:
        page.get_by_role("link", name="去购买").first.click()
    assert shop.value.url == f"{base}/categories"
    shop.value.close()
    box = page.locator("#redeem-code")
    style = box.evaluate("e => [getComputedStyle(e).fontSize, e.getBoundingClientRect().height]")
    assert style[0] == "16px" and style[1] >= 44, style
    typo = code[:-1] + next(c for c in "ABC" if c != code[-1].upper())
    box.fill(typo)
    page.get_by_role("button", name="兑换").click()
    error = page.locator("[data-redeem-error]")
    error.wait_for(state="visible")
    assert "卡密" in error.inner_text() and page.url == f"{base}/materials/1"
    assert box.input_value() == typo  # kept as typed, to correct one character
    _shot(page, runtime, "pay-refused", screen, full_page=True)
    box.fill(code)
    page.get_by_role("button", name="兑换").click()
    page.wait_for_url(f"{base}/materials/1?redeemed=1")
    assert page.get_by_role("button", name="阅读全文").is_visible()
    assert "兑换成功" in page.content()
    _shot(page, runtime, "pay-redeemed", screen, full_page=True)


# Reloads spend no download: 21 of them, one beyond the day's 20, on the phone in WeChat (on
# both databases); the desktop screen renders the same reader, so a few reloads show the
# rule holds there too without paying for 21 more page loads per database.
RELOADS = {"wechat-390x844": 21, "desktop-1366x768": 3}


@pytest.mark.parametrize("screen", list(SCREENS))
def test_a_member_reloads_the_reader_and_keeps_the_quota(runtime, server, browser, screen):
    base, _code = server
    _context, page = _signed_in(browser, base, "paid1", screen)
    page.get_by_role("button", name="阅读全文").click()
    page.wait_for_selector("article")
    copies = set()
    for _ in range(RELOADS[screen]):
        response = page.reload()
        assert response is not None and response.status == 200
        copies.add(response.headers["x-wenxing-copy"])
        page.wait_for_selector("article")
    assert len(copies) == 1  # the same copy each time, not one per reload
    _shot(page, runtime, "reader-reloaded", screen)
    page.goto(f"{base}/materials/1")
    assert "今日剩余 19 次" in page.locator(".quota-left").inner_text()


@pytest.mark.parametrize("screen", list(SCREENS))
def test_in_wechat_a_download_gives_the_hint_and_a_link_that_works_once(
    runtime, server, browser, screen
):
    base, _code = server
    ua = {"user_agent": WECHAT_UA} if "user_agent" not in SCREENS[screen] else {}
    _context, page = _signed_in(browser, base, "paid1", screen, **ua)
    assert "点击右上角「…」在浏览器打开" in page.content()
    page.get_by_role("button", name="下载 Word").click()
    page.wait_for_url(f"{base}/d/*")
    hint = page.locator(".wechat-hint")
    assert "点击右上角「…」在浏览器打开" in hint.inner_text()
    link = page.locator(".wechat-hint .link").inner_text().strip()
    assert link == page.url
    _shot(page, runtime, "wechat-link", screen, full_page=True)
    # The system browser: another browser, no session cookie, not WeChat.
    system = browser.new_context(accept_downloads=True, locale="zh-CN")
    tab = system.new_page()
    tab.set_content(f'<a id="go" href="{link}">download</a>')
    with tab.expect_download() as download:
        tab.click("#go")
    saved = download.value.path()
    assert saved is not None and Path(saved).read_bytes()[:2] == b"PK"  # a .docx
    again = system.new_page().goto(link)
    assert again is not None and again.status == 410
