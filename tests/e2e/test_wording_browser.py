"""The wording review and a forged report's case in Debian's Chromium, as an editor: the
group page shows contexts and vetoes a group, a material's places are ticked and saved, and
a report whose recipient line was edited to another member's number shows the forgery
warning. Pages are saved at 390×844 and 1366×768 in ``build/artifacts/site/``."""

from __future__ import annotations

from tests.e2e.test_site_paths import _backend, console_page, shoot
from tests.helpers import account, import_sample
from wenxing import jobs
from wenxing.db.base import utcnow
from wenxing.delivery.issue import issue_copy
from wenxing.materials import catalog
from wenxing.reports import cases, intake
from wenxing.reports.intake import EvidenceFile, Limits, Submission

OVERFLOWING = """[...document.querySelectorAll('body *')]
    .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)
    .map(e => e.tagName + ' ' + (e.textContent || '').slice(0, 40))"""


def overflowing(page) -> list[str]:
    """Elements that stick out past the right edge of the window."""
    return page.evaluate(OVERFLOWING)


def test_an_editor_reviews_wording_and_sees_a_forged_line_flagged(runtime, serve, browser):
    import_sample(runtime)
    publisher = runtime.publisher_settings()
    with runtime.db.transaction() as session:
        leaker = account(session, publisher, "倒卖者", subscribed=True, username="leaker")
        framed = account(session, publisher, "无辜者", subscribed=True, username="framed")
        account(session, publisher, "编辑", subscribed=False, username="boss").role = "editor"
        copy = issue_copy(
            session,
            runtime.secret,
            publisher,
            leaker,
            catalog.get_material(session, 1),
            "txt",
            actor="member:web",
        )
        forged = copy.data.decode("utf-8").replace(leaker.number, framed.number)
        report = intake.submit(
            session,
            Submission(
                platform="xianyu",
                contact="13900139000",
                files=[EvidenceFile("资料.txt", forged.encode())],
            ),
            reporter=None,
            ip="203.0.113.9",
            user_agent="e2e",
            limits=Limits(max_file_bytes=20 * 1048576, per_hour_ip=5, per_day_contact=3),
            now=utcnow(),
        )
        report_id, framed_number = report.id, framed.number
    assert cases.TRACE_JOB and jobs.run_pending(runtime) >= 1
    base = serve()
    backend = _backend(runtime)
    page = console_page(browser, base, "boss")

    page.locator(".console-nav").get_by_role("link", name="措辞审核").click()
    page.wait_for_url("**/console/wording")
    group = page.locator("section.wording-group", has_text="和 / 与")
    assert group.locator("mark").count() >= 1 and "已批准" in group.inner_text()
    shoot(page, backend, "41-console-wording")
    group.get_by_role("button", name="否决").click()
    page.wait_for_url("**/console/wording?notice=vetoed*")
    assert "已否决" in page.locator("section.wording-group", has_text="和 / 与").inner_text()
    assert not overflowing(page)

    page.goto(base + "/console/wording/materials/1")
    boxes = page.locator('input[name="veto"]')
    assert boxes.count() > 100
    boxes.nth(0).check()
    boxes.nth(1).check()
    shoot(page, backend, "42-console-material-wording")
    page.get_by_role("button", name="保存").click()
    page.wait_for_url("**?notice=places")
    assert "已否决 2 处" in page.content()

    page.goto(base + f"/console/reports/{report_id}")
    warning = page.locator(".forgery")
    assert "可见编号与隐藏标识不符，可能是栽赃" in warning.inner_text()
    accused = page.locator(
        "section", has=page.get_by_role("heading", name="被举报的会员", exact=True)
    )
    assert framed_number not in accused.inner_text()
    warning.scroll_into_view_if_needed()
    shoot(page, backend, "43-console-forged-case")
    page.set_viewport_size({"width": 390, "height": 844})
    assert not overflowing(page)
