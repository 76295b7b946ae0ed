"""The visual layer: the member's code in where each character sits on the page.

Every Han character of a copy's body is drawn a hair off its place on the grid: a shift to
the right (0 or ``DX_MM``) and up or down (``± DY_MM``). Which way is a keyed function of
the member's code, spread over the characters: the base text is cut into groups of
``GROUP`` characters (by base offset), each group carries one code position per axis, and
each character of the group multiplies that position's symbol by a keyed ±1 chip. A
reader sees an evenly set page (the shifts are a fifth of a millimetre, under 4 % of a
character); an image of the page shows them to anyone who knows where each character
should be, which the tracer does: it lays out the base text as the copy was laid out,
measures each character's ink centroid against the line through its neighbours, and
correlates the residuals with the chips.

Positions are ``layers.position_id(VISUAL_CODE, offset // GROUP, axis)``; the bits are the
member's bits at those ids (:func:`wenxing.fingerprint.code.member_bits`), so the visual
layer is decoded and combined like any other.

The pure part lives here (which characters carry, the chips, each character's shift, and
turning measured residuals into a :class:`~wenxing.fingerprint.read.Reading`); drawing is
the renderers' and measuring images is :mod:`wenxing.reports.visual`'s.
"""

from __future__ import annotations

import unicodedata

import numpy as np

from wenxing.fingerprint import layers, prf
from wenxing.fingerprint.code import member_bits
from wenxing.fingerprint.plan import VS_MARKS, ZW_MARKS
from wenxing.fingerprint.read import Reading, empty_reading

GROUP = 4  # characters per code position and axis
DX_MM = 0.2  # a character is drawn 0 or this far right of its place …
DY_MM = 0.1  # … and this far above or below it (on a 16 pt body: 3.6 % and 1.8 % of an em)
X_AXIS, Y_AXIS = 0, 1
# A position is read when its correlation is at least this many standard deviations of
# its noise from zero; weaker ones are erasures (a wrong symbol costs more than a missing one).
MIN_Z = 1.0
CLIP = 2.5


def carries(ch: str) -> bool:
    """Whether a character carries the visual layer: CJK unified ideographs."""
    point = ord(ch)
    return 0x4E00 <= point <= 0x9FFF or 0x3400 <= point <= 0x4DBF


_MARKS = frozenset(ZW_MARKS + VS_MARKS)


def takes_no_place(ch: str) -> bool:
    """What takes no place in the base text: our marks, any other format or combining mark
    (a page's characters are counted by base offset without them)."""
    return ch in _MARKS or unicodedata.category(ch) in ("Mn", "Me", "Cf")


