"""The .pdf format of a copy: an A4 document set like GB/T 9704, fingerprint and all.

The page follows the official-document layout that members know from Word: 22 lines of 28
characters in a 156 × 225 mm type area, the title in 22 pt, the body in 16 pt Song, headings
in Hei, Kai or bold by rank, page numbers ``— 1 —`` at the foot. Lines are set on that grid
here (not by a word-wrapper) so that the invisible marks never take a cell and every copy of
a version breaks its lines at the same places; the usual Chinese line-breaking rules apply:
no line starts with closing punctuation or ends with opening punctuation.

The fingerprint must survive text extraction, so the fonts are prepared once with fontTools:
every invisible mark gets an empty zero-advance glyph of its own and every look-alike its own
copy of the plain glyph, all mapped in the cmap. fpdf2 then writes a ToUnicode map that gives
the marks back to ``pdftotext``, pypdf or a reader's copy-and-paste. The member number is
also stamped across every page as a pale watermark image: part of every print and
screenshot, never part of the extracted text.

A CJK face is several megabytes and fpdf2 subsets every font it embeds on every output, which
takes it over a second for a full face. Handing it a face already cut down to the copy's
characters (one cached subset serves every copy of a version) keeps a copy of a
6,000-character material near a tenth of a second.
"""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
import threading
import unicodedata
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from copy import deepcopy
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

from fontTools import subset as ftsubset
from fontTools import ttLib
from fontTools.ttLib.tables._g_l_y_f import Glyph
from fpdf import FPDF
from fpdf.enums import TextMode
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


@dataclass(frozen=True, slots=True)
class Cluster:
    """A visible character with the invisible marks after it, set in one style."""

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
        for ch in text:
            width = _half_cells(ch)
            if width == 0 and out:
                last = out[-1]
                out[-1] = Cluster(last.text + ch, last.style, last.cells)
            else:
                out.append(Cluster(ch, style, width))
    return out


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
    """The lines of one block (a run-in heading in its own face) and their alignment."""
    style = block.block.style
    head_style = _HEADING_STYLE.get(block.block.rank, SONG)
    clusters = clusters_of([(block.head, head_style), (block.text, SONG)])
    if style == HEADING and block.block.rank == 0:
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

    def place(line: Line, size: float, align: str) -> None:
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
        pages[-1].append(Row(line, left, _grid_baseline(at, size), cell, size))
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
        for n, line in enumerate(lines):
            if n == over:
                at = LINES  # the next line starts a page
            place(line, BODY_PT, align)

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


FONTS = FontBook()


# --- Rendering ---------------------------------------------------------------------------

_BOLD_STROKE = 0.09  # mm of outline stroke that makes Song "bold" (there is no bold face)
_STAMP_EM, _STAMP_DPI = 13.0, 150  # type size (mm) and resolution of the watermark
_STAMP_INK, _STAMP_ANGLE = 219, 30  # gray level (255 white), degrees anticlockwise
_STAMPS = ((0.32, 0.26), (0.7, 0.44), (0.3, 0.62), (0.68, 0.8))  # centres, in page widths/heights
_STAMP_LOCK = threading.Lock()


@dataclass(slots=True)
class _Run:
    """Text drawn by one operator: one font, each glyph where the one before it ends."""

    font: str
    bold: bool
    x: float  # cells
    text: str
    end: float = 0.0  # where the next glyph would go


class _CopyPdf(FPDF):
    """An A4 document whose info names the copy and whose file identifier is its tag."""

    def __init__(self, content: CopyContent) -> None:
        super().__init__(unit="mm", format="A4")
        self._copy_tag = content.copy_tag
        self.set_title(content.title or "")
        self.set_subject(f"会员专属副本 {content.copy_tag}")
        self.set_keywords(content.copy_tag)
        self.set_creator("wenxing")
        self.set_lang("zh-CN")
        self.set_creation_date(datetime.fromisoformat(content.issued_on).replace(tzinfo=UTC))
        self.set_auto_page_break(False)

    def file_id(self) -> str:
        tag = self._copy_tag.encode("ascii").hex().upper()
        return f"<{tag}><{tag}>"


