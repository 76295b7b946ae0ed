"""Marking: plans, marked copies, what a reader sees, and taking the marks out again."""

from __future__ import annotations

from functools import cache

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers import FINGERPRINT_KEY, sample_body, shipped_variants
from wenxing.fingerprint import (
    Plan,
    PlanError,
    Profile,
    build_plan,
    layers,
    mark,
    mark_spans,
    parse_variant_list,
    read_evidence,
    restore,
    slot_symbols,
    strip_marks,
)
from wenxing.fingerprint.embed import rendered_symbols
from wenxing.fingerprint.plan import (
    GLYPH,
    GLYPHS,
    PLAN_FORMAT,
    VS_MARKS,
    VS_MARKS_V1,
    VS_PLACE,
    VS_PLACE_SHARE_V3,
    WORD,
    ZW_MARKS,
    ZW_PLACE,
    ZW_PLACE_SHARE_V3,
    shared_kinds,
)
from wenxing.fingerprint.plan_v1 import build_plan_v1
from wenxing.materials.keywords import words

KEY = FINGERPRINT_KEY
MARKS = frozenset(ZW_MARKS + VS_MARKS + VS_MARKS_V1)
PROPERTY = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


variants = shipped_variants
sample = sample_body


@cache
def sample_words() -> tuple[str, ...]:
    return tuple(words(sample()))


@cache
def sample_plan(strength: str = "light") -> Plan:
    return build_plan(sample(), KEY, sample_words(), variants(), Profile(strength))


def is_han(ch: str) -> bool:
    return "\u4e00" <= ch <= "\u9fff" or "\u3400" <= ch <= "\u4dbf"


def word_offsets(tokens) -> dict[int, str]:
    offsets, at = {}, 0
    for token in tokens:
        offsets[at] = token
        at += len(token)
    return offsets


# --- generated base texts -------------------------------------------------------------

COMMON_HAN = "的一是在不了有人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说产种面而方后多定行学法所民得经十三之进着等部度家电力里如水化高自二理起小物现实加量都两体制机当使点从业本去把性好应开它合还因由其些然前外天政四日那社义事平形相全表间样与关各重新线内数正心反你明看原又么利比或但质气第向道命此变条只没结解问意建月公无系军很情者最立代想已通并提直题党程展五果料象员革位入常文总次品式活设及管特件长求老头基资边流路级少图山统接知较将组见计别她手角期根论运农指几九区强放决西被干做必战先回则任取据处理府研"
PUNCT = [*"，。、；：！？“”（）《》…—·―・", "——"]
LIST_WORDS = ["加强", "推动", "和", "当前", "与", "强化", "目前", "和谐", "加强型", "确保"]
LIST_WORDS += ["今年以来", "高度重视", "进行", "不断", "有效", "年初以来", "推进会", "坚强保证"]
FORMS = frozenset(f for group in variants().groups for f in group)

pieces = st.one_of(
    st.text(st.sampled_from(COMMON_HAN), min_size=1, max_size=6),
    st.text(st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF), min_size=1, max_size=3),
    st.text(st.characters(min_codepoint=0x3400, max_codepoint=0x4DBF), min_size=1, max_size=2),
    st.sampled_from(PUNCT),
    st.sampled_from(["\n", "\n\n", " ", "\u3000", "\t"]),
    st.text(st.sampled_from("abcXYZ0123456789.,-()/:%"), min_size=1, max_size=5),
    st.sampled_from(LIST_WORDS),
    st.sampled_from(LIST_WORDS),
    st.sampled_from(["—", "——", "·", "\u2014\n", "·\n"]),
)
base_texts = st.lists(pieces, max_size=50).map("".join)
keys = st.binary(min_size=16, max_size=32)
member_ids = st.text(min_size=1, max_size=12)


@st.composite
def profiles(draw, base: str):
    strength = draw(st.sampled_from(["off", "light", "strong"]))
    candidates = [
        offset for offset, token in word_offsets(words(base)).items() if token in FORMS
    ] or [0]
    vetoes = draw(st.frozensets(st.sampled_from(candidates)))
    return Profile(strength, vetoes)


