"""Marking a base text for one member, and taking the marks out again."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import chain
from operator import itemgetter

import numpy as np

from wenxing.fingerprint import code, prf
from wenxing.fingerprint.plan import (
    GLYPHS,
    MAX_INVISIBLE_SHARE,
    VS,
    VS_MARKS,
    VS_MARKS_V1,
    VS_PLACE,
    ZW,
    ZW_MARKS,
    ZW_PLACE,
    Plan,
    PlanError,
    shared_kinds,
    text_digest,
)

_MARK_CHARS = frozenset(ZW_MARKS + VS_MARKS + VS_MARKS_V1)
_PLAIN_GLYPH = {looks: plain for plain, looks in GLYPHS.items()}


def slot_symbols(plan: Plan, key: bytes, member: str) -> np.ndarray:
    """The member's symbol for every slot of the plan (0 … alphabet−1).

    The same bits as :func:`code.symbols` gives for these positions; what does not depend
    on the member (position ids, biases, the keyed slot words) is worked out once per plan
    and key.
    """
    table = _code_table(plan, key)
    seed = prf.member_seeds(key, [member])[0]
    values = prf.mix64(seed ^ table.mixed)[table.slot_of_position]
    halves = np.where(table.low_half, values & np.uint64(0xFFFFFFFF), values >> np.uint64(32))
    bits = halves < table.limits
    # A slot's r-th position is bit r of its symbol; a format-3 selector place adds the
    # selector all copies share there.
    return (
        np.bincount(
            table.slot_numbers, weights=bits * table.bit_weight, minlength=len(plan.layer)
        ).astype(np.int64)
        + table.shared
    )


def rendered_symbols(base: str, plan: Plan, key: bytes, member: str) -> np.ndarray:
    """The symbols a member's copy shows: the code's (:func:`slot_symbols`), except that a
    format-2 copy never holds more invisible marks than its strength allows (one per 20
    visible characters in "light"). When the member's code asks for more, the marks at the
    places of highest presence bias go first: those say least (everyone is likely to have
    them), and a missing one only lowers the member's own score a little; nobody else's
    bound depends on it."""
    symbols = slot_symbols(plan, key, member)
    if plan.format < 2:
        return symbols
    table = _code_table(plan, key)
    present = table.cap_order[(symbols[table.cap_order] & 1) == 1]
    visible = _visible_characters(base)
    excess = len(present) - int(visible * MAX_INVISIBLE_SHARE[plan.profile.strength])
    if excess > 0:
        symbols = symbols.copy()
        symbols[present[:excess]] = 0
    return symbols


@dataclass(frozen=True)
class _CodeTable:
    slot_numbers: np.ndarray  # owning slot of each code position
    slot_of_position: np.ndarray  # index into ``mixed`` of each position
    mixed: np.ndarray  # keyed word of each distinct slot id
    low_half: np.ndarray  # which half of the slot's word a position compares
    limits: np.ndarray  # the bias as a 32-bit threshold
    bit_weight: np.ndarray  # 2**r for a slot's r-th position
    cap_order: np.ndarray  # place slots, highest presence bias first (marks dropped first)
    shared: np.ndarray  # per slot: the shared selector's kind << 1 (format-3 selector places)


_CODE_TABLES: OrderedDict[tuple[int, bytes], tuple[Plan, _CodeTable]] = OrderedDict()


def _code_table(plan: Plan, key: bytes) -> _CodeTable:
    found = _cached(_CODE_TABLES, (id(plan), key), plan)
    if found is not None:
        return found
    ids, slot_numbers = plan.position_ids()
    p = code.biases(key, ids)
    slot_ids, slot_of_position = np.unique(ids >> np.uint64(2), return_inverse=True)
    bits = plan.bits()
    rank = np.arange(len(ids)) - np.repeat(np.cumsum(bits) - bits, bits)
    table = _CodeTable(
        slot_numbers=slot_numbers,
        slot_of_position=slot_of_position,
        mixed=prf.mix64(slot_ids) ^ prf.key_word(key, "symbol"),
        low_half=(ids & np.uint64(3)) == np.uint64(1),
        limits=np.floor(p * 4294967296.0).astype(np.uint64),
        bit_weight=np.exp2(rank).astype(np.float64),
        cap_order=_cap_order(plan, p, slot_numbers, rank),
        shared=_shared_kinds(plan, key),
    )
    _remember(_CODE_TABLES, (id(plan), key), plan, table)
    return table


def _shared_kinds(plan: Plan, key: bytes) -> np.ndarray:
    shared = np.zeros(len(plan.layer), dtype=np.int64)
    if plan.format >= 3:
        places = plan.layer == VS_PLACE
        shared[places] = shared_kinds(key, plan.index[places]) << 1
    return shared


@lru_cache(maxsize=64)
def _visible_characters(base: str) -> int:
    return len(base) - sum(ch.isspace() for ch in base)


def _cap_order(plan: Plan, p: np.ndarray, slot_numbers: np.ndarray, rank: np.ndarray):
    presence = (rank == 0) & np.isin(plan.layer[slot_numbers], (ZW_PLACE, VS_PLACE))
    slots, bias = slot_numbers[presence], p[presence]
    return slots[np.lexsort((slots, -bias))]


def mark(base: str, plan: Plan, key: bytes, member: str) -> str:
    """The member's copy of ``base``: the same text a reader sees, carrying the code."""
    return "".join(mark_spans(base, plan, key, member, ()))


