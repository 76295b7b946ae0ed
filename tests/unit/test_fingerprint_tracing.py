"""Tracing: leaked evidence accuses its recipient, and nothing else ever accuses anyone."""

from __future__ import annotations

import math
import unicodedata
from functools import cache

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers import FINGERPRINT_KEY, sample_body, shipped_variants
from wenxing.fingerprint import (
    DEFAULT_TOTAL_BOUND,
    Plan,
    Profile,
    Verdict,
    accuse,
    build_plan,
    mark,
    read_evidence,
    strip_marks,
)
from wenxing.fingerprint.embed import rendered_symbols
from wenxing.fingerprint.plan import VS_MARKS, VS_PLACE, WORD, ZW_MARKS, ZW_PLACE
from wenxing.materials.keywords import words

KEY = FINGERPRINT_KEY
OTHER_KEY = b"another-material-key-0123456789!"
MARKS = frozenset(ZW_MARKS + VS_MARKS)
PROPERTY = settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


variants = shipped_variants
sample = sample_body


@cache
def paragraph_words(paragraph: str) -> tuple[str, ...]:
    return tuple(words(paragraph))


def text_words(text: str) -> list[str]:
    """The segmentation of a text, paragraph by paragraph (newlines are tokens of their own)."""
    tokens: list[str] = []
    for n, paragraph in enumerate(text.split("\n")):
        if n:
            tokens.append("\n")
        tokens.extend(paragraph_words(paragraph))
    return tokens


@cache
def plan_for(text: str, key: bytes = KEY, strength: str = "light") -> Plan:
    return build_plan(text, key, text_words(text), variants(), Profile(strength))


def recipients(count: int, prefix: str = "WX-") -> list[str]:
    return [f"{prefix}{n:05d}" for n in range(count)]


@cache
def copy_of(member: str, strength: str = "light", key: bytes = KEY) -> str:
    return mark(sample(), plan_for(sample(), key, strength), key, member)


def trace(evidence: str, members, strength: str = "light", **kwargs) -> Verdict:
    reading = read_evidence(sample(), plan_for(sample(), KEY, strength), evidence)
    return accuse(reading, KEY, members, **kwargs)


def accused(verdict: Verdict) -> list[str]:
    return [s.member for s in verdict.accused]


def excerpt(marked: str, start: int, length: int) -> str:
    """``length`` visible characters of a copy from visible offset ``start``, marks included."""
    visible = [j for j, ch in enumerate(marked) if ch not in MARKS]
    begin = visible[start]
    end = visible[start + length] if start + length < len(visible) else len(marked)
    return marked[begin:end]


def check_verdict_is_consistent(verdict: Verdict) -> None:
    """An accused member's stated bound is within the total; everyone else's is above it."""
    assert math.isfinite(verdict.threshold) or verdict.positions == 0
    for s in verdict.scores:
        assert 0.0 <= s.bound <= 1.0
        assert s.log10_bound <= 0.0
        assert s.bound == pytest.approx(10.0**s.log10_bound, rel=1e-9, abs=1e-300)
        assert s.accused == (s.log10_bound <= math.log10(verdict.total_bound) + 1e-12)
        if s.accused:
            assert s.bound <= verdict.total_bound * (1 + 1e-9)
        else:
            assert s.bound >= verdict.total_bound * (1 - 1e-9)
    bounds = [s.log10_bound for s in verdict.scores]
    assert bounds == sorted(bounds)


def readable_positions(plan: Plan, member: str) -> int:
    """Positions a member's own copy shows: every bit, except the kind bits of a place
    where the member has no mark."""
    symbols = rendered_symbols(sample(), plan, KEY, member)
    bits = plan.bits()
    place = np.isin(plan.layer, (ZW_PLACE, VS_PLACE))
    return int(np.where(place & (symbols & 1 == 0), 1, bits).sum())


LEAKER = "WX-00417"
THOUSAND = recipients(1_000)


# --- a leaker is found --------------------------------------------------------------------


