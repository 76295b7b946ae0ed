"""The collusion-secure code: biases, member symbols and symmetric Tardos scores.

One code per material version. Each readable position ``i`` has a bias ``p_i`` drawn from
Nuida et al.'s discrete distribution for coalitions of up to four (``(1 ± 1/√3)/2`` with
equal weight), and each member's symbol is 1 with probability ``p_i``. Evidence symbols
``y_i`` are scored with Škorić et al.'s symmetric score, so that an innocent member's score
has mean 0 and variance 1 per position whatever the evidence is.
"""

from __future__ import annotations

import numpy as np
from threadpoolctl import threadpool_limits

from wenxing.fingerprint import layers, prf

LOW_BIAS = (1.0 - 1.0 / np.sqrt(3.0)) / 2.0  # ≈ 0.2113
HIGH_BIAS = 1.0 - LOW_BIAS


def biases(key: bytes, position_ids: np.ndarray) -> np.ndarray:
    """The bias ``p_i`` of each position (a float array): by its layer's rule (see
    :mod:`wenxing.fingerprint.layers`), one of a pair drawn by key (Nuida's, or the sparse
    pair), or 1/2."""
    draws = prf.keyed(prf.key_word(key, "bias"), position_ids)
    high = (draws & np.uint64(1)).astype(bool)
    p = np.where(high, HIGH_BIAS, LOW_BIAS)
    codes = layers.code_of(position_ids)
    for rule in (layers.SPARSE, layers.SPARSER):
        low, high_bias = layers.BIAS_PAIRS[rule]
        here = np.isin(codes, layers.bias_codes(rule))
        p = np.where(here, np.where(high, high_bias, low), p)
    return np.where(np.isin(codes, layers.half_bias_codes()), 0.5, p)


def member_bits(key: bytes, member: str, position_ids: np.ndarray) -> np.ndarray:
    """One member's bits (0/1, uint8) at any code positions: what a carrier shows."""
    ids = np.asarray(position_ids, dtype=np.uint64)
    seeds = prf.member_seeds(key, [member])
    return symbols(key, seeds, ids, biases(key, ids))[0]


