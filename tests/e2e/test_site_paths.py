"""A new member's path and a publisher's path through the site, in Debian's Chromium.

Runs on both databases. Every page on the way is saved as a screenshot at 390×844 (a
phone in WeChat) and 1366×768 (an office PC) in ``build/artifacts/site/``.
"""

from __future__ import annotations

import shutil

from tests.e2e.conftest import artifacts
from tests.helpers import PASSWORD, SAMPLE, account, import_sample
from tests.materials import COUNTY_2017
from wenxing.members.codes import format_code
from wenxing.members.redemption import generate_batch
from wenxing.members.subscriptions import plans
from wenxing.reports.evidence import read_evidence_file
from wenxing.reports.trace import trace

VIEWPORTS = ((390, 844), (1366, 768))


def shoot(page, backend: str, name: str) -> None:
    folder = artifacts() / "site"
    folder.mkdir(exist_ok=True)
    first = page.viewport_size
    for width, height in VIEWPORTS:
        page.set_viewport_size({"width": width, "height": height})
        page.screenshot(path=str(folder / f"{backend}-{name}-{width}x{height}.png"))
    page.set_viewport_size(first)


def console_page(browser, base: str, username: str):
    """A desktop page (1366×768) signed in to the console as ``username``."""
    from tests.helpers import PASSWORD

    desk = browser.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN")
    page = desk.new_page()
    page.goto(base + "/signin?next=/console")
    page.fill("#identifier", username)
    page.fill("#password", PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url("**/console")
    return page


def _backend(runtime) -> str:
    return runtime.db.engine.url.get_backend_name()


def test_a_new_member_finds_joins_reads_and_downloads(runtime, serve, browser, tmp_path):
    import_sample(runtime)
    with runtime.db.transaction() as session:
        month = plans(runtime.publisher_settings())["month"]
        [code] = generate_batch(session, month, 1, "e2e", "wechat", None, actor="test")
    base = serve()
    backend = _backend(runtime)
    context = browser.new_context(viewport={"width": 390, "height": 844}, accept_downloads=True)
    page = context.new_page()

    page.goto(base + "/")
    assert "在全区重点工作推进会上的讲话" in page.content()
    shoot(page, backend, "01-home")
    page.fill("header input[name=q]", "乡村振兴")
    page.press("header input[name=q]", "Enter")
    page.wait_for_url("**/search?q=*")
    # A visitor learns which material and sections match, never their running text.
    assert "在全区重点工作推进会上的讲话" in page.locator(".hit").first.inner_text()
    assert "开通会员后可查看匹配处的原文" in page.content()
    assert page.locator("mark").count() == 0
    shoot(page, backend, "02-search")
    page.locator(".hit a").first.click()
    page.wait_for_url("**/materials/1")
    assert page.locator(".preview").is_visible()
    assert page.get_by_role("button", name="阅读全文").count() == 0
    shoot(page, backend, "03-preview")

    page.locator("header").get_by_role("link", name="注册").click()
    page.fill("#name", "王芳")
    page.fill("#phone", "13900139000")
    page.fill("#password", PASSWORD)
    page.fill("#password_again", PASSWORD)
    page.check("#agree")
    shoot(page, backend, "04-signup")
    page.get_by_role("button", name="注册").click()
    page.wait_for_url("**/materials/1")

    page.locator("header").get_by_role("link", name="WX-10001").click()
    page.fill("input[name=code]", format_code(code))
    page.get_by_role("button", name="兑换").click()
    page.wait_for_url("**/account?redeemed=1")
    assert "兑换成功" in page.content()
    shoot(page, backend, "05-redeemed")

    page.fill("header input[name=q]", "乡村振兴")  # a member's search shows the text, marked
    page.press("header input[name=q]", "Enter")
    page.wait_for_url("**/search?q=*")
    assert page.locator("mark").first.inner_text() == "乡村振兴"

    page.goto(base + "/materials/1")
    page.get_by_role("button", name="阅读全文").click()
    page.wait_for_selector("article")
    assert "WX-10001" in page.locator(".recipient").inner_text()
    shoot(page, backend, "06-reader")

    page.goto(base + "/materials/1")
    with page.expect_download() as waiting:
        page.get_by_role("button", name="下载 Word 公文格式 .docx").click()
    target = tmp_path / "copy.docx"
    waiting.value.save_as(target)
    with runtime.db.reading() as session:
        result = trace(session, runtime.secret, read_evidence_file(target, 1 << 26), 1e-6)
    assert [a["member"] for a in result.accused] == ["WX-10001"]

    page.goto(base + "/account")
    history = page.locator("section", has_text="下载记录")
    assert "在全区重点工作推进会上的讲话" in history.inner_text() and "docx" in history.inner_text()
    assert "身份：会员" in page.content()
    shoot(page, backend, "07-account")
    context.close()


def test_a_publisher_uploads_publishes_makes_codes_and_sees_the_dashboard(
    runtime, serve, browser, tmp_path
):
    with runtime.db.transaction() as session:
        boss = account(
            session, runtime.publisher_settings(), "管理员", subscribed=False, username="boss"
        )
        boss.role = "admin"
    folder = tmp_path / "2024年材料"
    folder.mkdir()
    shutil.copy(SAMPLE, folder / "讲话.txt")
    shutil.copy(COUNTY_2017, folder / "报告.txt")
    base = serve()
    backend = _backend(runtime)
    page = browser.new_context(viewport={"width": 1366, "height": 768}).new_page()

    page.goto(base + "/signin?next=/console")
    page.fill("#identifier", "boss")
    page.fill("#password", PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url("**/console")

    page.get_by_role("link", name="材料").click()
    shoot(page, backend, "11-console-materials")
    page.set_input_files("input[webkitdirectory]", str(folder))
    page.get_by_role("button", name="上传并导入").click()
    page.wait_for_selector("text=导入结果")
    assert "导入 2 份" in page.content()
    shoot(page, backend, "12-uploaded")

    page.goto(base + "/console/materials")
    page.get_by_role("button", name="发布", exact=True).first.click()
    page.wait_for_url("**/console/materials?notice=*")
    assert "已发布" in page.content()
    shoot(page, backend, "13-published")

    page.get_by_role("link", name="卡密").click()
    page.get_by_text("生成一批卡密").click()  # the form is folded under the batches
    page.fill("#count", "20")
    page.fill("#label", "2026年11月 微信")
    page.get_by_role("button", name="生成").click()
    assert "批次“2026年11月 微信”已生成" in page.content()
    assert "0 / 20" in page.content()
    shoot(page, backend, "14-codes")

    page.get_by_role("link", name="概览").click()
    assert "已发布材料 <strong>1</strong>" in page.content()
    charts = page.locator("svg.chart")
    assert sorted(charts.nth(n).get_attribute("id") for n in range(charts.count())) == [
        "chart-downloads",
        "chart-redemptions",
        "chart-revenue",
        "chart-signups",
    ]
    shoot(page, backend, "15-dashboard")