@pytest.mark.parametrize("strength", ["off", "light", "strong"])
def test_a_full_copy_accuses_exactly_its_member_among_a_thousand(strength):
    verdict = trace(copy_of(LEAKER, strength), THOUSAND, strength)
    assert accused(verdict) == [LEAKER]
    top = verdict.scores[0]
    assert top.member == LEAKER
    assert top.score >= top.threshold == verdict.threshold
    assert top.bound <= verdict.total_bound
    assert math.isfinite(verdict.threshold)
    assert verdict.total_bound == DEFAULT_TOTAL_BOUND
    assert verdict.positions == readable_positions(plan_for(sample(), KEY, strength), LEAKER)
    # Tests: for every recipient, the whole text and each paragraph with enough positions,
    # each with every family of the layers present.
    assert verdict.tests % len(THOUSAND) == 0
    assert verdict.tests > len(THOUSAND)
    assert len(verdict.scores) == len(THOUSAND)
    check_verdict_is_consistent(verdict)
    # Innocents score like innocents: far below the leaker, around zero.
    innocent = np.array([s.score for s in verdict.scores if s.member != LEAKER])
    assert abs(float(innocent.mean())) < 0.2 * math.sqrt(verdict.positions)
    assert float(innocent.max()) < top.threshold


@pytest.mark.parametrize("start", [0, 1_900, 4_200, 5_456])
def test_a_300_character_excerpt_accuses_its_member(start):
    evidence = excerpt(copy_of(LEAKER), start, 300)
    assert len(strip_marks(evidence)) == 300
    verdict = trace(evidence, THOUSAND)
    assert accused(verdict) == [LEAKER]
    assert verdict.positions < 0.1 * len(plan_for(sample()).position_ids()[0])
    check_verdict_is_consistent(verdict)


def test_cleaned_evidence_still_accuses_through_selectors_and_wording():
    """All Cf removed, NFKC, no whitespace: the zero-width layer is gone, the rest reads."""
    evidence = unicodedata.normalize("NFKC", copy_of(LEAKER))
    evidence = "".join(
        ch for ch in evidence if unicodedata.category(ch) != "Cf" and not ch.isspace()
    )
    assert not set(evidence) & set(ZW_MARKS)
    assert set(evidence) & set(VS_MARKS)
    reading = read_evidence(sample(), plan_for(sample()), evidence)
    assert reading.slots_read["zero-width"] == 0
    assert (
        reading.slots_read["variation-selector"]
        == plan_for(sample()).counts()["variation-selector"]
    )
    assert reading.slots_read["wording"] == plan_for(sample()).counts()["wording"]
    verdict = accuse(reading, KEY, THOUSAND)
    assert accused(verdict) == [LEAKER]
    check_verdict_is_consistent(verdict)


def test_a_retyped_copy_accuses_through_wording_alone():
    evidence = strip_marks(copy_of(LEAKER, "strong"))
    reading = read_evidence(sample(), plan_for(sample(), KEY, "strong"), evidence)
    assert reading.slots_read["zero-width"] == reading.slots_read["variation-selector"] == 0
    assert reading.slots_read["wording"] == plan_for(sample(), KEY, "strong").counts()["wording"]
    verdict = accuse(reading, KEY, THOUSAND)
    assert accused(verdict) == [LEAKER]
    check_verdict_is_consistent(verdict)


def test_paragraphs_alternating_between_two_members_accuse_only_them():
    a, b = "WX-00017", "WX-00923"
    lines_a, lines_b = copy_of(a).split("\n"), copy_of(b).split("\n")
    assert len(lines_a) == len(lines_b) == len(sample().split("\n"))
    owner = [a if n % 2 == 0 else b for n in range(len(lines_a))]
    evidence = "\n".join(
        (la if who == a else lb) for la, lb, who in zip(lines_a, lines_b, owner, strict=True)
    )
    verdict = trace(evidence, THOUSAND)
    found = accused(verdict)
    assert found
    assert set(found) <= {a, b}
    for s in verdict.accused:
        if s.best_segment is not None:  # the paragraph that convicted them is theirs
            assert owner[s.best_segment] == s.member
    check_verdict_is_consistent(verdict)