def symbols(key: bytes, seeds: np.ndarray, position_ids: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Members' symbols: a (members × positions) array of 0/1 (uint8).

    A position id is ``slot_id << 2 | bit``. One keyed 64-bit word per (member, slot) gives
    the slot's bits: bit 0 compares its high half with ``p``, bit 1 its low half.
    """
    slot_ids, slot_of_position = np.unique(position_ids >> np.uint64(2), return_inverse=True)
    word = prf.key_word(key, "symbol")
    mixed = prf.mix64(slot_ids) ^ word
    values = prf.mix64(seeds[:, None] ^ mixed[None, :])[:, slot_of_position]
    low_half = (position_ids & np.uint64(3)) == np.uint64(1)
    halves = np.where(low_half[None, :], values & np.uint64(0xFFFFFFFF), values >> np.uint64(32))
    limits = np.floor(p * 4294967296.0).astype(np.uint64)
    return (halves < limits[None, :]).astype(np.uint8)


def score_weights(p: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per position, the score of a member holding 1 and of one holding 0, given ``y``."""
    agree_one = np.sqrt((1.0 - p) / p)
    agree_zero = np.sqrt(p / (1.0 - p))
    holds_one = np.where(y == 1, agree_one, -agree_one)
    holds_zero = np.where(y == 1, -agree_zero, agree_zero)
    return holds_one, holds_zero


def scores(x: np.ndarray, p: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Symmetric Tardos scores of members (rows of ``x``) against evidence ``y``."""
    holds_one, holds_zero = score_weights(p, y)
    return x @ (holds_one - holds_zero) + holds_zero.sum()


_MEMBER_CHUNK = 128  # members per block: keeps the working arrays in the CPU cache


def score_members(
    key: bytes,
    seeds: np.ndarray,
    position_ids: np.ndarray,
    p: np.ndarray,
    tests: list[tuple[np.ndarray, np.ndarray]],
) -> np.ndarray:
    """Scores of many members at once: a (members × tests) array.

    Each test is ``(weight, mask)``: the result is ``Σ_{i in mask} x_i·weight_i`` with
    ``weight = h1 − h0`` (see :func:`score_weights`); adding ``Σ_{i in mask} h0_i`` gives
    the member's score. Equal to scoring the rows of :func:`symbols`, computed block by
    block without materialising them.
    """
    slot_ids, column = np.unique(position_ids >> np.uint64(2), return_inverse=True)
    mixed = prf.mix64(slot_ids) ^ prf.key_word(key, "symbol")
    low_half = (position_ids & np.uint64(3)) == np.uint64(1)
    limits = np.floor(p * 4294967296.0).astype(np.uint64)
    high_cols, low_cols = column[~low_half], column[low_half]
    high_lim, low_lim = limits[~low_half], limits[low_half]
    weights_high = np.stack([np.where(m, w, 0.0)[~low_half] for w, m in tests], 1)
    weights_low = np.stack([np.where(m, w, 0.0)[low_half] for w, m in tests], 1)
    weights_high = weights_high.astype(np.float32)
    weights_low = weights_low.astype(np.float32)
    identity = np.array_equal(high_cols, np.arange(len(slot_ids)))
    # The products are small; a second BLAS thread gains little and, on a busy machine,
    # spins waiting for its partner (measured: a 10,000-recipient trace 3× slower).
    with threadpool_limits(limits=1, user_api="blas"):
        return _score_blocks(
            seeds,
            mixed,
            identity,
            high_cols,
            low_cols,
            high_lim,
            low_lim,
            weights_high,
            weights_low,
            len(tests),
        )


def _score_blocks(
    seeds: np.ndarray,
    mixed: np.ndarray,
    identity: bool,
    high_cols: np.ndarray,
    low_cols: np.ndarray,
    high_lim: np.ndarray,
    low_lim: np.ndarray,
    weights_high: np.ndarray,
    weights_low: np.ndarray,
    test_count: int,
) -> np.ndarray:
    out = np.empty((len(seeds), test_count), dtype=np.float64)
    block = np.empty((_MEMBER_CHUNK, len(mixed)), dtype=np.uint64)
    spare = np.empty_like(block)
    for start in range(0, len(seeds), _MEMBER_CHUNK):
        chunk = seeds[start : start + _MEMBER_CHUNK]
        z, tmp = block[: len(chunk)], spare[: len(chunk)]
        np.bitwise_xor(chunk[:, None], mixed[None, :], out=z)
        prf.mix64_inplace(z, tmp)
        np.right_shift(z, np.uint64(32), out=tmp)
        high = tmp if identity else tmp[:, high_cols]
        scores = (high < high_lim).astype(np.float32) @ weights_high
        if len(low_cols):
            np.bitwise_and(z, np.uint64(0xFFFFFFFF), out=z)
            scores += (z[:, low_cols] < low_lim).astype(np.float32) @ weights_low
        out[start : start + len(chunk)] = scores
    return out


# Fitted presence scores: the floor of the modelled chance that evidence shows a mark the
# leaker's copy had not (insertions) and the bounds of the chance it keeps one it had.
_FIT_INSERT_FLOOR = 0.002
_FIT_KEEP = (0.02, 0.995)


def fitted_weights(p: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per position, a leaker's log-likelihood-ratio score under the attack the evidence
    shows: (score of a member holding 1, score of one holding 0).

    For presence bits (a mark at a keyed place or not). Per bias value, the share ``q`` of
    marks the evidence shows, against the share ``p`` a copy has, tells how the marks were
    treated: fewer (``q < p``: marks deleted, as colluders do where their copies differ)
    means a leaker's mark survives with probability ``q/p`` and none appears where the
    leaker had none; more means marks were added. The score of a member is the log of how
    much likelier their bit makes the evidence bit under that model than the evidence is
    anyway. The model is chosen from the evidence and the biases only, which an innocent's
    bits are independent of, so :func:`wenxing.fingerprint.bound.table_bound` bounds it.
    """
    holds_one = np.zeros(len(p))
    holds_zero = np.zeros(len(p))
    for bias in np.unique(p):
        here = p == bias
        q = float(y[here].mean())
        if q <= bias:
            keep, insert = q / bias, 0.0
        else:
            keep, insert = 1.0, (q - bias) / (1.0 - bias)
        keep = min(max(keep, _FIT_KEEP[0]), _FIT_KEEP[1])
        insert = min(max(insert, _FIT_INSERT_FLOOR), keep / 2)
        shown = bias * keep + (1.0 - bias) * insert  # an innocent's chance of a 1
        mark = y[here] == 1
        holds_one[here] = np.where(mark, np.log(keep / shown), np.log((1.0 - keep) / (1.0 - shown)))
        holds_zero[here] = np.where(
            mark, np.log(insert / shown), np.log((1.0 - insert) / (1.0 - shown))
        )
    return holds_one, holds_zero


def score_cells(
    key: bytes,
    seeds: np.ndarray,
    position_ids: np.ndarray,
    p: np.ndarray,
    weight: np.ndarray,
    cells: np.ndarray,
    cell_count: int,
    extra: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Members' sums of ``x_i·weight_i`` over the cells of a partition of the positions
    (``cells[i]`` in ``0 … cell_count−1``), and ``x @ extra`` for a few more weight columns
    (``extra``: positions × k).

    The same sums :func:`score_members` gives for masks that are unions of cells, at a cost
    that does not grow with the number of cells (one pass over each member's bits). Fastest
    when the cells follow the order of the position ids (layer by layer, in text order).
    """
    out = np.zeros((len(seeds), cell_count), dtype=np.float64)
    out_extra = np.zeros((len(seeds), extra.shape[1]), dtype=np.float64)
    if not len(position_ids):
        return out, out_extra
    slot_ids, column = np.unique(position_ids >> np.uint64(2), return_inverse=True)
    mixed = prf.mix64(slot_ids) ^ prf.key_word(key, "symbol")
    groups = _cell_groups(position_ids, p, weight, cells, extra, column, len(mixed))
    block = np.empty((_MEMBER_CHUNK, len(mixed)), dtype=np.uint64)
    spare = np.empty_like(block)
    with threadpool_limits(limits=1, user_api="blas"):
        for start in range(0, len(seeds), _MEMBER_CHUNK):
            chunk = seeds[start : start + _MEMBER_CHUNK]
            n = len(chunk)
            z, tmp = block[:n], spare[:n]
            np.bitwise_xor(chunk[:, None], mixed[None, :], out=z)
            prf.mix64_inplace(z, tmp)
            halves = z.view(np.uint32)  # little-endian: low word, then high word
            rows = slice(start, start + n)
            for is_low, col, lim, w, more, starts, present in groups:
                words = halves[:, 0::2] if is_low else halves[:, 1::2]
                if col is not None:
                    words = words[:, col]
                bits = (words < lim[None, :]).astype(np.float32)
                out[rows, present] += np.add.reduceat(bits * w[None, :], starts, axis=1)
                if more.shape[1]:
                    out_extra[rows] += bits @ more
    return out, out_extra


def _cell_groups(
    position_ids: np.ndarray,
    p: np.ndarray,
    weight: np.ndarray,
    cells: np.ndarray,
    extra: np.ndarray,
    column: np.ndarray,
    slot_count: int,
) -> list[tuple]:
    """:func:`score_cells`' two groups of positions, each in (cell, id) order: those reading
    the high half of their slot's word (every slot has one; in slot order when the cells
    follow the ids, so no gather) and the few reading the low half. Each group: (low half?,
    columns or None, limits, weights, extra weights, cell starts, cells)."""
    limits = np.floor(p * 4294967296.0).astype(np.uint32)
    low = (position_ids & np.uint64(3)) == np.uint64(1)
    groups = []
    for half in (~low, low):
        at = np.flatnonzero(half)
        at = at[np.lexsort((position_ids[at], cells[at]))]
        if not len(at):
            continue
        sorted_cells = cells[at]
        starts = np.flatnonzero(np.r_[True, sorted_cells[1:] != sorted_cells[:-1]])
        col = column[at]
        direct = bool(half is not low and np.array_equal(col, np.arange(slot_count)))
        groups.append(
            (
                half is low,
                None if direct else col,
                limits[at],
                weight[at].astype(np.float32),
                extra[at].astype(np.float32),
                starts,
                sorted_cells[starts],
            )
        )
    return groups