def split_marks(marked: str) -> tuple[str, list[str], str]:
    """(visible text, marks after each visible character, marks before the first)."""
    visible: list[str] = []
    after: list[str] = []
    leading = ""
    for ch in marked:
        if ch in MARKS:
            if after:
                after[-1] += ch
            else:
                leading += ch
        else:
            visible.append(ch)
            after.append("")
    return "".join(visible), after, leading


def check_reader_sees_only_approved_variants(base: str, plan: Plan, key: bytes, member: str):
    marked = mark(base, plan, key, member)
    symbols = rendered_symbols(base, plan, key, member)
    visible, after, leading = split_marks(marked)
    assert leading == ""
    assert visible == strip_marks(marked)
    assert len(visible) == len(base)
    # Replacements only at WORD/GLYPH spans, only by that slot's group, as the code says.
    replaced = np.zeros(len(base), dtype=bool)
    expected_marks = [""] * len(base)
    for n in range(len(plan.layer)):
        layer, offset = int(plan.layer[n]), int(plan.index[n])
        length, group = int(plan.length[n]), int(plan.group[n])
        if layer in (WORD, GLYPH):
            alternatives = plan.groups[group]
            span = visible[offset : offset + length]
            assert span in alternatives
            assert span == alternatives[symbols[n]]
            if layer == WORD:
                assert base[offset : offset + length] == alternatives[plan.base_form[n]]
            else:
                assert length == 1
                assert GLYPHS[base[offset]] == alternatives
            replaced[offset : offset + length] = True
        elif layer in (ZW_PLACE, VS_PLACE):  # symbol = presence | kind << 1
            assert length == 0
            if symbols[n] & 1:
                expected_marks[offset] += plan.marks(layer)[symbols[n] >> 1]
        else:
            assert length == 0
            expected_marks[offset] += plan.marks(layer)[symbols[n]]
    for i, (seen, original) in enumerate(zip(visible, base, strict=True)):
        if not replaced[i]:
            assert seen == original, i
    # Every inserted character is a mark, exactly the plan's marks, after their character.
    assert after == expected_marks
    for j, ch in enumerate(marked):
        if ch in ZW_MARKS:
            assert marked[j - 1] != "\n"
            assert j + 1 == len(marked) or marked[j + 1] != "\n"
            assert not marked[j - 1].isspace()
        if ch in VS_MARKS or ch in VS_MARKS_V1:
            assert j > 0
            assert is_han(marked[j - 1]), (j, marked[j - 1])
    return marked


# --- property tests -------------------------------------------------------------------


@PROPERTY
@given(data=st.data(), base=base_texts, key=keys, member=member_ids)
def test_marking_changes_only_approved_variants_and_adds_only_marks(data, base, key, member):
    profile = data.draw(profiles(base))
    plan = build_plan(base, key, words(base), variants(), profile)
    check_reader_sees_only_approved_variants(base, plan, key, member)


@PROPERTY
@given(data=st.data(), base=base_texts, key=keys, member=member_ids)
def test_restore_gives_the_base_text_back(data, base, key, member):
    profile = data.draw(profiles(base))
    plan = build_plan(base, key, words(base), variants(), profile)
    marked = mark(base, plan, key, member)
    assert restore(marked, plan) == base
    # Through the stored plan too.
    assert restore(marked, Plan.from_json(plan.to_json())) == base


