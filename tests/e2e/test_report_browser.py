"""A resale report in Debian's Chromium: a visitor files one with a file, an editor confirms
it in the console, the visitor's receipt page shows the reward.

Runs on both databases against the app served by uvicorn, whose job runner traces the
report in the background (the receipt page refreshes itself until it is traced). Every
page on the way is saved at 390×844 and 1366×768 in ``build/artifacts/site/``.
"""

from __future__ import annotations

import re

from tests.e2e.test_site_paths import _backend, console_page, shoot
from tests.helpers import account, import_sample
from wenxing.delivery.issue import issue_copy
from wenxing.materials import catalog


def test_a_visitor_reports_an_editor_confirms_the_visitor_is_rewarded(
    runtime, serve, browser, tmp_path
):
    import_sample(runtime)
    publisher = runtime.publisher_settings()
    with runtime.db.transaction() as session:
        leaker = account(session, publisher, "倒卖者", subscribed=True, username="leaker")
        account(session, publisher, "编辑", subscribed=False, username="boss").role = "editor"
        copy = issue_copy(
            session,
            runtime.secret,
            publisher,
            leaker,
            catalog.get_material(session, 1),
            "docx",
            actor="member:web",
        )
        number = leaker.number
    evidence = tmp_path / "闲鱼上买到的.docx"
    evidence.write_bytes(copy.data)
    base = serve()
    backend = _backend(runtime)

    phone = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN")
    page = phone.new_page()
    page.goto(base + "/")
    page.locator("header").get_by_role("link", name="举报倒卖").click()
    page.wait_for_url("**/report")
    page.select_option("#platform", "xianyu")
    page.fill("#link", "https://example.invalid/item/42")
    page.set_input_files("#files", str(evidence))
    page.fill("#note", "9.9 元一份，卖家说每周更新")
    page.fill("#contact", "13900139000")
    shoot(page, backend, "21-report-form")
    page.get_by_role("button", name="提交举报").click()
    page.wait_for_url(re.compile(r".*/report/JB-[0-9A-Z-]+$"))
    receipt = page.url.rsplit("/", 1)[1]
    assert "举报回执" in page.content()
    shoot(page, backend, "22-receipt")
    page.wait_for_selector("text=待编辑审核", timeout=60_000)  # the page refreshes itself
    assert "已读取，找到了对应的资料" in page.content() and number not in page.content()
    shoot(page, backend, "23-receipt-traced")

    console = console_page(browser, base, "boss")
    console.locator(".console-nav").get_by_role("link", name="举报（1）").click()
    console.wait_for_url("**/console/reports")
    shoot(console, backend, "24-console-reports")
    console.get_by_role("link", name=receipt).click()
    accused = console.locator(
        "section", has=console.get_by_role("heading", name="被举报的会员", exact=True)
    )
    assert number in accused.inner_text() and "指纹标记" in accused.inner_text()
    shoot(console, backend, "25-console-case")
    console.fill("#confirm-reason", "闲鱼链接与文件属实")
    console.get_by_role("button", name="确认举报并处理").click()
    console.wait_for_selector("text=处理结果")
    assert "已暂停" in console.content()
    shoot(console, backend, "26-console-confirmed")
    console.context.close()

    page.reload()
    assert "举报成立" in page.content()
    code = page.locator(".gift-code").inner_text()
    assert re.fullmatch(r"[0-9a-z]{4}(-[0-9a-z]{4}){3}-[0-9a-z]", code, re.IGNORECASE), code
    assert page.get_by_role("link", name="注册并兑换").is_visible()
    shoot(page, backend, "27-receipt-rewarded")
    phone.close()
