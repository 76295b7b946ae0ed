"""The .docx format: GB/T 9704-2012 layout, exact marked text, and the structural carriers."""

from __future__ import annotations

import io
import json
import re
import statistics
import time
import zipfile
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path
from typing import Any

import docx
import pytest
from docx.oxml.ns import qn

from tests.helpers import (
    FINGERPRINT_KEY,
    parse_text,
    sample_copy,
    shipped_variants,
    trace_sample_text,
)
from tests.materials import CONGRESS_2022, COUNTY_2017, RURAL_ROADS
from wenxing import fingerprint
from wenxing.delivery.docx import (
    BODY_FONT,
    HEI_FONT,
    KAI_FONT,
    RANK_FONTS,
    TITLE_FONT,
    DocxFormat,
)
from wenxing.delivery.docx_ids import matches_copy_tag, paragraph_ids, read_paragraph_ids
from wenxing.delivery.layout import (
    DATELINE,
    HEADING,
    SALUTATION,
    SIGNATURE,
    TEXT,
    Block,
    CopyContent,
    Layout,
    MarkedBlock,
    fill,
    layout_of,
)
from wenxing.materials.keywords import words

FORMAT = DocxFormat()
INVISIBLE = "\u200b\u200c\u200d\u2060\ufe04\ufe05\ufe06\ufe07"
RECIPIENTS = ["WX-10001", "WX-10002", *(f"WX-{20000 + n}" for n in range(220))]

# Fixture documents that between them have run-in headings of ranks （一）, 1. and （1）,
# heading lines, salutations, datelines, a byline and a signature.
DOCUMENTS = (RURAL_ROADS, COUNTY_2017, CONGRESS_2022)
RUN_IN_MARKERS = {
    "（一）": re.compile(r"[（(][一二三四五六七八九十]+[）)]"),
    "1.": re.compile(r"\d+[.．]"),
    "（1）": re.compile(r"[（(]\d+[）)]"),
}

# How each marker's heading is set (font, bold), whatever rank the layout gives it.
MARKER_FONTS = {"（一）": (KAI_FONT, False), "1.": (BODY_FONT, True), "（1）": (BODY_FONT, False)}


@dataclass(frozen=True)
class Material:
    """A fixture document as a material version: its layout, base body and marking plan."""

    layout: Layout
    body: str
    plan: fingerprint.Plan


@cache
def document_material(path: Path) -> Material:
    structure = parse_text(path.read_text("utf-8"))
    title = structure.title or path.stem
    layout = layout_of(title, structure.body, json.dumps(structure.outline_dicts()))
    plan = fingerprint.build_plan(
        structure.body,
        FINGERPRINT_KEY,
        words(structure.body),
        shipped_variants(),
        fingerprint.Profile("strong"),
    )
    return Material(layout, structure.body, plan)


def document_copy(material: Material, member: str = "WX-10001", copy_id: int = 1) -> CopyContent:
    """A marked copy of a fixture document, built as ``sample_copy`` builds the sample's."""
    pieces = fingerprint.mark_spans(
        material.body, material.plan, FINGERPRINT_KEY, member, material.layout.cuts
    )
    content = sample_copy(member, "strong", copy_id)[0]
    return replace(
        content,
        title=material.layout.title,
        blocks=fill(material.layout, pieces),
        toc=material.layout.toc,
    )


def trace_document_text(material: Material, text: str, recipients: list[str]) -> list[str]:
    reading = fingerprint.read_evidence(material.body, material.plan, text)
    verdict = fingerprint.accuse(reading, FINGERPRINT_KEY, recipients)
    return [score.member for score in verdict.accused]


def render(content: CopyContent, layout: Layout | None = None) -> bytes:
    if layout is None:
        layout = Layout(content.title, tuple(b.block for b in content.blocks), content.toc)
    return FORMAT.render(FORMAT.prepare(layout, content.masthead), content)


