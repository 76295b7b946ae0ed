"""A phone screenshot of the reader page, the recipient line scrolled out of view, names
the member through the page's visual layer (issue 18, item 6)."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import artifacts
from tests.e2e.test_reader_browser import PHONE, _signed_in_page, server  # noqa: F401
from wenxing.reports.evidence import read_evidence_bytes
from wenxing.reports.trace import trace


@pytest.mark.ocr
def test_a_screenshot_without_the_recipient_line_names_the_reader(runtime, server, browser):  # noqa: F811
    base, members = server
    context, page = _signed_in_page(browser, base, "reader2", PHONE)
    page.get_by_role("button", name="阅读全文").click()
    page.wait_for_selector("article")
    # Moved characters are the same text: selection and copy see no wrapper.
    assert "<w-" not in page.locator("article p").nth(3).inner_text()
    page.evaluate("document.querySelectorAll('article p')[14].scrollIntoView()")
    assert not page.locator(".recipient").is_visible() or page.evaluate(
        "document.querySelector('.recipient').getBoundingClientRect().bottom < 0"
    )
    shot = page.screenshot()
    (artifacts() / "reader-phone-visual-390x844.png").write_bytes(shot)
    context.close()
    evidence = read_evidence_bytes(shot, ".png")
    assert evidence.pages
    with runtime.db.reading() as session:
        result = trace(session, runtime.secret, evidence, 1e-6)
    assert result.layer_positions.get("visual", 0) >= 30
    assert [a["member"] for a in result.accused] == [members[2]]
    assert "visual" in result.accused[0]["layers"]