# Paragraphs of about 300 characters: a copy holds about 75 readable positions in each.
@pytest.mark.parametrize("picks", [((0, 4), (1, 26)), ((1, 16), (0, 4), (1, 26))])
def test_pasted_paragraphs_are_traced_to_the_copy_each_came_from(picks):
    pair = ("WX-00017", "WX-00923")
    copies = [copy_of(member).split("\n") for member in pair]
    evidence = "\n".join(copies[who][line] for who, line in picks)
    verdict = trace(evidence, THOUSAND)
    assert {s.member for s in verdict.accused} == set(pair)
    for s in verdict.accused:
        # The strongest test of each is the whole evidence (which holds a quarter of the
        # bound) or one of the paragraphs taken from their own copy.
        if s.best_segment is not None:
            assert pair[picks[s.best_segment][0]] == s.member
    check_verdict_is_consistent(verdict)


def test_a_copy_with_two_paragraphs_swapped_still_accuses_its_member():
    lines = copy_of(LEAKER).split("\n")
    lines[3], lines[10] = lines[10], lines[3]
    lines[20], lines[21] = lines[21], lines[20]
    evidence = "\n".join(lines)
    reading = read_evidence(sample(), plan_for(sample()), evidence)
    total = readable_positions(plan_for(sample()), LEAKER)
    assert reading.positions >= 0.98 * total
    verdict = accuse(reading, KEY, THOUSAND)
    assert accused(verdict) == [LEAKER]


def test_three_colluders_mixing_slot_by_slot_accuse_only_colluders():
    gang = ["WX-00005", "WX-00500", "WX-00995"]
    parts = []
    for member in gang:
        marked = copy_of(member)
        visible: list[str] = []
        after: list[str] = []
        for ch in marked:
            if ch in MARKS:
                after[-1] += ch
            else:
                visible.append(ch)
                after.append("")
        parts.append((visible, after))
    rng = np.random.default_rng(2024)
    pick = rng.integers(0, len(gang), len(sample()))
    evidence = "".join(parts[k][0][i] + parts[k][1][i] for i, k in enumerate(pick.tolist()))
    verdict = trace(evidence, THOUSAND)
    assert accused(verdict)
    assert set(accused(verdict)) <= set(gang)
    check_verdict_is_consistent(verdict)


def test_four_colluders_voting_mark_by_mark_get_bounds_within_the_total():
    """Four colluders keep, after every character, the marks most of their copies have
    there: the fitted presence test can then accuse at a negative score (innocents score far
    lower); every accused member's printed bound is still within the total."""
    gang = ["WX-00005", "WX-00500", "WX-00995", "WX-00321"]
    split = []
    for member in gang:
        visible: list[str] = []
        after: list[str] = []
        for ch in copy_of(member):
            if ch in MARKS:
                after[-1] += ch
            else:
                visible.append(ch)
                after.append("")
        split.append((visible, after))
    rng = np.random.default_rng(7)
    pieces = []
    for i, ch in enumerate(split[0][0]):
        options = [after[i] for _visible, after in split]
        counts = {o: options.count(o) + rng.random() for o in options}
        pieces.append(ch + max(counts, key=counts.__getitem__))
    verdict = trace("".join(pieces), THOUSAND)
    assert set(accused(verdict)) <= set(gang)
    check_verdict_is_consistent(verdict)


def test_a_larger_total_bound_lowers_the_threshold():
    evidence = excerpt(copy_of(LEAKER), 1_000, 300)
    strict = trace(evidence, THOUSAND, total_bound=1e-9)
    loose = trace(evidence, THOUSAND, total_bound=1e-3)
    assert loose.threshold < strict.threshold
    assert strict.tests == loose.tests


