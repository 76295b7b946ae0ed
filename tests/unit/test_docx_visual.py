"""The .docx copy's visual layer: raised stretches, the runs that draw them, reading heights."""

from __future__ import annotations

import itertools
from dataclasses import replace

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.helpers import FINGERPRINT_KEY, sample_copy
from tests.unit.test_docx_format import body_paragraphs, open_docx, render
from wenxing.delivery import docx_visual
from wenxing.delivery.layout import HEADING
from wenxing.fingerprint import accuse, layers, member_bits, visual
from wenxing.reports import visual_lines

KEY = b"docx-visual-key-0123456789abcdef"
MEMBERS = [f"WX-{10000 + n}" for n in range(200)]
MARKS = "\u200b\u200c\u200d\u2060\ufe04\ufe07"
TEXT = st.text(alphabet=st.sampled_from("推进改革发展，。、“”和与及AB1" + MARKS), max_size=120)


@settings(max_examples=40, deadline=None)
@given(TEXT, st.integers(0, 3000), st.sampled_from(MEMBERS))
def test_pieces_keep_the_text_and_raise_by_base_offset(text, start, member):
    lifted = docx_visual.raised(KEY, member, start + len(text) + 1)
    assert lifted is not None
    pieces = docx_visual.raised_pieces(text, start, lifted)
    assert "".join(piece for _up, piece in pieces) == text
    assert all(a[0] != b[0] for a, b in itertools.pairwise(pieces))
    at = start
    for up, piece in pieces:
        for ch in piece:
            if visual.takes_no_place(ch):  # a mark goes with the character before it
                continue
            assert up == bool(lifted[at])
            at += 1


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 5000), st.sampled_from(MEMBERS))
def test_a_line_of_28_characters_changes_height_at_most_four_times(start, member):
    """Each change costs LibreOffice a character's condensing (docx_visual): 28 characters
    a line span at most 5 stretches, so at most 4 changes (25 twips to spare, 5 a change)."""
    lifted = visual.docx_raised(KEY, member, np.arange(start, start + 28))
    assert int(np.count_nonzero(lifted[1:] != lifted[:-1])) <= 28 // visual.DOCX_GROUP
    ids = visual.docx_position_ids(np.arange(start, start + 28))
    assert set(layers.code_of(ids).tolist()) == {layers.VISUAL_CODE}
    assert np.array_equal(member_bits(KEY, member, ids).astype(bool), lifted)


def _heights(member: str, offsets: np.ndarray, noise: float, rng: np.random.Generator):
    lifted = visual.docx_raised(KEY, member, offsets)
    return lifted * (1 / 31.5) + rng.normal(0, noise, len(offsets)) - 0.2  # pitches


@settings(max_examples=20, deadline=None)
@given(st.sampled_from(MEMBERS), st.integers(0, 2**32 - 1))
def test_two_pages_of_heights_name_their_member_and_no_one_else(member, seed):
    rng = np.random.default_rng(seed)
    start = int(rng.integers(0, 4000))
    offsets = np.arange(start, start + 1000)
    heights = _heights(member, offsets, 0.012, rng)
    heights[rng.random(len(offsets)) < 0.1] = np.nan  # characters OCR missed
    reading = visual.docx_reading(offsets, heights, np.zeros(len(offsets)))
    bits = member_bits(KEY, member, reading.position_ids)
    assert reading.positions >= 100
    assert (bits == reading.symbols).mean() >= 0.95
    assert [s.member for s in accuse(reading, KEY, MEMBERS).accused] == [member]


@settings(max_examples=20, deadline=None)
@given(st.integers(0, 2**32 - 1), st.floats(0.002, 0.2))
def test_heights_without_a_signal_accuse_no_one(seed, noise):
    rng = np.random.default_rng(seed)
    offsets = np.arange(0, 1200)
    heights = rng.normal(0, noise, len(offsets))
    reading = visual.docx_reading(offsets, heights, np.zeros(len(offsets)))
    assert accuse(reading, KEY, MEMBERS).accused == []