def position_ids(offsets: np.ndarray, axis: int) -> np.ndarray:
    offsets = np.asarray(offsets, dtype=np.int64)
    return layers.position_id(layers.VISUAL_CODE, offsets // GROUP, axis)


def chips(key: bytes, offsets: np.ndarray, axis: int) -> np.ndarray:
    """The keyed ±1 chip of each character (by base offset) on one axis (int8)."""
    words = prf.keyed(
        prf.key_word(key, f"visual-chip-{axis}"), np.asarray(offsets, dtype=np.uint64)
    )
    return np.where((words & np.uint64(1)).astype(bool), 1, -1).astype(np.int8)


def shifts(key: bytes, member: str, offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each character's shift in mm, ``(dx, dy)``, for the characters at base ``offsets``
    (dy positive is up). dx is 0 or ``DX_MM`` so that characters never move left of where
    the invisible marks after the previous one sit (text extraction keeps its order)."""
    offsets = np.asarray(offsets, dtype=np.int64)
    out = []
    for axis in (X_AXIS, Y_AXIS):
        bits = member_bits(key, member, position_ids(offsets, axis)).astype(np.int8)
        out.append((2 * bits - 1) * chips(key, offsets, axis))
    sx, sy = out
    return np.where(sx > 0, DX_MM, 0.0), sy * DY_MM


def variants(key: bytes, member: str, offsets: np.ndarray) -> np.ndarray:
    """Each character's shift as one of four variants: ``2·(moved right) + (moved up)``."""
    dx, dy = shifts(key, member, offsets)
    return (2 * (dx > 0) + (dy > 0)).astype(np.int8)


# The reader page draws the same shifts in ems of its body type (the .pdf's 16-pt em).
DX_EM = DX_MM / (16 * 25.4 / 72)
DY_EM = DY_MM / (16 * 25.4 / 72)


def reading(
    key: bytes,
    offsets: np.ndarray,
    residual_x: np.ndarray,
    residual_y: np.ndarray,
    lines: np.ndarray,
    min_z: float = MIN_Z,
) -> Reading:
    """The code positions read from measured residuals (mm, relative to each line's fit;
    NaN where a character was not measured) of characters at base ``offsets``.

    Per position and axis the score is ``Σ chip·residual``; its noise is estimated from the
    residuals themselves (median absolute deviation, robust to the signal), and a position
    whose score is within ``min_z`` noise deviations of zero is an erasure.
    """
    offsets = np.asarray(offsets, dtype=np.int64)
    lines = np.asarray(lines, dtype=np.int64)
    ids_out, symbols_out, lines_out, offsets_out = [], [], [], []
    for axis, residual in ((X_AXIS, residual_x), (Y_AXIS, residual_y)):
        residual = np.asarray(residual, dtype=np.float64)
        ok = np.isfinite(residual)
        if ok.sum() < GROUP:
            continue
        res, offs, lns = residual[ok], offsets[ok], lines[ok]
        centred = res - np.median(res)
        sigma = max(1.4826 * float(np.median(np.abs(centred))), 1e-6)
        # A character measured far off (a misread neighbour, a speck) counts no more than a
        # clear one: the residuals are clipped at CLIP noise deviations.
        centred = np.clip(centred, -CLIP * sigma, CLIP * sigma)
        score = chips(key, offs, axis) * centred
        groups, inverse = np.unique(offs // GROUP, return_inverse=True)
        total = np.bincount(inverse, weights=score)
        count = np.bincount(inverse)
        where = np.full(len(groups), len(offs), dtype=np.int64)
        np.minimum.at(where, inverse, np.arange(len(offs)))  # each group's first character
        z = total / (sigma * np.sqrt(count))
        keep = np.abs(z) >= min_z
        ids_out.append(position_ids(groups[keep] * GROUP, axis))
        symbols_out.append((total[keep] > 0).astype(np.uint8))
        lines_out.append(lns[where[keep]])
        offsets_out.append(offs[where[keep]])
    if not ids_out:
        return empty_reading()
    ids = np.concatenate(ids_out)
    seen = len(np.unique(offsets // GROUP)) * 2
    return Reading(
        ids,
        np.concatenate(symbols_out),
        np.concatenate(lines_out),
        np.concatenate(offsets_out),
        {"visual": seen},
        {"visual": len(ids)},
        0.0,
    )


# --- The .docx copy's stretches (wenxing.delivery.docx_visual) ---------------------------

DOCX_GROUP = 7  # characters per raised or unraised stretch, one code position each
DOCX_AXIS = 2  # its positions' axis number, apart from the .pdf's two axes


def docx_position_ids(offsets: np.ndarray) -> np.ndarray:
    offsets = np.asarray(offsets, dtype=np.int64)
    return layers.position_id(layers.VISUAL_CODE, offsets // DOCX_GROUP, DOCX_AXIS)


def docx_raised(key: bytes, member: str, offsets: np.ndarray) -> np.ndarray:
    """Whether the characters at base ``offsets`` are raised in the member's .docx copy."""
    return member_bits(key, member, docx_position_ids(offsets)).astype(bool)


def docx_reading(
    offsets: np.ndarray, residual_up: np.ndarray, lines: np.ndarray, min_z: float = MIN_Z
) -> Reading:
    """The code positions read from measured heights (relative to each line's baseline
    fit; NaN where not measured) of characters of a .docx page at base ``offsets``: a
    stretch whose characters sit higher than the middle of the page's two levels is a 1.

    The noise is estimated from the spread of characters within their stretches (robust,
    free of the signal); a stretch within ``min_z`` deviations of the median is an erasure.
    """
    offsets = np.asarray(offsets, dtype=np.int64)
    residual = np.asarray(residual_up, dtype=np.float64)
    ok = np.isfinite(residual)
    if ok.sum() < 2 * DOCX_GROUP:
        return empty_reading()
    res, offs, lns = residual[ok], offsets[ok], np.asarray(lines, dtype=np.int64)[ok]
    groups, inverse = np.unique(offs // DOCX_GROUP, return_inverse=True)
    count = np.bincount(inverse)
    mean = np.bincount(inverse, weights=res) / count
    within = res - mean[inverse]
    sigma = max(1.4826 * float(np.median(np.abs(within[count[inverse] > 1]))), 1e-6)
    # About half the stretches are raised: the heights fall in two clusters, and the middle
    # between the quartiles (one in each) is the level between raised and not.
    low, high = np.percentile(mean, [25, 75])
    centred = mean - (low + high) / 2
    z = centred / (sigma / np.sqrt(count))
    keep = (np.abs(z) >= min_z) & (count >= 2)
    first = np.full(len(groups), len(offs), dtype=np.int64)
    np.minimum.at(first, inverse, np.arange(len(offs)))
    ids = docx_position_ids(groups[keep] * DOCX_GROUP)
    return Reading(
        ids,
        (centred[keep] > 0).astype(np.uint8),
        lns[first[keep]],
        offs[first[keep]],
        {"visual": len(groups)},
        {"visual": len(ids)},
        0.0,
    )
