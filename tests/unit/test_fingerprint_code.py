"""The collusion-secure code and its Chernoff bound: distributions, scores, determinism.

Every statistical check uses fixed keys and seeds, so it is deterministic; tolerances are
several standard deviations wide and each one fails if the distribution is wrong.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from wenxing.fingerprint import bound, code, prf

KEY = bytes(range(32))
OTHER_KEY = bytes(range(1, 33))


def position_ids(slots: np.ndarray, two_bits: np.ndarray) -> np.ndarray:
    """Position ids ``slot << 2 | bit`` for slots carrying one bit (0) or two (0 and 1)."""
    ids = []
    for slot, both in zip(slots.tolist(), two_bits.tolist(), strict=True):
        ids.append(slot << 2)
        if both:
            ids.append((slot << 2) | 1)
    return np.array(ids, dtype=np.uint64)


def members(count: int, prefix: str = "WX-") -> list[str]:
    return [f"{prefix}{n:05d}" for n in range(count)]


def innocent_scores(
    key: bytes, ids: np.ndarray, y: np.ndarray, count: int, prefix: str = "inn-"
) -> np.ndarray:
    p = code.biases(key, ids)
    x = code.symbols(key, prf.member_seeds(key, members(count, prefix)), ids, p)
    return code.scores(x, p, y)


# --- biases ---------------------------------------------------------------------------


def test_bias_constants_are_nuidas_pair():
    assert math.isclose(code.LOW_BIAS, (1 - 1 / math.sqrt(3)) / 2, rel_tol=1e-12)
    assert abs(code.LOW_BIAS - 0.21132) < 1e-5
    assert math.isclose(code.LOW_BIAS + code.HIGH_BIAS, 1.0, rel_tol=1e-12)


def test_biases_take_two_values_with_equal_frequency():
    ids = np.arange(40_000, dtype=np.uint64) * np.uint64(4)
    p = code.biases(KEY, ids)
    assert set(np.unique(p).tolist()) == {code.LOW_BIAS, code.HIGH_BIAS}
    share_high = float(np.mean(p == code.HIGH_BIAS))
    # sd of the share is 0.0025; 0.015 is six of them.
    assert abs(share_high - 0.5) < 0.015


def test_biases_depend_on_key_and_position_only():
    ids = np.arange(5_000, dtype=np.uint64)
    assert np.array_equal(code.biases(KEY, ids), code.biases(KEY, ids))
    # The same position has the same bias wherever it stands in the array.
    shuffled = np.random.default_rng(1).permutation(ids)
    p = code.biases(KEY, ids)
    assert np.array_equal(code.biases(KEY, shuffled), p[shuffled.astype(np.int64)])
    agree = float(np.mean(code.biases(OTHER_KEY, ids) == p))
    assert 0.45 < agree < 0.55


# --- symbols --------------------------------------------------------------------------


def test_symbols_are_bernoulli_of_the_bias_on_both_bits():
    rng = np.random.default_rng(7)
    slots = np.arange(3_000, dtype=np.uint64) + np.uint64(1 << 40)
    ids = position_ids(slots, rng.random(len(slots)) < 0.6)
    p = code.biases(KEY, ids)
    x = code.symbols(KEY, prf.member_seeds(KEY, members(300)), ids, p)
    assert x.shape == (300, len(ids))
    assert x.dtype == np.uint8
    assert set(np.unique(x).tolist()) <= {0, 1}
    low_half = (ids & np.uint64(3)) == np.uint64(1)
    for bias in (code.LOW_BIAS, code.HIGH_BIAS):
        for half in (low_half, ~low_half):
            cells = x[:, (p == bias) & half]
            assert cells.size > 50_000
            # sd of the mean is below 0.002 for every cell group; 0.01 is over five sds.
            assert float(cells.mean()) == pytest.approx(bias, abs=0.01)


def test_two_bits_of_one_slot_are_independent():
    slots = np.arange(4_000, dtype=np.uint64)
    ids = position_ids(slots, np.ones(len(slots), dtype=bool))
    p = code.biases(KEY, ids)
    x = code.symbols(KEY, prf.member_seeds(KEY, members(100)), ids, p).astype(np.float64)
    first, second = x[:, 0::2], x[:, 1::2]
    p0, p1 = p[0::2], p[1::2]
    # Standardise each bit; the product of independent standardised bits averages 0.
    z0 = (first - p0) / np.sqrt(p0 * (1 - p0))
    z1 = (second - p1) / np.sqrt(p1 * (1 - p1))
    assert abs(float(np.mean(z0 * z1))) < 0.02  # sd 0.0016


def test_symbols_are_deterministic_per_key_and_member():
    ids = position_ids(np.arange(2_000, dtype=np.uint64), np.ones(2_000, dtype=bool))
    p = code.biases(KEY, ids)
    seeds = prf.member_seeds(KEY, ["WX-10034", "WX-10035"])
    first = code.symbols(KEY, seeds, ids, p)
    assert np.array_equal(first, code.symbols(KEY, seeds, ids, p))
    assert np.array_equal(first[1], code.symbols(KEY, seeds[1:], ids, p)[0])
    # Two members agree where p² + (1−p)² predicts (2/3), not everywhere.
    agree = float(np.mean(first[0] == first[1]))
    assert 0.6 < agree < 0.73
    other_seeds = prf.member_seeds(OTHER_KEY, ["WX-10034"])
    other = code.symbols(OTHER_KEY, other_seeds, ids, code.biases(OTHER_KEY, ids))[0]
    # Another key draws fresh biases as well: the symbols agree half the time.
    assert 0.45 < float(np.mean(other == first[0])) < 0.55


def test_member_seeds_are_keyed_and_distinct():
    names = members(2_000)
    seeds = prf.member_seeds(KEY, names)
    assert len(set(seeds.tolist())) == len(names)
    assert np.array_equal(seeds, prf.member_seeds(KEY, names))
    assert not np.any(seeds == prf.member_seeds(OTHER_KEY, names))


# --- scores ---------------------------------------------------------------------------


def test_score_weights_have_mean_zero_variance_one_per_position():
    for bias in (code.LOW_BIAS, code.HIGH_BIAS):
        p = np.array([bias, bias])
        y = np.array([0, 1])
        one, zero = code.score_weights(p, y)
        mean = p * one + (1 - p) * zero
        second = p * one**2 + (1 - p) * zero**2
        np.testing.assert_allclose(mean, 0.0, atol=1e-12)
        np.testing.assert_allclose(second, 1.0, atol=1e-12)
        # Agreeing with the evidence scores positively, disagreeing negatively.
        assert one[1] > 0 > zero[1]
        assert zero[0] > 0 > one[0]


@pytest.mark.parametrize("evidence", ["random", "all ones", "all zeros"])
def test_innocent_scores_average_zero_with_variance_one_per_position(evidence):
    n = 400
    ids = position_ids(np.arange(n // 2, dtype=np.uint64), np.ones(n // 2, dtype=bool))
    y = {
        "random": np.random.default_rng(3).integers(0, 2, n),
        "all ones": np.ones(n, dtype=np.int64),
        "all zeros": np.zeros(n, dtype=np.int64),
    }[evidence]
    s = innocent_scores(KEY, ids, y, 4_000)
    standardised = s / math.sqrt(n)
    # sd of the mean of 4,000 standardised scores is 0.016; of their variance about 0.022.
    assert abs(float(standardised.mean())) < 0.08
    assert float(standardised.var()) == pytest.approx(1.0, abs=0.12)


def test_scores_match_the_definition():
    rng = np.random.default_rng(5)
    p = np.where(rng.random(50) < 0.5, code.LOW_BIAS, code.HIGH_BIAS)
    y = rng.integers(0, 2, 50)
    x = rng.integers(0, 2, (4, 50)).astype(np.uint8)
    expected = np.zeros(4)
    for m in range(4):
        for i in range(50):
            up, down = math.sqrt((1 - p[i]) / p[i]), math.sqrt(p[i] / (1 - p[i]))
            if x[m, i] == y[i]:
                expected[m] += up if x[m, i] == 1 else down
            else:
                expected[m] -= up if x[m, i] == 1 else down
    np.testing.assert_allclose(code.scores(x, p, y), expected, rtol=1e-12)


@pytest.mark.parametrize("layout", ["sorted", "shuffled", "low halves only", "one bit"])
def test_score_members_equals_scoring_rows_of_symbols(layout):
    rng = np.random.default_rng(11)
    slots = np.sort(rng.choice(1 << 30, 900, replace=False)).astype(np.uint64)
    if layout == "one bit":
        ids = slots << np.uint64(2)
    elif layout == "low halves only":
        # A mix: some slots keep only their second (low-half) bit.
        both = position_ids(slots, rng.random(len(slots)) < 0.7)
        drop = ((both & np.uint64(3)) == 0) & (rng.random(len(both)) < 0.3)
        ids = both[~drop]
    else:
        ids = position_ids(slots, rng.random(len(slots)) < 0.5)
        if layout == "shuffled":
            ids = rng.permutation(ids)
    p = code.biases(KEY, ids)
    y = rng.integers(0, 2, len(ids))
    one, zero = code.score_weights(p, y)
    weight = one - zero
    low_half = (ids & np.uint64(3)) == np.uint64(1)
    masks = [
        np.ones(len(ids), dtype=bool),
        rng.random(len(ids)) < 0.3,
        low_half,
        ~low_half,
        np.zeros(len(ids), dtype=bool),
    ]
    names = members(300)  # more than one block of 128, the last one partial
    seeds = prf.member_seeds(KEY, names)
    table = code.score_members(KEY, seeds, ids, p, [(weight, m) for m in masks])
    assert table.shape == (300, len(masks))
    x = code.symbols(KEY, seeds, ids, p)
    for t, m in enumerate(masks):
        expected = x[:, m].astype(np.float64) @ weight[m]
        np.testing.assert_allclose(table[:, t], expected, rtol=1e-5, atol=2e-3)
        # With the constant part added back it is the full score on the masked positions.
        full = code.scores(x[:, m], p[m], y[m])
        np.testing.assert_allclose(table[:, t] + zero[m].sum(), full, rtol=1e-5, atol=2e-3)
    assert np.all(table[:, -1] == 0.0)


# --- Chernoff bound -------------------------------------------------------------------


def _evidence(n: int, seed: int, kind: str = "random") -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    slots = np.arange(n // 2, dtype=np.uint64) + np.uint64(seed << 20)
    ids = position_ids(slots, np.ones(len(slots), dtype=bool))
    p = code.biases(KEY, ids)
    if kind == "random":
        y = rng.integers(0, 2, len(ids))
    elif kind == "follows bias":  # what a majority of colluders tends to leave
        y = (rng.random(len(ids)) < p).astype(np.int64)
    else:
        y = np.ones(len(ids), dtype=np.int64)
    return ids, y


def test_cumulants_equal_the_per_position_sum():
    ids, y = _evidence(300, 1)
    p = code.biases(KEY, ids)
    b = bound.evidence_bound(p, y)
    one, zero = code.score_weights(p, y)
    alphas = b.alphas
    direct = np.sum(
        np.logaddexp(
            np.log(p)[None, :] + alphas[:, None] * one[None, :],
            np.log(1 - p)[None, :] + alphas[:, None] * zero[None, :],
        ),
        axis=1,
    )
    np.testing.assert_allclose(b.cumulants, direct, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize(("kind", "seed"), [("random", 2), ("follows bias", 3), ("ones", 4)])
def test_empirical_innocent_tail_never_exceeds_the_chernoff_bound(kind, seed):
    ids, y = _evidence(300, seed, kind)
    p = code.biases(KEY, ids)
    b = bound.evidence_bound(p, y)
    trials = 20_000
    s = innocent_scores(KEY, ids, y, trials, prefix=f"innocent-{seed}-")
    sd = math.sqrt(len(ids))
    for level in (0.5, 1.0, 1.5, 2.0, 2.5, 3.0):
        score = level * sd
        empirical = float(np.mean(s >= score))
        limit = math.exp(b.log_tail(score))
        slack = 3 * math.sqrt(limit * (1 - limit) / trials) + 1 / trials
        assert empirical <= limit + slack, (level, empirical, limit)
    # The bound is not vacuous where it matters: at 3 sd it is well below 1.
    assert b.log_tail(3 * sd) < math.log(0.05)


def test_log_tail_is_a_probability_and_falls_with_the_score():
    ids, y = _evidence(300, 5)
    b = bound.evidence_bound(code.biases(KEY, ids), y)
    tails = [b.log_tail(s) for s in np.linspace(-20, 200, 60)]
    assert all(t <= 0.0 for t in tails)
    assert b.log_tail(0.0) == 0.0  # Λ(α) ≥ 0: no score below the mean is unlikely
    assert all(a >= c for a, c in itertools.pairwise(tails))
    assert tails[-1] < -30


def test_threshold_grows_as_the_target_shrinks_and_meets_it():
    ids, y = _evidence(300, 6)
    b = bound.evidence_bound(code.biases(KEY, ids), y)
    targets = [math.log(t) for t in (1e-2, 1e-4, 1e-6, 1e-9, 1e-12)]
    thresholds = [b.threshold(t) for t in targets]
    assert all(math.isfinite(t) and t > 0 for t in thresholds)
    assert all(a < c for a, c in itertools.pairwise(thresholds))
    for target, threshold in zip(targets, thresholds, strict=True):
        assert b.log_tail(threshold) <= target + 1e-9
        # and it is the least such score on the grid: a little below, the bound is above.
        assert b.log_tail(threshold * 0.98) > target


def test_bound_of_no_evidence_accuses_no_one():
    # With no positions every score is 0: a positive score is impossible, zero is certain.
    b = bound.evidence_bound(np.zeros(0), np.zeros(0, dtype=np.uint8))
    assert b.log_tail(0.0) == 0.0
    assert b.log_tail(10.0) < math.log(1e-6)
    assert 0 < b.threshold(math.log(1e-6)) < math.inf


# --- fitted presence scores and the bound of any score table ----------------------------

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_BIASES = st.sampled_from([0.04, 0.09, 0.1, 0.233, code.LOW_BIAS, code.HIGH_BIAS])


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(_BIASES, st.integers(0, 1)), min_size=1, max_size=10))
def test_table_bound_holds_for_fitted_scores_by_enumeration(cells):
    """For evidence of up to 10 positions, the exact chance that an innocent (every bit
    drawn with its bias, independent of the evidence) reaches a score never exceeds the
    bound table_bound gives for the fitted presence scores, at any score."""
    p = np.array([c[0] for c in cells])
    y = np.array([c[1] for c in cells], dtype=np.uint8)
    one, zero = code.fitted_weights(p, y)
    assert np.all(np.isfinite(one)) and np.all(np.isfinite(zero))
    table = bound.table_bound(p, one, zero)
    outcomes = []
    for bits in itertools.product((0, 1), repeat=len(p)):
        x = np.array(bits)
        chance = float(np.prod(np.where(x == 1, p, 1 - p)))
        outcomes.append((float(np.sum(np.where(x == 1, one, zero))), chance))
    for score, _chance in outcomes:
        exact = sum(c for s, c in outcomes if s >= score - 1e-12)
        assert exact <= math.exp(table.log_tail(score)) * (1 + 1e-9) + 1e-15


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(_BIASES, st.integers(0, 1)), min_size=1, max_size=30))
def test_table_bound_of_tardos_scores_is_evidence_bound(cells):
    """The general bound equals the symmetric-score bound on the symmetric scores."""
    p = np.array([c[0] for c in cells])
    y = np.array([c[1] for c in cells], dtype=np.uint8)
    one, zero = code.score_weights(p, y)
    general = bound.table_bound(p, one, zero).cumulants
    assert np.allclose(general, bound.evidence_bound(p, y).cumulants, rtol=1e-9, atol=1e-9)


def test_fitted_scores_reward_the_marks_a_deleting_coalition_kept():
    """Evidence keeping a mark only where all three colluders have one: every colluder
    gains on average under the fitted scores and an innocent does not."""
    rng = np.random.default_rng(7)
    p = np.where(rng.random(4000) < 0.5, code.LOW_BIAS, code.HIGH_BIAS)
    x = (rng.random((3, 4000)) < p).astype(np.uint8)
    y = x.min(axis=0)
    one, zero = code.fitted_weights(p, y)
    colluders = np.where(x == 1, one, zero).sum(axis=1)
    innocents = np.where((rng.random((200, 4000)) < p), one, zero).sum(axis=1)
    threshold = bound.table_bound(p, one, zero).threshold(math.log(1e-9))
    assert colluders.min() > threshold
    assert innocents.max() < threshold


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.integers(1, 300),
    st.integers(1, 6),
    st.integers(0, 2),
    st.booleans(),
    st.integers(0, 2**32 - 1),
)
def test_score_cells_equals_score_members_on_every_cell(positions, cells, extras, shuffle, seed):
    """Cell sums and extra columns are exactly the masked scores of score_members (any
    partition, positions in any order, high and low halves of slot words mixed)."""
    rng = np.random.default_rng(seed)
    slots = rng.choice(2**30, size=positions, replace=False).astype(np.uint64)
    ids = (slots << np.uint64(2)) | rng.integers(0, 2, positions).astype(np.uint64)
    if shuffle:
        ids = rng.permutation(ids)
    p = code.biases(b"k" * 32, ids)
    weight = rng.normal(size=positions)
    cell = rng.integers(0, cells, positions)
    extra = rng.normal(size=(positions, extras))
    seeds = prf.member_seeds(b"k" * 32, [f"WX-{n}" for n in range(150)])
    got, got_extra = code.score_cells(b"k" * 32, seeds, ids, p, weight, cell, cells, extra)
    tests = [(weight, cell == c) for c in range(cells)]
    tests += [(extra[:, j], np.ones(positions, dtype=bool)) for j in range(extras)]
    want = code.score_members(b"k" * 32, seeds, ids, p, tests)
    assert np.allclose(got, want[:, :cells], atol=1e-3)
    assert np.allclose(got_extra, want[:, cells:], atol=1e-3)
