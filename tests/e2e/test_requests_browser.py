"""The requests board in Debian's Chromium: a member posts a request, a second member
supports it, an editor fulfils it with a material in the console, and the requester finds
the material linked on the board (and a notification waiting for them); a long board is
turned page by page on a phone.

Runs on both databases against the app served by uvicorn. Every page on the way is saved
at 390×844 and 1366×768 in ``build/artifacts/site/``.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import select

from tests.e2e.test_site_paths import _backend, shoot
from tests.helpers import PASSWORD, account, import_sample
from wenxing.live.models import Notification
from wenxing.members.models import Member
from wenxing.requests.models import MaterialRequest

TOPIC = "全区重点工作推进会上的讲话稿"


def _sign_in(browser, base: str, username: str, target: str, width: int, height: int):
    context = browser.new_context(viewport={"width": width, "height": height}, locale="zh-CN")
    page = context.new_page()
    page.goto(f"{base}/signin?next={target}")
    page.fill("#identifier", username)
    page.fill("#password", PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(f"**{target}")
    return context, page


def test_a_request_is_posted_supported_and_fulfilled(runtime, serve, browser):
    import_sample(runtime)
    publisher = runtime.publisher_settings()
    with runtime.db.transaction() as session:
        account(session, publisher, "发起人", subscribed=True, username="asker")
        account(session, publisher, "支持者", subscribed=True, username="backer")
        account(session, publisher, "编辑", subscribed=False, username="boss").role = "editor"
    base = serve()
    backend = _backend(runtime)

    phone, asker = _sign_in(browser, base, "asker", "/requests", 390, 844)
    asker.get_by_text("发布需求", exact=True).click()  # the form opens
    asker.fill("#topic", TOPIC)
    asker.select_option("#kind", "讲话")
    asker.fill("#occasion", "年底重点工作推进会")
    asker.fill("#deadline", (date.today() + timedelta(days=2)).isoformat())
    shoot(asker, backend, "41-request-form")
    asker.get_by_role("button", name="发布", exact=True).click()
    asker.wait_for_url("**/requests?tab=newest*")
    posted = asker.locator("li", has_text=TOPIC)
    assert "我发布的" in posted.inner_text() and "0 人支持" in posted.inner_text()
    shoot(asker, backend, "42-request-posted")

    other, backer = _sign_in(browser, base, "backer", "/requests", 390, 844)
    backer.locator("li", has_text=TOPIC).get_by_role("button", name="我也需要").click()
    backer.wait_for_url("**/requests?tab=popular*")
    supported = backer.locator("li", has_text=TOPIC)
    assert "1 人支持" in supported.inner_text()
    assert supported.get_by_role("button", name="取消支持").is_visible()
    shoot(backer, backend, "43-request-supported")

    desk, console = _sign_in(browser, base, "boss", "/console", 1366, 768)
    console.locator(".console-nav").get_by_role("link", name="需求").click()
    console.wait_for_url("**/console/requests")
    assert TOPIC in console.content()
    shoot(console, backend, "44-console-requests")
    console.get_by_role("link", name=TOPIC).click()
    console.fill("#q", "推进会")
    console.get_by_role("button", name="搜索").click()
    console.wait_for_url("**q=*")
    choice = console.get_by_label("在全区重点工作推进会上的讲话")
    assert choice.is_checked()
    console.fill("#answer", "已整理发布，请查收")
    shoot(console, backend, "45-console-fulfil")
    console.get_by_role("button", name="满足需求并通知").click()
    console.wait_for_url("**/console/requests?state=fulfilled")
    assert "在全区重点工作推进会上的讲话" in console.content()
    desk.close()

    asker.goto(base + "/requests?tab=fulfilled")
    fulfilled = asker.locator("li", has_text=TOPIC)
    assert "已整理发布，请查收" in fulfilled.inner_text()
    shoot(asker, backend, "46-request-fulfilled")
    fulfilled.get_by_role("link", name="在全区重点工作推进会上的讲话").click()
    asker.wait_for_url("**/materials/1")
    with runtime.db.reading() as session:
        told = session.scalars(
            select(Member.username)
            .join(Notification, Notification.member_id == Member.id)
            .where(Notification.kind == "request.fulfilled", Notification.link == "/materials/1")
        ).all()
    assert sorted(told) == ["asker", "backer"]
    other.close()
    phone.close()


def test_a_long_board_is_turned_page_by_page_on_a_phone(runtime, serve, browser):
    with runtime.db.transaction() as session:
        asker = account(
            session, runtime.publisher_settings(), "发起人", subscribed=True, username="asker"
        )
        posted = datetime(2026, 1, 1)
        session.add_all(
            MaterialRequest(
                member_id=asker.id,
                topic=f"第{n:02d}号需求：年终工作总结",
                state="open",
                supporters=0,
                created_at=posted + timedelta(minutes=n),
            )
            for n in range(45)
        )
    base = serve()
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN")
    page = context.new_page()
    page.goto(f"{base}/requests?tab=newest")
    pager = page.get_by_role("navigation", name="翻页")
    assert "第 1 页，共 3 页" in pager.inner_text()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways scroll
    pager.scroll_into_view_if_needed()
    shoot(page, _backend(runtime), "47-requests-paged")
    pager.get_by_role("link", name="下一页").click()
    page.wait_for_url("**page=2")
    assert page.locator("strong.topic").first.inner_text() == "第24号需求：年终工作总结"
    page.get_by_role("navigation", name="翻页").get_by_role("link", name="3", exact=True).click()
    page.wait_for_url("**page=3")
    assert page.locator("strong.topic").count() == 5
    assert (
        page.get_by_role("navigation", name="翻页").get_by_role("link", name="下一页").count() == 0
    )
    context.close()
