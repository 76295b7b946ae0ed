"""Reading the visual layer out of lines the tracer did not lay out itself: screenshots of
the reader page (set by a browser) and pages of a .docx copy (set by a word processor).

Such a line is found in the version's text by its characters' pairs and taken as set one
character a pitch; its characters are then measured as a .pdf line is
(:func:`wenxing.reports.visual.measure_line`). :func:`read_pages` reads images every way
the tracer knows and keeps the reading with the most positions.
"""

from __future__ import annotations

import difflib
import math
import threading
import unicodedata
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from wenxing.delivery import docx, pdf
from wenxing.delivery.layout import Layout
from wenxing.fingerprint import visual
from wenxing.fingerprint.read import Reading, empty_reading
from wenxing.reports.ocr_lines import OcrLine, PageImage
from wenxing.reports.visual import (
    MIN_LINE_CHARS,
    READER,
    VISUAL_LINE,
    Row,
    carried,
    glyph_centroid,
    measure_line,
    read_pdf_pages,
)


def read_pages(pages: list[PageImage], layout: Layout, body: str, key: bytes) -> Reading:
    """The visual layer's reading of images of the version's pages: as .pdf pages, as
    screenshots of the reader page or as pages of a .docx copy, whichever reads the most
    positions beyond what noise alone would (:func:`excess_positions`)."""
    readings = [read_pdf_pages(pages, layout, body, key), read_reader_pages(pages, body, key)]
    readings.extend(read_docx_pages(pages, body, key, face) for face in DOCX_FACES)
    return best_reading(readings)


def best_reading(readings: list[Reading]) -> Reading:
    """The reading with the most :func:`excess_positions` (the first of equals)."""
    return max(readings, key=excess_positions)


# A position is read when its measured shift is at least MIN_Z noise deviations from zero:
# on an image that does not carry the way of reading tried (a .docx page read as a .pdf
# page), about this share of the positions seen are "read" all the same, at random.
NULL_READ_SHARE = math.erfc(visual.MIN_Z / math.sqrt(2))


def excess_positions(reading: Reading) -> float:
    """How many more positions a reading read than noise alone would have passed among the
    positions it saw. A .docx page measured as a .pdf page sees more places (groups of 4,
    two axes) than its stretches and passes a third of them by chance, so the raw count
    would prefer the wrong reading; the excess prefers the reading that found a signal.
    It looks at no member's code, so choosing by it leaves every bound exact."""
    return reading.positions - NULL_READ_SHARE * reading.slots_seen.get("visual", 0)


# The faces a .docx page is read with, in turn: Word and WPS set the body in 仿宋, which
# the tracer does not have; LibreOffice on Debian sets it in AR PL KaitiM GB. The glyphs'
# centroids differ by a few hundredths of an em between faces, which is noise, not bias:
# the face whose page reads the most positions is the one kept.
DOCX_FACES = (pdf.KAI, pdf.SONG, READER)
# A .docx body character advances by the 16-pt em plus the body's (negative) spacing.
DOCX_PITCH = (docx.BODY_SIZE * 20 + docx.CHAR_SPACING) / (docx.BODY_SIZE * 20)


def read_docx_pages(pages: list[PageImage], body: str, key: bytes, face: str) -> Reading:
    """The visual layer's reading of images of a .docx copy's pages as a word processor set
    them in ``face``: how high each stretch sits (:mod:`wenxing.delivery.docx_visual`).
    (``key`` is unused: the stretches carry the member's bits without chips.)"""
    del key
    setting = LineSetting(face, DOCX_PITCH, True, True, _DOCX_MAX_SPREAD)
    measured = _measure_set_lines(pages, body, setting)
    if measured is None:
        return empty_reading()
    offsets, _rx, ry, lines = measured
    return visual.docx_reading(offsets, ry, lines)


_DOCX_MAX_SPREAD = 0.05  # pitches: raised stretches widen the heights' spread by design


# --- Screenshots of the reader page ---------------------------------------------------------

# Residual spread (ems) above which a reader line is taken as misregistered.
_READER_MAX_SPREAD = 0.03


def _bigram_index(body: str) -> dict[str, list[int]]:
    index: dict[str, list[int]] = {}
    for at in range(len(body) - 1):
        index.setdefault(body[at : at + 2], []).append(at)
    return index


_INDEXES_KEPT = 16  # bodies whose pair index is kept, the latest used
_indexes: OrderedDict[str, dict[str, list[int]]] = OrderedDict()
_indexes_lock = threading.Lock()


def _index_of(body: str) -> dict[str, list[int]]:
    with _indexes_lock:
        found = _indexes.get(body)
        if found is None:
            found = _indexes[body] = _bigram_index(body)
            while len(_indexes) > _INDEXES_KEPT:
                _indexes.popitem(last=False)
        return found


