"""Search finds what writers remember (issue 24), on each database.

On the fixture library (with 40 seeded decoy materials of its own words in random order,
so that a phrase's words are scattered over many materials) and, when ``WENXING_CORPUS``
is set, on the public corpus:

(a) 60 fragments of 6-10 characters cut at random places of single materials, unquoted:
    at least 95 % find their material first and all of them in the top 3;
(b) 40 whole-word phrases of 4-8 characters found in exactly one material: that material
    is first for at least 95 %;
(c) topical queries (the fixture library's below; the corpus's 45 in
    ``tests/fixtures/search_relevance.json``): at least 90 % in the top 3.

The figures are printed per set and database.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select

from tests import relevance
from tests.conftest import BACKENDS, installation
from tests.helpers import REPO, SAMPLE
from tests.materials import MATERIALS
from wenxing.materials.importer import ImportOptions, MaterialImporter
from wenxing.materials.models import Material, MaterialVersion
from wenxing.search import engine
from wenxing.search.service import search

CORPUS_CASES = REPO / "tests" / "fixtures" / "search_relevance.json"
SEED = 24
TOPICAL = {  # query: the fixture file it is about
    "农村公路 养护": "rural_roads.txt",
    "汛期 值班": "flood_duty.md",
    "档案 保管": "archive_measures.txt",
    "基层治理 培训 心得": "study_notes.txt",
    "5G": "city_2021.txt",
    "招商引资 项目建设": "sample.txt",
    "重点工作 推进会": "sample.txt",
    "代表大会 县委 全面从严治党": "congress_2022.txt",
    "十三五 回顾": "city_2021.txt",
    "机关档案 收集 整理": "archive_measures.txt",
}


def _import(runtime, paths):
    importer = MaterialImporter(runtime.db, runtime.settings, runtime.publisher_settings())
    report = importer.run(paths, ImportOptions(publish=True))
    assert not report.failed
    return report


def _texts(runtime) -> tuple[dict[int, str], dict[int, Path]]:
    with runtime.db.reading() as session:
        rows = session.execute(
            select(Material.id, Material.title, MaterialVersion.body, Material.source_path).join(
                MaterialVersion,
                (MaterialVersion.material_id == Material.id)
                & (MaterialVersion.number == Material.current_version),
            )
        ).all()
    return (
        {m: f"{title}\n{body}" for m, title, body, _p in rows},
        {m: Path(p or "") for m, _t, _b, p in rows},
    )


@pytest.fixture(scope="module")
def library(module_runtime, tmp_path_factory):
    real = sorted(p for p in MATERIALS.rglob("*") if p.is_file() and p.parent.name != "found")
    real.append(SAMPLE)
    _import(module_runtime, real)
    texts, paths = _texts(module_runtime)
    folder = tmp_path_factory.mktemp("decoys")
    made = relevance.decoys(list(texts.values()), 40, SEED)
    for number, (title, body) in enumerate(made):
        (folder / f"decoy_{number:02}.txt").write_text(f"{title}\n{body}\n", "utf-8")
    _import(module_runtime, sorted(folder.iterdir()))
    everything, paths = _texts(module_runtime)
    return module_runtime, texts, everything, paths


def _searcher(runtime, limit: int = 10):
    node = runtime.search_index()
    return lambda text: [hit.material_id for hit in search(node, text, limit=limit).materials]


def _report(capsys, backend: str, scores: list[relevance.Score]) -> None:
    with capsys.disabled():
        print()
        for s in scores:
            print(s.line(backend))
            print("  missed:", s.misses[:12])


def _check(
    runtime, capsys, real: dict[int, str], everything: dict[int, str], topical: list
) -> None:
    """Draw the sets from ``real`` materials (unique among ``everything``) and rank them."""
    backend = runtime.db.engine.dialect.name
    find = _searcher(runtime)
    draws_from = {m: everything[m] for m in real}
    pieces = relevance.fragments(draws_from, 60, SEED)
    phrases = relevance.phrases(draws_from, 40, SEED)
    assert len(pieces) == 60 and len(phrases) == 40
    unique_in_all = relevance.runs(everything)
    for case in pieces + phrases:  # drawn against the whole library, decoys included
        run = relevance.run_of_text(case.query)
        assert [m for m, t in unique_in_all.items() if run in t] == [case.material]
    fragment_score = relevance.score("(a) fragments", find, pieces)
    phrase_score = relevance.score("(b) phrases", find, phrases)
    topical_score = relevance.score("(c) topical", find, topical)
    _report(capsys, backend, [fragment_score, phrase_score, topical_score])
    assert fragment_score.first >= 0.95 * 60, fragment_score.misses
    assert fragment_score.top3 == 60, fragment_score.misses
    assert phrase_score.first >= 0.95 * 40, phrase_score.misses
    assert topical_score.top3 >= 0.9 * topical_score.total, topical_score.misses


def _topical(real: dict[int, str], paths: dict[int, Path]) -> list[relevance.Case]:
    topical = []
    for query, name in TOPICAL.items():
        (material,) = [m for m, p in paths.items() if p.name == name and m in real]
        topical.append(relevance.Case(query, material))
    return topical


def test_fragments_phrases_and_topics_find_their_material(library, capsys):
    runtime, real, everything, paths = library
    _check(runtime, capsys, real, everything, _topical(real, paths))


def test_relevance_holds_when_more_materials_match_than_are_ranked(library, capsys, monkeypatch):
    """A library where common words are held by more materials than a query ranks (as at
    100,000 materials): the ranked materials' tiers come from their own sections, and the
    whole library's sections are searched only when too few of them reach a tier."""
    monkeypatch.setattr(engine, "CANDIDATES", 12)
    runtime, real, everything, paths = library
    _check(runtime, capsys, real, everything, _topical(real, paths))


@pytest.fixture(scope="module", params=BACKENDS)
def corpus_library(corpus, request, tmp_path_factory):
    """The public corpus imported once per database, for both rankings: the tests only
    search it (``module_runtime`` holds the fixture library and its decoys, so the corpus
    has an installation of its own)."""
    folder = tmp_path_factory.mktemp(f"corpus-{request.param}")
    with installation(request, request.param, folder) as runtime:
        files = sorted(p for p in corpus.glob("*/*.txt") if p.parent.name != "raw_gbk")
        _import(runtime, files)
        texts, paths = _texts(runtime)
        yield runtime, texts, paths


@pytest.mark.parametrize("ranked", [engine.CANDIDATES, 12], ids=["all-ranked", "few-ranked"])
def test_relevance_on_the_real_corpus(corpus_library, capsys, monkeypatch, ranked):
    """``few-ranked``: more materials hold common words than a query ranks (as at scale)."""
    monkeypatch.setattr(engine, "CANDIDATES", ranked)
    runtime, texts, paths = corpus_library
    cases = json.loads(CORPUS_CASES.read_text("utf-8"))
    assert len(cases) >= 30
    topical = []
    for case in cases:
        (material,) = [m for m, p in paths.items() if p.as_posix().endswith(case["expected"])]
        topical.append(relevance.Case(case["query"], material))
    _check(runtime, capsys, texts, texts, topical)
