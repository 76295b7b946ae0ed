"""Search conformance: the same queries, the same answers, on SQLite and on PostgreSQL.

Every test here runs once per database backend (the ``runtime`` fixture): the embedded
default keeps its index beside the SQLite file, the PostgreSQL deployment a node index fed
from the PostgreSQL database; both go through the same change log and catch-up.
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.helpers import SAMPLE
from tests.materials import CITY_2018, CITY_2021, COUNTY_2017, PROVINCE_2026, RURAL_ROADS
from wenxing.materials import catalog
from wenxing.materials.importer import ImportOptions, MaterialImporter
from wenxing.materials.models import Material
from wenxing.search.query import QueryError
from wenxing.search.service import search
from wenxing.search.sync import NodeIndex
from wenxing.settings import change as change_setting
from wenxing.web.app import create_app

LIBRARY = [SAMPLE, COUNTY_2017, CITY_2018, CITY_2021, RURAL_ROADS, PROVINCE_2026]


def _import(runtime, paths, **options):
    importer = MaterialImporter(runtime.db, runtime.settings, runtime.publisher_settings())
    return importer.run(paths, ImportOptions(**options))


@pytest.fixture
def library(runtime):
    """The library on a database of the test's own: for tests that change it."""
    report = _import(runtime, LIBRARY, publish=True)
    assert not report.failed and len(report.imported) == len(LIBRARY)
    return runtime.search_index()


@pytest.fixture(scope="module")
def shared_library(module_runtime):
    """The library built once per module and backend, for tests that only search it."""
    report = _import(module_runtime, LIBRARY, publish=True)
    assert not report.failed and len(report.imported) == len(LIBRARY)
    return module_runtime.search_index()


def titles(results) -> list[str]:
    return [hit.title for hit in results.materials]


def ids(results) -> list[int]:
    return [hit.material_id for hit in results.materials]


def test_words_sub_words_characters_numbers_and_latin(shared_library):
    speech = "在全区重点工作推进会上的讲话"
    assert speech in titles(search(shared_library, "河湖长制"))  # jargon kept whole
    assert speech in titles(search(shared_library, "乡村"))  # a sub-word of 乡村振兴
    assert speech in titles(search(shared_library, "PPP"))
    assert speech in titles(search(shared_library, "ppp"))
    assert len(search(shared_library, "5G").materials) == 1  # only the 2021 report speaks of 5G
    assert speech in titles(search(shared_library, "镇"))  # one character: words holding it (乡镇)
    assert ids(search(shared_library, "鄉村振興")) == ids(search(shared_library, "乡村振兴"))


def test_all_terms_must_match_somewhere_in_the_material(shared_library):
    both = search(shared_library, "河湖长制 薰衣草")
    assert titles(both) == ["在全区重点工作推进会上的讲话"]
    assert not search(shared_library, "河湖长制 量子计算机").materials


def test_phrases_exclusions_and_filters(shared_library):
    phrase = search(shared_library, '"一企一策"')
    assert titles(phrase)[0] == "在全区重点工作推进会上的讲话"
    for hit in phrase.materials:
        assert all("一企一策" in section.snippet for section in hit.sections)
    assert not search(shared_library, '"一策一企"').materials
    everyone = set(ids(search(shared_library, "乡村振兴")))
    without = set(ids(search(shared_library, "乡村振兴 -薰衣草")))
    assert without and without < everyone
    speeches = search(shared_library, "kind:讲话")
    assert titles(speeches) == ["在全区重点工作推进会上的讲话"]
    assert all(h.score == 0.0 for h in speeches.materials)
    assert not search(shared_library, "乡村振兴 year:2001").materials
    assert search(shared_library, "乡村振兴 since:2000-01-01").materials


def test_materials_published_in_the_same_second_come_newest_id_first(runtime, library):
    """A folder imported with --publish publishes many materials within one second: filters
    alone list them by publication time and then by id, the same on every rebuild."""
    with runtime.db.transaction() as session:
        moment = session.scalars(select(Material.published_at)).first()
        for material in session.scalars(select(Material)):
            material.published_at = moment
    assert library.reindex().applied == len(LIBRARY)
    expected = sorted(ids(search(library, "since:2000-01-01", limit=50)), reverse=True)
    assert len(expected) == len(LIBRARY)
    for _ in range(3):
        assert ids(search(library, "since:2000-01-01", limit=50)) == expected
        assert library.reindex(jobs=1).applied == len(LIBRARY)


