"""Exact tails of an innocent's score (``bound.exact_tail``) and their use in ``accuse``.

The exact tail replaces the Chernoff bound's threshold where it is lower; it must still be
an upper bound of the true tail at every score (checked by enumerating every innocent's
bits for small evidence, and by sampling for larger), and it must be tighter than Chernoff
where the evidence is long enough for that to matter.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wenxing.fingerprint import bound, code, layers
from wenxing.fingerprint.accuse import HEADLINE_SHARE, accuse
from wenxing.fingerprint.read import Reading

KEY = bytes(range(32))
_BIASES = st.sampled_from([0.04, 0.09, 0.1, 0.233, 0.5, code.LOW_BIAS, code.HIGH_BIAS])
_TABLES = st.sampled_from(["symmetric", "fitted"])


def _table(kind: str, p: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if kind == "symmetric":
        return code.score_weights(p, y)
    return code.fitted_weights(p, y)


def _enumerated(p: np.ndarray, one: np.ndarray, zero: np.ndarray) -> list[tuple[float, float]]:
    """(score, chance) of every bit vector an innocent can hold."""
    outcomes = []
    for bits in itertools.product((0, 1), repeat=len(p)):
        x = np.array(bits)
        chance = float(np.prod(np.where(x == 1, p, 1 - p)))
        outcomes.append((float(np.sum(np.where(x == 1, one, zero))), chance))
    return outcomes


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.tuples(_BIASES, st.integers(0, 1)), min_size=1, max_size=10),
    _TABLES,
    st.floats(-25.0, -1.0),
)
def test_exact_tail_bounds_the_enumerated_tail_at_every_score(cells, kind, log_target):
    p = np.array([c[0] for c in cells])
    y = np.array([c[1] for c in cells], dtype=np.uint8)
    one, zero = _table(kind, p, y)
    tail = bound.exact_tail(p, one, zero, log_target)
    outcomes = _enumerated(p, one, zero)
    for score, _chance in outcomes:
        exact = sum(c for s, c in outcomes if s >= score - 1e-12)
        assert exact <= math.exp(tail.log_tail(score)) * (1 + 1e-9) + 1e-15
    threshold = tail.threshold(log_target)
    reached = sum(c for s, c in outcomes if s >= threshold)
    assert reached <= math.exp(log_target) * (1 + 1e-9)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 2**32 - 1), _TABLES, st.integers(150, 900))
def test_exact_tail_bounds_sampled_innocents_on_long_evidence(seed, kind, length):
    """20,000 innocents' scores on evidence of hundreds of positions: at every score the
    share reaching it stays under the bound (a 5-sigma allowance for sampling)."""
    rng = np.random.default_rng(seed)
    p = rng.choice([0.04, 0.09, code.LOW_BIAS, code.HIGH_BIAS, 0.5], length)
    y = (rng.random(length) < p).astype(np.uint8)
    one, zero = _table(kind, p, y)
    tail = bound.exact_tail(p, one, zero, math.log(1e-4))
    scores = np.where(rng.random((20_000, length)) < p, one, zero).sum(axis=1)
    for q in (0.5, 0.9, 0.99, 0.999):
        s = float(np.quantile(scores, q))
        share = float(np.mean(scores >= s))
        allowed = math.exp(tail.log_tail(s))
        assert share <= allowed + 5 * math.sqrt(allowed * (1 - allowed) / len(scores)) + 1e-12


def test_exact_threshold_is_below_chernoffs_on_an_excerpt_and_a_copy():
    """The reason for the exact tail: at a trace's targets it accuses at a lower score."""
    rng = np.random.default_rng(5)
    log_target = math.log(1e-6 / 1000 / 4)
    for length in (80, 600, 3000):
        p = rng.choice([0.04, 0.09, code.LOW_BIAS, code.HIGH_BIAS], length)
        y = (rng.random(length) < p).astype(np.uint8)
        one, zero = code.score_weights(p, y)
        chernoff = bound.table_bound(p, one, zero).threshold(log_target)
        exact = bound.exact_tail(p, one, zero, log_target).threshold(log_target)
        assert exact < chernoff - 0.02 * abs(chernoff), (length, exact, chernoff)


def test_exact_tail_of_nothing_never_accuses():
    tail = bound.exact_tail(np.zeros(0), np.zeros(0), np.zeros(0), math.log(1e-9))
    assert tail.threshold(math.log(1e-9)) == math.inf
    assert tail.log_tail(0.0) == 0.0


def _reading(ids: np.ndarray, y: np.ndarray) -> Reading:
    n = len(ids)
    return Reading(
        ids,
        y.astype(np.uint8),
        np.zeros(n, dtype=np.int64),
        np.arange(n, dtype=np.int64),
        {},
        {},
        1.0,
    )


def test_accuse_thresholds_by_the_exact_tail_and_prints_bounds_within_the_total():
    """A leaker's wording read with a few flipped symbols: the verdict's headline threshold
    is the exact tail's (below Chernoff's), the leaker is accused with a printed bound
    within the total, and no innocent is."""
    rng = np.random.default_rng(11)
    ids = layers.position_id(layers.WORD_CODE, np.arange(220))
    members = [f"WX-{n}" for n in range(1000)]
    y = code.member_bits(KEY, members[17], ids)
    flips = rng.random(len(ids)) < 0.04
    y = np.where(flips, 1 - y, y)
    verdict = accuse(_reading(ids, y), KEY, members)
    p = code.biases(KEY, ids)
    log_target = math.log(1e-6 / 1000 * HEADLINE_SHARE * 2)  # one layer: no twin
    chernoff = bound.evidence_bound(p, y).threshold(log_target)
    assert verdict.threshold < chernoff
    assert [s.member for s in verdict.accused] == [members[17]]
    assert verdict.accused[0].bound <= 1e-6


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 2**32 - 1), st.integers(20, 400))
def test_evidence_from_no_recipient_accuses_no_one(seed, length):
    """Evidence made from the bits of members who are not recipients (majority of three,
    or one member's bits with noise) accuses no recipient."""
    rng = np.random.default_rng(seed)
    ids = np.concatenate(
        [
            layers.position_id(layers.WORD_CODE, np.arange(length)),
            layers.position_id(layers.ZW_SPARSE_CODE, np.arange(length * 3)),
        ]
    )
    outsiders = [f"OUT-{seed}-{k}" for k in range(3)]
    bits = np.stack([code.member_bits(KEY, m, ids) for m in outsiders])
    y = (bits.sum(axis=0) >= 2) if seed % 2 else bits[0] ^ (rng.random(len(ids)) < 0.02)
    members = [f"WX-{n}" for n in range(300)]
    verdict = accuse(_reading(ids, y.astype(np.uint8)), KEY, members)
    assert verdict.accused == []
