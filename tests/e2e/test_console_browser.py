"""The publisher's console in Debian's Chromium on a generated library of 5,000 materials
and 2,000 members (one world per module and database): find the material uploaded last by
its title, publish the 120 drafts of one upload in one confirmed action, filter the members
whose membership ends within 7 days and export them, revoke a batch of codes, read the
dashboard (its screenshot kept in ``build/artifacts/console/``), and walk every console
page for English words and raw JSON."""

from __future__ import annotations

import csv
import io
import re

import pytest
from bench.console import UPLOAD_CATEGORY, generate_library

from tests.e2e.conftest import artifacts, start_app, stop_app
from tests.e2e.test_site_paths import console_page
from tests.helpers import account
from wenxing.db.base import utcnow
from wenxing.web.app import create_app

# Words a console page may show in Latin letters: proper names and formats.
ALLOWED = {"CSV", "PDF", "DOCX", "TXT", "HTML", "WX", "Asia", "Shanghai", "XXXX", "IP"}
ALLOWED |= {"docx", "pdf", "txt", "md"}  # file formats as their names are written
# Text of elements marked ``data`` is what people typed or their browsers sent (names,
# usernames, devices): shown as it was recorded, not the console's words.
WORDS_OF_THE_CONSOLE = """(() => {
    const main = document.querySelector('main').cloneNode(true);
    main.querySelectorAll('.data, script, style').forEach(e => e.remove());
    return main.innerText; })()"""
LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z_:-]{2,}")
RAW_JSON = re.compile(r'[\[{]\s*"[^"]+"\s*:|\{\}|\[\]|1e-0\d')


@pytest.fixture(scope="module")
def site(module_runtime):
    runtime = module_runtime
    made = generate_library(runtime, 5000, 2000, utcnow())
    with runtime.db.transaction() as session:
        boss = account(
            session, runtime.publisher_settings(), "出版方", subscribed=False, username="boss"
        )
        boss.role = "admin"
    server, thread, base = start_app(create_app(runtime))
    yield runtime, base, made
    stop_app(server, thread)


def _backend(runtime) -> str:
    return runtime.db.engine.url.get_backend_name()


def _shot(page, runtime, name: str) -> None:
    folder = artifacts() / "console"
    folder.mkdir(exist_ok=True)
    page.screenshot(path=str(folder / f"{_backend(runtime)}-{name}.png"), full_page=True)


def _no_column_squeezed(page) -> list[str]:
    """Table cells narrower than two characters while holding text (one character a
    line)."""
    return page.evaluate(
        """[...document.querySelectorAll('main table td, main table th')]
        .filter(c => c.innerText.trim().length > 1 && c.getBoundingClientRect().width < 30)
        .map(c => c.innerText.trim().slice(0, 20))"""
    )


def test_a_publisher_runs_a_library_of_five_thousand_materials(site, browser):
    runtime, base, made = site
    page = console_page(browser, base, "boss")

    # The file uploaded last, found by its title.
    page.goto(base + "/console/materials")
    page.fill('main input[name="q"]', "秋季新材料第120篇")
    page.get_by_role("button", name="筛选").click()
    page.wait_for_url("**/console/materials?q=*")
    rows = page.locator("main table tbody tr")
    assert rows.count() == 1 and made["last_title"] in rows.first.inner_text()

    # The 120 drafts of that upload, published in one confirmed action.
    page.goto(base + "/console/materials")
    page.select_option('select[name="state"]', "draft")
    page.select_option('select[name="category"]', UPLOAD_CATEGORY)
    page.get_by_role("button", name="筛选").click()
    page.wait_for_url("**state=draft*")
    assert "共 120 份材料符合条件" in page.inner_text("#total")
    assert not _no_column_squeezed(page)
    _shot(page, runtime, "materials-1366")
    page.locator('select[name="everything"]').select_option(index=1)
    page.select_option('select[name="action"]', "publish")
    page.get_by_role("button", name="下一步").click()
    assert "发布这 120 份材料" in page.inner_text("#confirm-count")
    page.get_by_role("button", name="确认发布").click()
    page.wait_for_url("**notice=*")
    assert "发布：120 份材料" in page.inner_text("main")
    assert "共 0 份材料符合条件" in page.inner_text("#total")

    # Members whose membership ends within 7 days, exported as they are filtered.
    page.goto(base + "/console/members")
    page.select_option('select[name="expiring"]', "7")
    page.get_by_role("button", name="筛选").click()
    page.wait_for_url("**expiring=7*")
    assert f"共 {made['expiring_7']} 位会员符合条件" in page.inner_text("#total")
    with page.expect_download() as download:
        page.click("#export")
    text = download.value.path().read_bytes().decode("utf-8-sig")
    assert len(list(csv.reader(io.StringIO(text)))) == made["expiring_7"] + 1

    # A batch revoked, after a page that says what will happen.
    page.goto(base + "/console/codes")
    row = page.locator("main table tbody tr", has_text="生成批次5")
    row.get_by_role("button", name="作废整批").click()
    assert "生成批次5" in page.inner_text("#confirm-count")
    page.get_by_role("button", name="确认作废").click()
    page.wait_for_url("**/console/codes?notice=*")
    assert "作废了 100 个未使用的卡密" in page.inner_text("main")

    # The dashboard: charts with axes and the publisher's days.
    page.goto(base + "/console")
    chart = page.locator("#chart-redemptions")
    assert chart.locator("line.axis").count() == 2
    assert "日期（Asia/Shanghai）" in chart.text_content()
    _shot(page, runtime, "dashboard-1366")


CONSOLE_PAGES = (
    "/console",
    "/console/materials",
    "/console/materials?state=draft",
    "/console/materials/5",
    "/console/members",
    "/console/members/WX-10002",
    "/console/codes",
    "/console/audit",
    "/console/requests",
    "/console/reports",
    "/console/wording",
)


def test_every_console_page_speaks_chinese_and_shows_no_json(site, browser):
    _runtime, base, _made = site
    page = console_page(browser, base, "boss")
    found: dict[str, list[str]] = {}
    for path in CONSOLE_PAGES:
        page.goto(base + path)
        text = page.evaluate(WORDS_OF_THE_CONSOLE)
        english = [w for w in LATIN_WORD.findall(text) if w.split("-")[0] not in ALLOWED]
        json_like = RAW_JSON.findall(text)
        if english or json_like:
            found[path] = sorted(set(english))[:10] + json_like[:3]
        assert not _no_column_squeezed(page), path
    assert not found, found
