"""Heading numbers of a draft: 一、（一）1.（1）, counted anew in the draft's order.

Pure: the draft's headings come in as levels (1 一、, 2 （一）, 3 1., 4 （1）) and go out as
markers. A heading counts on from the last heading of its level under the same parent, and
every deeper level starts again at 1 after it, as a speechwriter numbers by hand.
"""

from __future__ import annotations

from collections.abc import Sequence

from wenxing.materials.outline import heading_marker

LEVELS = (1, 2, 3, 4)
_DIGITS = "零一二三四五六七八九"


def chinese_number(n: int) -> str:
    """1 一, 10 十, 11 十一, 20 二十, 105 一百零五 (1 to 9999)."""
    if not 0 < n < 10_000:
        raise ValueError(f"no Chinese numeral for {n}")
    if n < 10:
        return _DIGITS[n]
    if n < 20:
        return "十" + (_DIGITS[n - 10] if n > 10 else "")
    out = ""
    pending_zero = False
    for value, unit in ((1000, "千"), (100, "百"), (10, "十"), (1, "")):
        digit = n // value % 10
        if digit == 0:
            pending_zero = bool(out)
            continue
        out += ("零" if pending_zero else "") + _DIGITS[digit] + unit
        pending_zero = False
    return out


def marker(level: int, n: int) -> str:
    """The marker of the ``n``-th heading of ``level``."""
    if level == 1:
        return f"{chinese_number(n)}、"
    if level == 2:
        return f"（{chinese_number(n)}）"
    if level == 3:
        return f"{n}."
    if level == 4:
        return f"（{n}）"
    raise ValueError(f"no heading level {level}")


def clamp(level: int) -> int:
    return min(max(level, LEVELS[0]), LEVELS[-1])


def renumber(levels: Sequence[int]) -> list[str]:
    """The marker of each heading, in order (levels outside 1–4 are set at the nearest)."""
    counts = dict.fromkeys(LEVELS, 0)
    out = []
    for raw in levels:
        level = clamp(raw)
        counts[level] += 1
        for deeper in LEVELS[level:]:
            counts[deeper] = 0
        out.append(marker(level, counts[level]))
    return out


def split_marker(heading: str) -> tuple[int | None, str]:
    """(rank, text after the marker) of a heading; (None, heading) when it has no marker of
    the four renumbered ranks (第X章 and 第X条 keep their own words)."""
    found = heading_marker(heading)
    if found is None or found[0] not in LEVELS:
        return None, heading
    at = heading.find(found[1])
    return found[0], heading[at + len(found[1]) :].lstrip("　 、，")


def piece_levels(ranks: Sequence[int | None], level: int) -> list[int | None]:
    """The draft levels of a piece's headings: its first heading (rank ``ranks[0]``) is set
    at ``level`` and the ones under it keep their distance from it. A heading without a
    renumbered rank stays None (kept as it is)."""
    top = next((r for r in ranks if r is not None), None)
    if top is None:
        return [None] * len(ranks)
    return [None if r is None else clamp(level + r - top) for r in ranks]
