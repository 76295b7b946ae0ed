"""Format-1 plans, as copies issued before tracing v2 were made: tests build them to check
that old copies are still read (nothing issues new copies with them)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from wenxing.fingerprint.plan import (
    GLYPH,
    GLYPHS,
    VS,
    WORD,
    ZW,
    Plan,
    Profile,
    _assemble,
    _keyed_draws,
    is_han,
    wording_places,
)
from wenxing.fingerprint.variants import VariantList

ZW_DENSITY = 0.3
VS_DENSITY = 0.25
LIGHT_WORDS_PER_1000 = 25


def _keyed_pick(key: bytes, label: str, count: int, share: float) -> np.ndarray:
    return _keyed_draws(key, label, count) < share


def build_plan_v1(
    base: str,
    key: bytes,
    words: Sequence[str],
    variants: VariantList,
    profile: Profile | None = None,
) -> Plan:
    """A format-1 plan, as copies issued before tracing v2 were made (for tests of old
    copies; nothing issues new copies with it)."""
    profile = profile or Profile()
    candidates = [p for p in wording_places(base, words, variants) if p[0] not in profile.vetoes]
    if profile.strength == "off":
        candidates = []
    if profile.strength == "light" and candidates:
        thin = min(1.0, len(base) * LIGHT_WORDS_PER_1000 / 1000 / len(candidates))
        picked = _keyed_pick(key, "layout:word", len(base), thin)
        candidates = [c for c in candidates if picked[c[0]]]
    inside = np.zeros(len(base) + 1, dtype=bool)
    in_word = np.zeros(len(base) + 1, dtype=bool)
    for offset, length, _group, _form in candidates:
        inside[offset : offset + length - 1] = True
        in_word[offset : offset + length] = True
    glyph_groups = {plain: i for i, plain in enumerate(GLYPHS)}
    groups = tuple(variants.groups) + tuple(GLYPHS.values())
    rows: list[tuple[int, int, int, int, int]] = [(WORD, *c) for c in candidates]
    zw_pick = _keyed_pick(key, "layout:zw", len(base), ZW_DENSITY)
    vs_pick = _keyed_pick(key, "layout:vs", len(base), VS_DENSITY)
    for i, ch in enumerate(base):
        if ch in glyph_groups and not in_word[i]:
            rows.append((GLYPH, i, 1, len(variants.groups) + glyph_groups[ch], -1))
        if inside[i] or ch.isspace():
            continue
        if vs_pick[i] and is_han(ch) and not in_word[i]:
            rows.append((VS, i, 0, -1, -1))
        if zw_pick[i] and i + 1 < len(base) and not base[i + 1].isspace():
            rows.append((ZW, i, 0, -1, -1))
    return _assemble(base, rows, groups, variants.digest, profile, 1, "")
