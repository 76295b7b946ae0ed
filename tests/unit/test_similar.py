"""相似段落's parts on an index in memory: the key terms of a section and the query for
sections of other materials (issue 25)."""

from __future__ import annotations

from wenxing.search.build import MaterialEntry
from wenxing.search.index import SearchIndex
from wenxing.search.similar import Source, from_index, key_terms
from wenxing.search.units import Unit

RURAL = (
    "坚持农业农村优先发展，全面推进乡村振兴，巩固拓展脱贫攻坚成果，"
    "发展乡村特色产业，建设宜居宜业和美乡村，乡村振兴要落到实处。"
)
BUSINESS = "持续优化营商环境，深化放管服改革，推行一企一策，为市场主体纾困解难。"
DAY = 86_400


def _entry(material_id: int, published: int) -> MaterialEntry:
    return MaterialEntry(
        material_id, material_id * 10, f"材料{material_id}", "讲话", "", (), published
    )


def _index() -> SearchIndex:
    index = SearchIndex.in_memory()
    library = {
        1: [Unit(0, "二、全面推进乡村振兴", RURAL, 0)],  # the section asked about
        2: [Unit(0, "", BUSINESS, 0), Unit(1, "三、扎实推进乡村振兴", RURAL[:40], 40)],
        3: [Unit(0, "一、优化营商环境", BUSINESS, 0)],
        4: [Unit(0, "", RURAL, 0)],  # the same words, but no heading to land on
        5: [Unit(0, "（二）乡村建设", "建设宜居宜业和美乡村，发展乡村特色产业。", 0)],
    }
    for material_id, units in library.items():
        index.replace_material(_entry(material_id, 1_700_000_000 + material_id * DAY), units)
    index.commit()
    return index


def _source() -> Source:
    return Source(1, 10, "s2", "二、全面推进乡村振兴", RURAL)


def test_key_terms_are_the_sections_topic_not_words_every_text_shares():
    terms = dict(key_terms(_index().searcher(), _source()))
    assert "乡村振兴" in terms
    assert not {"发展", "坚持", "推进", "全面"} & terms.keys()  # generic words never
    weights = sorted(terms.values(), reverse=True)
    assert terms["乡村振兴"] >= weights[len(weights) // 2]  # heading and text: among the first
    assert all(len(word) >= 2 and not any(ch.isdigit() for ch in word) for word in terms)


def test_other_materials_sections_with_a_heading_one_each_best_first():
    found, terms = from_index(_index(), _source(), window=None)
    materials = [s.material_id for s in found]
    assert 1 not in materials  # never its own material
    assert 4 not in materials  # a unit without a heading is nothing to land on
    assert materials[0] == 2 and found[0].heading == "三、扎实推进乡村振兴"
    assert found[0].version_id == 20 and found[0].start == 40 and found[0].title == "材料2"
    assert 5 in materials
    assert len(materials) == len(set(materials))
    assert [s.score for s in found] == sorted((s.score for s in found), reverse=True)
    assert "乡村振兴" in terms


def test_a_window_keeps_to_the_materials_published_in_it():
    published = 1_700_000_000 + 5 * DAY
    found, _terms = from_index(_index(), _source(), window=(published, published + 60))
    assert [s.material_id for s in found] == [5]
    assert from_index(_index(), _source(), window=(0, 10))[0] == []


def test_a_section_without_words_of_weight_finds_nothing():
    empty = Source(1, 10, "s1", "一、", "发展工作，推进落实。")
    assert from_index(_index(), empty, window=None) == ([], [])
