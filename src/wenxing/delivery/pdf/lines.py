"""Line breaking on the character grid: clusters (a character and its invisible marks),
the Chinese rules on what may start or end a line, squeezing and justifying a full line."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import NamedTuple

from wenxing.delivery.pdf.geometry import CELLS
from wenxing.fingerprint.plan import GLYPHS, VS_MARKS, ZW_MARKS

# --- Line breaking on a character grid ----------------------------------------------------

# Widths are counted in half cells: a Han character or full-width mark takes 2, an ASCII
# character 1 and an invisible mark 0.
INVISIBLE = frozenset(ZW_MARKS + VS_MARKS)
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
def half_cells(ch: str) -> int:
    if ch in INVISIBLE or unicodedata.category(ch) in ("Mn", "Me", "Cf"):
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
            width = half_cells(piece[0])
            if width == 0 and out:
                last = out[-1]
                out[-1] = Cluster(last.text + piece, last.style, last.cells)
            else:
                out.append(Cluster(piece, style, width))
    return out


_CLUSTER = re.compile("(?s).[" + "".join(sorted(INVISIBLE)) + "]*")


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