def open_docx(data: bytes):
    return docx.Document(io.BytesIO(data))


def body_paragraphs(document) -> list:
    """The paragraphs that hold the copy's blocks (the title paragraph comes first)."""
    return document.paragraphs[1:]


# --- reading effective formatting back -----------------------------------------------------


def _style_chain(style):
    while style is not None:
        yield style.element
        style = style.base_style


def run_property(document, paragraph, run, tag: str, attribute: str | None = "w:val"):
    """A run property as Word resolves it: run, character style, paragraph style, defaults."""
    elements = [run._r]
    if run._r.rPr is not None and run._r.rPr.find(qn("w:rStyle")) is not None:
        elements += _style_chain(run.style)
    elements += _style_chain(paragraph.style)
    elements.append(document.styles.element.find(f"{qn('w:docDefaults')}/{qn('w:rPrDefault')}"))
    for element in elements:
        found = element.find(f"{qn('w:rPr')}/{qn(tag)}")
        if found is not None:
            return found.get(qn(attribute)) if attribute else True
    return None


def paragraph_property(document, paragraph, tag: str, attribute: str = "w:val"):
    """A paragraph property as Word resolves it: paragraph, style chain, defaults."""
    defaults = document.styles.element.find(f"{qn('w:docDefaults')}/{qn('w:pPrDefault')}")
    for element in [paragraph._p, *_style_chain(paragraph.style), defaults]:
        found = element.find(f"{qn('w:pPr')}/{qn(tag)}")
        if found is not None and found.get(qn(attribute)) is not None:
            return found.get(qn(attribute))
    return None


def east_asian_font(document, paragraph, run) -> str:
    return run_property(document, paragraph, run, "w:rFonts", "w:eastAsia")


def size_pt(document, paragraph, run) -> float:
    return int(run_property(document, paragraph, run, "w:sz")) / 2


def alignment(document, paragraph) -> str:
    return paragraph_property(document, paragraph, "w:jc") or "left"


def first_line_chars(document, paragraph) -> int:
    return int(paragraph_property(document, paragraph, "w:ind", "w:firstLineChars") or 0)


# --- fixtures ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Rendered:
    content: CopyContent
    data: bytes
    document: Any  # python-docx's Document, read back from data


def rendered(content: CopyContent, layout: Layout | None = None) -> Rendered:
    data = render(content, layout)
    return Rendered(content, data, open_docx(data))


@pytest.fixture(scope="module")
def sample() -> Rendered:
    return rendered(sample_copy()[0])


@pytest.fixture(scope="module", params=DOCUMENTS, ids=lambda p: p.name)
def document(request) -> tuple[Material, Rendered]:
    material = document_material(request.param)
    return material, rendered(document_copy(material), material.layout)


# --- the page -----------------------------------------------------------------------------


def test_format_attributes():
    assert FORMAT.name == "docx"
    assert FORMAT.media_type == (
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    )
    assert FORMAT.label == "Word 公文格式 .docx"


def test_page_is_a4_with_the_standard_margins(sample):
    section = sample.document.sections[0]
    assert section.page_width.mm == pytest.approx(210, abs=0.1)
    assert section.page_height.mm == pytest.approx(297, abs=0.1)
    assert section.top_margin.mm == pytest.approx(37, abs=0.1)
    assert section.bottom_margin.mm == pytest.approx(35, abs=0.1)
    assert section.left_margin.mm == pytest.approx(28, abs=0.1)
    assert section.right_margin.mm == pytest.approx(26, abs=0.1)