def test_evidence_with_nothing_readable_accuses_no_one():
    verdict = trace("", THOUSAND[:10])
    assert verdict.positions == 0
    assert verdict.accused == []
    assert verdict.threshold == math.inf
    assert [s.bound for s in verdict.scores] == [1.0] * 10
    assert trace(copy_of(LEAKER), []).scores == []


# --- nothing else accuses anyone ------------------------------------------------------------

random_texts = st.one_of(
    st.text(max_size=400),
    st.text(
        st.sampled_from("的一是在不了有人这中大为上个国我以要，。、\n" + "".join(MARKS)),
        max_size=400,
    ),
)


@PROPERTY
@given(text=random_texts)
def test_random_text_accuses_no_one(text):
    verdict = trace(text, recipients(300))
    assert verdict.accused == []
    check_verdict_is_consistent(verdict)


@st.composite
def forgeries(draw):
    """The base text (or pieces of it) with random marks and random wording choices."""
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    base = sample()
    plan = plan_for(sample(), KEY, "strong")
    chars = list(base)
    for n in np.flatnonzero(plan.layer == WORD).tolist():
        offset, group = int(plan.index[n]), plan.groups[int(plan.group[n])]
        form = group[rng.integers(len(group))]
        chars[offset : offset + len(form)] = form
    density = draw(st.sampled_from([0.1, 0.5, 1.0]))
    pieces = []
    for i, ch in enumerate(chars):
        pieces.append(ch)
        if ch.isspace() or rng.random() >= density:
            continue
        if "\u4e00" <= ch <= "\u9fff" and rng.random() < 0.5:
            pieces.append(VS_MARKS[rng.integers(4)])
        if i + 1 < len(chars) and not chars[i + 1].isspace():
            pieces.append(ZW_MARKS[rng.integers(4)])
    forged = "".join(pieces)
    lines = forged.split("\n")
    start = draw(st.integers(0, len(lines) - 3))
    return "\n".join(lines[start : start + draw(st.integers(2, len(lines)))])


@PROPERTY
@given(evidence=forgeries())
def test_forged_marks_and_wording_accuse_no_one(evidence):
    reading = read_evidence(sample(), plan_for(sample(), KEY, "strong"), evidence)
    assert reading.positions > 0
    verdict = accuse(reading, KEY, recipients(500))
    assert verdict.accused == []
    check_verdict_is_consistent(verdict)


@pytest.mark.parametrize("strength", ["light", "strong"])
def test_the_unmarked_base_text_accuses_no_one(strength):
    reading = read_evidence(sample(), plan_for(sample(), KEY, strength), sample())
    # The base's own wording is read (as the base form), yet names no one.
    assert reading.slots_read["wording"] > 0
    assert reading.slots_read["zero-width"] == reading.slots_read["variation-selector"] == 0
    verdict = accuse(reading, KEY, THOUSAND)
    assert verdict.accused == []
    check_verdict_is_consistent(verdict)


def rotated(text: str, by: int) -> str:
    lines = text.split("\n")
    by %= len(lines)
    return "\n".join(lines[by:] + lines[:by])


@PROPERTY
@given(
    member=st.sampled_from(THOUSAND),
    by=st.integers(1, len(sample().split("\n")) - 1),
    key=st.sampled_from([KEY, OTHER_KEY]),
    strength=st.sampled_from(["light", "strong"]),
)
def test_a_copy_of_another_material_accuses_no_one(member, by, key, strength):
    """The same paragraphs in another order are another material: its code is unrelated."""
    other = rotated(sample(), by)
    assert other != sample()
    leaked = mark(other, plan_for(other, key, strength), key, member)
    reading = read_evidence(sample(), plan_for(sample(), KEY, strength), leaked)
    assert reading.positions > 500  # the text aligns; only the code is foreign
    verdict = accuse(reading, KEY, THOUSAND)
    assert verdict.accused == []
    check_verdict_is_consistent(verdict)


def test_the_same_text_marked_under_another_materials_key_accuses_no_one():
    leaked = mark(sample(), plan_for(sample(), OTHER_KEY), OTHER_KEY, LEAKER)
    reading = read_evidence(sample(), plan_for(sample()), leaked)
    assert reading.positions > 500
    verdict = accuse(reading, KEY, THOUSAND)
    assert verdict.accused == []