def test_a_flat_page_reads_nothing():
    offsets = np.arange(0, 700)
    assert visual.docx_reading(offsets, np.zeros(700), np.zeros(700)).positions == 0


def test_the_copy_raises_body_stretches_and_keeps_its_text():
    content = replace(sample_copy()[0], visual_key=FINGERPRINT_KEY)
    document = open_docx(render(content))
    paragraphs = body_paragraphs(document)
    assert "\n".join(p.text for p in paragraphs) == content.body
    lifted = visual.docx_raised(
        FINGERPRINT_KEY, content.member_number, np.arange(content.blocks[-1].block.end + 1)
    )
    raised_runs = 0
    for block, paragraph in zip(content.blocks, paragraphs, strict=True):
        for run in paragraph.runs:
            position = (
                run._r.find(".//w:position", run._r.nsmap) if run._r.rPr is not None else None
            )
            if position is None:
                continue
            raised_runs += 1
            assert block.block.style != HEADING
            assert position.get(f"{{{run._r.nsmap['w']}}}val") == "1"
    assert raised_runs > 100
    assert 0.3 < lifted.mean() < 0.7
    # Without the material key nothing is raised.
    plain = open_docx(render(sample_copy()[0]))
    assert b"w:position" not in plain.element.xml.encode()


def _docx_pages(member: str, rng: np.random.Generator, noise: float, pages: int = 1):
    """Pages of body characters of a .docx copy, measured: (offsets, heights, and the
    same heights read as a .pdf page's residuals would be)."""
    start = int(rng.integers(0, 4000))
    offsets = np.arange(start, start + 560 * pages)  # 20 lines of 28 a page
    heights = _heights(member, offsets, noise, rng)
    heights[rng.random(len(offsets)) < 0.1] = np.nan  # characters OCR missed
    across = rng.normal(0, noise, len(offsets))  # no horizontal signal on a .docx page
    return offsets, heights, across


@settings(max_examples=20, deadline=None)
@given(st.sampled_from(MEMBERS), st.integers(0, 2**32 - 1))
def test_a_docx_page_is_read_as_one_though_the_pdf_reading_passes_more_positions(member, seed):
    """Read as .pdf pages, a .docx copy's raised stretches pass about a third of their many
    groups by chance, more positions than its stretches give; the reading chosen is the one
    that read beyond chance, and it names the member (two pages: one page of stretches alone
    names its member only now and then, with the page's wording it does)."""
    rng = np.random.default_rng(seed)
    offsets, heights, across = _docx_pages(member, rng, 0.025, pages=2)
    lines = np.zeros(len(offsets))
    as_pdf = visual.reading(KEY, offsets, across, heights, lines)
    as_docx = visual.docx_reading(offsets, heights, lines)
    assert as_pdf.positions > as_docx.positions
    assert visual_lines.best_reading([as_pdf, as_docx]) is as_docx
    assert [s.member for s in accuse(as_docx, KEY, MEMBERS).accused] == [member]


@settings(max_examples=30, deadline=None)
@given(
    st.sampled_from(MEMBERS),
    st.integers(0, 2**32 - 1),
    st.floats(0.003, 0.1),
    st.booleans(),
)
def test_whichever_reading_is_chosen_no_innocent_is_accused(member, seed, noise, signal):
    """The choice among the ways of reading a page looks at no member's code: whatever it
    picks (a page with the member's stretches, or a page of noise), nobody but the member
    whose page it is can be accused."""
    rng = np.random.default_rng(seed)
    offsets, heights, across = _docx_pages(member, rng, noise)
    if not signal:
        heights = rng.normal(0, noise, len(offsets))
    lines = np.zeros(len(offsets))
    readings = [
        visual.reading(KEY, offsets, across, heights, lines),
        visual.reading(KEY, offsets, heights, across, lines),
        visual.docx_reading(offsets, heights, lines),
        visual.docx_reading(offsets, across, lines),
    ]
    chosen = visual_lines.best_reading(readings)
    accused = {s.member for s in accuse(chosen, KEY, MEMBERS).accused}
    assert accused <= ({member} if signal else set())