def test_grid_sets_22_lines_of_28_characters(sample):
    document = sample.document
    section = document.sections[0]
    type_height = section.page_height.twips - section.top_margin.twips - section.bottom_margin.twips
    type_width = section.page_width.twips - section.left_margin.twips - section.right_margin.twips
    grid = section._sectPr.find(qn("w:docGrid"))
    assert grid.get(qn("w:type")) == "lines"
    line_pitch = int(grid.get(qn("w:linePitch")))
    assert line_pitch == 579
    assert type_height // line_pitch == 22
    # Characters: 16 pt condensed by the body's character spacing (1/20 pt = twips).
    body = body_paragraphs(document)[1]
    spacing = int(run_property(document, body, body.runs[0], "w:spacing"))
    assert spacing == -5
    pitch = size_pt(document, body, body.runs[0]) * 20 + spacing
    assert type_width // pitch == 28


def test_title_and_body_fonts(sample):
    content, document = sample.content, sample.document
    title = document.paragraphs[0]
    assert title.text == content.title
    assert east_asian_font(document, title, title.runs[0]) == TITLE_FONT
    assert size_pt(document, title, title.runs[0]) == 22
    assert alignment(document, title) == "center"
    texts = [
        (p, b)
        for p, b in zip(body_paragraphs(document), content.blocks, strict=True)
        if b.block.style == TEXT and b.block.head_end == b.block.start
    ]
    assert len(texts) > 20
    for paragraph, _block in texts:
        run = paragraph.runs[-1]
        assert east_asian_font(document, paragraph, run) == BODY_FONT
        assert run_property(document, paragraph, run, "w:rFonts", "w:ascii") == BODY_FONT
        assert run_property(document, paragraph, run, "w:rFonts", "w:hAnsi") == BODY_FONT
        assert size_pt(document, paragraph, run) == 16
        assert first_line_chars(document, paragraph) == 200
        assert alignment(document, paragraph) == "both"


def test_heading_font_per_rank():
    """Every rank, as a heading line and as a run-in heading before its text."""
    heads = (
        "第一章　总则",
        "一、总体要求",
        "（一）工作目标",
        "1.基本原则",
        "（1）适用范围",
        "第一条",
    )
    text = "。坚持稳中求进工作总基调。"
    pieces: list[MarkedBlock] = []
    offset = 0
    for rank, head in enumerate(heads):
        pieces.append(
            MarkedBlock(
                Block(HEADING, rank, offset, offset + len(head), offset + len(head)), head, ""
            )
        )
        offset += len(head) + 1
        end = offset + len(head) + len(text)
        pieces.append(MarkedBlock(Block(TEXT, rank, offset, offset + len(head), end), head, text))
        offset = end + 1
    content = replace(sample_copy()[0], title="标题", blocks=tuple(pieces), toc=())
    document = open_docx(render(content))
    paragraphs = body_paragraphs(document)
    assert "\n".join(p.text for p in paragraphs) == content.body
    for rank in range(6):
        line, run_in = paragraphs[2 * rank], paragraphs[2 * rank + 1]
        assert len(line.runs) == 2 and line.runs[1].text == ""
        assert len(run_in.runs) == 2
        head_run, text_run = run_in.runs
        assert (head_run.text, text_run.text) == (heads[rank], text)
        for paragraph, run in ((line, line.runs[0]), (run_in, head_run)):
            assert east_asian_font(document, paragraph, run) == RANK_FONTS[rank]
            assert bool(run_property(document, paragraph, run, "w:b", None)) == (rank == 3)
            assert size_pt(document, paragraph, run) == 16
        assert east_asian_font(document, run_in, text_run) == BODY_FONT
        assert not run_property(document, run_in, text_run, "w:b", None)
        assert paragraph_property(document, line, "w:outlineLvl") == str(rank)
    assert RANK_FONTS[:3] == (HEI_FONT, HEI_FONT, KAI_FONT)
    assert set(RANK_FONTS[3:]) == {BODY_FONT}
    assert alignment(document, paragraphs[0]) == "center"  # 第X章 stands centred
    assert first_line_chars(document, paragraphs[2]) == 200  # 一、 indented like the text