def test_a_copy_of_a_different_text_accuses_no_one():
    lines = sample().split("\n")
    first, second = "\n".join(lines[:16]), "\n".join(lines[16:])
    leaked = mark(second, plan_for(second), KEY, LEAKER)
    reading = read_evidence(first, plan_for(first), leaked)
    verdict = accuse(reading, KEY, THOUSAND)
    assert verdict.accused == []


@PROPERTY
@given(
    leaker=st.sampled_from(THOUSAND),
    others=st.integers(200, 1_000),
    form=st.sampled_from(["full", "excerpt", "paragraphs", "retyped"]),
    start=st.integers(0, 5_000),
)
def test_recipients_without_the_leaker_are_never_accused(leaker, others, form, start):
    members = [m for m in recipients(others, prefix="WY-")]
    strength = "strong" if form == "retyped" else "light"
    copy = copy_of(leaker, strength)
    if form == "excerpt":
        evidence = excerpt(copy, start, 300)
    elif form == "paragraphs":
        partner = copy_of(THOUSAND[(THOUSAND.index(leaker) + 1) % 1_000]).split("\n")
        evidence = "\n".join(
            line if n % 2 else partner[n] for n, line in enumerate(copy.split("\n"))
        )
    elif form == "retyped":
        evidence = strip_marks(copy)
    else:
        evidence = copy
    verdict = trace(evidence, members, strength)
    assert verdict.positions > 0
    assert verdict.accused == []
    check_verdict_is_consistent(verdict)
    # With the leaker added back, they (and only they, for one leaker) are found.
    if form != "paragraphs":
        assert accused(trace(evidence, [*members, leaker], strength)) == [leaker]


def test_pasted_paragraphs_on_one_line_are_traced_piece_by_piece():
    """Two members' paragraphs alternated, then cleaned onto one line (no newline left)."""
    import unicodedata

    base = sample_body()
    plan = build_plan(base, KEY, words(base), shipped_variants(), Profile("light"))
    copies = [mark(base, plan, KEY, m) for m in ("WX-20001", "WX-20002")]
    pieces = [
        a if n % 2 else b
        for n, (a, b) in enumerate(zip(copies[0].split("\n"), copies[1].split("\n"), strict=True))
    ]
    evidence = "".join(
        ch
        for ch in unicodedata.normalize("NFKC", "".join(pieces))
        if unicodedata.category(ch) != "Cf" and not ch.isspace()
    )
    assert "\n" not in evidence
    reading = read_evidence(base, plan, evidence)
    recipients = [f"WX-{n}" for n in range(20001, 20501)]
    verdict = accuse(reading, KEY, recipients)
    accused = {s.member for s in verdict.accused}
    assert accused and accused <= {"WX-20001", "WX-20002"}
    assert verdict.tests > len(recipients)  # the line was cut into pieces and each tested


@pytest.mark.parametrize("start", [0, 900, 2100])
def test_text_read_from_an_image_leaves_the_mark_places_unread(start):
    """OCR never sees a zero-width mark or a variation selector: in text that came from an
    image their places are unread, not "no mark here" (which would count against the
    leaker). A short excerpt covers too few places for the stripped-family rule."""
    plan = plan_for(sample(), KEY, "strong")
    text = strip_marks(excerpt(copy_of(LEAKER, "strong"), start, 120))
    as_text = read_evidence(sample(), plan, text).layer_positions()
    as_image = read_evidence(sample(), plan, text, invisible=False).layer_positions()
    assert set(as_text) & {"zw-place", "vs-place", "zw-sparse"}  # read as absent marks
    assert not set(as_image) & {"zw-place", "vs-place", "zw-sparse"}
    place_free = {
        k: v for k, v in as_text.items() if k not in {"zw-place", "vs-place", "zw-sparse"}
    }
    assert as_image == place_free
