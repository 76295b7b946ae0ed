"""Reading the visual layer out of an image of a page (see :mod:`wenxing.fingerprint.visual`).

Tesseract names the lines of an image and where they are (its TSV word boxes); each line's
text is matched to a line of the version laid out as the .pdf copy lays it out, so the
tracer knows which character should be where and how its ink sits in its cell. Each
character's ink centroid is then measured in the image (within its cell, as far as the
line's mapping from the page to the image says where that is), the line's mapping is fitted
to the centroids (a quadratic along the line: a photograph's perspective bends it a
little), and what is left over, character by character, is the shift the copy drew plus
noise. :func:`wenxing.fingerprint.visual.reading` correlates the residuals with the chips.

Nothing here depends on the member: the same measurement serves every candidate.
"""

from __future__ import annotations

import difflib
import itertools
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from wenxing.delivery import pdf
from wenxing.delivery.layout import CopyContent, Layout, unmarked
from wenxing.fingerprint import visual
from wenxing.fingerprint.read import Reading, empty_reading
from wenxing.reports.ocr_lines import OcrLine, PageImage

MIN_LINE_CHARS = 6
# Evidence line of a page's visual positions: one segment per page image (a page is one
# copy's), apart from the text reading's lines.
VISUAL_LINE = 1_000_000  # characters a line needs to be measured (its fit has 3 unknowns)