def _full_width(ch: str, ambiguous: bool = False) -> bool:
    width = unicodedata.east_asian_width(ch)
    return width in ("W", "F") or (ambiguous and width == "A")


def reader_row(
    line: OcrLine, body: str, face: str = READER, pitch: float = 1.0, ambiguous: bool = False
) -> Row | None:
    """A row for a line the browser (or a word processor) set: where in the base text the
    line is (by its characters' pairs), and its characters one pitch apart (``pitch`` in ems
    of ``face``; every character of a Chinese line is full width, and a line with anything
    else is left out; ``ambiguous`` counts quotes and the like as full width, as a word
    processor sets them in an East Asian face)."""
    text = "".join(ch for ch in line.text if not ch.isspace())
    if len(carried(text)) < MIN_LINE_CHARS:
        return None
    index = _index_of(body)
    votes: dict[int, int] = {}
    for k in range(len(text) - 1):
        for at in index.get(text[k : k + 2], ())[:50]:
            votes[at - k] = votes.get(at - k, 0) + 1
    if not votes:
        return None
    start = max(votes, key=lambda at: votes[at])
    if votes[start] < max(3, 0.35 * (len(text) - 1)):
        return None
    lo, hi = max(0, start - 4), min(len(body), start + len(text) + 4)
    matcher = difflib.SequenceMatcher(None, text, body[lo:hi], autojunk=False)
    covered = [lo + b.b + k for b in matcher.get_matching_blocks() for k in range(b.size)]
    if len(covered) < MIN_LINE_CHARS:
        return None
    first, last = min(covered), max(covered)
    span = body[first : last + 1]
    if "\n" in span or not all(_full_width(ch, ambiguous) for ch in span):
        return None
    chars, offsets, cx, cy = [], [], [], []
    read = set(covered)  # a character the image shows otherwise (a wording variant) is left out
    for k, ch in enumerate(span):
        if visual.carries(ch) and first + k in read:
            gx, gy = glyph_centroid(face, ch)
            chars.append(ch)
            offsets.append(first + k)
            cx.append(k + gx / pitch)
            cy.append(gy / pitch)
    if len(chars) < MIN_LINE_CHARS:
        return None
    lefts = np.array([o - first for o in offsets], dtype=np.float64)
    return Row(
        "".join(chars),
        np.array(offsets, dtype=np.int64),
        np.array(cx),
        np.array(cy),
        lefts,
        lefts + 1.0,
        0.0,
        1.0,
    )


def read_reader_pages(pages: list[PageImage], body: str, key: bytes) -> Reading:
    """The visual layer's reading of screenshots of the reader page (residuals in ems)."""
    return read_set_lines(pages, body, key, LineSetting(READER, 1.0, False, True))


@dataclass(frozen=True)
class LineSetting:
    """How the lines of an image were set where the tracer did not lay them out itself:
    the face, the pitch (ems from one character to the next), whether ambiguous-width
    characters are full width, and whether characters were also moved up and down."""

    face: str
    pitch: float
    ambiguous: bool
    vertical: bool
    max_spread: float = _READER_MAX_SPREAD


def read_set_lines(pages: list[PageImage], body: str, key: bytes, setting: LineSetting) -> Reading:
    """The visual layer's reading of images whose lines were set by a browser, one
    character a pitch (residuals in pitches)."""
    measured = _measure_set_lines(pages, body, setting)
    if measured is None:
        return empty_reading()
    offsets, rx, ry, lines = measured
    return visual.reading(key, offsets, rx, ry if setting.vertical else ry * np.nan, lines)


def _measure_set_lines(
    pages: list[PageImage], body: str, setting: LineSetting
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
    """Base offsets, residuals right and up, and evidence lines of the characters measured
    on lines set one character a pitch; None when no line could be measured."""
    offsets, rx, ry, line_numbers = [], [], [], []
    seen: set[int] = set()
    for page_number, page in enumerate(pages):
        for line in page.lines:
            row = reader_row(line, body, setting.face, setting.pitch, setting.ambiguous)
            if row is None or int(row.offsets[0]) in seen:
                continue
            measured = measure_line(page.pixels, line, row, setting.max_spread)
            if measured is None:
                continue
            seen.add(int(row.offsets[0]))
            res_x, res_y, offs = measured
            offsets.append(offs)
            rx.append(res_x)
            ry.append(res_y)
            line_numbers.append(np.full(len(offs), VISUAL_LINE + page_number))
    if not offsets:
        return None
    return (
        np.concatenate(offsets),
        np.concatenate(rx),
        np.concatenate(ry),
        np.concatenate(line_numbers),
    )
