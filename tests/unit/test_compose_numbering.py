"""The draft's heading numbers (compose/numbering.py): 一、（一）1.（1） counted anew in order."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from wenxing.compose.numbering import (
    chinese_number,
    marker,
    piece_levels,
    renumber,
    split_marker,
)
from wenxing.materials.outline import heading_marker

levels = st.lists(st.integers(min_value=1, max_value=4), max_size=60)


def test_chinese_numbers():
    assert [chinese_number(n) for n in (1, 9, 10, 11, 19, 20, 21, 99, 100, 101, 110, 1005)] == [
        "一", "九", "十", "十一", "十九", "二十", "二十一", "九十九",
        "一百", "一百零一", "一百一十", "一千零五",
    ]  # fmt: skip


def test_markers_of_each_level():
    assert renumber([1, 2, 2, 3, 4, 4, 3, 1, 2]) == [
        "一、", "（一）", "（二）", "1.", "（1）", "（2）", "2.", "二、", "（一）",
    ]  # fmt: skip


@given(levels)
def test_each_marker_reads_back_as_a_heading_of_its_level(seq):
    for level, mark in zip(seq, renumber(seq), strict=True):
        assert heading_marker(mark + "加强组织领导")[0] == level
        assert split_marker(mark + "加强组织领导") == (level, "加强组织领导")


@given(levels)
def test_numbers_count_on_under_one_parent_and_start_again_after_it(seq):
    expected: list[int] = []
    counts = {1: 0, 2: 0, 3: 0, 4: 0}
    for level in seq:
        counts[level] += 1
        for deeper in range(level + 1, 5):
            counts[deeper] = 0
        expected.append(counts[level])
    assert renumber(seq) == [marker(level, n) for level, n in zip(seq, expected, strict=True)]


@given(st.lists(st.integers(min_value=1, max_value=4), min_size=1, max_size=20))
def test_the_top_level_reads_one_two_three_in_order(seq):
    tops = [m for level, m in zip(seq, renumber(seq), strict=True) if level == 1]
    assert tops == [marker(1, n) for n in range(1, len(tops) + 1)]


@given(
    st.lists(st.one_of(st.none(), st.integers(min_value=0, max_value=5)), max_size=12),
    st.integers(min_value=1, max_value=4),
)
def test_a_piece_keeps_the_distance_of_its_headings(ranks, level):
    ranks = [None if r in (0, 5) else r for r in ranks]
    placed = piece_levels(ranks, level)
    assert len(placed) == len(ranks)
    assert [p is None for p in placed] == [r is None for r in ranks]
    known = [(r, p) for r, p in zip(ranks, placed, strict=True) if r is not None]
    if known:
        assert known[0][1] == level
        for r, p in known:
            assert p == min(max(level + r - known[0][0], 1), 4)


def test_a_heading_without_a_renumbered_marker_is_kept():
    assert split_marker("第三章 总则") == (None, "第三章 总则")
    assert split_marker("（二）脱贫攻坚全面胜利。五年来") == (2, "脱贫攻坚全面胜利。五年来")