def test_results_are_grouped_with_the_best_sections_and_short_snippets(shared_library):
    results = search(shared_library, "乡村振兴", limit=3)
    assert len(results.materials) <= 3
    scores = [hit.score for hit in results.materials]
    assert scores == sorted(scores, reverse=True)
    for hit in results.materials:
        assert 1 <= len(hit.sections) <= 3
        for section in hit.sections:
            assert len(section.snippet.strip("…")) <= 60
            marked = [section.snippet[s:e] for s, e in section.highlights]
            # The term is in the snippet, or the section sits under a heading about it.
            assert "乡村振兴" in marked or "乡村振兴" in section.heading
    speech = next(h for h in results.materials if h.title == "在全区重点工作推进会上的讲话")
    assert speech.sections[0].heading.startswith("二、坚定不移推进乡村振兴")


def test_titles_weigh_more_than_body_text(runtime, library, tmp_path):
    titled = tmp_path / "关于营商环境的调研报告.txt"
    titled.write_text(
        "关于营商环境的调研报告\n一、基本情况\n今年以来，我们围绕企业反映的问题开展了调研。\n"
        "二、存在问题\n审批事项仍然偏多，服务意识有待增强。\n",
        "utf-8",
    )
    _import(runtime, [titled], publish=True)
    assert titles(search(library, "营商环境"))[0] == "关于营商环境的调研报告"


def test_publish_unpublish_and_new_versions_reach_the_index(runtime, library, tmp_path):
    speech_id = ids(search(library, "薰衣草"))[0]
    with runtime.db.transaction() as session:
        catalog.set_published(session, speech_id, False)
    assert not search(library, "薰衣草").materials
    with runtime.db.transaction() as session:
        catalog.set_published(session, speech_id, True)
    assert ids(search(library, "薰衣草")) == [speech_id]
    # A new version of the same file replaces the old text in the index.
    draft = tmp_path / "说明.txt"
    draft.write_text("关于冬季供暖的情况说明\n今年暖气片检修工作总体顺利。\n", "utf-8")
    _import(runtime, [draft], publish=True)
    assert titles(search(library, "暖气片检修")) == ["关于冬季供暖的情况说明"]
    draft.write_text(
        "关于冬季供热的情况说明\n今年冬季供热准备工作总体顺利，燃煤储备充足。\n", "utf-8"
    )
    _import(runtime, [draft], publish=True)
    assert not search(library, "暖气片检修").materials
    assert titles(search(library, "燃煤储备")) == ["关于冬季供热的情况说明"]


def test_drafts_are_never_found(runtime, library, tmp_path):
    draft = tmp_path / "草稿.txt"
    draft.write_text(
        "关于未发布事项的草稿\n这是一份尚未发布的草稿，提到了独有词语鲲鹏计划。\n", "utf-8"
    )
    _import(runtime, [draft], publish=False)
    assert not search(library, "鲲鹏计划").materials


def test_another_process_index_catches_up_and_a_rebuild_gives_the_same_answers(
    runtime, library, tmp_path
):
    queries = ["乡村振兴", "河湖长制 -旅游", '"一企一策"', "kind:讲话", "营商环境 改革"]
    before = {q: ids(search(library, q)) for q in queries}
    # A second node with its own folder starts empty and catches up from the change log.
    other = NodeIndex(runtime.db, tmp_path / "other-node")
    assert {q: ids(search(other, q)) for q in queries} == before
    # A rebuild from the database answers the same.
    assert library.reindex().applied == len(LIBRARY)
    assert {q: ids(search(library, q)) for q in queries} == before
    # The same folder opened again (a restarted worker) needs no catch-up.
    again = NodeIndex(runtime.db, library.root)
    assert again.catch_up().applied == 0
    assert {q: ids(search(again, q)) for q in queries} == before


@pytest.mark.parametrize(
    "text",
    [
        "",
        "-",
        '"',
        '""',
        "-旅游",
        "乡" * 10_000,
        "'; DROP TABLE materials; --",
        "(.*)+[a-z]{2,} \\d $^ | & ! ~ * ? :",
        "kind:",
        "AND OR NOT field:value title:乡村",
        "。，、；：？！",
        "\x00\x1f\u200b",
    ],
)
def test_hostile_queries_answer_or_explain(shared_library, text):
    try:
        results = search(shared_library, text)
    except QueryError as refused:
        assert any("\u4e00" <= ch <= "\u9fff" for ch in refused.user_message)
    else:
        assert results.took_ms >= 0