def test_document_blocks_are_set_by_style_and_rank(document):
    content, document = document[1].content, document[1].document
    paragraphs = body_paragraphs(document)
    assert len(paragraphs) == len(content.blocks)
    run_in = 0
    for paragraph, marked in zip(paragraphs, content.blocks, strict=True):
        block = marked.block
        head_run, text_run = paragraph.runs[0], paragraph.runs[-1]
        if block.style == HEADING or block.head_end > block.start:
            assert head_run.text == marked.head
            font = east_asian_font(document, paragraph, head_run)
            assert font == RANK_FONTS[block.rank]
            bold = bool(run_property(document, paragraph, head_run, "w:b", None))
            for marker, pattern in RUN_IN_MARKERS.items():
                if pattern.match(marked.head):
                    assert (font, bold) == MARKER_FONTS[marker], marked.head
            run_in += block.style != HEADING
        if block.style == SALUTATION:
            assert alignment(document, paragraph) == "left"
            assert first_line_chars(document, paragraph) == 0
        elif block.style == DATELINE:
            assert alignment(document, paragraph) == "center"
            assert first_line_chars(document, paragraph) == 0
            assert east_asian_font(document, paragraph, text_run) == KAI_FONT
        elif block.style == SIGNATURE:
            assert alignment(document, paragraph) == "right"
            assert first_line_chars(document, paragraph) == 0
        elif block.style != HEADING:
            assert first_line_chars(document, paragraph) == 200
            assert east_asian_font(document, paragraph, text_run) == BODY_FONT
    assert run_in > 0


def test_documents_cover_every_block_kind():
    kinds, markers = set(), set()
    for path in DOCUMENTS:
        material = document_material(path)
        for block in material.layout.blocks:
            kinds.add(block.style)
            if block.style != HEADING and block.head_end > block.start:
                head = material.body[block.start : block.head_end]
                markers.update(m for m, pattern in RUN_IN_MARKERS.items() if pattern.match(head))
    assert {HEADING, SALUTATION, DATELINE, SIGNATURE, TEXT} <= kinds
    assert markers == set(RUN_IN_MARKERS)


# --- header, footer, properties ------------------------------------------------------------


def test_page_numbers_alternate_sides(sample):
    document = sample.document
    section = document.sections[0]
    assert document.settings.odd_and_even_pages_header_footer
    assert section.different_first_page_header_footer
    footers = {
        "first": section.first_page_footer,
        "odd": section.footer,
        "even": section.even_page_footer,
    }
    for side, footer in footers.items():
        (paragraph,) = footer.paragraphs
        instructions = [t.text.strip() for t in paragraph._p.iter(qn("w:instrText"))]
        assert instructions == ["PAGE"]
        assert paragraph.text == "— 1 —"
        run = paragraph.runs[0]
        assert east_asian_font(document, paragraph, run) == "宋体"
        assert size_pt(document, paragraph, run) == 14
        assert alignment(document, paragraph) == ("left" if side == "even" else "right")


def test_header_names_the_recipient(sample):
    content, document = sample.content, sample.document
    section = document.sections[0]
    first = "\n".join(p.text for p in section.first_page_header.paragraphs)
    for line in content.masthead:
        assert line in first
    assert content.recipient_line in first
    for later in (section.header, section.even_page_header):
        text = "\n".join(p.text for p in later.paragraphs)
        assert text == f"{content.masthead[0]}\u3000{content.recipient_line}"


def test_core_properties_carry_the_copy_tag(sample):
    content, document = sample.content, sample.document
    properties = document.core_properties
    assert properties.identifier == content.copy_tag
    assert properties.title == content.title
    assert properties.author == properties.last_modified_by == content.masthead[1]
    assert properties.created.date().isoformat() == content.issued_on


# --- the text and the fingerprint ------------------------------------------------------------


def test_body_text_is_the_marked_body_exactly(sample, document):
    for copy in (sample, document[1]):
        content, document = copy.content, copy.document
        text = "\n".join(p.text for p in body_paragraphs(document))
        assert text == content.body
        assert any(ch in text for ch in INVISIBLE)


