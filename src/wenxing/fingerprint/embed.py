"""Marking a base text for one member, and taking the marks out again."""

from __future__ import annotations

import numpy as np

from wenxing.fingerprint import code, prf
from wenxing.fingerprint.plan import (
    GLYPHS,
    VS,
    VS_MARKS,
    ZW,
    ZW_MARKS,
    Plan,
    PlanError,
    text_digest,
)

_MARK_CHARS = frozenset(ZW_MARKS + VS_MARKS)
_PLAIN_GLYPH = {looks: plain for plain, looks in GLYPHS.items()}


def slot_symbols(plan: Plan, key: bytes, member: str) -> np.ndarray:
    """The member's symbol for every slot of the plan (0 … alphabet−1)."""
    ids, slot_numbers = plan.position_ids()
    p = code.biases(key, ids)
    bits = code.symbols(key, prf.member_seeds(key, [member]), ids, p)[0]
    symbols = np.zeros(len(plan.layer), dtype=np.int64)
    # The first bit of a slot is its low bit, the second (4-symbol slots) its high bit.
    first = np.ones(len(ids), dtype=bool)
    first[1:] = slot_numbers[1:] != slot_numbers[:-1]
    np.add.at(symbols, slot_numbers, np.where(first, bits, bits.astype(np.int64) * 2))
    return symbols


def mark(base: str, plan: Plan, key: bytes, member: str) -> str:
    """The member's copy of ``base``: the same text a reader sees, carrying the code."""
    if len(base) != plan.base_length or text_digest(base) != plan.base_digest:
        raise PlanError("the plan was made for another text")
    symbols = slot_symbols(plan, key, member).tolist()
    pieces: list[str] = []
    cursor = 0
    layers = plan.layer.tolist()
    for n, (offset, length, group) in enumerate(
        zip(plan.index.tolist(), plan.length.tolist(), plan.group.tolist(), strict=True)
    ):
        if length:  # a replaced word or glyph
            pieces.append(base[cursor:offset])
            pieces.append(plan.groups[group][symbols[n]])
            cursor = offset + length
        else:  # a mark after the character at offset
            pieces.append(base[cursor : offset + 1])
            pieces.append((ZW_MARKS if layers[n] == ZW else VS_MARKS)[symbols[n]])
            cursor = offset + 1
    pieces.append(base[cursor:])
    return "".join(pieces)


def strip_marks(text: str) -> str:
    """The text without this module's invisible marks."""
    return "".join(ch for ch in text if ch not in _MARK_CHARS)


def restore(marked: str, plan: Plan) -> str:
    """The base text back from a copy: marks removed, every variant mapped to its base form."""
    text = strip_marks(marked)
    if len(text) != plan.base_length:
        raise PlanError("the copy does not have the base text's length")
    chars = list(text)
    for offset, length, group, form in zip(
        plan.index.tolist(),
        plan.length.tolist(),
        plan.group.tolist(),
        plan.base_form.tolist(),
        strict=True,
    ):
        if not length:
            continue
        if form >= 0:
            chars[offset : offset + length] = plan.groups[group][form]
        else:  # a look-alike glyph: its plain form is the key of the glyph table
            chars[offset] = _PLAIN_GLYPH[plan.groups[group]]
    return "".join(chars)


__all__ = ["VS", "mark", "restore", "slot_symbols", "strip_marks"]
