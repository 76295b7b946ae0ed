"""Skeletons and alignment: what tracing compares, and how evidence maps onto the base."""

from __future__ import annotations

import unicodedata
from functools import cache

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.helpers import SAMPLE, parse_text
from wenxing.fingerprint import align
from wenxing.fingerprint.plan import GLYPHS, VS_MARKS, ZW_MARKS


@cache
def sample() -> str:
    return parse_text(SAMPLE.read_text("utf-8")).body


@cache
def sample_skeleton() -> str:
    return align.skeleton(sample()).text


def test_skeleton_drops_whitespace_and_format_characters():
    text = "一、 总体\t要求\u3000\n（一）\u00ad坚持\ufeff\u200e原则\r\n"
    sk = align.skeleton(text)
    assert sk.text == "一、总体要求(一)坚持原则"
    assert all(not ch.isspace() for ch in sk.chars)
    assert all(unicodedata.category(ch) != "Cf" for ch in sk.chars)
    # Every skeleton character remembers where it came from and on which line.
    assert [unicodedata.normalize("NFKC", text[o]) for o in sk.origin] == sk.chars
    assert sk.chars[sk.origin.index(text.index("坚"))] == "坚"
    assert sk.line[sk.chars.index("总")] == 0
    assert sk.line[sk.chars.index("坚")] == 1


def test_skeleton_applies_nfkc_per_character():
    sk = align.skeleton("ＡＢ１２，：（一）")
    assert sk.text == "AB12,:(一)"
    assert sk.visible == list("AB12,:(一)")


def test_skeleton_folds_look_alike_glyphs_but_keeps_what_was_seen():
    text = "甲\u2015乙\u2500丙\u2014丁\u30fb戊\u2027己\u00b7庚"
    sk = align.skeleton(text)
    assert sk.text == "甲—乙—丙—丁·戊·己·庚"
    assert "".join(sk.visible) == text
    for plain, looks in GLYPHS.items():
        for look in looks:
            assert align.skeleton(f"x{look}y").text == f"x{plain}y"


def test_skeleton_keeps_marks_aside_on_the_character_they_follow():
    zw, vs = ZW_MARKS, VS_MARKS
    text = f"{zw[0]}甲{vs[1]}{zw[2]}乙{zw[3]}\n丙{vs[3]}"
    sk = align.skeleton(text)
    assert sk.text == "甲乙丙"
    assert sk.marks == [vs[1] + zw[2], zw[3], vs[3]]
    assert sk.line == [0, 0, 1]
    # A mark before any visible character has nothing to attach to.
    assert align.skeleton(zw[0]).marks == []


def test_skeleton_of_marked_and_plain_text_is_the_same():
    zw, vs = ZW_MARKS, VS_MARKS
    plain = "坚持稳中求进工作总基调，深化供给侧结构性改革。"
    marked = "".join(
        ch + (vs[i % 4] if i % 3 == 0 else "") + zw[i % 4] for i, ch in enumerate(plain)
    )
    assert align.skeleton(marked).text == align.skeleton(plain).text
    assert align.skeleton(marked).origin != align.skeleton(plain).origin


@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_an_exact_substring_maps_to_consecutive_offsets(data):
    base = sample_skeleton()
    start = data.draw(st.integers(0, len(base) - 200))
    length = data.draw(st.integers(40, 200))
    prefix = data.draw(st.sampled_from(["", "无关的前言文字。", "ABC"]))
    evidence = prefix + base[start : start + length]
    e_of_b = align.align(base, evidence)
    assert e_of_b.shape == (len(base),)
    inside = e_of_b[start : start + length]
    assert np.array_equal(inside, np.arange(len(prefix), len(prefix) + length))
    assert np.all(e_of_b[start + length :] == -1)
    # Before it, only a maximal run's extension over equal characters (the prefix's 。).
    before = np.flatnonzero(e_of_b[:start] >= 0)
    assert len(before) <= len(prefix)
    for b in before.tolist():
        assert base[b] == evidence[e_of_b[b]]
    assert np.array_equal(before, np.arange(start - len(before), start))


def test_reordered_pieces_align_independently():
    base = sample_skeleton()
    a, b = base[100:400], base[2000:2300]
    e_of_b = align.align(base, b + a)
    assert np.array_equal(e_of_b[2000:2300], np.arange(0, 300))
    assert np.array_equal(e_of_b[100:400], np.arange(300, 600))
    assert np.sum(e_of_b >= 0) == 600


def test_short_gaps_are_aligned_character_by_character():
    base = sample_skeleton()[:600]
    # Replace two characters (a wording variant) and drop one (an OCR loss).
    evidence = base[:200] + "强化" + base[202:400] + base[401:]
    e_of_b = align.align(base, evidence)
    assert np.array_equal(e_of_b[:200], np.arange(200))
    assert e_of_b[200] == 200 and e_of_b[201] == 201  # same length: one to one
    assert e_of_b[400] == -1  # the dropped character
    assert np.array_equal(e_of_b[401:], np.arange(400, len(evidence)))


def test_unrelated_text_aligns_nowhere():
    base = sample_skeleton()
    assert np.all(align.align(base, "天地玄黄宇宙洪荒日月盈昃辰宿列张寒来暑往秋收冬藏") == -1)
    assert np.all(align.align(base, "") == -1)
    assert len(align.align("", "任何文字")) == 0


@st.composite
def patchworks(draw):
    """Evidence made of slices of the base in any order, with junk between them."""
    base = sample_skeleton()
    parts = []
    for _ in range(draw(st.integers(0, 5))):
        start = draw(st.integers(0, len(base) - 1))
        parts.append(base[start : start + draw(st.integers(1, 150))])
        parts.append(draw(st.text(st.sampled_from("甲乙丙丁abc，。"), max_size=6)))
    return "".join(parts)


@settings(max_examples=60, deadline=None)
@given(evidence=st.one_of(st.text(max_size=300), patchworks()))
def test_alignment_is_a_partial_injective_map(evidence):
    base = sample_skeleton()
    ev = align.skeleton(evidence).text
    e_of_b = align.align(base, ev)
    mapped = e_of_b[e_of_b >= 0]
    assert np.all(mapped < len(ev))
    assert len(set(mapped.tolist())) == len(mapped)
    # Mapped characters are equal except in filled gaps, which are short and bounded.
    pairs = np.flatnonzero(e_of_b >= 0)
    unequal = sum(base[b] != ev[e_of_b[b]] for b in pairs.tolist())
    assert unequal <= 0.5 * len(pairs) + 1
