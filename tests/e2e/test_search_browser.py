"""The search page in Debian's Chromium: a member narrows a search with the kind and year
chips, turns to page 2, sorts by newest, narrows again with a tag chip, and follows a
search that finds nothing to the 发布需求 form with the query filled in. Saved at 390×844 and 1366×768 in
``build/artifacts/site/``.
"""

from __future__ import annotations

import random
from datetime import datetime
from urllib.parse import quote

from sqlalchemy import select

from tests.e2e.test_requests_browser import _sign_in
from tests.e2e.test_site_paths import _backend, shoot
from tests.helpers import account
from wenxing.materials.importer import ImportOptions, MaterialImporter
from wenxing.materials.models import Material

GROUPS = (("报告", 2025), ("通知", 2025), ("报告", 2024), ("通知", 2024))


def _library(runtime, folder) -> None:
    """44 materials on 乡村振兴, 11 of each kind and year; every third tagged 两会, the
    others 年中."""
    rng = random.Random(24)
    pool = "发展改革建设治理服务保障推进落实创新提升完善加强统筹协调监督考核群众基层产业生态"
    folder.mkdir()
    for n in range(44):
        kind = GROUPS[n % 4][0]
        title = f"关于第{n}批乡村振兴项目的{kind}"
        body = "\n\n".join(
            "".join(rng.choice(pool) for _ in range(90)) + "乡村振兴" + "。" for _ in range(8)
        )
        (folder / f"{n:02}.txt").write_text(f"{title}\n\n{body}\n", "utf-8")
    importer = MaterialImporter(runtime.db, runtime.settings, runtime.publisher_settings())
    report = importer.run([folder], ImportOptions(publish=True))
    assert not report.failed and len(report.imported) == 44
    with runtime.db.transaction() as session:
        for material in session.scalars(select(Material)):
            n = int(material.title.split("第")[1].split("批")[0])
            material.published_at = datetime(GROUPS[n % 4][1], 1 + n % 12, 10, 4, n % 60)
            material.tags = "两会" if n % 3 == 0 else "年中"
        account(session, runtime.publisher_settings(), "写手", subscribed=True, username="writer")
    runtime.search_index().reindex(jobs=1)


def test_a_member_filters_pages_sorts_and_asks_for_what_is_missing(
    runtime, serve, browser, tmp_path
):
    _library(runtime, tmp_path / "library")
    base = serve()
    backend = _backend(runtime)
    _context, page = _sign_in(browser, base, "writer", f"/search?q={quote('乡村振兴')}", 390, 844)
    assert page.locator("input[type=search]").count() == 1  # one search box
    assert "找到 44 篇材料" in page.locator(".result-count").inner_text()
    shoot(page, backend, "61-search")

    page.locator("[data-facet=kind] .chip", has_text="报告").click()
    page.wait_for_url("**kind=*")
    assert "找到 22 篇材料" in page.locator(".result-count").inner_text()
    page.locator("[data-facet=year] .chip", has_text="2025").click()
    page.wait_for_url("**year=2025*")
    assert "找到 11 篇材料" in page.locator(".result-count").inner_text()
    metas = page.locator(".hit-meta").all_inner_texts()
    assert len(metas) == 10 and all("报告" in m and "2025-" in m for m in metas)
    shoot(page, backend, "62-search-chips")

    page.get_by_role("link", name="下一页").click()
    page.wait_for_url("**page=2*")
    assert page.locator(".hit").count() == 1
    assert "第 2 页，共 2 页" in page.content()

    page.get_by_role("link", name="按最新").click()
    page.wait_for_url("**sort=newest*")
    dates = [m.split()[-1] for m in page.locator(".hit-meta").all_inner_texts()]
    assert len(dates) == 10 and dates == sorted(dates, reverse=True)
    assert all(d.startswith("2025-") for d in dates)
    shoot(page, backend, "63-search-newest")

    # 报告 of 2025 are materials 0, 4, … 40; of these 0, 12, 24 and 36 are tagged 两会.
    chip = page.locator("[data-facet=tag] .chip", has_text="两会")
    assert chip.locator(".count").inner_text() == "4"
    chip.click()
    page.wait_for_url("**tag=*")
    assert "找到 4 篇材料" in page.locator(".result-count").inner_text()
    assert "sort=newest" in page.url and page.locator(".hit").count() == 4
    assert page.locator(".chips.chosen .chip").count() == 3  # kind, year and tag

    page.fill("input[type=search]", "量子计算机 星际航行")
    page.get_by_role("button", name="搜索", exact=True).click()
    page.wait_for_url("**q=*")
    assert "没有找到同时包含所有词的材料" in page.content()
    shoot(page, backend, "64-search-empty")
    page.locator("a.request-link").click()
    page.wait_for_url("**/requests?topic=*")
    assert page.locator("#topic").is_visible()
    assert page.locator("#topic").input_value() == "量子计算机 星际航行"
    shoot(page, backend, "65-request-prefilled")
