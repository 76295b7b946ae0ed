"""Reading a plan's slots from evidence: each as a symbol or an erasure."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from wenxing.fingerprint.align import Skeleton, align, skeleton
from wenxing.fingerprint.plan import GLYPH, LAYER_NAMES, VS, VS_MARKS, WORD, ZW, ZW_MARKS, Plan


@dataclass(frozen=True)
class Reading:
    """The code positions readable in the evidence and the evidence symbols there."""

    position_ids: np.ndarray  # uint64
    symbols: np.ndarray  # uint8, the evidence bit at each position
    lines: np.ndarray  # int64, evidence line each position was read on
    offsets: np.ndarray  # int64, where in the evidence (skeleton offset) it was read
    slots_seen: dict[str, int]  # per layer: slots whose text the evidence covers
    slots_read: dict[str, int]  # per layer: slots read as a symbol
    coverage: float  # share of the base text the evidence covers

    @property
    def positions(self) -> int:
        return len(self.position_ids)


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


def read_evidence(base: str, plan: Plan, evidence: str) -> Reading:
    """Read every slot of ``plan`` that the evidence covers."""
    base_sk, ev_sk = skeleton(base), skeleton(evidence)
    e_of_b = align(base_sk.text, ev_sk.text)
    first, last = _base_offsets(base_sk, len(base))
    seen = dict.fromkeys(LAYER_NAMES, 0)
    read = dict.fromkeys(LAYER_NAMES, 0)
    slot_symbol = np.full(len(plan.layer), -1, dtype=np.int64)
    slot_line = np.zeros(len(plan.layer), dtype=np.int64)
    slot_offset = np.zeros(len(plan.layer), dtype=np.int64)
    for n, (layer, offset, length, group) in enumerate(
        zip(
            plan.layer.tolist(),
            plan.index.tolist(),
            plan.length.tolist(),
            plan.group.tolist(),
            strict=True,
        )
    ):
        symbol, where = _read_slot(layer, offset, length, group, plan, ev_sk, e_of_b, first, last)
        if where < 0:
            continue
        seen[LAYER_NAMES[layer]] += 1
        if symbol >= 0:
            read[LAYER_NAMES[layer]] += 1
            slot_symbol[n] = symbol
            slot_line[n] = ev_sk.line[where]
            slot_offset[n] = where
    ids, slot_numbers = plan.position_ids()
    symbol = slot_symbol[slot_numbers]
    keep = symbol >= 0
    first_bit = np.ones(len(ids), dtype=bool)
    first_bit[1:] = slot_numbers[1:] != slot_numbers[:-1]
    bits = np.where(first_bit, symbol & 1, (symbol >> 1) & 1)
    covered = float(np.mean(e_of_b >= 0)) if len(e_of_b) else 0.0
    return Reading(
        position_ids=ids[keep],
        symbols=bits[keep].astype(np.uint8),
        lines=slot_line[slot_numbers][keep],
        offsets=slot_offset[slot_numbers][keep],
        slots_seen=seen,
        slots_read=read,
        coverage=covered,
    )


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
        return _mark_symbol(ev.marks[e], ZW_MARKS if layer == ZW else VS_MARKS), int(e)
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
