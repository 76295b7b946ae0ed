"""The reader's comforts in a real browser (issue 22): font size, night mode, the masthead
folded to two lines, 目录 that jumps, 收藏, and the place last read following the member
from a phone in WeChat to a computer (kept on the server; localStorage when the server
cannot be reached). Restyling the page must leave the copy traceable: text copied out
after changing the font size and turning on night mode still names the member.
Screenshots (phone, night mode; desktop) go to ``build/artifacts/``."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import artifacts, wait_until
from tests.e2e.test_member_pages_a11y import WECHAT
from tests.e2e.test_reader_browser import copy_article
from tests.helpers import PASSWORD, account, import_sample
from wenxing.reports.evidence import Evidence
from wenxing.reports.trace import trace


@pytest.fixture
def site(runtime, serve):
    import_sample(runtime)
    publisher = runtime.publisher_settings()
    with runtime.db.transaction() as session:
        number = account(session, publisher, "读者", subscribed=True, username="reader").number
    return serve(), number


def _reader(browser, base: str, phone: bool):
    options: dict = {"locale": "zh-CN", "permissions": ["clipboard-read", "clipboard-write"]}
    if phone:
        options.update(viewport={"width": 390, "height": 844}, user_agent=WECHAT, has_touch=True)
    else:
        options.update(viewport={"width": 1366, "height": 768})
    context = browser.new_context(**options)
    page = context.new_page()
    page.goto(f"{base}/signin?next=/materials/1")
    page.fill("#identifier", "reader")
    page.fill("#password", PASSWORD)
    page.locator("main").get_by_role("button", name="登录").click()
    page.wait_for_url(f"{base}/materials/1")
    page.get_by_role("button", name="阅读全文").click()
    page.wait_for_selector("#tools:not([hidden])")
    wait_until(page, "document.querySelector('[data-act=favourite]').dataset.state")
    return context, page


def _top_block(page) -> int:
    """The number of the article's block at the top of the screen."""
    return page.evaluate(
        "() => [...document.querySelector('article').children]"
        ".findIndex(el => el.getBoundingClientRect().bottom > 60)"
    )


def test_reader_comforts_on_a_phone_and_the_place_on_a_computer(runtime, site, browser):
    base, number = site
    context, page = _reader(browser, base, phone=True)
    masthead = page.locator(".masthead p:not(.recipient)")
    assert masthead.count() >= 6
    visible = [masthead.nth(n).is_visible() for n in range(masthead.count())]
    assert visible[:2] == [True, True] and not any(visible[2:])
    assert page.locator(".recipient").is_visible()
    page.get_by_role("button", name="展开刊头").click()
    assert all(masthead.nth(n).is_visible() for n in range(masthead.count()))

    size = "() => getComputedStyle(document.querySelector('article p')).fontSize"
    assert page.evaluate(size) == "18px"
    page.get_by_role("button", name="字号增大").click()
    page.get_by_role("button", name="字号增大").click()
    assert page.evaluate(size) == "23px"
    page.get_by_role("button", name="夜间").click()
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") == "rgb(26, 28, 32)"
    page.screenshot(path=str(artifacts() / "reader-comforts-night-390x844.png"))

    # Copied out after restyling, the text still names the member.
    copied = copy_article(page)
    with runtime.db.reading() as session:
        result = trace(session, runtime.secret, Evidence(copied), 1e-6)
    assert [a["member"] for a in result.accused] == [number]

    # 目录 jumps to a heading, which lands below the sticky toolbar.
    page.get_by_role("button", name="目录").click()
    link = page.locator("details.toc a").nth(3)
    target = link.get_attribute("href")
    link.click()
    assert page.evaluate("location.hash") == target
    top = page.evaluate(f"document.getElementById('{target[1:]}').getBoundingClientRect().top")
    tools = page.evaluate("document.getElementById('tools').getBoundingClientRect().bottom")
    assert tools <= top < 200

    # 收藏, then the account's list shows it.
    with page.expect_response("**/reading/1/favourite"):
        page.get_by_role("button", name="收藏").click()
    expect(page.locator("[data-act=favourite]")).to_have_attribute("aria-pressed", "true")

    # Reading on: the place is reported to the server.
    page.evaluate("history.replaceState(null, '', location.pathname)")
    blocks = page.evaluate("document.querySelector('article').children.length")
    assert blocks > 12
    page.evaluate(f"document.querySelector('article').children[{blocks * 2 // 3}].scrollIntoView()")
    with page.expect_response("**/reading/1/position"):
        page.mouse.wheel(0, 60)
    here = _top_block(page)
    assert here >= blocks // 2

    # Offline from the server, the phone's own copy of the place still opens there.
    page.route("**/reading/1", lambda route: route.abort())
    page.reload()  # (the browser's own scroll restoration is off on this page)
    page.wait_for_selector("#tools:not([hidden])")
    wait_until(page, "window.pageYOffset > 400")
    assert abs(_top_block(page) - here) <= 1
    assert page.evaluate("document.documentElement.classList.contains('night')")
    context.close()

    # On a computer: the same place, from the server, and the favourite.
    context, page = _reader(browser, base, phone=False)
    wait_until(page, "window.pageYOffset > 400")
    assert abs(_top_block(page) - here) <= 1
    expect(page.locator("[data-act=favourite]")).to_have_attribute("aria-pressed", "true")
    assert page.evaluate(size) == "18px"  # font size and night mode are the device's own
    page.screenshot(path=str(artifacts() / "reader-comforts-1366x768.png"))
    page.goto(f"{base}/account/favourites")
    assert page.locator("main a[href='/materials/1']").count() == 1
    page.goto(f"{base}/account/recent")
    assert page.locator("main a[href='/materials/1/read']").count() == 1
    context.close()