def test_cli_search_contract_and_reindex(cli):
    imported = cli("import", str(SAMPLE), "--tag", "两会", "--tag", "讲话稿", "--publish", "--json")
    assert imported.code == 0
    assert cli("materials", "show", "1", "--json").json()["tags"] == ["两会", "讲话稿"]
    tagged = cli("search", "tag:两会", "--json").json()["hits"]
    assert {h["material"] for h in tagged} == {1}
    assert cli("search", "tag:党建", "--json").json()["hits"] == []
    assert cli("import", str(SAMPLE), "--tag", "a,b").code == 1
    found = cli("search", "乡村振兴", "--limit", "1", "--json")
    assert found.code == 0, found
    document = found.json()
    assert set(document) >= {"hits", "took_ms"}
    hit = document["hits"][0]
    assert set(hit) >= {"material", "title", "section", "snippet", "score"}
    assert hit["material"] == 1 and "乡村振兴" in hit["snippet"]
    rebuilt = cli("search", "reindex", "--json")
    assert rebuilt.code == 0 and rebuilt.json()["materials"] == 1
    for bad, message in (("", "empty query"), ("乡" * 10_000, "longer than 200")):
        refused = cli("search", bad, "--json")
        assert refused.code == 1 and message in refused.stderr and refused.stdout == ""
    assert cli("search", "x", "--limit", "0").code == 1


def test_api_search_gates_and_rate_limits(runtime, library):
    with runtime.db.transaction() as session:
        change_setting(session, "search_per_minute", 3, actor="publisher:test")
    client = TestClient(create_app(runtime))
    for _ in range(3):
        response = client.get("/api/v1/search", params={"q": "乡村振兴", "limit": 50})
        assert response.status_code == 200
        hits = response.json()["hits"]
        assert hits and all(len(h["snippet"].strip("…")) <= 60 for h in hits)
    refused = client.get("/api/v1/search", params={"q": "乡村振兴"})
    assert refused.status_code == 429 and refused.json() == {"error": "搜索太频繁了，请稍后再试"}
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    empty = TestClient(create_app(runtime), client=("10.0.0.9", 1)).get(
        "/api/v1/search", params={"q": ""}
    )
    assert empty.status_code == 400 and empty.json() == {"error": "请输入要搜索的内容"}


def test_a_node_whose_index_another_process_is_writing_waits_its_turn(runtime, library, tmp_path):
    """Two workers of one node share the folder: one writes, the other reads what it wrote."""
    assert search(library, "薰衣草").materials
    other = NodeIndex(runtime.db, library.root)  # the second worker's handle on the folder
    library.index.writer()  # the first worker is writing
    try:
        with runtime.db.transaction() as session:
            catalog.set_published(session, ids(search(other, "薰衣草"))[0], False)
        waited = other.catch_up()
        assert waited.locked and waited.applied == 0
    finally:
        library.index.release()
    assert other.catch_up().applied == 1
    assert not search(other, "薰衣草").materials
    assert not search(library, "薰衣草").materials  # the first worker reloads and agrees


def test_a_quoted_phrase_cut_anywhere_from_the_text_finds_its_material(shared_library):
    """Phrases copied out of running text start and end inside words (商环境 of 营商环境);
    they must match exactly, whatever the segmenter makes of them."""
    import re

    texts = [p.read_text(encoding="utf-8") for p in LIBRARY]
    speech, others = texts[0], "\n".join(texts[1:])
    runs = [m.group() for m in re.finditer(r"[\u4e00-\u9fff]{12,}", speech)]
    phrases = []
    for run in runs[5::7]:  # spread over the material
        for start, width in ((1, 3), (3, 5), (2, 6)):
            piece = run[start : start + width]
            if piece not in others and piece not in phrases:
                phrases.append(piece)
    assert len(phrases) >= 20
    for piece in phrases:
        found = search(shared_library, f'"{piece}"')
        assert titles(found)[:1] == ["在全区重点工作推进会上的讲话"], piece
        for hit in found.materials:
            assert any(piece in s.snippet.replace("…", "") for s in hit.sections), piece


def test_searches_catch_up_at_most_every_moment_unless_this_process_changed_something(
    runtime, library, tmp_path, monkeypatch
):
    import wenxing.search.service as service
    from wenxing.search.models import SearchChange

    monkeypatch.setattr(service, "FRESH_SECONDS", 60.0)
    node = NodeIndex(runtime.db, tmp_path / "node")
    speech = ids(search(node, "河湖长制"))
    assert speech == [1]
    # Another worker unpublishes it: its change log row arrives, this process noted nothing.
    with runtime.db.transaction() as session:
        session.get(Material, 1).status = "draft"
        session.add(SearchChange(material_id=1))
    assert ids(search(node, "河湖长制")) == [1]  # the last catch-up is recent enough
    monkeypatch.setattr(service, "FRESH_SECONDS", 0.0)
    assert ids(search(node, "河湖长制")) == []
    # A change this process makes is searchable at once, however fresh the last look.
    monkeypatch.setattr(service, "FRESH_SECONDS", 60.0)
    with runtime.db.transaction() as session:
        catalog.set_published(session, 1, True)
    assert ids(search(node, "河湖长制")) == [1]
