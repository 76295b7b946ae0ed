"""Which material an excerpt comes from: a winnowed n-gram index over every version.

Texts are reduced the same way on both sides (NFKC; traditional characters folded to
simplified with OpenCC's table, as search does; no whitespace, punctuation, invisible
characters or fillers; every wording variant replaced by its group's first form, so a
marked copy and its base look alike), hashed as 10-character grams, and winnowed with a
window of 30 grams: any stretch of 39 or more characters shared with a material shares at
least one indexed gram, whatever the surrounding changes. An excerpt of 100 characters
with a few typos still has several such stretches.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from functools import lru_cache
from importlib import resources
from typing import TypeVar

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from wenxing.fingerprint.align import FILLERS, align, skeleton
from wenxing.fingerprint.variants import parse_variant_list
from wenxing.materials.shingles import rolling_hashes

K = TypeVar("K")
GRAM = 10
WINDOW = 30


@lru_cache(maxsize=1)
def _variant_pattern() -> tuple[re.Pattern[str], dict[str, str]]:
    text = resources.files("wenxing.fingerprint").joinpath("data/variants.txt").read_text("utf-8")
    canonical = {form: group[0] for group in parse_variant_list(text).groups for form in group}
    forms = sorted(canonical, key=len, reverse=True)
    return re.compile("|".join(map(re.escape, forms))), canonical


@lru_cache(maxsize=1)
def t2s_fold() -> dict[str, str]:
    """Traditional → simplified for single Han characters (OpenCC's t2s table, shipped in
    its wheel): the fold both sides of an alignment take (``fingerprint.align.skeleton``).
    Character by character, so offsets and the marks after each character stay put."""
    import opencc

    chars = [chr(c) for c in range(0x4E00, 0xA000)] + [chr(c) for c in range(0x3400, 0x4DC0)]
    converted = opencc.OpenCC("t2s").convert("\n".join(chars)).split("\n")
    if len(converted) != len(chars):  # a phrase rule joined lines: fall back one by one
        converted = [opencc.OpenCC("t2s").convert(ch) for ch in chars]
    return {a: b for a, b in zip(chars, converted, strict=True) if a != b and len(b) == 1}


def reduce_text(text: str) -> str:
    """The form both an indexed text and evidence take before hashing."""
    kept = []
    fold = t2s_fold()
    for ch in unicodedata.normalize("NFKC", text):
        category = unicodedata.category(ch)
        if ch.isspace() or category[0] in "PCZM" or category == "So" or ch in FILLERS:
            continue
        kept.append(fold.get(ch, ch))
    pattern, canonical = _variant_pattern()
    return pattern.sub(lambda m: canonical[m.group(0)], "".join(kept))


def winnow(text: str) -> np.ndarray:
    """The selected gram hashes of a text (signed 63-bit, distinct)."""
    hashes = rolling_hashes(reduce_text(text), GRAM)
    count = len(hashes)
    if count == 0:
        return np.zeros(0, dtype=np.int64)
    if count <= WINDOW:
        chosen = hashes[[int(np.argmin(hashes))]]
    else:
        windows = sliding_window_view(hashes, WINDOW)
        picks = np.arange(len(windows)) + windows.argmin(axis=1)
        chosen = hashes[np.unique(picks)]
    return np.unique((chosen >> np.uint64(1)).astype(np.int64))


MIN_ALIGNED_CHARS = 30


def claim(
    text: str, candidates: Sequence[tuple[K, str]], min_chars: int = MIN_ALIGNED_CHARS
) -> list[tuple[K, float, int]]:
    """Which candidate texts the evidence holds: ``(key, share of the candidate the evidence
    covers, evidence characters aligned to it and to no better match)``, best first.

    Each candidate is aligned to the evidence (``fingerprint.align`` on both skeletons,
    folded to simplified); the evidence characters a better match took are not counted
    again, so two versions of one material, or a material quoting another, do not both
    count the same stretch, while two materials pasted into one file, or a copy inside a
    longer unrelated document, are each found."""
    fold = t2s_fold()
    evidence = skeleton(text, fold).text
    aligned = []
    for order, (key, body) in enumerate(candidates):
        aligned.append((order, key, align(skeleton(body, fold).text, evidence)))
    aligned.sort(key=lambda item: (-int(np.sum(item[2] >= 0)), item[0]))
    taken = np.zeros(len(evidence), dtype=bool)
    found = []
    for _order, key, mapping in aligned:
        where = mapping[mapping >= 0]
        fresh = int(np.sum(~taken[where]))
        if fresh >= min_chars:
            taken[where] = True
            found.append((key, float(np.mean(mapping >= 0)) if len(mapping) else 0.0, fresh))
    return found
