"""Phrase and proximity first, fragments, figures, partial matches, pages and facets, on
each database (issue 24). A small library written here: the words of the phrases are
scattered over other materials many times, so BM25 alone would put those first."""

from __future__ import annotations

import random
from urllib.parse import quote

import pytest

from tests.helpers import account, signed_in
from wenxing.materials.importer import ImportOptions, MaterialImporter
from wenxing.search.service import Browse, search
from wenxing.web.app import create_app

FILLER = "会议强调，要坚持问题导向，把握工作节奏，确保各项任务按期完成。"
SCATTERED = (  # 因地制宜 培育 壮大 特色产业, each in a section of its own, many times
    "一、坚持因地制宜\n" + "各地要因地制宜，因地制宜谋划工作。" * 4 + FILLER + "\n"
    "二、注重培育人才\n" + "培育新型职业农民，培育骨干。" * 4 + FILLER + "\n"
    "三、发展壮大集体经济\n" + "壮大村级集体经济，壮大实力。" * 4 + FILLER + "\n"
    "四、做优特色产业\n" + "特色产业是根本，特色产业要做优。" * 4 + FILLER + "\n"
)
POOL = "改革开放建设治理服务推进落实创新提升完善加强统筹协调监督考核群众基层"


def _noise(seed: int) -> str:
    """A paragraph of its own for each material (no two are near-duplicates)."""
    rng = random.Random(seed)
    return "".join(rng.choice(POOL) for _ in range(400)) + "。\n"


MATERIALS = {
    "exact": "关于山区县产业发展的调研报告\n一、基本情况\n"
    + FILLER * 3
    + "下一步要因地制宜培育壮大特色产业，拓宽增收渠道。\n二、存在问题\n"
    + FILLER * 3,
    **{
        f"scattered{n}": f"关于第{n}片区乡村产业工作的报告\n"
        + _noise(n)
        + SCATTERED
        + _noise(n + 10)
        for n in range(4)
    },
    "together": "在湿地工作会议上的讲话\n一、抓好保护\n"
    + FILLER
    + "湿地保护和生态补偿要统筹推进。\n二、其他工作\n"
    + FILLER * 2,
    "apart": "关于生态建设情况的报告\n一、湿地保护\n"
    + "湿地保护成效明显，湿地保护不断加强。" * 3
    + FILLER
    + "\n二、资金保障\n"
    + "生态补偿机制健全，生态补偿资金到位。" * 3
    + FILLER
    + "\n",
    "growth": "关于经济运行情况的通报\n全年地区生产总值增长6.5%，" + FILLER + "\n",
    "growth_other": "关于上半年经济运行的通报\n上半年地区生产总值增长6.4%，" + FILLER + "\n",
}


@pytest.fixture(scope="module")
def world(module_runtime, tmp_path_factory):
    folder = tmp_path_factory.mktemp("ranking")
    for name, text in MATERIALS.items():
        (folder / f"{name}.txt").write_text(text, "utf-8")
    importer = MaterialImporter(
        module_runtime.db, module_runtime.settings, module_runtime.publisher_settings()
    )
    report = importer.run(sorted(folder.iterdir()), ImportOptions(publish=True))
    assert not report.failed and len(report.imported) == len(MATERIALS)
    named = {item["path"].rsplit("/", 1)[-1][:-4]: item["id"] for item in report.imported}
    with module_runtime.db.transaction() as session:
        account(
            session, module_runtime.publisher_settings(), "读者", subscribed=True, username="reader"
        )
    return module_runtime, named


def _ids(results) -> list[int]:
    return [hit.material_id for hit in results.materials]


def test_the_material_with_the_exact_string_ranks_first(world):
    runtime, named = world
    node = runtime.search_index()
    found = _ids(search(node, "因地制宜培育壮大"))
    assert found[0] == named["exact"] and len(found) == 5
    assert _ids(search(node, "因地制宜 培育 壮大 特色产业"))[0] == named["exact"]


def test_terms_together_in_one_section_rank_above_scattered_ones(world):
    runtime, named = world
    found = _ids(search(runtime.search_index(), "湿地保护 生态补偿"))
    assert found[:2] == [named["together"], named["apart"]]


