"""Reading a plan's slots from evidence: each code position as a bit or an erasure."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from wenxing.fingerprint import layers
from wenxing.fingerprint.align import Skeleton, align, skeleton
from wenxing.fingerprint.plan import (
    GLYPH,
    LAYER_NAMES,
    VS,
    VS_PLACE,
    WORD,
    ZW,
    ZW_FAMILY,
    ZW_PLACE,
    Plan,
    is_vs,
)

# A family of invisible marks with this many candidate places covered and not one mark
# present was stripped: its presence bits are erasures, not zeros. Format 3's zero-width
# places (light) hold a mark about 1 time in 36, so many empty places happen in an
# unstripped excerpt; there the family counts as stripped when a copy would have shown 6
# marks on average (an unstripped excerpt shows none 1 time in 400).
STRIPPED_FAMILY_PLACES = 8
STRIPPED_SPARSE_PLACES = int(6 / (sum(layers.BIAS_PAIRS[layers.SPARSER]) / 2))


@dataclass(frozen=True)
class Reading:
    """The code positions readable in the evidence and the evidence symbols there.

    Positions of any layer (text carriers here, a page carrier elsewhere) can be merged
    into one reading with :func:`merge_readings`; the layer of a position is in its id.
    """

    position_ids: np.ndarray  # uint64
    symbols: np.ndarray  # uint8, the evidence bit at each position
    lines: np.ndarray  # int64, evidence line (or page) each position was read on
    offsets: np.ndarray  # int64, where in the evidence (skeleton offset) it was read
    slots_seen: dict[str, int]  # per slot kind: slots whose text the evidence covers
    slots_read: dict[str, int]  # per slot kind: slots read (at least one position)
    coverage: float  # share of the base text the evidence covers

    @property
    def positions(self) -> int:
        return len(self.position_ids)

    def layer_positions(self) -> dict[str, int]:
        """Readable positions per code layer."""
        codes, counts = np.unique(layers.code_of(self.position_ids), return_counts=True)
        return {
            layers.name_of(c): int(n) for c, n in zip(codes.tolist(), counts.tolist(), strict=True)
        }


def empty_reading() -> Reading:
    return Reading(
        np.zeros(0, dtype=np.uint64),
        np.zeros(0, dtype=np.uint8),
        np.zeros(0, dtype=np.int64),
        np.zeros(0, dtype=np.int64),
        {},
        {},
        0.0,
    )


def merge_readings(readings: Sequence[Reading]) -> Reading:
    """One reading of several carriers (or pieces) of the same material version.

    A position read twice keeps its first reading. Lines stay as each reading numbered
    them; give a second carrier's lines an offset if they must stay apart.
    """
    if not readings:
        return empty_reading()
    ids = np.concatenate([r.position_ids for r in readings])
    _unique, first = np.unique(ids, return_index=True)
    keep = np.sort(first)
    seen: dict[str, int] = {}
    read: dict[str, int] = {}
    for r in readings:
        for name, count in r.slots_seen.items():
            seen[name] = seen.get(name, 0) + count
        for name, count in r.slots_read.items():
            read[name] = read.get(name, 0) + count
    return Reading(
        position_ids=ids[keep],
        symbols=np.concatenate([r.symbols for r in readings])[keep],
        lines=np.concatenate([r.lines for r in readings])[keep],
        offsets=np.concatenate([r.offsets for r in readings])[keep],
        slots_seen=seen,
        slots_read=read,
        coverage=max(r.coverage for r in readings),
    )


def _base_offsets(base_skeleton: Skeleton, length: int) -> tuple[np.ndarray, np.ndarray]:
    """For each base character, its first and last skeleton offset (−1 if it has none)."""
    first = np.full(length, -1, dtype=np.int64)
    last = np.full(length, -1, dtype=np.int64)
    for k, origin in enumerate(base_skeleton.origin):
        if first[origin] < 0:
            first[origin] = k
        last[origin] = k
    return first, last


def _mark_symbol(marks: str, alphabet: tuple[str, ...]) -> int:
    found = {alphabet.index(ch) for ch in marks if ch in alphabet}
    return found.pop() if len(found) == 1 else -1


def read_evidence(
    base: str,
    plan: Plan,
    evidence: str,
    fold: Mapping[str, str] | None = None,
    *,
    invisible: bool = True,
) -> Reading:
    """Read every slot of ``plan`` that the evidence covers.

    ``fold`` maps characters to the form both texts are compared in (traditional to
    simplified); see :func:`wenxing.fingerprint.align.skeleton`. ``invisible=False`` says
    the evidence cannot carry invisible marks (its text came from OCR of an image): the
    places of the mark families are then unread, never read as "no mark here".
    """
    base_sk, ev_sk = skeleton(base, fold), skeleton(evidence, fold)
    e_of_b = align(base_sk.text, ev_sk.text)
    first, last = _base_offsets(base_sk, len(base))
    kinds = [name for n, name in enumerate(LAYER_NAMES) if plan.format >= 2 or n < 4]
    seen = dict.fromkeys(kinds, 0)
    read = dict.fromkeys(kinds, 0)
    count = len(plan.layer)
    slot_symbol = np.full(count, -1, dtype=np.int64)
    kind_known = np.zeros(count, dtype=bool)
    slot_line = np.zeros(count, dtype=np.int64)
    slot_offset = np.zeros(count, dtype=np.int64)
    for n, (layer, offset, length, group) in enumerate(
        zip(
            plan.layer.tolist(),
            plan.index.tolist(),
            plan.length.tolist(),
            plan.group.tolist(),
            strict=True,
        )
    ):
        if layer in (ZW_PLACE, VS_PLACE):
            if not invisible:
                continue
            symbol, where, kind_known[n] = _read_place(layer, offset, plan, ev_sk, e_of_b, last)
        else:
            symbol, where = _read_slot(
                layer, offset, length, group, plan, ev_sk, e_of_b, first, last
            )
        if where < 0:
            continue
        seen[LAYER_NAMES[layer]] += 1
        if symbol >= 0:
            read[LAYER_NAMES[layer]] += 1
            slot_symbol[n] = symbol
            slot_line[n] = ev_sk.line[where]
            slot_offset[n] = where
    _unread_stripped(plan, slot_symbol, read)
    slots = _Slots(slot_symbol, kind_known, slot_line, slot_offset)
    coverage = float(np.mean(e_of_b >= 0)) if len(e_of_b) else 0.0
    return _reading(plan, slots, seen, read, coverage)


@dataclass(frozen=True)
class _Slots:
    """What was read at each slot of a plan: its symbol (−1 unread), whether a place's
    kind was read, and the evidence line and offset it was read at."""

    symbol: np.ndarray
    kind_known: np.ndarray
    line: np.ndarray
    offset: np.ndarray


def _reading(
    plan: Plan, slots: _Slots, seen: dict[str, int], read: dict[str, int], coverage: float
) -> Reading:
    """The positions (bits) of the slots read."""
    ids, slot_numbers = plan.position_ids()
    bits_per_slot = plan.bits()
    rank = np.arange(len(ids)) - np.repeat(np.cumsum(bits_per_slot) - bits_per_slot, bits_per_slot)
    symbol = slots.symbol[slot_numbers]
    is_place = np.isin(plan.layer[slot_numbers], (ZW_PLACE, VS_PLACE))
    keep = (symbol >= 0) & (~is_place | (rank == 0) | slots.kind_known[slot_numbers])
    bits = (np.maximum(symbol, 0) >> rank) & 1
    return Reading(
        position_ids=ids[keep],
        symbols=bits[keep].astype(np.uint8),
        lines=slots.line[slot_numbers][keep],
        offsets=slots.offset[slot_numbers][keep],
        slots_seen=seen,
        slots_read=read,
        coverage=coverage,
    )


def _read_place(
    layer: int, offset: int, plan: Plan, ev: Skeleton, e_of_b: np.ndarray, last: np.ndarray
) -> tuple[int, int, bool]:
    """A candidate place: (symbol: presence | kind << 1, or presence alone when the kind is
    not ours or ambiguous; evidence offset or −1; whether the kind was read)."""
    k = last[offset]
    where = int(e_of_b[k]) if k >= 0 else -1
    if where < 0:
        return -1, -1, False
    family = ZW_FAMILY.__contains__ if layer == ZW_PLACE else is_vs
    found = [ch for ch in ev.marks[where] if family(ch)]
    kind = _mark_symbol("".join(found), plan.marks(layer)) if len(set(found)) == 1 else -1
    if kind >= 0:
        return 1 | kind << 1, where, True
    return int(bool(found)), where, False


def _unread_stripped(plan: Plan, slot_symbol: np.ndarray, read: dict[str, int]) -> None:
    """A mark family with many places covered and not one mark present was stripped: its
    places become erasures (in place)."""
    for place in (ZW_PLACE, VS_PLACE):
        covered = (plan.layer == place) & (slot_symbol >= 0)
        least = (
            STRIPPED_SPARSE_PLACES
            if plan.format >= 3 and place == ZW_PLACE
            else STRIPPED_FAMILY_PLACES
        )
        if covered.sum() >= least and not (slot_symbol[covered] & 1).any():
            slot_symbol[covered] = -1  # every mark of the family is gone: stripped, unread
            read[LAYER_NAMES[place]] = 0


def _read_slot(
    layer: int,
    offset: int,
    length: int,
    group: int,
    plan: Plan,
    ev: Skeleton,
    e_of_b: np.ndarray,
    first: np.ndarray,
    last: np.ndarray,
) -> tuple[int, int]:
    """(symbol or −1, evidence offset or −1 when the evidence does not cover the slot)."""
    if layer in (ZW, VS):
        k = last[offset]
        e = e_of_b[k] if k >= 0 else -1
        if e < 0:
            return -1, -1
        return _mark_symbol(ev.marks[e], plan.marks(layer)), int(e)
    start, end = first[offset], last[offset + length - 1]
    if start < 0 or end < 0:
        return -1, -1
    mapped = e_of_b[start : end + 1]
    if (mapped < 0).any():
        return -1, -1
    if layer == GLYPH:
        text = ev.visible[mapped[0]]
    else:
        if (np.diff(mapped) != 1).any():
            return -1, int(mapped[0])
        text = "".join(ev.visible[mapped[0] : mapped[-1] + 1])
    alternatives = plan.groups[group]
    symbol = alternatives.index(text) if text in alternatives else -1
    assert layer in (GLYPH, WORD)
    return symbol, int(mapped[0])
