"""A member in a real browser: sign in, read, copy text out, download; all of it traces back.

Runs Debian's Chromium through Playwright against the app served by uvicorn on a loopback
port. Screenshots of the reader page (phone and desktop) and the first page of a PDF copy
are written to ``build/artifacts/`` (``WENXING_ARTIFACTS`` overrides) for people to look at.
"""

from __future__ import annotations

import subprocess

import pytest

from tests.e2e.conftest import artifacts
from tests.helpers import PASSWORD, account, import_sample
from wenxing.reports.evidence import Evidence, read_evidence_file
from wenxing.reports.trace import trace

PHONE = (390, 844)
DESKTOP = (1280, 900)


@pytest.fixture
def server(runtime, serve):
    import_sample(runtime)
    publisher = runtime.publisher_settings()
    with runtime.db.transaction() as session:
        members = [
            account(session, publisher, f"读者{n}", subscribed=True, username=f"reader{n}").number
            for n in range(3)
        ]
    return serve(), members


def _signed_in_page(browser, base: str, username: str, viewport: tuple[int, int]):
    context = browser.new_context(
        viewport={"width": viewport[0], "height": viewport[1]},
        permissions=["clipboard-read", "clipboard-write"],
        accept_downloads=True,
        locale="zh-CN",
    )
    page = context.new_page()
    page.goto(f"{base}/materials/1")
    page.get_by_role("link", name="登录").first.click()
    page.fill("#identifier", username)
    page.fill("#password", PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(f"{base}/materials/1")
    return context, page


def copy_article(page) -> str:
    """Select the reader page's whole article, copy it (Ctrl+C) and return the clipboard."""
    page.evaluate(
        "() => { const r = document.createRange();"
        " r.selectNodeContents(document.querySelector('article'));"
        " const s = window.getSelection(); s.removeAllRanges(); s.addRange(r); }"
    )
    page.keyboard.press("Control+C")
    return page.evaluate("() => navigator.clipboard.readText()")


def _traced(runtime, text: str) -> list[str]:
    with runtime.db.reading() as session:
        result = trace(session, runtime.secret, Evidence(text), 1e-6)
    return [a["member"] for a in result.accused]


def test_reader_page_copy_and_paste_traces_to_the_reader(runtime, server, browser):
    base, members = server
    context, page = _signed_in_page(browser, base, "reader1", PHONE)
    page.get_by_role("button", name="阅读全文").click()
    page.wait_for_selector("article")
    assert members[1] in page.locator(".recipient").inner_text()
    page.screenshot(path=str(artifacts() / "reader-phone-390x844.png"))
    # The member selects the whole text and copies it, as into WPS.
    copied = copy_article(page)
    assert len(copied) > 5000
    assert _traced(runtime, copied) == [members[1]]
    # One section selected with the mouse-equivalent range: about 400 characters.
    page.evaluate(
        "() => { const p = document.querySelectorAll('article p')[4];"
        " const r = document.createRange(); r.selectNodeContents(p);"
        " const s = window.getSelection(); s.removeAllRanges(); s.addRange(r); }"
    )
    page.keyboard.press("Control+C")
    excerpt = page.evaluate("() => navigator.clipboard.readText()")
    assert 200 < len(excerpt) < 800
    assert _traced(runtime, excerpt) == [members[1]]
    # The table of contents jumps to its section.
    if not page.locator("details.toc[open]").count():
        page.locator("details.toc summary").click()
    page.locator("details.toc a").nth(2).click()
    assert page.evaluate("() => location.hash") == "#" + page.locator("details.toc a").nth(
        2
    ).get_attribute("href").lstrip("#")
    context.close()

    context, page = _signed_in_page(browser, base, "reader2", DESKTOP)
    page.get_by_role("button", name="阅读全文").click()
    page.wait_for_selector("article")
    page.screenshot(path=str(artifacts() / "reader-desktop-1280x900.png"), full_page=False)
    context.close()


def test_downloads_from_the_material_page_trace_to_the_reader(runtime, server, browser, tmp_path):
    base, members = server
    context, page = _signed_in_page(browser, base, "reader0", DESKTOP)
    for label, suffix in (("Word", ".docx"), ("PDF", ".pdf"), ("纯文本", ".txt")):
        with page.expect_download() as waiting:
            page.get_by_role("button", name=label).click()
        target = tmp_path / f"copy{suffix}"
        waiting.value.save_as(target)
        assert waiting.value.suggested_filename.endswith(f"{members[0]}{suffix}")
        evidence = read_evidence_file(target, 50 * 1024 * 1024)
        with runtime.db.reading() as session:
            result = trace(session, runtime.secret, evidence, 1e-6)
        assert [a["member"] for a in result.accused] == [members[0]], suffix
        if suffix == ".pdf":
            subprocess.run(
                [
                    "pdftoppm",
                    "-png",
                    "-r",
                    "80",
                    "-f",
                    "1",
                    "-l",
                    "1",
                    "-singlefile",
                    str(target),
                    str(artifacts() / "copy-pdf-page-1"),
                ],
                check=True,
                timeout=60,
            )
    context.close()
