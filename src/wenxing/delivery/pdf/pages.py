"""Setting a copy's lines on pages: the title, masthead and recipient rows, paragraphs by
style and rank (their breaks kept per version), page numbers."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass

from wenxing.delivery.layout import (
    DATELINE,
    HEADING,
    SALUTATION,
    SIGNATURE,
    CopyContent,
    MarkedBlock,
)
from wenxing.delivery.pdf.fonts import FONTS
from wenxing.delivery.pdf.geometry import (
    BODY_PT,
    BOTTOM,
    CELL,
    FOLIO_PT,
    HEADER_PT,
    HEI,
    INDENT,
    KAI,
    LEFT,
    LINE_PITCH,
    LINES,
    PAGE_H,
    PAGE_W,
    PT,
    RECIPIENT_PT,
    RIGHT,
    SONG,
    SONG_BOLD,
    TITLE_PT,
    TOP,
    TYPE_W,
)
from wenxing.delivery.pdf.lines import (
    INVISIBLE,
    Cluster,
    Line,
    break_lines,
    clusters_of,
    half_cells,
)

# --- Pages ---------------------------------------------------------------------------------

_HEADING_STYLE = {0: HEI, 1: HEI, 2: KAI, 3: SONG_BOLD}  # ranks 4 and 5: the body face
LEFT_ALIGN, CENTRE, RIGHT_ALIGN = "left", "centre", "right"


@dataclass(frozen=True, slots=True)
class Row:
    """A line placed on a page."""

    line: Line
    left: float  # mm from the page edge to the line's cell 0
    baseline: float  # mm from the page top
    cell: float  # mm per cell
    size: float  # font size in pt
    gray: int = 0  # 0 black … 255 white
    origin: int = -1  # body rows: base offset of the line's first visible character


@dataclass(frozen=True)
class Page:
    number: int
    header: tuple[Row, ...]
    body: tuple[Row, ...]
    folio: Row

    @property
    def rows(self) -> tuple[Row, ...]:
        return (*self.header, *self.body, self.folio)


@dataclass(frozen=True)
class PreparedPdf:
    """What every copy of a version shares: the title's lines and the masthead's."""

    title: tuple[Line, ...]
    masthead: tuple[Line, ...]  # page 1: every masthead line
    masthead_short: tuple[Line, ...]  # later pages: the first one


def _grid_baseline(line: int, size: float) -> float:
    # The glyph's ideographic em box (−0.12 … 0.88 em) centred in the grid line.
    return TOP + (line + 0.5) * LINE_PITCH + 0.38 * size * PT


def _cells(size: float) -> int:
    return int(TYPE_W / (size * PT) + 1e-9)


def title_lines(title: str) -> tuple[Line, ...]:
    return tuple(break_lines(clusters_of([(title, SONG)]), _cells(TITLE_PT), justify=False))


def header_lines(
    texts: Sequence[str], size: float = HEADER_PT, style: str = SONG
) -> tuple[Line, ...]:
    """Header texts in rows of small type, whole texts side by side where they fit."""
    cells = _cells(size)
    rows: list[str] = []
    for text in (t.strip() for t in texts):
        if not text:
            continue
        joined = f"{rows[-1]}\u3000\u3000{text}" if rows else text
        if rows and sum(map(half_cells, joined)) <= 2 * cells:
            rows[-1] = joined
        else:
            rows.append(text)
    return tuple(
        line for row in rows for line in break_lines(clusters_of([(row, style)]), cells, 0, False)
    )


def paragraph_lines(block: MarkedBlock) -> tuple[list[Line], str]:
    """The lines of one block (a run-in heading in its own face) and their alignment.

    Invisible marks take no cells, so where a block breaks depends on its visible text
    only: the breaks are computed once per visible text (every copy of a version shares
    them) and this copy's clusters, marks and all, are dealt into them.
    """
    head_style = _HEADING_STYLE.get(block.block.rank, SONG)
    clusters = clusters_of([(block.head, head_style), (block.text, SONG)])
    if clusters and not clusters[0].cells:  # marks before the first character: no sharing
        return _paragraph_lines(block.block.style, block.block.rank, clusters)
    visible = "".join(c.char for c in clusters)
    key = (block.block.style, block.block.rank, visible, len(block.head.translate(_NO_MARKS)))
    shape = _LINE_SHAPES.get(key)
    if shape is None:
        lines, align = _paragraph_lines(block.block.style, block.block.rank, clusters)
        shape = ([(len(line.clusters), line.x, line.width, line.stretch) for line in lines], align)
        with _SHAPES_LOCK:
            _LINE_SHAPES[key] = shape
            while len(_LINE_SHAPES) > _SHAPES_KEPT:
                _LINE_SHAPES.pop(next(iter(_LINE_SHAPES)))
    out, at = [], 0
    for count, xs, width, stretch in shape[0]:
        out.append(Line(tuple(clusters[at : at + count]), xs, width, stretch))
        at += count
    return out, shape[1]


_NO_MARKS = dict.fromkeys(map(ord, INVISIBLE))
_LINE_SHAPES: dict[tuple, tuple[list[tuple[int, tuple[float, ...], float, float]], str]] = {}
_SHAPES_KEPT = 20000  # blocks (a long material has a few hundred)
_SHAPES_LOCK = threading.Lock()


def _paragraph_lines(style: str, rank: int, clusters: list[Cluster]) -> tuple[list[Line], str]:
    if style == HEADING and rank == 0:
        return break_lines(clusters, justify=False), CENTRE
    if style == SALUTATION:
        return break_lines(clusters), LEFT_ALIGN
    if style == DATELINE:
        return break_lines(clusters, justify=False), CENTRE
    if style == SIGNATURE:
        return break_lines(clusters, justify=False), RIGHT_ALIGN
    return break_lines(clusters, indent=INDENT), LEFT_ALIGN


def compose(prepared: PreparedPdf, content: CopyContent) -> list[Page]:
    """The copy's pages: title and blocks flowed through the grid, headers and folios added."""
    pages: list[list[Row]] = [[]]
    at = 0  # grid line on the current page

    def place(line: Line, size: float, align: str, origin: int = -1) -> None:
        nonlocal at
        if at == LINES:
            pages.append([])
            at = 0
        cell = CELL if size == BODY_PT else size * PT  # only the body keeps the 28-cell grid
        left = LEFT
        if align == CENTRE:
            left += (TYPE_W - line.width * cell) / 2
        elif align == RIGHT_ALIGN:
            left += TYPE_W - line.width * cell
        pages[-1].append(Row(line, left, _grid_baseline(at, size), cell, size, 0, origin))
        at += 1

    for line in prepared.title:
        place(line, TITLE_PT, CENTRE)
    at += 1 if prepared.title else 0  # a blank line under the title
    for number, block in enumerate(content.blocks):
        if not block.whole:
            continue
        lines, align = paragraph_lines(block)
        room = LINES - at
        # A heading does not end a page: it goes over with the first line of its text. Nor
        # does a paragraph leave its first or its last line alone on a page (as Word's
        # widow and orphan control): one line more goes over.
        keep = block.block.style == HEADING and number + 1 < len(content.blocks)
        over = room if len(lines) > room else None
        if (keep and at > 0 and len(lines) + 1 > room) or (over == 1 and at > 0):
            over = 0
        elif over is not None and len(lines) - over == 1 and over > 1:
            over -= 1
        origin = block.block.start
        for n, line in enumerate(lines):
            if n == over:
                at = LINES  # the next line starts a page
            place(line, BODY_PT, align, origin)
            origin += sum(1 for c in line.clusters if c.cells)

    # The recipient line in Hei at its own widths: in the Song's thin fixed-pitch Latin a
    # phone screenshot (a page 720 px wide) read the member number wrong in most trials
    # (W as M or Y), and a one-page screenshot is traced by this line alone.
    advances = FONTS.face(HEI).advance
    recipient = tuple(
        _proportional(line, advances)
        for line in header_lines([content.recipient_line], RECIPIENT_PT, HEI)
    )
    return [
        Page(
            number,
            _header_rows(prepared.masthead if number == 1 else prepared.masthead_short, recipient),
            tuple(rows),
            _folio(number),
        )
        for number, rows in enumerate(pages, start=1)
    ]


