"""The .pdf format's own typesetting: lines on a character grid, and pages of lines."""

from __future__ import annotations

import dataclasses
from itertools import pairwise

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.helpers import sample_copy
from wenxing.delivery.layout import HEADING, TEXT, Block, MarkedBlock
from wenxing.delivery.pdf import (
    BOTTOM,
    CELLS,
    HEI,
    LINES,
    NO_END,
    NO_START,
    PAGE_H,
    SONG,
    TOP,
    Line,
    PreparedPdf,
    break_lines,
    clusters_of,
    compose,
    header_lines,
    may_break,
    paragraph_lines,
    title_lines,
)
from wenxing.fingerprint.plan import GLYPHS, VS_MARKS, ZW_MARKS

MARKS = ZW_MARKS + VS_MARKS
HAN = "国家发展改革委员会议推进工作重点"
CLOSE = "，。、；：？！”’）》】"
OPEN = "“‘（《【"
LATIN = "AZaz09"

# Mostly Han text, with runs of punctuation, Latin words, dashes and marks thrown in.
_piece = st.one_of(
    st.text(st.sampled_from(HAN), min_size=1, max_size=12),
    st.text(st.sampled_from(CLOSE), min_size=1, max_size=3),
    st.sampled_from(OPEN),
    st.text(st.sampled_from(LATIN), min_size=1, max_size=9),
    st.text(st.sampled_from("—―─·・‧"), min_size=1, max_size=2),  # with the look-alikes
    st.sampled_from(["……", " "]),
    st.text(st.sampled_from(MARKS), min_size=1, max_size=2),
)
texts = st.lists(_piece, max_size=40).map("".join)


def _strip(text: str) -> str:
    return "".join(ch for ch in text if ch not in MARKS)


def _lines(text: str, cells: int = CELLS, indent: int = 0, justify: bool = True) -> list[Line]:
    return break_lines(clusters_of([(text, SONG)]), cells, indent, justify)


def _has_break_inside(line: Line) -> bool:
    return any(may_break(a, b) for a, b in pairwise(line.clusters))


@settings(max_examples=300, deadline=None)
@given(texts, st.sampled_from([28, 9, 49]), st.sampled_from([0, 2]))
def test_every_character_is_set_once_in_order_within_the_line(text, cells, indent):
    lines = _lines(text, cells, indent)
    assert "".join(line.text for line in lines) == text
    for number, line in enumerate(lines):
        assert line.clusters, "no empty lines"
        assert line.width <= cells + 1e-9
        start = indent if number == 0 else 0
        visible = [x for c, x in zip(line.clusters, line.x, strict=True) if c.cells]
        assert all(start - 0.5 - 1e-9 <= x <= cells - 0.5 + 1e-9 for x in visible)
        assert visible == sorted(visible)


@settings(max_examples=300, deadline=None)
@given(texts, st.sampled_from([28, 9]))
def test_lines_keep_the_punctuation_rules_unless_a_line_has_no_allowed_break(text, cells):
    lines = _lines(text, cells)
    for before, after in pairwise(lines):
        if after.clusters[0].char in NO_START or before.clusters[-1].char in NO_END:
            assert not _has_break_inside(before), (before.text, after.text)


@settings(max_examples=300, deadline=None)
@given(texts, st.sampled_from([28, 9]), st.sampled_from([0, 2]))
def test_invisible_marks_take_no_cell(text, cells, indent):
    marked, plain = _lines(text, cells, indent), _lines(_strip(text), cells, indent)
    assert [_strip(line.text) for line in marked if _strip(line.text)] == [
        line.text for line in plain
    ]
    for line, bare in zip((line for line in marked if _strip(line.text)), plain, strict=True):
        xs = [x for c, x in zip(line.clusters, line.x, strict=True) if c.cells]
        assert xs == list(bare.x)


@settings(max_examples=200, deadline=None)
@given(texts, st.sampled_from([28, 9]))
def test_look_alikes_break_like_the_plain_forms(text, cells):
    plain = text
    for form, alikes in GLYPHS.items():
        for alike in alikes:
            plain = plain.replace(alike, form)
    assert [len(line.clusters) for line in _lines(text, cells)] == [
        len(line.clusters) for line in _lines(plain, cells)
    ]


@settings(max_examples=200, deadline=None)
@given(texts, st.sampled_from([0, 2]))
def test_full_lines_a_little_short_are_stretched_to_the_measure(text, indent):
    lines = _lines(text, indent=indent)
    for number, line in enumerate(lines[:-1]):
        start = indent if number == 0 else 0
        if line.width < CELLS:  # too short to stretch: ragged, not spaced out
            assert line.stretch == 1 and (CELLS - start) / (line.width - start) > 1.04
        else:
            assert abs(line.width - CELLS) < 1e-9 and 1 <= line.stretch <= 1.04
            if line.stretch > 1 and all(c.cells == 2 for c in line.clusters):
                steps = {round(b - a, 9) for a, b in pairwise(line.x)}
                assert steps == {round(line.stretch, 9)}  # wider cells, no gaps


