"""The .pdf format of a copy: an A4 document set like GB/T 9704, fingerprint and all.

The page follows the official-document layout that members know from Word: 22 lines of 28
characters in a 156 × 225 mm type area, the title in 22 pt, the body in 16 pt Song, headings
in Hei, Kai or bold by rank, page numbers ``— 1 —`` at the foot. Lines are set on that grid
here (not by a word-wrapper) so that the invisible marks never take a cell and every copy of
a version breaks its lines at the same places; the usual Chinese line-breaking rules apply:
no line starts with closing punctuation or ends with opening punctuation.

The fingerprint must survive text extraction, so the fonts are prepared once with fontTools:
every invisible mark gets an empty zero-advance glyph of its own and every look-alike its own
copy of the plain glyph, all mapped in the cmap, and the ToUnicode map written here gives
the marks back to ``pdftotext``, pypdf or a reader's copy-and-paste. The member number is
also stamped across every page as a pale watermark image: part of every print and
screenshot, never part of the extracted text. The page itself carries the code too (the
visual layer, :mod:`wenxing.fingerprint.visual`): body characters are drawn with glyphs
moved a fifth of a millimetre, see ``_VARIANTS``.

The file is written here rather than by a PDF library: a CJK face is several megabytes, and
what costs is cutting it down and compiling it, which is the same for every copy of a
version and done once (``FontBook.embedded``); so are the paragraphs' line breaks. A copy
then costs setting its pages' text and compressing it (a few tens of milliseconds for the
6,000-character sample, where fpdf2 took 175 ms).
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import tempfile
import threading
import unicodedata
import zlib
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from copy import deepcopy
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import NamedTuple

import numpy as np
from fontTools import subset as ftsubset
from fontTools import ttLib
from fontTools.ttLib.tables._g_l_y_f import Glyph
from PIL import Image, ImageDraw, ImageFont

from wenxing.delivery.layout import (
    DATELINE,
    HEADING,
    SALUTATION,
    SIGNATURE,
    CopyContent,
    Layout,
    MarkedBlock,
)
from wenxing.delivery.marking import shipped_variants
from wenxing.fingerprint import visual
from wenxing.fingerprint.plan import GLYPHS, VS_MARKS, ZW_MARKS
from wenxing.i18n import N_

# --- Page geometry (GB/T 9704), in mm unless the name says pt ---------------------------

PT = 25.4 / 72
PAGE_W, PAGE_H = 210.0, 297.0
TOP, BOTTOM, LEFT, RIGHT = 37.0, 35.0, 28.0, 26.0
CELLS, LINES = 28, 22  # characters per line, lines per page
TYPE_W = PAGE_W - LEFT - RIGHT  # 156 mm
CELL = TYPE_W / CELLS  # 5.57 mm: 16 pt glyphs set 1.3 % narrower, as Word's grid does
LINE_PITCH = (PAGE_H - TOP - BOTTOM) / LINES  # 10.23 mm
BODY_PT, TITLE_PT, HEADER_PT, FOLIO_PT = 16.0, 22.0, 9.0, 14.0
RECIPIENT_PT = 10.0  # the recipient line: a point over the masthead, in Hei (see compose)
INDENT = 2  # cells before a body paragraph's first line

# --- Line breaking on a character grid ----------------------------------------------------

# Widths are counted in half cells: a Han character or full-width mark takes 2, an ASCII
# character 1 and an invisible mark 0.
_INVISIBLE = frozenset(ZW_MARKS + VS_MARKS)
# GB/T 15834: these never start a line (the look-alikes of the middle dot behave like it, so
# that every copy of a version breaks at the same places) …
NO_START = frozenset("，。、；：？！”’）」』》〉】〕〗］｝,.;:?!)]}·・‧ \u3000")
# … and these never end one.
NO_END = frozenset("“‘（「『《〈【〔〖［｛([{")
# Closing punctuation draws in the left half of its cell and may give up the right half to
# fit a line. (Opening punctuation could give up its left half, but a glyph drawn left of
# its cell overlaps the character before it, and text extraction then reorders the two.)
_SQUEEZABLE = frozenset("，。、；：”’）」』》〉】〕〗")
# Dashes and ellipses come in pairs that are never split; look-alikes count as dashes.
_DASHES = frozenset("—" + "".join(GLYPHS["—"]))


# A full line that came out short (a character pushed over) is justified by widening its
# cells, glyphs and all, by up to this factor; one with more room to fill stays ragged. (Gaps
# between glyphs would do it too, but text extraction reads a gap as a space.)
_MAX_STRETCH = 1.04


@cache
def _half_cells(ch: str) -> int:
    if ch in _INVISIBLE or unicodedata.category(ch) in ("Mn", "Me", "Cf"):
        return 0
    return 1 if unicodedata.east_asian_width(ch) in ("Na", "H") else 2


class Cluster(NamedTuple):
    """A visible character with the invisible marks after it, set in one style (a named
    tuple: a copy makes thousands, and a frozen dataclass is slower to make)."""

    text: str
    style: str
    cells: int  # half cells

    @property
    def char(self) -> str:
        return self.text[0]


@dataclass(frozen=True, slots=True)
class Line:
    """One line of a paragraph: its clusters and where each glyph starts, in cells."""

    clusters: tuple[Cluster, ...]
    x: tuple[float, ...]
    width: float  # cells the line takes, indent included
    stretch: float = 1.0  # how much wider than a cell its characters are set (justification)

    @property
    def text(self) -> str:
        return "".join(c.text for c in self.clusters)


def clusters_of(runs: Iterable[tuple[str, str]]) -> list[Cluster]:
    """Clusters of ``(text, style)`` runs; a mark stays with the character before it."""
    out: list[Cluster] = []
    for text, style in runs:
        for piece in _CLUSTER.findall(text):  # a character and our marks after it
            width = _half_cells(piece[0])
            if width == 0 and out:
                last = out[-1]
                out[-1] = Cluster(last.text + piece, last.style, last.cells)
            else:
                out.append(Cluster(piece, style, width))
    return out


_CLUSTER = re.compile("(?s).[" + "".join(sorted(_INVISIBLE)) + "]*")


def may_break(before: Cluster, after: Cluster) -> bool:
    """Whether a line may end after ``before`` and the next start with ``after``."""
    a, b = before.char, after.char
    if b in NO_START or a in NO_END or not before.cells:
        return False  # (a cluster without cells is marks before the first character)
    if before.cells == 1 and after.cells == 1:
        return False  # inside a Latin word or a number
    return not ((a in _DASHES and b in _DASHES) or a == b == "…")


def break_lines(
    clusters: Sequence[Cluster], cells: int = CELLS, indent: int = 0, justify: bool = True
) -> list[Line]:
    """Lines of at most ``cells`` cells, the first indented by ``indent``.

    Where the natural break would leave closing punctuation at a line start (or opening
    punctuation at a line end), the line first tries to squeeze the punctuation in by
    halving punctuation marks, then pushes characters to the next line; a line without any
    allowed break is cut where it is full. Full lines that came out a little short are
    justified.
    """
    lines: list[Line] = []
    start, n = 0, len(clusters)
    while start < n:
        room = 2 * (cells - (indent if not lines else 0))
        end, used = start, 0
        while end < n and used + clusters[end].cells <= room:
            used += clusters[end].cells
            end += 1
        end = max(end, start + 1)
        squeezed: frozenset[int] = frozenset()
        if end < n and not may_break(clusters[end - 1], clusters[end]):
            pulled = _squeeze(clusters, start, end, room - used)
            if pulled is not None:
                end, squeezed = pulled
            else:
                end = _last_break(clusters, start, end) or end
        lines.append(
            _place(
                clusters[start:end],
                {i - start for i in squeezed},
                indent if not lines else 0,
                cells if justify and end < n else None,
            )
        )
        start = end
    return lines


def _squeeze(
    clusters: Sequence[Cluster], start: int, end: int, free: int
) -> tuple[int, frozenset[int]] | None:
    """Pull the clusters that may not begin the next line into this one, halving
    punctuation (the pulled mark's first) to make room; None when there is too little."""
    candidates = [i for i in range(end - 1, start - 1, -1) if clusters[i].char in _SQUEEZABLE]
    squeezed: list[int] = []
    while end < len(clusters) and not may_break(clusters[end - 1], clusters[end]):
        if clusters[end].char in _SQUEEZABLE:
            candidates.insert(0, end)
        free -= clusters[end].cells
        end += 1
        while free < 0 and candidates:
            squeezed.append(candidates.pop(0))
            free += 1
        if free < 0:
            return None
    return end, frozenset(squeezed)


def _last_break(clusters: Sequence[Cluster], start: int, end: int) -> int | None:
    for at in range(end - 1, start, -1):
        if may_break(clusters[at - 1], clusters[at]):
            return at
    return None


def _place(
    clusters: Sequence[Cluster], squeezed: set[int], indent: int, justify_to: int | None
) -> Line:
    xs: list[float] = []
    at = float(indent)
    for i, cluster in enumerate(clusters):
        width = cluster.cells / 2
        if i in squeezed:
            width -= 0.5
        xs.append(at)
        at += width
    if justify_to is not None and indent < at < justify_to:
        stretch = (justify_to - indent) / (at - indent)
        if stretch <= _MAX_STRETCH:
            xs = [indent + (x - indent) * stretch for x in xs]
            return Line(tuple(clusters), tuple(xs), float(justify_to), stretch)
    return Line(tuple(clusters), tuple(xs), at)


# --- Pages ---------------------------------------------------------------------------------

# Styles a cluster can be set in; the renderer maps them to fonts.
SONG, SONG_BOLD, KAI, HEI = "song", "song-bold", "kai", "hei"
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
        if rows and sum(map(_half_cells, joined)) <= 2 * cells:
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


_NO_MARKS = dict.fromkeys(map(ord, _INVISIBLE))
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


# --- Fonts -------------------------------------------------------------------------------

FONT_FORMAT = "wenxing-carriers-2"  # part of every prepared font's cache key: bump on change
# (2: eight variation selectors FE04–FE0B for tracing v2's selector places)
WIDE = "wide"  # WenQuanYi Micro Hei whole, for characters the other faces lack


class FontMissing(RuntimeError):
    """A font file the .pdf format needs is not installed."""


@dataclass(frozen=True)
class Face:
    key: str
    path: Path
    package: str  # the Debian package that installs the file
    number: int = 0  # face in a TrueType collection
    gb2312: bool = False  # keep only the GB 2312 repertoire (a sixth of the glyphs to load)


_WQY = Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")
FACES: dict[str, Face] = {
    SONG: Face(
        SONG,
        Path("/usr/share/fonts/truetype/arphic-gbsn00lp/gbsn00lp.ttf"),
        "fonts-arphic-gbsn00lp",
    ),
    KAI: Face(
        KAI,
        Path("/usr/share/fonts/truetype/arphic-gkai00mp/gkai00mp.ttf"),
        "fonts-arphic-gkai00mp",
    ),
    HEI: Face(HEI, _WQY, "fonts-wqy-microhei", gb2312=True),
    WIDE: Face(WIDE, _WQY, "fonts-wqy-microhei"),
}
_FACE_OF_STYLE = {SONG: SONG, SONG_BOLD: SONG, KAI: KAI, HEI: HEI}
# Tables a copy needs; the rest (vertical metrics, OpenType layout, Apple's mort) are dropped.
# (The hinting tables stay for FreeType, which draws the watermark; copies go without.)
_KEEP_TABLES = frozenset(
    {"head", "hhea", "maxp", "OS/2", "hmtx", "cmap", "loca", "glyf", "name", "post"}
    | {"fpgm", "prep", "cvt ", "gasp"}
)


def font_cache_dir() -> Path:
    """Where prepared fonts are kept: ``$WENXING_CACHE_DIR/fonts`` or the user's cache."""
    root = os.environ.get("WENXING_CACHE_DIR")
    if root:
        return Path(root) / "fonts"
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "wenxing" / "fonts"


def prepared_font(face: Face) -> Path:
    """The face with its carrier glyphs, made on first use and cached on disk.

    The cache key holds the source's size and mtime, so an upgraded Debian package is
    prepared again; the file is written atomically, so concurrent processes never read half
    of one.
    """
    try:
        stat = face.path.stat()
    except OSError:
        raise FontMissing(
            f"font file {face.path} is missing: install the Debian package {face.package}"
        ) from None
    ident = f"{FONT_FORMAT}|{face.path}|{face.number}|{face.gb2312}"
    digest = hashlib.sha256(ident.encode()).hexdigest()[:12]
    target = font_cache_dir() / f"{face.key}-{digest}-{stat.st_size}-{stat.st_mtime_ns}.ttf"
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        data = _carrier_font(face)
        fd, part = tempfile.mkstemp(dir=target.parent, prefix=target.name, suffix=".part")
        try:
            with os.fdopen(fd, "wb") as out:
                os.fchmod(fd, 0o644)  # shared by every user of the cache, like the source
                out.write(data)
            os.replace(part, target)
        except BaseException:
            Path(part).unlink(missing_ok=True)
            raise
    return target


@cache
def _gb2312() -> frozenset[int]:
    """Code points of GB 2312 (symbols and both levels of Han characters) and of ASCII."""
    points = set(range(0x20, 0x7F))
    for row in range(0xA1, 0xF8):
        for cell in range(0xA1, 0xFF):
            try:
                points.add(ord(bytes((row, cell)).decode("gb2312")))
            except UnicodeDecodeError:
                continue
    return frozenset(points)


def _carrier_font(face: Face) -> bytes:
    """The face's font with an empty zero-advance glyph for every invisible mark and a copy
    of the plain glyph for every look-alike it lacks, each mapped in the cmap."""
    # recalcBBoxes=False: outlines are copied as they are, not decoded and rebuilt
    with ttLib.TTFont(
        face.path, fontNumber=face.number, recalcBBoxes=False, recalcTimestamp=False
    ) as font:
        for tag in set(font.keys()) - _KEEP_TABLES - {"GlyphOrder"}:
            del font[tag]
        if face.gb2312:
            options = ftsubset.Options(
                glyph_names=True, notdef_outline=True, name_IDs=["*"], name_languages=["*"]
            )
            subsetter = ftsubset.Subsetter(options)
            subsetter.populate(unicodes=_gb2312())
            subsetter.subset(font)
        _add_carriers(font)
        out = io.BytesIO()
        font.save(out)
    return out.getvalue()


def _add_carriers(font: ttLib.TTFont) -> None:
    glyf, hmtx = font["glyf"], font["hmtx"]
    order = font.getGlyphOrder()
    cmap = font.getBestCmap()
    added: dict[int, str] = {}

    def add(codepoint: int, glyph: Glyph, metrics: tuple[int, int]) -> None:
        name = f"wx{codepoint:04X}"
        order.append(name)
        glyf[name] = glyph
        hmtx[name] = metrics
        added[codepoint] = name

    for mark in ZW_MARKS + VS_MARKS:
        add(ord(mark), Glyph(), (0, 0))
    for plain, alikes in GLYPHS.items():
        source = cmap.get(ord(plain))
        for alike in alikes:
            if source is not None and ord(alike) not in cmap:
                add(ord(alike), deepcopy(glyf[source]), hmtx[source])
    font.setGlyphOrder(order)
    for table in font["cmap"].tables:
        if table.isUnicode() and table.format in (4, 12):
            table.cmap.update(added)


class _LoadedFace:
    """A prepared face: its file, and its glyphs' advances (em) by code point."""

    def __init__(self, face: Face) -> None:
        self.face = face
        self.path = prepared_font(face)
        with ttLib.TTFont(self.path, lazy=True) as font:
            units, metrics = font["head"].unitsPerEm, font["hmtx"].metrics
            cmap = font.getBestCmap()
        self.advance = {point: metrics[name][0] / units for point, name in cmap.items()}


@cache
def _shared_characters() -> frozenset[int]:
    """Characters every subset holds whether a copy uses them or not: ASCII (member numbers,
    dates), the marks and look-alikes, and the words of every wording variant. What one
    recipient's copy uses and another's does not is almost always among them, so one subset
    per face serves every copy of a version."""
    chars = set(range(0x20, 0x7F)) | {ord(mark) for mark in ZW_MARKS + VS_MARKS}
    for plain, alikes in GLYPHS.items():
        chars.update(map(ord, plain + "".join(alikes)))
    for group in shipped_variants().groups:
        chars.update(ord(ch) for form in group for ch in form)
    return frozenset(chars)


def _subset(path: Path, codepoints: frozenset[int]) -> bytes:
    # Without hinting: PDF viewers do not run TrueType instructions, and they are a fifth of
    # the data.
    subsetter = ftsubset.Subsetter(ftsubset.Options(notdef_outline=True, hinting=False))
    subsetter.populate(unicodes=codepoints)
    out = io.BytesIO()
    with ttLib.TTFont(path, lazy=True, recalcBBoxes=False, recalcTimestamp=False) as font:
        subsetter.subset(font)
        font.save(out)
    return out.getvalue()


class FontBook:
    """The prepared faces of this process, and the subsets cut from them for copies."""

    def __init__(self, limit: int = 48) -> None:
        self._lock = threading.Lock()
        self._faces: dict[Face, _LoadedFace] = {}
        self._subsets: OrderedDict[tuple[Face, frozenset[int]], bytes] = OrderedDict()
        self._compiled: OrderedDict[tuple[Face, frozenset[int]], _Embedded] = OrderedDict()
        self._limit = limit

    def face(self, key: str) -> _LoadedFace:
        face = FACES[key]
        with self._lock:
            loaded = self._faces.get(face)
            if loaded is None:
                loaded = self._faces[face] = _LoadedFace(face)
            return loaded

    def subset(self, key: str, codepoints: frozenset[int]) -> bytes:
        """The face cut down to ``codepoints`` (plus .notdef), as a font file."""
        loaded = self.face(key)
        cache_key = (loaded.face, codepoints)
        with self._lock:
            data = self._subsets.get(cache_key)
            if data is not None:
                self._subsets.move_to_end(cache_key)
                return data
        data = _subset(loaded.path, codepoints)
        with self._lock:
            self._subsets[cache_key] = data
            while len(self._subsets) > self._limit:
                self._subsets.popitem(last=False)
        return data

    def embedded(self, key: str, codepoints: frozenset[int]) -> _Embedded:
        """The subset of :meth:`subset` compiled into PDF objects (once per version)."""
        cache_key = (FACES[key], codepoints)
        with self._lock:
            found = self._compiled.get(cache_key)
            if found is not None:
                self._compiled.move_to_end(cache_key)
                return found
        found = _compile_font(self.subset(key, codepoints))
        with self._lock:
            self._compiled[cache_key] = found
            while len(self._compiled) > self._limit:
                self._compiled.popitem(last=False)
        return found


FONTS = FontBook()


# --- Rendering ---------------------------------------------------------------------------

_BOLD_STROKE = 0.09  # mm of outline stroke that makes Song "bold" (there is no bold face)
_STAMP_EM, _STAMP_DPI = 13.0, 150  # type size (mm) and resolution of the watermark
_STAMP_INK, _STAMP_ANGLE = 219, 30  # gray level (255 white), degrees anticlockwise
_STAMPS = ((0.32, 0.26), (0.7, 0.44), (0.3, 0.62), (0.68, 0.8))  # centres, in page widths/heights
_STAMP_LOCK = threading.Lock()


MM = 72 / 25.4  # points per mm


def _pdf_text(text: str) -> str:
    """A PDF text string: UTF-16BE with its byte-order mark, in hex."""
    return "<FEFF" + text.encode("utf-16-be").hex().upper() + ">"


class _Pdf:
    """The bytes of a PDF file being written: numbered objects and the cross-reference."""

    def __init__(self) -> None:
        self.parts: list[bytes] = [b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"]
        self.size = len(self.parts[0])
        self.offsets: dict[int, int] = {}
        self.count = 0

    def reserve(self, how_many: int = 1) -> int:
        """The number of the first of ``how_many`` new objects."""
        first = self.count + 1
        self.count += how_many
        return first

    def put(self, number: int, body: bytes | str) -> None:
        data = body.encode("latin-1") if isinstance(body, str) else body
        self.offsets[number] = self.size
        for part in (b"%d 0 obj\n" % number, data, b"\nendobj\n"):
            self.parts.append(part)
            self.size += len(part)

    def stream(self, number: int, entries: str, data: bytes) -> None:
        head = f"<<{entries} /Length {len(data)}>>\nstream\n".encode("latin-1")
        self.put(number, head + data + b"\nendstream")

    def finish(self, root: int, info: int, file_id: str) -> bytes:
        xref = self.size
        rows = ["xref", f"0 {self.count + 1}", "0000000000 65535 f "]
        rows += [f"{self.offsets[n]:010d} 00000 n " for n in range(1, self.count + 1)]
        rows += [
            "trailer",
            f"<< /Size {self.count + 1} /Root {root} 0 R /Info {info} 0 R /ID [{file_id}] >>",
            "startxref",
            str(xref),
            "%%EOF\n",
        ]
        self.parts.append("\n".join(rows).encode("latin-1"))
        return b"".join(self.parts)


@dataclass(frozen=True)
class _Embedded:
    """A face cut down for a version's copies, compiled once into the PDF objects every copy
    of the version writes as they are: characters are numbered (CIDs) by code point, so the
    objects do not depend on which characters a copy draws or in what order."""

    name: str  # the subset's PostScript name, with its six-letter tag
    cids: dict[int, int]  # code point → CID
    widths: str  # the /W array
    descriptor: str  # the FontDescriptor's entries but /FontFile2
    font_file: bytes  # compressed
    font_length: int  # uncompressed
    to_unicode: bytes  # compressed
    cid_to_gid: bytes  # compressed
    shifted: dict[str, tuple[str, ...]] = field(default_factory=dict)  # moved glyphs' codes
    codes: dict[str, str] = field(default_factory=dict)  # character → its CID in hex

    def __post_init__(self) -> None:
        self.codes.update((chr(point), f"{cid:04X}") for point, cid in self.cids.items())

    def hex(self, text: str) -> str:
        codes = self.codes
        return "<" + "".join([codes.get(ch) or "0000" for ch in text]) + ">"

    def write(self, pdf: _Pdf) -> int:
        """Write the font's objects; the number of the one a page's resources name."""
        n = pdf.reserve(6)
        pdf.put(
            n,
            f"<< /Type /Font /Subtype /Type0 /BaseFont /{self.name} /Encoding /Identity-H "
            f"/DescendantFonts [{n + 1} 0 R] /ToUnicode {n + 4} 0 R >>",
        )
        pdf.put(
            n + 1,
            f"<< /Type /Font /Subtype /CIDFontType2 /BaseFont /{self.name} /CIDSystemInfo "
            f"<< /Registry (Adobe) /Ordering (Identity) /Supplement 0 >> /FontDescriptor "
            f"{n + 2} 0 R /DW 1000 /W {self.widths} /CIDToGIDMap {n + 5} 0 R >>",
        )
        pdf.put(n + 2, f"<< {self.descriptor} /FontFile2 {n + 3} 0 R >>")
        pdf.stream(n + 3, f" /Filter /FlateDecode /Length1 {self.font_length}", self.font_file)
        pdf.stream(n + 4, " /Filter /FlateDecode", self.to_unicode)
        pdf.stream(n + 5, " /Filter /FlateDecode", self.cid_to_gid)
        return n


# The visual layer's glyphs: every Han character of a face also as four composite glyphs,
# the plain one moved right by 0 or DX and up or down by DY (at the body's size and cell),
# a few bytes each. A copy draws a character's moved glyph in the character's own place,
# so its ink sits off the grid while text extraction sees the same glyph boxes, advances
# and Unicode as ever.
# (In the order of fingerprint.visual.variants: 2·(moved right) + (moved up).)
_VARIANTS = tuple((dx, dy) for dx in (0.0, visual.DX_MM) for dy in (-visual.DY_MM, visual.DY_MM))


def _with_shifted_glyphs(data: bytes) -> tuple[bytes, dict[int, list[int]]]:
    """The font with the moved glyphs added: its bytes, and the new glyphs' ids per code
    point (in the order of ``_VARIANTS``)."""
    from fontTools.ttLib.tables._g_l_y_f import GlyphComponent

    with ttLib.TTFont(io.BytesIO(data), recalcBBoxes=False, recalcTimestamp=False) as font:
        cmap = font.getBestCmap()
        units = font["head"].unitsPerEm
        glyf, hmtx = font["glyf"], font["hmtx"]
        order = font.getGlyphOrder()
        added: dict[int, list[str]] = {}
        for point, name in sorted(cmap.items()):
            if not visual.carries(chr(point)):
                continue
            base = glyf[name]
            if base.numberOfContours == 0:
                continue
            names = []
            for n, (dx, dy) in enumerate(_VARIANTS):
                glyph = Glyph()
                glyph.numberOfContours = -1
                component = GlyphComponent()
                component.glyphName = name
                component.x = round(dx / CELL * units)
                component.y = round(dy / (BODY_PT * PT) * units)
                component.flags = 0x2  # ARGS_ARE_XY_VALUES
                glyph.components = [component]
                if hasattr(base, "xMin"):
                    glyph.xMin, glyph.xMax = base.xMin + component.x, base.xMax + component.x
                    glyph.yMin, glyph.yMax = base.yMin + component.y, base.yMax + component.y
                variant = f"{name}.v{n}"
                glyf.glyphs[variant] = glyph
                advance, lsb = hmtx[name]
                hmtx[variant] = (advance, lsb + component.x)  # rasterisers place ink by lsb
                order.append(variant)
                names.append(variant)
            added[point] = names
        font.setGlyphOrder(order)
        glyf.glyphOrder = order
        maxp = font["maxp"]
        maxp.numGlyphs = len(order)
        maxp.maxComponentElements = max(getattr(maxp, "maxComponentElements", 0), 1)
        maxp.maxComponentDepth = max(getattr(maxp, "maxComponentDepth", 0), 1)
        out = io.BytesIO()
        font.save(out)
        ids = {point: [font.getGlyphID(v) for v in names] for point, names in added.items()}
    return out.getvalue(), ids


def _compile_font(data: bytes) -> _Embedded:
    data, moved = _with_shifted_glyphs(data)
    with ttLib.TTFont(io.BytesIO(data), lazy=True) as font:
        cmap = font.getBestCmap()
        units = font["head"].unitsPerEm
        head, hmtx, os2 = font["head"], font["hmtx"].metrics, font["OS/2"]
        points = sorted(cmap)
        glyph_ids = [font.getGlyphID(cmap[point]) for point in points]
        widths = [round(hmtx[cmap[point]][0] * 1000 / units) for point in points]
        # The moved glyphs: CIDs after the characters', each mapped to its character.
        extra = [(point, gid) for point in points for gid in moved.get(point, ())]
        widths += [round(hmtx[cmap[point]][0] * 1000 / units) for point, _gid in extra]
        family = (font["name"].getDebugName(6) or "Font").replace(" ", "")
        ascent, descent = os2.sTypoAscender, os2.sTypoDescender
        cap = getattr(os2, "sCapHeight", 0) or ascent
        box = [round(v * 1000 / units) for v in (head.xMin, head.yMin, head.xMax, head.yMax)]
    tag = "".join(chr(65 + b % 26) for b in hashlib.sha256(data).digest()[:6])
    name = f"{tag}+{''.join(ch for ch in family if ch.isalnum()) or 'Font'}"
    all_gids = glyph_ids + [gid for _point, gid in extra]
    all_points = points + [point for point, _gid in extra]
    cid_to_gid = bytearray(2 * (len(all_gids) + 1))
    for cid, gid in enumerate(all_gids, start=1):
        cid_to_gid[2 * cid : 2 * cid + 2] = gid.to_bytes(2, "big")
    entries = []
    for cid, point in enumerate(all_points, start=1):
        entries.append(f"<{cid:04X}> <{chr(point).encode('utf-16-be').hex().upper()}>")
    shifted: dict[str, tuple[str, ...]] = {}
    cid = len(points)
    for point in points:
        count = len(moved.get(point, ()))
        if count:
            shifted[chr(point)] = tuple(f"<{cid + 1 + n:04X}>" for n in range(count))
            cid += count
    blocks = []
    for at in range(0, len(entries), 100):
        chunk = entries[at : at + 100]
        blocks.append(f"{len(chunk)} beginbfchar\n" + "\n".join(chunk) + "\nendbfchar")
    to_unicode = (
        "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n"
        "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n"
        "/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n"
        "1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n"
        + "\n".join(blocks)
        + "\nendcmap\nCMapName currentdict /CMap defineresource pop\nend\nend"
    )
    return _Embedded(
        name=name,
        cids={point: cid for cid, point in enumerate(points, start=1)},
        widths=f"[1 [{' '.join(map(str, widths))}]]",
        descriptor=(
            f"/Type /FontDescriptor /FontName /{name} /Flags 4 /FontBBox [{' '.join(map(str, box))}] "
            f"/ItalicAngle 0 /Ascent {round(ascent * 1000 / units)} "
            f"/Descent {round(descent * 1000 / units)} /CapHeight {round(cap * 1000 / units)} "
            "/StemV 80 /MissingWidth 1000"
        ),
        font_file=zlib.compress(data, 6),
        font_length=len(data),
        to_unicode=zlib.compress(to_unicode.encode("ascii"), 6),
        cid_to_gid=zlib.compress(bytes(cid_to_gid), 6),
        shifted=shifted,
    )


class PdfFormat:
    """A4 PDF laid out like a GB/T 9704 document, with embedded fonts that carry the marks.

    The file is written here, not by a PDF library: what every copy of a version shares
    (its fonts, cut down and compiled into PDF objects, and the breaks of its paragraphs)
    is made once, so a copy costs setting its pages' text and compressing them.
    """

    name = "pdf"
    media_type = "application/pdf"
    label = N_("PDF .pdf")

    def prepare(self, layout: Layout, masthead: tuple[str, ...]) -> PreparedPdf:
        for key in (SONG, KAI, HEI):
            FONTS.face(key)  # a missing font fails here, once, with the package to install
        return PreparedPdf(
            title_lines(layout.title or ""), header_lines(masthead), header_lines(masthead[:1])
        )

    def render(self, prepared: PreparedPdf, content: CopyContent) -> bytes:
        advances = _Advances()
        pages = compose(prepared, content)
        fonts_of_rows = [[_fonts_of(row, advances) for row in page.rows] for page in pages]
        used: dict[str, set[int]] = {}
        for page, fonts in zip(pages, fonts_of_rows, strict=True):
            for row, row_fonts in zip(page.rows, fonts, strict=True):
                for cluster, font in zip(row.line.clusters, row_fonts, strict=True):
                    used.setdefault(font, set()).update(map(ord, cluster.text))
        embedded = {
            font: FONTS.embedded(font, frozenset(_shared_characters() | points))
            for font, points in sorted(used.items())
        }
        names = {font: f"F{n}" for n, font in enumerate(embedded, start=1)}
        shift = _Shifts(content)
        pdf = _Pdf()
        catalog, tree, info, resources = (pdf.reserve() for _ in range(4))
        stamp_number = _write_stamp(pdf, content.member_number)
        font_refs = " ".join(
            f"/{names[font]} {emb.write(pdf)} 0 R" for font, emb in embedded.items()
        )
        pdf.put(
            resources,
            f"<< /ProcSet [/PDF /Text /ImageB] /Font << {font_refs} >> "
            f"/XObject << /I1 {stamp_number} 0 R >> >>",
        )
        kids = []
        stamp_w, stamp_h = _stamp_size(content.member_number)
        for page, fonts in zip(pages, fonts_of_rows, strict=True):
            ops = _page_ops(stamp_w, stamp_h)
            for row, row_fonts in zip(page.rows, fonts, strict=True):
                ops.extend(_row_ops(row, row_fonts, advances, embedded, names, shift))
            ops.append("ET")
            number, contents = pdf.reserve(), pdf.reserve()
            pdf.put(
                number,
                f"<< /Type /Page /Parent {tree} 0 R /Resources {resources} 0 R "
                f"/Contents {contents} 0 R >>",
            )
            pdf.stream(contents, " /Filter /FlateDecode", zlib.compress("\n".join(ops).encode(), 6))
            kids.append(f"{number} 0 R")
        pdf.put(
            tree,
            f"<< /Type /Pages /Kids [{' '.join(kids)}] /Count {len(kids)} "
            f"/MediaBox [0 0 {PAGE_W * MM:.2f} {PAGE_H * MM:.2f}] >>",
        )
        pdf.put(
            catalog,
            f"<< /Type /Catalog /Pages {tree} 0 R /Lang (zh-CN) /PageLayout /OneColumn >>",
        )
        issued = content.issued_on.replace("-", "")
        pdf.put(
            info,
            f"<< /Title {_pdf_text(content.title or '')} "
            f"/Subject {_pdf_text(f'会员专属副本 {content.copy_tag}')} "
            f"/Keywords {_pdf_text(content.copy_tag)} /Creator {_pdf_text('wenxing')} "
            f"/CreationDate (D:{issued}000000Z) >>",
        )
        tag = content.copy_tag.encode("ascii").hex().upper()
        return pdf.finish(catalog, info, f"<{tag}><{tag}>")


class _Shifts:
    """Which moved glyph each body character of a copy is drawn with (the visual layer's
    variant, by base offset), for copies that carry it."""

    def __init__(self, content: CopyContent) -> None:
        self.kinds: list[int] = []
        if content.visual_key is None or not content.blocks:
            return
        length = content.blocks[-1].block.end + 1
        self.kinds = visual.variants(
            content.visual_key, content.member_number, np.arange(length)
        ).tolist()


def _page_ops(stamp_w: float, stamp_h: float) -> list[str]:
    ops = [
        f"q {stamp_w * MM:.2f} 0 0 {stamp_h * MM:.2f} {(fx * PAGE_W - stamp_w / 2) * MM:.2f} "
        f"{(PAGE_H - fy * PAGE_H - stamp_h / 2) * MM:.2f} cm /I1 Do Q"
        for fx, fy in _STAMPS  # first, so that everything else is drawn over it
    ]
    rule_y = (PAGE_H - (TOP - 3.5)) * MM
    ops.append(
        f"0.6667 G {0.2 * MM:.2f} w {LEFT * MM:.2f} {rule_y:.2f} m "
        f"{(PAGE_W - RIGHT) * MM:.2f} {rule_y:.2f} l S"  # under the header
    )
    ops.append(f"0 G {_BOLD_STROKE * MM:.2f} w BT")
    return ops


class _Advances(dict[str, dict[int, float]]):
    """Glyph advances (em) per font, a face loaded the first time a copy needs it."""

    def __missing__(self, key: str) -> dict[int, float]:
        advances = self[key] = FONTS.face(key).advance
        return advances


def _font_for(style: str, ch: str, advances: _Advances) -> str:
    """The style's face, or the wide Hei for a character that face lacks."""
    key = _FACE_OF_STYLE[style]
    if ord(ch) in advances[key] or _half_cells(ch) == 0 or ord(ch) not in advances[WIDE]:
        return key
    return WIDE


_FONT_OF: dict[tuple[str, str], str] = {}  # (style, character) → face: faces never change


def _fonts_of(row: Row, advances: _Advances) -> list[str]:
    out = []
    for cluster in row.line.clusters:
        key = (cluster.style, cluster.text[0])
        font = _FONT_OF.get(key)
        if font is None:
            font = _FONT_OF[key] = _font_for(key[0], key[1], advances)
        out.append(font)
    return out


_JUMP = 0.1  # cells: a glyph further than this from where the one before ends is placed anew


def _row_ops(
    row: Row,
    fonts: list[str],
    advances: _Advances,
    embedded: dict[str, _Embedded],
    names: dict[str, str],
    shift: _Shifts,
) -> list[str]:
    """The text operators of one row.

    Glyphs of one font follow each other in one string, small moves (justification, the
    visual layer's shifts) as adjustments inside it; a change of font or a larger move
    (squeezed punctuation, a gap) places the next string anew. Text extraction orders the
    strings of a line by where they start, so a character's marks never end a string that
    another continues at the same place: they begin that next string instead.
    """
    line = row.line
    stretch = line.stretch
    baseline = (PAGE_H - row.baseline) * MM
    ops = [f"{row.gray / 255:.4f} g {100 * row.cell * stretch / (row.size * PT):.2f} Tz"]
    text: list[str] = []  # the TJ array being built
    current: tuple[str, bool] | None = None
    pen = -1e9  # cells: where the next glyph would go
    pending = ""  # marks waiting for the next string
    visible = row.origin - 1
    per_cell = -1000 / stretch  # TJ units per cell of move
    kinds = shift.kinds if row.origin >= 0 else None
    clusters, xs = line.clusters, line.x
    last = len(clusters) - 1
    for i, cluster in enumerate(clusters):
        if not cluster.cells:  # marks before the first character
            pending += cluster.text
            continue
        visible += 1
        font, bold = fonts[i], cluster.style == SONG_BOLD
        emb = embedded[font]
        x = xs[i]
        if (font, bold) != current or abs(x - pen) > _JUMP:
            if text:
                ops.append(f"[{' '.join(text)}] TJ")
                text = []
            if (font, bold) != current:
                ops.append(f"/{names[font]} {row.size:.2f} Tf {2 if bold else 0} Tr")
                current = (font, bold)
            ops.append(f"1 0 0 1 {(row.left + x * row.cell) * MM:.3f} {baseline:.3f} Tm")
            if pending:
                text.append(emb.hex(pending))
                pending = ""
        elif abs(x - pen) > 1e-6:
            text.append(f"{(x - pen) * per_cell:.1f}")
        char = cluster.text[0]
        moved = emb.shifted.get(char) if kinds else None
        if kinds and moved is not None:
            text.append(moved[kinds[visible]])
        else:
            text.append(emb.hex(char))
        pen = x + advances[font].get(ord(char), 0.0) * stretch
        marks = cluster.text[1:]
        if marks:
            follows = i < last and (
                (fonts[i + 1], clusters[i + 1].style == SONG_BOLD) != (font, bold)
                or abs(xs[i + 1] - pen) > _JUMP
            )
            if follows:
                pending = marks
            else:
                text.append(emb.hex(marks))
    if pending:  # a line of marks only
        if current is None:
            ops.append(f"/{names[fonts[0]]} {row.size:.2f} Tf 0 Tr")
            ops.append(f"1 0 0 1 {(row.left + xs[0] * row.cell) * MM:.3f} {baseline:.3f} Tm")
        text.append(embedded[fonts[0]].hex(pending))
    if text:
        ops.append(f"[{' '.join(text)}] TJ")
    return ops


_STAMPS_KEPT = 256
_stamps: OrderedDict[str, tuple[bytes, int, int]] = OrderedDict()


def _stamp_image(member_number: str) -> tuple[bytes, int, int]:
    """The member's watermark, compressed, and its size in pixels (cached per member)."""
    with _STAMP_LOCK:
        found = _stamps.get(member_number)
        if found is not None:
            _stamps.move_to_end(member_number)
            return found
    image = _stamp(member_number)
    found = (zlib.compress(image.tobytes(), 6), image.width, image.height)
    with _STAMP_LOCK:
        _stamps[member_number] = found
        while len(_stamps) > _STAMPS_KEPT:
            _stamps.popitem(last=False)
    return found


def _stamp_size(member_number: str) -> tuple[float, float]:
    _data, width, height = _stamp_image(member_number)
    return width / _STAMP_DPI * 25.4, height / _STAMP_DPI * 25.4


def _write_stamp(pdf: _Pdf, member_number: str) -> int:
    """The watermark as an image drawn on every page by reference (as vector outlines it
    would be written out, and compressed, on every page)."""
    data, width, height = _stamp_image(member_number)
    number = pdf.reserve()
    pdf.stream(
        number,
        f" /Type /XObject /Subtype /Image /Width {width} /Height {height} "
        "/ColorSpace /DeviceGray /BitsPerComponent 8 /Filter /FlateDecode",
        data,
    )
    return number


def _stamp(text: str) -> Image.Image:
    """The watermark: ``text`` pale grey at an angle, as a grayscale image on white."""
    font = _stamp_font()
    with _STAMP_LOCK:  # a FreeType face is not to be used by two threads at once
        left, top, right, bottom = font.getbbox(text)
        margin = font.size // 8
        image = Image.new(
            "L", (int(right - left + 2 * margin), int(bottom - top + 2 * margin)), 255
        )
        ImageDraw.Draw(image).text((margin - left, margin - top), text, font=font, fill=_STAMP_INK)
    return image.rotate(_STAMP_ANGLE, expand=True, fillcolor=255, resample=Image.Resampling.BICUBIC)


@cache
def _stamp_font() -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(FONTS.face(HEI).path), round(_STAMP_EM / 25.4 * _STAMP_DPI))