# --- The page as the copy set it ------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    """A body line of the laid-out version: its carrying characters and where their ink
    centroids fall (mm from the page's left edge; mm above the baseline)."""

    text: str  # the carrying characters, in order
    offsets: np.ndarray  # base offset of each
    centre_x: np.ndarray
    centre_up: np.ndarray
    cell_left: np.ndarray  # each character's cell, mm
    cell_right: np.ndarray
    baseline: float  # mm from the page top
    em: float  # mm


_ROWS_KEPT = 16
_rows_cache: OrderedDict[tuple, tuple[Row, ...]] = OrderedDict()
_rows_lock = threading.Lock()


def expected_rows(layout: Layout, body: str) -> tuple[Row, ...]:
    """The version's body lines as every .pdf copy sets them (shifts aside)."""
    key = (layout.title, body, layout.blocks)
    with _rows_lock:
        found = _rows_cache.get(key)
        if found is not None:
            return found
    found = _expected_rows(layout, body)
    with _rows_lock:
        _rows_cache[key] = found
        while len(_rows_cache) > _ROWS_KEPT:
            _rows_cache.popitem(last=False)
    return found


def _expected_rows(layout: Layout, body: str) -> tuple[Row, ...]:
    fmt = pdf.PdfFormat()
    prepared = fmt.prepare(layout, ())
    content = CopyContent(
        title=layout.title,
        blocks=unmarked(layout, body),
        toc=layout.toc,
        masthead=(),
        recipient_line="",
        member_number="",
        issued_on="2000-01-01",
        copy_tag="",
        copy_id=0,
    )
    advances = pdf.Advances()
    rows = []
    for page in pdf.compose(prepared, content):
        for row in page.body:
            if row.origin < 0:
                continue
            line = row.line
            em = row.size * pdf.PT
            chars, offsets, cx, cy, left, right = [], [], [], [], [], []
            visible = row.origin - 1
            for cluster, x in zip(line.clusters, line.x, strict=True):
                if not cluster.cells:
                    continue
                visible += 1
                ch = cluster.char
                if not visual.carries(ch):
                    continue
                face = pdf.font_for(cluster.style, ch, advances)
                gx, gy = glyph_centroid(face, ch)
                advance = advances[face].get(ord(ch), 1.0) * line.stretch
                chars.append(ch)
                offsets.append(visible)
                cx.append(row.left + (x + gx * line.stretch) * row.cell)
                cy.append(gy * em)
                left.append(row.left + x * row.cell)
                right.append(row.left + (x + advance) * row.cell)
            if len(chars) >= MIN_LINE_CHARS:
                rows.append(
                    Row(
                        "".join(chars),
                        np.array(offsets, dtype=np.int64),
                        np.array(cx),
                        np.array(cy),
                        np.array(left),
                        np.array(right),
                        row.baseline,
                        em,
                    )
                )
    return tuple(rows)


# The reader page's body face where no Chinese system serif is installed (Debian's
# Chromium falls back to it for the page's serif stack): the glyphs screenshots are read with.
READER = "reader"
READER_FONT = Path("/usr/share/fonts/truetype/arphic/uming.ttc")

_centroids: dict[tuple[str, str], tuple[float, float]] = {}
_centroid_lock = threading.Lock()
_raster_fonts: dict[str, ImageFont.FreeTypeFont] = {}
_RASTER_EM = 160  # pixels per em of the glyphs whose ink is measured


def glyph_centroid(face: str, ch: str) -> tuple[float, float]:
    """The centroid of a glyph's ink in ems: right of its origin, up from the baseline.

    Measured on the glyph drawn by FreeType, as a page is: the outlines of these faces
    overlap (strokes laid over strokes), so an area integral over them would count the
    overlaps twice and miss the centroid by a few hundredths of an em.
    """
    key = (face, ch)
    found = _centroids.get(key)
    if found is not None:
        return found
    with _centroid_lock:
        font = _raster_fonts.get(face)
        if font is None:
            path = str(READER_FONT if face == READER else pdf.FONTS.face(face).path)
            font = _raster_fonts[face] = ImageFont.truetype(path, _RASTER_EM)
        size = 2 * _RASTER_EM
        origin_x, origin_y = _RASTER_EM // 2, int(1.4 * _RASTER_EM)
        image = Image.new("L", (size, size), 0)
        ImageDraw.Draw(image).text((origin_x, origin_y), ch, font=font, fill=255, anchor="ls")
    ink = np.asarray(image, dtype=np.float64)
    total = ink.sum()
    if total <= 0:
        found = (0.5, 0.38)
    else:
        x = (ink.sum(axis=0) @ np.arange(size)) / total + 0.5
        y = (ink.sum(axis=1) @ np.arange(size)) / total + 0.5
        found = ((x - origin_x) / _RASTER_EM, (origin_y - y) / _RASTER_EM)
    _centroids[key] = found
    return found


# --- Measuring an image -----------------------------------------------------------------------


def carried(text: str) -> str:
    return "".join(ch for ch in text if visual.carries(ch))


def _match_rows(lines: tuple[OcrLine, ...], rows: tuple[Row, ...]) -> list[tuple[OcrLine, int]]:
    """Each OCR line with the index of the version row it shows (lines that match none
    are left out)."""
    index: dict[str, set[int]] = {}
    for n, row in enumerate(rows):
        for a, b in itertools.pairwise(row.text):
            index.setdefault(a + b, set()).add(n)
    out = []
    for line in lines:
        han = carried(line.text)
        if len(han) < MIN_LINE_CHARS:
            continue
        hits: dict[int, int] = {}
        for a, b in itertools.pairwise(han):
            for n in index.get(a + b, ()):
                hits[n] = hits.get(n, 0) + 1
        if not hits:
            continue
        best = max(hits, key=lambda n: hits[n])
        if hits[best] >= max(3, 0.35 * (len(han) - 1)):
            out.append((line, best))
    return out


def _fit(x: np.ndarray, y: np.ndarray, degree: int) -> tuple[np.ndarray, np.ndarray]:
    """A robust polynomial fit of ``y`` on ``x``: coefficients and the inliers."""
    keep = np.isfinite(y)
    coef = np.zeros(degree + 1)
    for _ in range(3):
        if keep.sum() <= degree + 2:
            break
        coef = np.polyfit(x[keep], y[keep], degree)
        residual = y - np.polyval(coef, x)
        spread = 1.4826 * np.median(np.abs(residual[keep])) + 1e-9
        keep = np.isfinite(y) & (np.abs(residual) <= 4 * spread + 0.05)
    return coef, keep


# Pixels per unit of a row (a mm of a .pdf page, a pitch of a set line) beyond which a
# mapping is taken as wrong: a 16-pt character is 66 px at 300 dpi, a mm 12 px.
_MAX_SCALE = 200.0


def _initial_map(line: OcrLine, row: Row) -> tuple[np.ndarray, int, int] | None:
    """A first mapping from the row (mm) to the image (px) from Tesseract's word boxes:
    each recognised character matched to the row's, at the centre of its share of its
    word's box; a robust line through those. With the first and last row characters seen."""
    words = line.words or ((line.text, line.box),)
    text, centres = [], []
    for word, (w_left, _top, w_right, _bottom) in words:
        han = carried(word)
        for k, ch in enumerate(han):
            text.append(ch)
            centres.append(w_left + (k + 0.5) * (w_right - w_left) / len(han))
    matcher = difflib.SequenceMatcher(None, "".join(text), row.text, autojunk=False)
    pairs = [
        (block.b + k, centres[block.a + k])
        for block in matcher.get_matching_blocks()
        for k in range(block.size)
    ]
    if len(pairs) < MIN_LINE_CHARS:
        return None
    at = np.array([row.cell_left[c] + row.cell_right[c] for c, _px in pairs]) / 2
    px = np.array([p for _c, p in pairs])
    # Theil–Sen: the median of pairwise slopes, robust to misread and misplaced characters.
    i, j = np.triu_indices(len(at), 1)
    apart = np.abs(at[j] - at[i]) > 1.0
    if not apart.any():
        return None
    scale = float(np.median((px[j] - px[i])[apart] / (at[j] - at[i])[apart]))
    if not 1.0 < scale < _MAX_SCALE:
        return None
    offset = float(np.median(px - scale * at))
    seen = [c for c, _px in pairs]
    return np.array([scale, offset]), min(seen), max(seen)


def _register(
    pixels: np.ndarray,
    box: tuple[int, int, int, int],
    floor: float,
    x_map: np.ndarray,
    row: Row,
    chars: np.ndarray,
) -> list[np.ndarray]:
    """Mappings from the first one corrected so that the cells' edges fall in the gaps between
    characters: a search over scale (± 3 %) and offset (± 0.7 of a cell) for the least ink
    under the edges, in the line's column profile."""
    _left, top, _right, bottom = box
    height, width = pixels.shape
    band = pixels[max(0, top) : min(height, bottom), :].astype(np.float64)
    profile = np.clip(floor - band, 0, None).sum(axis=0)
    edges = np.concatenate((row.cell_left[chars], [row.cell_right[chars[-1]]]))
    scale, offset = float(x_map[0]), float(x_map[1])
    cell_px = scale * float(np.median(row.cell_right - row.cell_left))
    middle = float(edges.mean())
    factors = np.linspace(0.97, 1.03, 25)
    shifts = np.arange(-0.7 * cell_px, 0.7 * cell_px, 0.5)
    # px of every edge for every (factor, shift): scale about the line's middle
    at = (
        (scale * middle + offset)
        + factors[:, None, None] * scale * (edges - middle)[None, None, :]
        + shifts[None, :, None]
    )
    cost = np.interp(at, np.arange(width), profile, left=np.inf, right=np.inf).sum(axis=2)
    maps: list[np.ndarray] = []
    taken: list[float] = []
    for flat in np.argsort(cost, axis=None):
        f, d = np.unravel_index(flat, cost.shape)
        if not np.isfinite(cost[f, d]) or len(maps) == _CANDIDATES:
            break
        if any(abs(shifts[d] - t) < 0.3 * cell_px for t in taken):
            continue
        taken.append(float(shifts[d]))
        new_scale = factors[f] * scale
        maps.append(np.array([new_scale, scale * middle + offset + shifts[d] - new_scale * middle]))
    return maps


_CANDIDATES = 3  # registrations tried per line; the one whose residuals are least wins
# A line whose residuals (after the best registration) spread more than this (mm, median
# absolute deviation) is misread or misregistered: it is left out.
_MAX_SPREAD = 0.17


def measure_line(
    pixels: np.ndarray, line: OcrLine, row: Row, max_spread: float = 0.0
) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """Residual shifts (mm, right and up) of the row's characters that the line shows,
    NaN where not measured, and which characters those are; None when the line cannot be
    fitted."""
    guess = _initial_map(line, row)
    if guess is None:
        return None
    x_map, first, last = guess
    scale = float(x_map[0])
    left, top, right, bottom = line.box
    chars = np.arange(first, last + 1)
    height, width = pixels.shape
    patch_top = max(0, int(top - 0.5 * row.em * scale))
    patch_bottom = min(height, int(bottom + 0.5 * row.em * scale) + 1)
    region = pixels[patch_top:patch_bottom, max(0, left - 5) : min(width, right + 5)]
    if region.size == 0:
        return None
    paper = float(np.percentile(region, 95))
    ink = float(np.percentile(region, 2))
    if paper - ink < 40:
        return None
    floor = paper - 0.15 * (paper - ink)
    best: tuple[float, np.ndarray, np.ndarray] | None = None
    for candidate in _register(pixels, line.box, floor, x_map, row, chars):
        measured = _centroids_fit(pixels, floor, candidate, bottom, row, chars)
        if measured is not None and (best is None or measured[0] < best[0]):
            best = measured
    if best is None or best[0] > (max_spread or _MAX_SPREAD):
        return None
    return best[1], best[2], row.offsets[chars]


def _centroids_fit(
    pixels: np.ndarray, floor: float, x_map: np.ndarray, bottom: int, row: Row, chars: np.ndarray
) -> tuple[float, np.ndarray, np.ndarray] | None:
    """Ink centroids of the characters and the line's mapping fitted to them, from a first
    mapping: the residuals' spread, and the residuals (mm) right and up."""
    height, width = pixels.shape
    scale = float(x_map[0])
    y_base = np.array([0.0, bottom - 0.12 * row.em * scale])  # baseline px along the line (mm)
    cx_mm, up_mm = row.centre_x[chars], row.centre_up[chars]
    mx = np.full(len(chars), np.nan)
    my = np.full(len(chars), np.nan)
    keep_x = keep_y = np.zeros(len(chars), dtype=bool)
    for _round in range(3):
        for k, c in enumerate(chars):
            x0 = np.polyval(x_map, row.cell_left[c])
            x1 = np.polyval(x_map, row.cell_right[c])
            base = np.polyval(y_base, row.centre_x[c])
            y0, y1 = base - 0.98 * row.em * scale, base + 0.3 * row.em * scale
            ix0, ix1 = max(0, int(np.floor(x0))), min(width, int(np.ceil(x1)))
            iy0, iy1 = max(0, int(np.floor(y0))), min(height, int(np.ceil(y1)))
            if ix1 - ix0 < 3 or iy1 - iy0 < 3:
                mx[k] = my[k] = np.nan
                continue
            window = floor - pixels[iy0:iy1, ix0:ix1].astype(np.float64)
            np.clip(window, 0, None, out=window)
            total = window.sum()
            if total <= 0:
                mx[k] = my[k] = np.nan
                continue
            mx[k] = ix0 + (window.sum(axis=0) @ np.arange(ix1 - ix0)) / total + 0.5
            my[k] = iy0 + (window.sum(axis=1) @ np.arange(iy1 - iy0)) / total + 0.5
        degree = 2 if len(chars) >= 12 else 1
        x_map, keep_x = _fit(cx_mm, mx, degree)
        scale = float(np.polyval(np.polyder(x_map), cx_mm.mean()))
        if not 1.0 < scale < _MAX_SCALE:
            return None
        y_base, keep_y = _fit(cx_mm, my + up_mm * scale, 1)
    residual_x = np.where(keep_x, (mx - np.polyval(x_map, cx_mm)) / scale, np.nan)
    residual_up = np.where(
        keep_y, -(my + up_mm * scale - np.polyval(y_base, cx_mm)) / scale, np.nan
    )
    if np.isfinite(residual_x).sum() < MIN_LINE_CHARS:
        return None
    # The residuals' robust spread: the drawn shifts (± 0.1 mm) and a little noise for a
    # line read right; whole glyphs' differences for one registered a cell off.
    spread = (_spread(residual_x) + _spread(residual_up)) / 2
    return spread, residual_x, residual_up


def _spread(residual: np.ndarray) -> float:
    return 1.4826 * float(np.nanmedian(np.abs(residual - np.nanmedian(residual))))


def read_pdf_pages(pages: list[PageImage], layout: Layout, body: str, key: bytes) -> Reading:
    """The visual layer's reading of images of the version's .pdf pages."""
    rows = expected_rows(layout, body)
    if not rows:
        return empty_reading()
    offsets, rx, ry, line_numbers = [], [], [], []
    used: set[int] = set()
    for page_number, page in enumerate(pages):
        for line, row_index in _match_rows(page.lines, rows):
            if row_index in used:
                continue
            measured = measure_line(page.pixels, line, rows[row_index])
            if measured is None:
                continue
            used.add(row_index)
            res_x, res_y, offs = measured
            offsets.append(offs)
            rx.append(res_x)
            ry.append(res_y)
            line_numbers.append(np.full(len(offs), VISUAL_LINE + page_number))
    if not offsets:
        return empty_reading()
    return visual.reading(
        key,
        np.concatenate(offsets),
        np.concatenate(rx),
        np.concatenate(ry),
        np.concatenate(line_numbers),
    )