def test_a_fragment_cut_through_words_finds_its_material_unquoted(world):
    runtime, named = world
    node = runtime.search_index()
    for fragment in ("地制宜培育壮", "宽增收渠", "和生态补偿要统"):
        found = _ids(search(node, fragment))
        assert found and found[0] in (named["exact"], named["together"]), fragment


def test_figures_keep_their_decimals(world):
    runtime, named = world
    node = runtime.search_index()
    assert _ids(search(node, "6.5%")) == [named["growth"]]
    assert _ids(search(node, "增长6.4%")) == [named["growth_other"]]


def test_partial_matches_only_when_asked_and_marked(world):
    runtime, named = world
    node = runtime.search_index()
    assert not search(node, "湿地保护 量子计算机").materials
    partial = search(node, "湿地保护 量子计算机", browse=Browse(partial=True))
    assert partial.partial and set(_ids(partial)) == {named["together"], named["apart"]}


def test_pages_order_and_facets(world):
    runtime, _named = world
    node = runtime.search_index()
    first = search(node, "因地制宜", limit=2, browse=Browse(page=1, facets=True))
    second = search(node, "因地制宜", limit=2, browse=Browse(page=2))
    assert first.total == second.total == 5 and first.more
    assert not set(_ids(first)) & set(_ids(second))
    assert first.facets is not None and dict(first.facets.kind) == {"报告": 4, "调研报告": 1}
    newest = search(node, "通报", browse=Browse(newest=True))
    assert [h.published for h in newest.materials] == sorted(
        (h.published for h in newest.materials), reverse=True
    )
    assert search(node, "因地制宜", limit=2, browse=Browse(page=50)).materials == []


def test_tag_chips_count_the_ranked_materials_and_filter_by_tag(runtime, tmp_path):
    importer = MaterialImporter(runtime.db, runtime.settings, runtime.publisher_settings())
    for tags, count in ((("两会", "部署"), 3), (("年中",), 2)):
        folder = tmp_path / tags[0]
        folder.mkdir()
        for n in range(count):
            (folder / f"{n}.txt").write_text(
                f"关于{tags[0]}第{n}次湿地巡查的报告\n湿地巡查记录。{_noise(50 * count + n)}",
                "utf-8",
            )
        report = importer.run([folder], ImportOptions(publish=True, tags=tags))
        assert not report.failed and len(report.imported) == count
    node = runtime.search_index()
    found = search(node, "湿地巡查", browse=Browse(facets=True))
    assert found.facets is not None
    assert found.facets.tag == [("两会", 3), ("部署", 3), ("年中", 2)]
    assert search(node, "湿地巡查 tag:年中").total == 2
    app = create_app(runtime)
    from fastapi.testclient import TestClient

    client = TestClient(app)
    page = client.get("/search", params={"q": "湿地巡查"})
    assert 'data-facet="tag"' in page.text and "tag=" + quote("年中") in page.text
    chosen = client.get("/search", params={"q": "湿地巡查", "tag": "年中"})
    assert "找到 2 篇材料" in chosen.text and "标签：年中" in chosen.text


def test_the_page_gives_visitors_headings_and_members_marked_snippets(world):
    runtime, _named = world
    app = create_app(runtime)
    from fastapi.testclient import TestClient

    visitor = TestClient(app).get("/search", params={"q": "因地制宜培育壮大"})
    assert visitor.status_code == 200
    assert "找到 5 篇材料" in visitor.text and "拓宽增收渠道" not in visitor.text
    assert "开通会员后可查看匹配处的原文" in visitor.text
    reader = signed_in(app, "reader")
    member = reader.get("/search", params={"q": "因地制宜培育壮大"})
    assert "<mark>" in member.text and visitor.text.count('class="hit"') == 5
    empty = TestClient(app).get("/search", params={"q": "量子计算机 星际航行"})
    assert "没有找到同时包含所有词的材料" in empty.text
    assert "/requests?topic=%E9%87%8F" in empty.text
    form = reader.get("/requests", params={"topic": "量子计算机"})
    assert 'value="量子计算机"' in form.text