def _header_rows(masthead: tuple[Line, ...], recipient: tuple[Line, ...]) -> tuple[Row, ...]:
    """Header lines stacked up from just above the type area: masthead grey, recipient black."""
    lines = [(line, 110, HEADER_PT) for line in masthead]
    lines += [(line, 0, RECIPIENT_PT) for line in recipient]
    bottom = TOP - 6.0
    leading = min(4.2, (bottom - 8.0) / max(len(lines) - 1, 1))  # a long masthead packs closer
    return tuple(
        Row(line, LEFT, bottom - (len(lines) - 1 - i) * leading, size * PT, size, gray)
        for i, (line, gray, size) in enumerate(lines)
    )


def _proportional(line: Line, advances: dict[int, float]) -> Line:
    """The line with each glyph where the one before it ends (in ems), off the grid: Hei's
    Latin is proportional, and glyphs on half cells would stand apart."""
    xs, at = [], 0.0
    for cluster in line.clusters:
        xs.append(at)
        at += advances.get(ord(cluster.char), cluster.cells / 2) if cluster.cells else 0.0
    return Line(line.clusters, tuple(xs), at)


def _folio(number: int) -> Row:
    """``— n —`` 7 mm under the type area: odd pages right, even pages left, one em in."""
    cell = FOLIO_PT * PT
    line = break_lines(clusters_of([(f"— {number} —", SONG)]), 40, 0, False)[0]
    left = PAGE_W - RIGHT - cell - line.width * cell if number % 2 else LEFT + cell
    return Row(line, left, PAGE_H - BOTTOM + 7.0 + 0.35 * FOLIO_PT * PT, cell, FOLIO_PT)
