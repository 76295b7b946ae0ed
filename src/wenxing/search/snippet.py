"""Cutting a snippet of a section around the matched terms, and where to highlight them."""

from __future__ import annotations

from bisect import bisect_left, bisect_right

from wenxing.search.tokenize import normalise, same_length_form


def snippet(text: str, terms: list[str], width: int) -> tuple[str, list[tuple[int, int]]]:
    """At most ``width`` characters of ``text`` around the terms, and where they are in it.

    The terms are found in a same-length form of the whole text (``same_length_form``:
    cheap, and its offsets are the text's); only the piece shown is fully normalised, a
    character at a time, to mark what NFKC's rarer mappings make of it as well (``…`` turns
    into three characters, ``①`` into one: the offsets are mapped back)."""
    text = text.replace("\n", " ")
    needles = [(number, t.replace(" ", "")) for number, t in enumerate(terms)]
    needles = [(number, needle) for number, needle in needles if needle]
    spans = _found(same_length_form(text, [needle for _n, needle in needles]), needles)
    start = _window(spans, width)
    end = min(len(text), start + width)
    start = max(0, min(start, end - width))
    piece = text[start:end]
    marks = {(s - start, e - start) for s, e, _n in spans if s >= start and e <= end}
    marks.update(_normal_marks(piece, needles))
    merged: list[tuple[int, int]] = []
    for s, e in sorted(marks):
        if merged and s < merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], e))
        else:
            merged.append((s, e))
    prefix = "…" if start > 0 else ""
    suffix = "…" if end < len(text) else ""
    shift = len(prefix)
    return prefix + piece + suffix, [(s + shift, e + shift) for s, e in merged]


def _normal_marks(piece: str, needles: list[tuple[int, str]]) -> set[tuple[int, int]]:
    """Where the needles are in the piece normalised character by character, as offsets
    of the piece (a needle inside one character's expansion marks that character)."""
    parts = [normalise(ch) for ch in piece]
    origin = [at for at, part in enumerate(parts) for _ in part]
    return {(origin[s], origin[e - 1] + 1) for s, e, _n in _found("".join(parts), needles)}


def _window(spans: list[tuple[int, int, int]], width: int) -> int:
    """Where a snippet of ``width`` characters starts: a quarter of the width before the
    first match whose window holds the most different terms (0 when nothing matched)."""
    present = len({n for _s, _e, n in spans})
    starts = [s for s, _e, _n in spans]
    best, start = -1, 0
    for first, _end, _n in spans:
        begin = max(0, first - width // 4)
        stop = begin + width
        held = spans[bisect_left(starts, begin) : bisect_right(starts, stop)]
        inside = len({n for _s, e, n in held if e <= stop})
        if inside > best:  # a later window must hold more terms to win
            best, start = inside, begin
            if best == present:
                break
    return start


def _found(haystack: str, needles: list[tuple[int, str]]) -> list[tuple[int, int, int]]:
    """Every occurrence of each needle: (start, end, needle number), in text order."""
    spans = []
    for number, needle in needles:
        at = haystack.find(needle)
        while at >= 0:
            spans.append((at, at + len(needle), number))
            at = haystack.find(needle, at + len(needle))
    spans.sort()
    return spans
