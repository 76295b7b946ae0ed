"""A phone screenshot of the reader page, the recipient line scrolled out of view, names
the member through the page's visual layer (issue 18, item 6)."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import artifacts, wait_until
from tests.e2e.test_reader_browser import PHONE, _signed_in_page, server  # noqa: F401
from wenxing.reports.evidence import read_evidence_bytes
from wenxing.reports.trace import trace


@pytest.mark.ocr
def test_a_screenshot_without_the_recipient_line_names_the_reader(runtime, server, browser):  # noqa: F811
    base, members = server
    context, page = _signed_in_page(browser, base, "reader2", PHONE)
    page.get_by_role("button", name="阅读全文").click()
    page.wait_for_selector("article")
    # The page settled as a member sees it: styles and fonts in, and the reader's own
    # request answered (it adds 加入素材篮 beside the headings, which moves the text).
    # A screenshot taken before that read a quarter of the text on a loaded machine.
    page.wait_for_load_state("load")
    wait_until(page, "document.querySelectorAll('article .basket-add').length > 0")
    page.evaluate("document.fonts.ready.then(() => true)")
    # Moved characters are the same text: selection and copy see no wrapper.
    assert "<w-" not in page.locator("article p").nth(3).inner_text()
    page.evaluate("document.querySelectorAll('article p')[14].scrollIntoView()")
    assert not page.locator(".recipient").is_visible() or page.evaluate(
        "document.querySelector('.recipient').getBoundingClientRect().bottom < 0"
    )
    shot = _stable_screenshot(page)
    (artifacts() / "reader-phone-visual-390x844.png").write_bytes(shot)
    context.close()
    evidence = read_evidence_bytes(shot, ".png")
    assert evidence.pages
    with runtime.db.reading() as session:
        result = trace(session, runtime.secret, evidence, 1e-6)
    assert result.layer_positions.get("visual", 0) >= 30
    assert [a["member"] for a in result.accused] == [members[2]]
    assert "visual" in result.accused[0]["layers"]


def _stable_screenshot(page, tries: int = 6) -> bytes:
    """The screen once two screenshots in a row are the same: on a loaded machine Chromium
    can hand over a frame whose tiles are not all painted yet."""
    shot = page.screenshot()
    for _ in range(tries):
        page.evaluate("new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
        again = page.screenshot()
        if again == shot:
            return shot
        shot = again
    raise AssertionError(f"the reader page was still changing after {tries + 1} screenshots")
