"""Normalising evidence and aligning it to the base text.

Both texts are reduced to a skeleton: NFKC per character (full-width and compatibility
forms folded), traditional characters folded to simplified when the caller passes a fold
table (OpenCC's, built outside this pure library), no whitespace, no invisible or
unassigned characters and no fillers (whoever inserted them, they are not ours), look-alike
glyphs folded to their plain form. Our own invisible marks are kept aside, attached to the
visible character they follow, so their places survive whatever was inserted around them. The skeletons are then aligned by unique
8-character anchors, extended into maximal matching runs; short gaps between runs (wording
variants, OCR errors, dropped characters) are aligned character by character. Pieces of
the base in any order (reordered or pasted paragraphs) align independently.
"""

from __future__ import annotations

import itertools
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from wenxing.fingerprint.plan import GLYPHS, is_family_mark

# Categories that never show as a character: format, marks, controls, unassigned, private
# use, surrogates. A leaker's inserted U+2065, U+FFF0 or U+E0080 goes with them.
_DROPPED_CATEGORIES = frozenset({"Cf", "Mn", "Me", "Cc", "Cn", "Co", "Cs"})
# Letters that show as blanks (Hangul fillers, the braille blank) and other
# default-ignorable code points that are not format characters.
FILLERS = frozenset("\u115f\u1160\u3164\uffa0\u2800\u17b4\u17b5\u034f\u180e")


def is_foreign(ch: str) -> bool:
    """An invisible, unassigned or filler character that is not one of our mark families."""
    if is_family_mark(ch):
        return False
    return ch in FILLERS or unicodedata.category(ch) in _DROPPED_CATEGORIES


_FOLD = {look: plain for plain, looks in GLYPHS.items() for look in looks}
ANCHOR = 8
_MAX_GAP = 48


@dataclass
class Skeleton:
    """A text reduced for alignment, with what was set aside."""

    chars: list[str] = field(default_factory=list)  # skeleton characters
    visible: list[str] = field(default_factory=list)  # the same before glyph folding
    origin: list[int] = field(default_factory=list)  # offset in the original text
    marks: list[str] = field(default_factory=list)  # our invisible marks after each char
    line: list[int] = field(default_factory=list)  # line number in the original text

    @property
    def text(self) -> str:
        return "".join(self.chars)


def skeleton(text: str, fold: Mapping[str, str] | None = None) -> Skeleton:
    """The text's skeleton; ``fold`` maps single characters to the form both sides take
    (traditional to simplified)."""
    result = Skeleton()
    line = 0
    fold = fold or {}
    for offset, ch in enumerate(text):
        if is_family_mark(ch):
            if result.marks:
                result.marks[-1] += ch
            continue
        if ch == "\n":
            line += 1
            continue
        if ch.isspace() or is_foreign(ch):
            continue
        for out in unicodedata.normalize("NFKC", ch):
            if out.isspace() or is_foreign(out):
                continue
            out = fold.get(out, out)
            result.chars.append(_FOLD.get(out, out))
            result.visible.append(out)
            result.origin.append(offset)
            result.marks.append("")
            result.line.append(line)
    return result


def _anchors(base: str, evidence: str) -> dict[int, int]:
    """evidence offset → base offset where an 8-gram occurs once in each text."""
    seen: dict[str, int] = {}
    repeated: set[str] = set()
    for b in range(len(base) - ANCHOR + 1):
        gram = base[b : b + ANCHOR]
        if gram in seen:
            repeated.add(gram)
        else:
            seen[gram] = b
    anchors: dict[int, int] = {}
    for e in range(len(evidence) - ANCHOR + 1):
        found = seen.get(evidence[e : e + ANCHOR])
        if found is not None and evidence[e : e + ANCHOR] not in repeated:
            anchors[e] = found
    return anchors


def _runs(base: str, evidence: str, anchors: dict[int, int]) -> list[tuple[int, int, int]]:
    """Maximal exact runs (e_start, b_start, length) grown from anchors, non-overlapping in e."""
    runs: list[tuple[int, int, int]] = []
    covered_until = -1
    for e in sorted(anchors):
        if e < covered_until:
            continue
        b = anchors[e]
        while e > 0 and b > 0 and evidence[e - 1] == base[b - 1] and e - 1 >= covered_until:
            e, b = e - 1, b - 1
        length = 0
        while (
            e + length < len(evidence)
            and b + length < len(base)
            and (evidence[e + length] == base[b + length])
        ):
            length += 1
        runs.append((e, b, length))
        covered_until = e + length
    return runs


def _fill_gap(
    base: str, evidence: str, b0: int, b1: int, e0: int, e1: int, e_of_b: np.ndarray
) -> None:
    """Align a short gap between two runs: one to one when lengths match, else edit distance."""
    nb, ne = b1 - b0, e1 - e0
    if nb <= 0 or ne <= 0 or nb > _MAX_GAP or ne > _MAX_GAP:
        return
    if nb == ne:
        e_of_b[b0:b1] = np.arange(e0, e1)
        return
    cost = np.zeros((nb + 1, ne + 1), dtype=np.int32)
    cost[:, 0] = np.arange(nb + 1)
    cost[0, :] = np.arange(ne + 1)
    for i in range(1, nb + 1):
        for j in range(1, ne + 1):
            same = base[b0 + i - 1] == evidence[e0 + j - 1]
            cost[i, j] = min(
                cost[i - 1, j - 1] + (0 if same else 1), cost[i - 1, j] + 1, cost[i, j - 1] + 1
            )
    i, j = nb, ne
    while i > 0 and j > 0:
        same = base[b0 + i - 1] == evidence[e0 + j - 1]
        if cost[i, j] == cost[i - 1, j - 1] + (0 if same else 1):
            e_of_b[b0 + i - 1] = e0 + j - 1
            i, j = i - 1, j - 1
        elif cost[i, j] == cost[i - 1, j] + 1:
            i -= 1
        else:
            j -= 1


def align(base: str, evidence: str) -> np.ndarray:
    """For each base skeleton offset, the aligned evidence offset or −1."""
    e_of_b = np.full(len(base), -1, dtype=np.int64)
    runs = _runs(base, evidence, _anchors(base, evidence))
    # Keep long runs first where they disagree on the base side (a repeated phrase).
    taken = np.zeros(len(base), dtype=bool)
    kept = []
    for e, b, length in sorted(runs, key=lambda r: -r[2]):
        if length < ANCHOR or taken[b : b + length].any():
            continue
        taken[b : b + length] = True
        kept.append((e, b, length))
        e_of_b[b : b + length] = np.arange(e, e + length)
    kept.sort()
    for (e0, b0, n0), (e1, b1, _n1) in itertools.pairwise(kept):
        _fill_gap(base, evidence, b0 + n0, b1, e0 + n0, e1, e_of_b)
    return e_of_b