class PdfFormat:
    """A4 PDF laid out like a GB/T 9704 document, with embedded fonts that carry the marks."""

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
        pages = [
            [(row, _runs(row, advances)) for row in page.rows]
            for page in compose(prepared, content)
        ]
        pdf = _CopyPdf(content)
        with tempfile.TemporaryDirectory(prefix="wenxing-pdf-") as folder:
            _embed_fonts(pdf, pages, Path(folder))
            stamp = _stamp(content.member_number)
            for rows in pages:
                _draw_page(pdf, rows, stamp)
            return bytes(pdf.output())


def _embed_fonts(pdf: FPDF, pages: list[list[tuple[Row, list[_Run]]]], folder: Path) -> None:
    """Add every font the runs use, cut down to the characters any copy of the version may
    need (fpdf2 reads fonts from files, and cuts them down again to what it draws)."""
    used: dict[str, set[int]] = {}
    for rows in pages:
        for _row, runs in rows:
            for run in runs:
                used.setdefault(run.font, set(_shared_characters())).update(map(ord, run.text))
    for font, codepoints in used.items():
        path = folder / f"{font}.ttf"
        path.write_bytes(FONTS.subset(font, frozenset(codepoints)))
        pdf.add_font(font, fname=path)
        # The subset keeps the source's bounding boxes; recomputing them would decode and
        # re-encode every outline when fpdf2 subsets it (~0.3 s a face).
        pdf.fonts[font].ttfont.recalcBBoxes = False  # type: ignore[union-attr]  # a TrueType font


def _draw_page(pdf: FPDF, rows: list[tuple[Row, list[_Run]]], stamp: Image.Image) -> None:
    pdf.add_page()
    width, height = (side / _STAMP_DPI * 25.4 for side in stamp.size)
    for fx, fy in _STAMPS:  # first, so that everything else is drawn over it
        pdf.image(stamp, x=fx * PAGE_W - width / 2, y=fy * PAGE_H - height / 2, w=width, h=height)
    pdf.set_draw_color(170)
    pdf.set_line_width(0.2)
    pdf.line(LEFT, TOP - 3.5, PAGE_W - RIGHT, TOP - 3.5)  # under the header
    pdf.set_draw_color(0)
    pdf.set_line_width(_BOLD_STROKE)
    for row, runs in rows:
        pdf.set_text_color(row.gray)
        pdf.set_stretching(100 * row.cell * row.line.stretch / (row.size * PT))
        for run in runs:
            pdf.set_font(run.font, size=row.size)
            pdf.text_mode = TextMode.FILL_STROKE if run.bold else TextMode.FILL
            pdf.text(row.left + run.x * row.cell, row.baseline, run.text)


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


def _runs(row: Row, advances: _Advances) -> list[_Run]:
    """The row's text operators: one per stretch of a font whose glyphs sit where the
    advances of those before them put them (on the squeezed grid one em is one cell).

    Text extraction puts the runs of a line in order by where they start, so a character's
    marks never end a run that another continues at the same place: they begin that next
    run instead, drawn in its font.
    """
    line = row.line
    fonts = [_font_for(c.style, c.char, advances) for c in line.clusters]
    runs: list[_Run] = []
    pending = ""  # marks waiting for the next run
    for i, (cluster, x) in enumerate(zip(line.clusters, line.x, strict=True)):
        if not cluster.cells:  # marks before the first character
            pending += cluster.text
            continue
        font, bold = fonts[i], cluster.style == SONG_BOLD
        last = runs[-1] if runs else None
        if last and not pending and (last.font, last.bold) == (font, bold) and _at(last.end, x):
            last.text += cluster.char
        else:
            runs.append(_Run(font, bold, x, pending + cluster.char))
            pending = ""
        run = runs[-1]
        run.end = x + advances[font].get(ord(cluster.char), 0.0) * line.stretch
        follows = i + 1 < len(fonts) and (
            (fonts[i + 1], line.clusters[i + 1].style == SONG_BOLD) != (font, bold)
            or not _at(run.end, line.x[i + 1])
        )
        if follows:
            pending = cluster.text[1:]
        else:
            run.text += cluster.text[1:]
    if pending:  # a line of marks only
        runs.append(_Run(fonts[0], False, line.x[0], pending))
    return runs


def _at(a: float, b: float) -> bool:
    return abs(a - b) < 1e-6


def _stamp(text: str) -> Image.Image:
    """The watermark: ``text`` pale grey at an angle, as a grayscale image on white.

    An image is drawn once per copy and placed on every page by reference; the same stamp
    as vector outlines would be written out, and compressed, on every page (3× the time).
    """
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
