"""Chinese numbers, enumeration runs and near-duplicate signatures."""

from __future__ import annotations

import random

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from tests.helpers import SAMPLE
from wenxing.materials import shingles
from wenxing.materials.sequences import chinese_number, find_items


def test_chinese_numbers():
    assert [chinese_number(t) for t in ["一", "九", "十", "十一", "二十", "二十三", "九十九"]] == [
        1,
        9,
        10,
        11,
        20,
        23,
        99,
    ]
    assert chinese_number("零") is None and chinese_number("") is None
    assert chinese_number("十十") is None


def test_items_within_bounds():
    body = "前言。一是甲；二是乙；三是丙。\n后文一是丁，二是戊。"
    spans = find_items(body, 0, body.index("\n"))
    assert [(s.marker, s.heading) for s in spans] == [
        ("一是", "甲"),
        ("二是", "乙"),
        ("三是", "丙"),
    ]
    assert all(s.end <= body.index("\n") for s in spans)


def test_identical_text_has_identical_signature_and_similarity_one():
    text = SAMPLE.read_text("utf-8")
    a, b = shingles.shingle_hashes(text), shingles.shingle_hashes(text)
    assert shingles.jaccard(a, b) == 1.0
    assert shingles.bands(shingles.minhash(a)) == shingles.bands(shingles.minhash(b))


def test_signature_estimates_similarity():
    text = SAMPLE.read_text("utf-8")
    rng = random.Random(7)
    sentences = text.split("。")
    edited = "。".join(s if rng.random() > 0.1 else s[::-1] for s in sentences)
    a, b = shingles.shingle_hashes(text), shingles.shingle_hashes(edited)
    exact = shingles.jaccard(a, b)
    estimate = float(np.mean(shingles.minhash(a) == shingles.minhash(b)))
    assert 0.6 < exact < 0.95
    assert abs(estimate - exact) < 0.2
    shared = sum(
        x == y
        for x, y in zip(
            shingles.bands(shingles.minhash(a)), shingles.bands(shingles.minhash(b)), strict=True
        )
    )
    assert shared >= 1  # candidates are found through at least one band


def test_unrelated_texts_share_no_band():
    a = shingles.minhash(shingles.shingle_hashes(SAMPLE.read_text("utf-8")))
    b = shingles.minhash(
        shingles.shingle_hashes("完全不同的另一篇文章，讲的是河湖长制和生态保护。" * 30)
    )
    assert not set(enumerate(shingles.bands(a))) & set(enumerate(shingles.bands(b)))


def test_punctuation_and_spacing_do_not_change_shingles():
    a = shingles.shingle_hashes("加强党的建设，推进乡村振兴。")
    b = shingles.shingle_hashes("加强 党的建设,推进乡村振兴!")
    assert shingles.jaccard(a, b) == 1.0


@given(st.text(max_size=200))
def test_any_text_gets_a_signature(text):
    hashes = shingles.shingle_hashes(text)
    signature = shingles.minhash(hashes)
    assert len(signature) == shingles.PERMUTATIONS
    assert all(-(1 << 62) <= v < (1 << 62) for v in shingles.bands(signature))