def test_closing_punctuation_is_squeezed_into_the_line():
    text = "一二三，" + "五六七八九十一二" * 3 + "。下一行"  # the full stop is the 29th
    lines = _lines(text)
    assert [line.text for line in lines] == [text[:29], text[29:]]
    # The comma and the full stop give up half a cell each.
    assert lines[0].width == CELLS
    assert lines[0].x[4] == 3.5


def test_a_closing_mark_that_cannot_be_squeezed_pushes_a_character_over():
    text = "一" * 28 + "。后面"
    lines = _lines(text)
    assert [line.text for line in lines] == ["一" * 27, "一。后面"]
    # The short line is justified by setting its characters a little wider.
    assert lines[0].width == CELLS and lines[0].stretch == 28 / 27


def test_opening_punctuation_never_ends_a_line():
    text = "一" * 27 + "“引文”"
    lines = _lines(text)
    assert lines[0].text == "一" * 27 and lines[1].text == "“引文”"


def test_latin_words_numbers_and_dash_pairs_stay_whole():
    assert [line.text for line in _lines("一" * 27 + "2025年")] == ["一" * 27, "2025年"]
    assert [line.text for line in _lines("一" * 27 + "——二")] == ["一" * 27, "——二"]
    # Half-width characters take half a cell.
    assert _lines("WX-10001")[0].width == 4


def test_marks_stay_with_the_character_before_them():
    text = "一\u200b" * 28 + "二\ufe05"
    lines = _lines(text)
    assert lines[0].text == "一\u200b" * 28 and lines[1].text == "二\ufe05"
    assert lines[0].x[:2] == (0, 1)


def test_header_packs_whole_lines_and_breaks_long_ones():
    lines = header_lines(["仅供学习", "酷乐文行", "自建平台", "一" * 60])
    assert [line.text for line in lines] == [
        "仅供学习\u3000\u3000酷乐文行\u3000\u3000自建平台",
        "一" * 49,
        "一" * 11,
    ]


def test_sample_pages():
    content, _plan, _body = sample_copy()
    prepared = PreparedPdf(
        title_lines(content.title),
        header_lines(content.masthead),
        header_lines(content.masthead[:1]),
    )
    pages = compose(prepared, content)
    assert 9 <= len(pages) <= 13
    assert [page.number for page in pages] == list(range(1, len(pages) + 1))
    for page in pages:
        assert 0 < len(page.body) <= LINES
        assert all(TOP < row.baseline < PAGE_H - BOTTOM for row in page.body)
        assert all(row.baseline < TOP for row in page.header)
        assert page.folio.line.text == f"— {page.number} —"
        assert any(content.member_number in row.line.text for row in page.header)
    # Page 1 carries the whole masthead, later pages its first line.
    first_header = "".join(row.line.text for row in pages[0].header)
    assert all(line.strip() in first_header for line in content.masthead if line.strip())
    assert content.masthead[1] not in "".join(row.line.text for row in pages[1].header)
    # The body, line after line, is the title and then the blocks in order, nothing else.
    text = "".join(row.line.text for page in pages for row in page.body)
    assert text == content.title + "".join(block.whole for block in content.blocks)


def test_headings_are_set_in_their_face_and_never_end_a_page():
    content, _plan, _body = sample_copy()
    prepared = PreparedPdf(title_lines(content.title), (), ())
    pages = compose(prepared, content)
    headings = {block.whole for block in content.blocks if block.block.style == HEADING}
    for page in pages:
        last = page.body[-1].line
        assert last.text not in headings
    heading = next(b for b in content.blocks if b.block.style == HEADING)
    lines, _align = paragraph_lines(heading)
    assert {c.style for line in lines for c in line.clusters} == {HEI}
    assert lines[0].x[0] == 2  # indented like the body


def _paragraph(lines: int) -> MarkedBlock:
    """A body paragraph that fills exactly ``lines`` lines."""
    return MarkedBlock(Block(TEXT, -1, 0, 0, 0), "", "文" * (CELLS - 2 + CELLS * (lines - 1)))


def _pages(*blocks: MarkedBlock) -> list[int]:
    content, _plan, _body = sample_copy()
    content = dataclasses.replace(content, blocks=blocks)
    return [len(page.body) for page in compose(PreparedPdf((), (), ()), content)]


def test_no_paragraph_leaves_one_line_alone_on_a_page():
    assert _pages(_paragraph(21), _paragraph(3)) == [21, 3]  # not the first line …
    assert _pages(_paragraph(23)) == [21, 2]  # … nor the last
    assert _pages(_paragraph(24)) == [22, 2]
    assert _pages(_paragraph(21), _paragraph(1), _paragraph(2)) == [22, 2]