def member_bits(
    plan: Plan, key: bytes, member: str, base: str | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(position ids, the member's bit at each) as a reading of their copy should give: a
    slot's r-th position is bit r of its symbol; a place without a mark shows its presence
    bit (0) and no kind bits."""
    ids, slot_numbers = plan.position_ids()
    symbols = rendered_symbols(sample() if base is None else base, plan, key, member)
    symbols = symbols[slot_numbers]
    starts = {}
    rank = np.zeros(len(ids), dtype=np.int64)
    for n, slot in enumerate(slot_numbers.tolist()):
        rank[n] = n - starts.setdefault(slot, n)
    place = np.isin(plan.layer[slot_numbers], (ZW_PLACE, VS_PLACE))
    shown = ~place | (rank == 0) | (symbols & 1 == 1)
    return ids[shown], ((symbols >> rank) & 1)[shown]


@PROPERTY
@given(data=st.data(), base=base_texts, key=keys, member=member_ids)
def test_a_members_own_copy_never_reads_a_wrong_bit(data, base, key, member):
    profile = data.draw(profiles(base))
    plan = build_plan(base, key, words(base), variants(), profile)
    reading = read_evidence(base, plan, mark(base, plan, key, member))
    ids, bits = member_bits(plan, key, member, base)
    expected = dict(zip(ids.tolist(), bits.tolist(), strict=True))
    assert len(set(reading.position_ids.tolist())) == reading.positions
    for position, bit in zip(reading.position_ids.tolist(), reading.symbols.tolist(), strict=True):
        assert expected[position] == bit


@pytest.mark.parametrize("strength", ["off", "light", "strong"])
def test_sample_copies_show_only_approved_variants_and_restore(strength):
    plan = sample_plan(strength)
    for member in ("WX-10034", "WX-10035", "成员甲"):
        marked = check_reader_sees_only_approved_variants(sample(), plan, KEY, member)
        assert restore(marked, plan) == sample()
        # Marks never break a line, so a copy has the base's paragraphs, one for one.
        assert len(marked.split("\n")) == len(sample().split("\n"))


# --- plans and copies -----------------------------------------------------------------


def test_mark_is_deterministic_and_members_differ():
    plan = sample_plan()
    first = mark(sample(), plan, KEY, "WX-10034")
    assert first == mark(sample(), plan, KEY, "WX-10034")
    other = mark(sample(), plan, KEY, "WX-10035")
    assert other != first
    assert first != sample()
    # They differ in many places, not one.
    a, b = slot_symbols(plan, KEY, "WX-10034"), slot_symbols(plan, KEY, "WX-10035")
    assert np.mean(a != b) > 0.3
    # A different key gives a different copy for the same member.
    assert mark(sample(), plan, b"another key", "WX-10034") != first


def test_plan_depends_on_the_key():
    one = sample_plan()
    two = build_plan(sample(), b"another key", sample_words(), variants(), Profile("light"))
    assert not np.array_equal(one.slot_ids, two.slot_ids)


def test_slot_symbols_are_in_each_slots_alphabet():
    plan = sample_plan("strong")
    symbols = slot_symbols(plan, KEY, "WX-10034")
    alphabet = plan.alphabet()
    assert np.all(symbols >= 0)
    assert np.all(symbols < alphabet)
    # Every slot kind uses all its symbols: 2 and 4 for groups, 8 for zero-width places
    # (absent, or one of 4 marks: only odd symbols show a mark), 16 for selector places.
    assert {2, 8, 16} <= set(alphabet.tolist()) <= {2, 4, 8, 16}
    for size in set(alphabet.tolist()):
        assert set(symbols[alphabet == size].tolist()) == set(range(size))


@pytest.mark.parametrize("strength", ["light", "strong"])
def test_reading_a_members_own_copy_returns_every_slot_symbol(strength):
    plan = sample_plan(strength)
    for member in ("WX-10034", "WX-20001"):
        marked = mark(sample(), plan, KEY, member)
        reading = read_evidence(sample(), plan, marked)
        ids, bits = member_bits(plan, KEY, member)
        assert np.array_equal(reading.position_ids, ids)
        assert np.array_equal(reading.symbols, bits)
        assert reading.slots_read == plan.counts()
        assert reading.coverage == 1.0


@pytest.mark.parametrize("strength", ["light", "strong"])
def test_no_copy_holds_more_invisible_marks_than_its_strength_allows(strength):
    """At most one invisible code point per 20 visible characters in "light" (3 per 20 in
    "strong"), whatever the member's code asks for; the marks dropped for that are at the
    places of highest presence bias, and every other slot shows the code."""
    plan = sample_plan(strength)
    visible = sum(not ch.isspace() for ch in sample())
    ceiling = {"light": 0.05, "strong": 0.15}[strength]
    capped = 0
    for n in range(60):
        member = f"WX-{10000 + n}"
        marked = mark(sample(), plan, KEY, member)
        invisible = sum(ch in MARKS for ch in marked)
        assert invisible <= ceiling * visible
        code, shown = slot_symbols(plan, KEY, member), rendered_symbols(sample(), plan, KEY, member)
        changed = np.flatnonzero(code != shown)
        assert np.all(np.isin(plan.layer[changed], (ZW_PLACE, VS_PLACE)))
        assert np.all(code[changed] & 1 == 1) and np.all(shown[changed] == 0)
        capped += len(changed) > 0
        if len(changed):
            assert invisible == int(ceiling * visible)
    assert invisible > 0.8 * ceiling * visible  # the budget is used, not wasted


def test_format_1_plans_still_mark_and_read_as_they_did():
    """Copies issued before tracing v2 keep their plan: the format-1 slots, marks and bits."""
    plan = build_plan_v1(sample(), KEY, sample_words(), variants(), Profile("light"))
    again = Plan.from_json(plan.to_json())
    assert again.format == 1 and '"format":1' in plan.to_json()
    assert set(plan.layer.tolist()) <= {0, 1, 2, 3}
    for member in ("WX-10034", "WX-20001"):
        marked = check_reader_sees_only_approved_variants(sample(), again, KEY, member)
        assert not set(marked) & (set(VS_MARKS) - set(VS_MARKS_V1))
        reading = read_evidence(sample(), again, marked)
        ids, bits = member_bits(again, KEY, member)
        assert np.array_equal(reading.position_ids, ids)
        assert np.array_equal(reading.symbols, bits)
        assert restore(marked, again) == sample()


def test_plan_json_round_trip():
    plan = build_plan(
        sample(),
        KEY,
        sample_words(),
        variants(),
        Profile("strong", frozenset({9, 44})),
    )
    again = Plan.from_json(plan.to_json())
    for name in ("layer", "index", "length", "group", "base_form"):
        assert np.array_equal(getattr(again, name), getattr(plan, name)), name
        assert getattr(again, name).dtype == getattr(plan, name).dtype, name
    assert again.groups == plan.groups
    assert again.profile == plan.profile
    assert again.base_length == plan.base_length
    assert again.base_digest == plan.base_digest
    assert again.variant_digest == plan.variant_digest
    assert mark(sample(), again, KEY, "WX-1") == mark(sample(), plan, KEY, "WX-1")
    assert again.to_json() == plan.to_json()


def test_plan_of_an_empty_text_round_trips():
    plan = build_plan("", KEY, [], variants())
    assert len(plan.layer) == 0
    again = Plan.from_json(plan.to_json())
    assert len(again.layer) == 0
    assert mark("", again, KEY, "WX-1") == ""
    assert restore("", again) == ""


def test_plan_json_of_an_unknown_format_is_refused():
    text = sample_plan().to_json().replace(f'"format":{PLAN_FORMAT}', '"format":99')
    with pytest.raises(PlanError, match="format"):
        Plan.from_json(text)


def test_mark_with_a_plan_for_another_text_is_refused():
    plan = sample_plan()
    with pytest.raises(PlanError):
        mark(sample()[:-1], plan, KEY, "WX-1")
    # Same length, one character changed: the digest tells them apart.
    changed = sample()[:100] + ("甲" if sample()[100] != "甲" else "乙") + sample()[101:]
    with pytest.raises(PlanError):
        mark(changed, plan, KEY, "WX-1")


def test_restore_refuses_a_copy_of_another_length():
    plan = sample_plan()
    marked = mark(sample(), plan, KEY, "WX-1")
    with pytest.raises(PlanError):
        restore(marked + "。", plan)


def test_unknown_strength_is_refused():
    with pytest.raises(PlanError, match="strength"):
        Profile("loud")


def test_strength_decides_wording_and_invisible_places():
    off, light, strong = (sample_plan(s).counts() for s in ("off", "light", "strong"))
    assert off["wording"] == 0
    # "light" and "strong" take every whole-word occurrence of a listed form its context
    # rules allow (and no protected span forbids).
    index = variants().form_index()
    allowed = [
        offset
        for offset, token in word_offsets(sample_words()).items()
        if token in index
        and variants().allows(
            index[token][0],
            sample()[max(0, offset - 4) : offset],
            sample()[offset + len(token) : offset + len(token) + 4],
        )
    ]
    assert light["wording"] == strong["wording"] == len(allowed)
    assert (
        sorted(int(i) for i in sample_plan("strong").index[sample_plan("strong").layer == WORD])
        == allowed
    )
    # Invisible candidate places (format 3): 48% of the gaps in "off" and "light" (42%
    # zero-width, 6% selector places after Han characters), 82% in "strong".
    gaps = len(sample())
    shares = {s: ZW_PLACE_SHARE_V3[s] + VS_PLACE_SHARE_V3[s] for s in ("light", "strong")}
    for counts, share in (
        (off, shares["light"]),
        (light, shares["light"]),
        (strong, shares["strong"]),
    ):
        places = counts["zw-place"] + counts["vs-place"]
        assert 0.75 * share * gaps < places < 1.1 * share * gaps
        assert counts["zero-width"] == counts["variation-selector"] == 0


def test_light_wording_slots_are_a_subset_of_strong():
    def word_slots(plan):
        return {int(i) for i in plan.index[plan.layer == WORD]}

    assert word_slots(sample_plan("light")) <= word_slots(sample_plan("strong"))


def test_vetoed_offsets_get_no_wording_slot():
    strong = sample_plan("strong")
    offsets = sorted(int(i) for i in strong.index[strong.layer == WORD])
    vetoes = frozenset(offsets[::2])
    for strength in ("light", "strong"):
        plan = build_plan(sample(), KEY, sample_words(), variants(), Profile(strength, vetoes))
        slots = {int(i) for i in plan.index[plan.layer == WORD]}
        assert not slots & vetoes
        if strength == "strong":
            assert slots == set(offsets) - vetoes
    # A vetoed place reads as the base text in every copy.
    plan = build_plan(sample(), KEY, sample_words(), variants(), Profile("strong", vetoes))
    for member in ("WX-1", "WX-2", "WX-3"):
        marked = strip_marks(mark(sample(), plan, KEY, member))
        for offset in vetoes:
            token = word_offsets(sample_words())[offset]
            assert marked[offset : offset + len(token)] == token


def test_wording_slots_are_whole_words_only():
    base = "社会和谐稳定，和平与发展。加强型装备要加强管理，当前形势和当前任务。"
    tokens = words(base)
    assert "和谐" in tokens  # the segmenter keeps 和谐 whole
    plan = build_plan(base, KEY, tokens, variants(), Profile("strong"))
    whole = word_offsets(tokens)
    is_word = plan.layer == WORD
    lengths = dict(zip(plan.index[is_word].tolist(), plan.length[is_word].tolist(), strict=True))
    word_slots = sorted(lengths)
    assert word_slots, "the text has listed whole words"
    for offset in word_slots:
        assert offset in whole
        assert whole[offset] in FORMS
        assert lengths[offset] == len(whole[offset])
    # 和 inside 和谐 and 和平, 加强 inside 加强型 are never slots.
    assert base.index("和谐") not in word_slots
    assert base.index("和平") not in word_slots
    assert base.index("加强型") not in word_slots
    assert base.index("与") in word_slots
    assert base.index("要加强") + 1 in word_slots
    for member in ("WX-1", "WX-2", "WX-3", "WX-4"):
        seen = strip_marks(mark(base, plan, KEY, member))
        assert "和谐" in seen
        assert "和平" in seen
        assert "加强型" in seen


def test_context_rules_keep_wording_slots_off_set_phrases():
    base = (
        "召开重点工作推进会，要推进城市更新。为发展提供坚强保证，保证完成任务。部署会上部署工作。"
    )
    plan = build_plan(base, KEY, words(base), variants(), Profile("strong"))
    word_slots = {int(i) for i in plan.index[plan.layer == WORD]}
    tokens = word_offsets(words(base))
    assert tokens[base.index("推进会")] == "推进"  # a whole word, but the name of a meeting
    assert base.index("推进会") not in word_slots
    assert base.index("推进城市") in word_slots
    assert base.index("坚强保证") + 2 not in word_slots  # 保证 after 坚强 is a noun
    assert base.index("保证完成") in word_slots
    assert base.index("部署会") not in word_slots
    assert base.index("部署工作") in word_slots
    for member in ("WX-1", "WX-2", "WX-3", "WX-4", "WX-5"):
        seen = strip_marks(mark(base, plan, KEY, member))
        assert "推进会" in seen
        assert "坚强保证" in seen
        assert "部署会" in seen


def test_marks_never_fall_inside_a_wording_slot():
    plan = sample_plan("strong")
    for n in np.flatnonzero(plan.layer == WORD):
        start, length = int(plan.index[n]), int(plan.length[n])
        inside = (plan.index >= start) & (plan.index < start + length - 1)
        assert not np.any(inside & (plan.length == 0))


def test_segmentation_that_does_not_match_the_text_is_refused():
    base = "我们要加强管理。"
    with pytest.raises(PlanError, match="does not join up"):
        build_plan(base, KEY, ["我们", "要", "加强"], variants(), Profile("strong"))


def test_glyph_slots_on_every_plain_dash_and_middle_dot():
    base = "第一——总体要求·基本原则—工作目标\n二、马克思·韦伯"
    plan = build_plan(base, KEY, words(base), variants(), Profile("off"))
    glyph_offsets = [int(i) for i in plan.index[plan.layer == GLYPH]]
    assert glyph_offsets == [i for i, ch in enumerate(base) if ch in GLYPHS]
    looks = {look for pair in GLYPHS.values() for look in pair}
    seen = set()
    for n in range(40):
        marked = strip_marks(mark(base, plan, KEY, f"WX-{n}"))
        for offset in glyph_offsets:
            assert marked[offset] in GLYPHS[base[offset]]
            seen.add(marked[offset])
        assert restore(marked, plan) == base
    assert seen == looks  # both look-alikes of both glyphs are used


# --- publisher variant lists the parser accepts ---------------------------------------------


def test_a_form_ending_in_a_glyph_is_not_also_a_glyph_slot():
    custom = parse_variant_list("甲— | 乙—\n")
    base = "开始甲—结束"
    plan = build_plan(base, KEY, ["开始", "甲—", "结束"], custom, Profile("strong"))
    for member in ("WX-1", "WX-2", "WX-3", "WX-4"):
        marked = mark(base, plan, KEY, member)
        assert len(strip_marks(marked)) == len(base)
        assert restore(marked, plan) == base


def test_selectors_follow_han_even_with_a_non_han_form_in_the_list():
    custom = parse_variant_list("和 | &\n")
    base = "我们和你们，他们和我们。"
    key = bytes([1]) * 32
    plan = build_plan(base, key, words(base), custom, Profile("strong"))
    for n in range(10):
        marked = mark(base, plan, key, f"WX-{n}")
        for j, ch in enumerate(marked):
            if ch in VS_MARKS:
                assert is_han(marked[j - 1]), repr(marked)


@PROPERTY
@given(data=st.data(), base=base_texts, key=keys, member=member_ids)
def test_mark_spans_cut_the_copy_at_base_offsets(data, base, key, member):
    profile = data.draw(profiles(base))
    plan = build_plan(base, key, words(base), variants(), profile)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(base)), max_size=12)))
    pieces = mark_spans(base, plan, key, member, cuts)
    assert len(pieces) == len(cuts) + 1
    assert "".join(pieces) == mark(base, plan, key, member)
    for k, cut in enumerate(cuts):  # several cuts agree with each cut alone
        assert "".join(pieces[: k + 1]) == mark_spans(base, plan, key, member, [cut])[0]
    # Without wording variants every piece is exactly its stretch of the base.
    plain_plan = build_plan(base, key, words(base), variants(), Profile("off"))
    plain_pieces = mark_spans(base, plain_plan, key, member, cuts)
    bounds = [0, *cuts, len(base)]
    looks = {form: plain for plain, forms in GLYPHS.items() for form in forms}
    for n, piece in enumerate(plain_pieces):

        def plain(text):
            return "".join(looks.get(ch, ch) for ch in strip_marks(text))

        assert plain(piece) == plain(base[bounds[n] : max(bounds[n], bounds[n + 1])])


def test_mark_spans_keep_marks_with_their_character():
    base = sample_body()
    plan = build_plan(base, FINGERPRINT_KEY, words(base), variants(), Profile("strong"))
    marked = mark(base, plan, FINGERPRINT_KEY, "WX-10001")
    # Cut right after every character that carries a mark: the mark stays before the cut.
    offsets = [
        o + 1 for o, ln in zip(plan.index.tolist(), plan.length.tolist(), strict=True) if not ln
    ]
    pieces = mark_spans(base, plan, FINGERPRINT_KEY, "WX-10001", offsets)
    assert "".join(pieces) == marked
    for piece in pieces[1:]:
        assert not piece or piece[0] not in MARKS


def test_mark_spans_refuse_descending_cuts():
    base = sample_body()
    plan = build_plan(base, FINGERPRINT_KEY, words(base), variants(), Profile("light"))
    with pytest.raises(ValueError):
        mark_spans(base, plan, FINGERPRINT_KEY, "WX-10001", [20, 10])


@pytest.mark.parametrize("strength", ["light", "strong"])
def test_slot_symbols_are_the_codes_bits(strength):
    """The per-plan tables give exactly the bits of ``code.symbols`` (what tracing scores)."""
    from wenxing.fingerprint import code, prf

    base = sample_body()
    plan = build_plan(base, FINGERPRINT_KEY, words(base), variants(), Profile(strength))
    ids, slot_numbers = plan.position_ids()
    members = [f"WX-{10000 + n}" for n in range(1, 40)]
    bits = code.symbols(
        FINGERPRINT_KEY,
        prf.member_seeds(FINGERPRINT_KEY, members),
        ids,
        code.biases(FINGERPRINT_KEY, ids),
    )
    for row, member in zip(bits, members, strict=True):
        expected = np.zeros(len(plan.layer), dtype=np.int64)
        starts = np.r_[0, np.flatnonzero(slot_numbers[1:] != slot_numbers[:-1]) + 1]
        rank = np.arange(len(ids)) - np.repeat(starts, np.diff(np.r_[starts, len(ids)]))
        np.add.at(expected, slot_numbers, row.astype(np.int64) << rank)
        # Format 3: a selector place shows the selector every copy has there.
        places = plan.layer == VS_PLACE
        expected[places] += shared_kinds(FINGERPRINT_KEY, plan.index[places]) << 1
        assert np.array_equal(slot_symbols(plan, FINGERPRINT_KEY, member), expected)


def test_format_3_copies_share_the_selector_at_each_place():
    """Two copies that both have a selector at a place have the same one there, so the
    places where colluders' copies differ are where one has a mark and another none."""
    plan = sample_plan()
    assert plan.format == PLAN_FORMAT == 3
    places = np.flatnonzero(plan.layer == VS_PLACE)
    seen: dict[int, set[int]] = {}
    for n in range(40):
        symbols = rendered_symbols(sample(), plan, KEY, f"WX-{10000 + n}")
        for slot in places[(symbols[places] & 1) == 1]:
            seen.setdefault(int(slot), set()).add(int(symbols[slot]) >> 1)
    assert len(seen) > 0.5 * len(places)
    assert all(len(kinds) == 1 for kinds in seen.values())
    # The presence bits differ between members (the code), the selectors do not.
    first = rendered_symbols(sample(), plan, KEY, "WX-10000")[places] & 1
    second = rendered_symbols(sample(), plan, KEY, "WX-10001")[places] & 1
    assert (first != second).any()


def test_format_2_plans_still_mark_and_read_as_they_did():
    """Copies issued with a format-2 plan keep it: member-chosen selectors (vs-kind bits) and
    the zero-width presence layer zw-place; their own copy reads back every slot."""
    base = sample()
    plan = build_plan(base, KEY, sample_words(), variants(), Profile("light"), plan_format=2)
    again = Plan.from_json(plan.to_json())
    assert again.format == 2
    ids, _slots = again.position_ids()
    names = {layers.name_of(c) for c in layers.code_of(ids).tolist()}
    assert {"zw-place", "vs-place", "vs-kind", "zw-kind"} <= names and "zw-sparse" not in names
    for member in ("WX-10034", "WX-20001"):
        marked = mark(base, again, KEY, member)
        reading = read_evidence(base, again, marked)
        for kind in (ZW_PLACE, VS_PLACE):
            name = "zw-place" if kind == ZW_PLACE else "vs-place"
            assert reading.slots_read[name] == int(np.sum(again.layer == kind))
        assert {"vs-kind", "zw-kind"} <= set(reading.layer_positions())
