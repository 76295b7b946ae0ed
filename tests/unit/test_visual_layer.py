"""The visual layer's code: each character's shift, and reading residuals back into bits."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from wenxing.fingerprint import accuse, layers, member_bits, visual

KEY = b"visual-key-0123456789abcdef!!!!!"
MEMBERS = [f"WX-{10000 + n}" for n in range(200)]


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 5000), st.integers(8, 400), st.sampled_from(MEMBERS))
def test_shifts_take_two_values_per_axis_and_depend_on_the_member(start, count, member):
    offsets = np.arange(start, start + count)
    dx, dy = visual.shifts(KEY, member, offsets)
    assert set(np.round(dx, 6).tolist()) <= {0.0, visual.DX_MM}
    assert set(np.round(dy, 6).tolist()) <= {-visual.DY_MM, visual.DY_MM}
    again = visual.shifts(KEY, member, offsets)
    assert np.array_equal(dx, again[0]) and np.array_equal(dy, again[1])
    # The characters of one group carry one code position per axis: the chip times it.
    for axis, shift in ((visual.X_AXIS, dx > 0), (visual.Y_AXIS, dy > 0)):
        sign = np.where(shift, 1, -1) * visual.chips(KEY, offsets, axis)
        groups = offsets // visual.GROUP
        for group in np.unique(groups):
            assert len(set(sign[groups == group].tolist())) == 1
        ids = visual.position_ids(offsets, axis)
        assert set(layers.code_of(ids).tolist()) == {layers.VISUAL_CODE}
        bits = member_bits(KEY, member, ids)
        assert np.array_equal(np.where(sign > 0, 1, 0), bits)


def _residuals(member: str, offsets: np.ndarray, noise: float, rng: np.random.Generator):
    dx, dy = visual.shifts(KEY, member, offsets)
    return (
        dx + rng.normal(0, noise, len(offsets)) + 0.37,  # any common offset: line fits drift
        dy + rng.normal(0, noise, len(offsets)),
    )


@settings(max_examples=20, deadline=None)
@given(st.sampled_from(MEMBERS), st.integers(0, 2**32 - 1))
def test_a_page_of_residuals_names_its_member_and_no_one_else(member, seed):
    rng = np.random.default_rng(seed)
    start = int(rng.integers(0, 4000))
    offsets = np.arange(start, start + 500)  # about a page of body characters
    rx, ry = _residuals(member, offsets, 0.06, rng)
    lost = rng.random(len(offsets)) < 0.1  # characters OCR missed
    rx[lost] = np.nan
    reading = visual.reading(KEY, offsets, rx, ry, np.zeros(len(offsets)))
    bits = member_bits(KEY, member, reading.position_ids)
    assert reading.positions >= 150
    assert (bits == reading.symbols).mean() >= 0.95
    verdict = accuse(reading, KEY, MEMBERS)
    assert [s.member for s in verdict.accused] == [member]


@settings(max_examples=20, deadline=None)
@given(st.integers(0, 2**32 - 1), st.floats(0.01, 0.5))
def test_residuals_without_a_signal_accuse_no_one(seed, noise):
    rng = np.random.default_rng(seed)
    offsets = np.arange(0, 600)
    rx = rng.normal(0, noise, len(offsets))
    ry = rng.normal(0, noise, len(offsets))
    reading = visual.reading(KEY, offsets, rx, ry, np.zeros(len(offsets)))
    assert accuse(reading, KEY, MEMBERS).accused == []


def test_weak_positions_are_erasures_not_guesses():
    offsets = np.arange(0, 400)
    rx = np.zeros(len(offsets))  # every character exactly in place: nothing to read
    ry = np.zeros(len(offsets))
    assert visual.reading(KEY, offsets, rx, ry, np.zeros(len(offsets))).positions == 0


def test_only_han_characters_carry():
    assert visual.carries("国") and visual.carries("㐀")
    assert not any(visual.carries(ch) for ch in "，。A1　“”—")