def mark_spans(base: str, plan: Plan, key: bytes, member: str, cuts: Sequence[int]) -> list[str]:
    """The member's copy of ``base`` cut at the base offsets ``cuts`` (ascending).

    Piece ``i`` is the marked text of ``base[cuts[i-1]:cuts[i]]``: a mark after a character
    stays with that character, and a cut inside a replaced word falls after the word. The
    pieces join to ``mark(base, plan, key, member)``; renderers use them to style headings
    and paragraphs of a copy without searching the marked text.
    """
    if len(base) != plan.base_length or text_digest(base) != plan.base_digest:
        raise PlanError("the plan was made for another text")
    cut_array = np.asarray(cuts, dtype=np.int64)
    if np.any(np.diff(cut_array) < 0):
        raise ValueError("cuts must be ascending")
    frame = _frame(base, plan)
    picks = frame.option_start + rendered_symbols(base, plan, key, member)
    texts = (
        itemgetter(*picks.tolist())(frame.options)
        if len(picks) > 1
        else ([frame.options[int(picks[0])]] if len(picks) else [])
    )
    marked = "".join(chain.from_iterable(zip(frame.stretches, texts, strict=True))) + frame.tail
    if not len(cut_array):
        return [marked]
    if not len(picks):
        cut_array = np.clip(cut_array, 0, len(base))
        return [
            marked[a:b]
            for a, b in zip(
                [0, *cut_array.tolist()], [*cut_array.tolist(), len(marked)], strict=True
            )
        ]
    inserted = frame.option_length[picks] - plan.length
    # Where each cut falls in the marked text. An event counts before a cut when it starts
    # before it (a mark "starts" at the character it follows, so it stays with it); a cut
    # inside a replaced word moves to the word's end.
    cut_array = np.clip(cut_array, 0, len(base))
    starts = plan.index
    ends = frame.event_ends
    shift = np.concatenate([[0], np.cumsum(inserted)])
    before = np.searchsorted(starts, cut_array, side="left")  # events starting before the cut
    inside = (before > 0) & (plan.length[np.maximum(before - 1, 0)] > 0)
    inside &= ends[np.maximum(before - 1, 0)] > cut_array
    moved = np.where(inside, ends[np.maximum(before - 1, 0)], cut_array)
    # A mark after the character at offset o starts at o: a cut at o leaves it after the cut.
    positions = (moved + shift[before]).tolist()
    pieces = []
    previous = 0
    for position in positions:
        position = max(position, previous)
        pieces.append(marked[previous:position])
        previous = position
    pieces.append(marked[previous:])
    return pieces


@dataclass(frozen=True)
class _Frame:
    """What every copy of one base text under one plan shares: the base stretches between
    slots, and every slot's alternatives in one flat list (a copy picks one per slot)."""

    stretches: list[str]
    tail: str
    options: list[str]
    option_start: np.ndarray  # index in ``options`` of each slot's first alternative
    option_length: np.ndarray  # length of each alternative
    event_ends: np.ndarray  # base offset after each slot (after the character a mark follows)


_FRAMES: OrderedDict[int, tuple[Plan, _Frame]] = OrderedDict()


def _frame(base: str, plan: Plan) -> _Frame:
    """The plan's frame, made once per plan (the caller checked that ``base`` is the plan's)."""
    found = _cached(_FRAMES, id(plan), plan)
    if found is not None:
        return found
    is_mark = plan.length == 0
    event_ends = plan.index + np.where(is_mark, 1, plan.length)
    stretch_ends = (plan.index + is_mark).tolist()
    ends = event_ends.tolist()
    starts = [0, *ends[:-1]] if ends else []
    options: list[str] = []
    option_start = np.zeros(len(plan.layer), dtype=np.int64)
    places = {
        kind: ["" if s % 2 == 0 else plan.marks(kind)[s // 2] for s in range(2 * n)]
        for kind, n in ((ZW_PLACE, len(ZW_MARKS)), (VS_PLACE, len(VS_MARKS)))
        if plan.format >= 2
    }
    for n, (group, layer) in enumerate(zip(plan.group.tolist(), plan.layer.tolist(), strict=True)):
        option_start[n] = len(options)
        if group >= 0 and not is_mark[n]:
            options.extend(plan.groups[group])
        elif layer in places:  # symbol = presence bit | kind << 1
            options.extend(places[layer])
        else:
            options.extend(plan.marks(layer))
    frame = _Frame(
        stretches=[base[a:b] for a, b in zip(starts, stretch_ends, strict=True)],
        tail=base[ends[-1] :] if ends else base,
        options=options,
        option_start=option_start,
        option_length=np.fromiter(map(len, options), dtype=np.int64, count=len(options)),
        event_ends=event_ends,
    )
    _remember(_FRAMES, id(plan), plan, frame)
    return frame


# Per-plan tables are kept for the plans in use. An entry holds its plan, so the plan's id
# cannot be reused by another plan while the entry lives.
_KEPT = 64
_LOCK = threading.Lock()


def _cached(cache: OrderedDict, key, plan: Plan):
    with _LOCK:
        entry = cache.get(key)
        if entry is None or entry[0] is not plan:
            return None
        cache.move_to_end(key)
        return entry[1]


def _remember(cache: OrderedDict, key, plan: Plan, value) -> None:
    with _LOCK:
        cache[key] = (plan, value)
        while len(cache) > _KEPT:
            cache.popitem(last=False)


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


__all__ = [
    "VS",
    "ZW",
    "mark",
    "mark_spans",
    "rendered_symbols",
    "restore",
    "slot_symbols",
    "strip_marks",
]