def test_text_is_escaped_and_nothing_visible_is_lost():
    content = sample_copy()[0]
    awkward = "A&B <tag> \"q\" 'a' ]]> 两  空格\u200b\u2060\ufe07 \U0002a6a5"
    block = MarkedBlock(Block(TEXT, -1, 0, 0, len(awkward)), "", awkward + "\x01\x0b\ufffe")
    document = open_docx(render(replace(content, blocks=(block,), toc=())))
    assert body_paragraphs(document)[0].text == awkward


def test_paragraph_ids_derive_from_the_copy_tag(sample):
    content, data = sample.content, sample.data
    ids = read_paragraph_ids(data)
    assert ids == paragraph_ids(content.copy_tag, len(content.blocks))
    assert all(re.fullmatch(r"[0-9A-F]{8}", i) and int(i, 16) < 0x80000000 for i in ids)
    assert len(set(ids)) == len(ids)
    assert matches_copy_tag(data, content.copy_tag) == 1.0
    other = sample_copy("WX-10002", "strong", 2)[0]
    assert matches_copy_tag(data, other.copy_tag) == 0.0
    assert matches_copy_tag(render(other), other.copy_tag) == 1.0


def test_paragraph_ids_survive_editing(sample):
    """Deleting and adding paragraphs costs only their share of the match."""
    content, data = sample.content, sample.data
    document = open_docx(data)
    for paragraph in body_paragraphs(document)[:5]:
        paragraph._p.getparent().remove(paragraph._p)
    document.add_paragraph("另起一段，不带标识。")
    edited = io.BytesIO()
    document.save(edited)
    edited_ids = read_paragraph_ids(edited.getvalue())
    assert len(edited_ids) == len(content.blocks) - 5
    score = matches_copy_tag(edited.getvalue(), content.copy_tag, paragraphs=len(content.blocks))
    assert score == 1.0
    assert matches_copy_tag(edited.getvalue(), content.copy_tag) > 0.5


def test_read_paragraph_ids_rejects_other_files():
    with pytest.raises(ValueError):
        read_paragraph_ids(b"plain text")
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("word/other.xml", "<x/>")
    with pytest.raises(ValueError):
        read_paragraph_ids(archive.getvalue())


def test_text_traces_to_the_recipient(sample):
    text = "\n".join(p.text for p in sample.document.paragraphs)
    assert len(RECIPIENTS) >= 200
    assert trace_sample_text(text, RECIPIENTS) == ["WX-10001"]
    other = rendered(sample_copy("WX-10002", "strong", 2)[0])
    other_text = "\n".join(p.text for p in other.document.paragraphs)
    assert other.data != sample.data
    assert other_text != text
    assert trace_sample_text(other_text, RECIPIENTS) == ["WX-10002"]


def test_document_text_traces_to_the_recipient(document):
    material, document = document[0], document[1].document
    text = "\n".join(p.text for p in document.paragraphs)
    assert trace_document_text(material, text, RECIPIENTS) == ["WX-10001"]


# --- packaging ---------------------------------------------------------------------------


def test_same_copy_packs_to_the_same_bytes(sample):
    content, data = sample.content, sample.data
    assert render(content) == data


def test_blocks_must_match_the_prepared_version(sample):
    content = sample.content
    prepared = FORMAT.prepare(
        Layout(content.title, tuple(b.block for b in content.blocks[:-1]), ()), content.masthead
    )
    with pytest.raises(ValueError):
        FORMAT.render(prepared, content)


def test_render_is_fast(sample):
    content = sample.content
    prepared = FORMAT.prepare(
        Layout(content.title, tuple(b.block for b in content.blocks), content.toc),
        content.masthead,
    )
    timings = []
    for _ in range(50):
        start = time.perf_counter()
        FORMAT.render(prepared, content)
        timings.append(time.perf_counter() - start)
    assert statistics.median(timings) < 0.05
