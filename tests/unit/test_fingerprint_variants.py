"""The reviewed variant list: parsing rules, error messages naming the line, the shipped file."""

from __future__ import annotations

import pytest

from tests.helpers import REPO
from wenxing.fingerprint import Profile, VariantListError, build_plan, parse_variant_list
from wenxing.fingerprint.plan import GLYPHS, VS_MARKS, WORD, ZW_MARKS
from wenxing.materials.keywords import words

SHIPPED = REPO / "src/wenxing/fingerprint/data/variants.txt"


def test_groups_of_two_and_four_forms():
    parsed = parse_variant_list("加强 | 强化\n甲乙|丙丁|戊己|庚辛\n")
    assert parsed.groups == (("加强", "强化"), ("甲乙", "丙丁", "戊己", "庚辛"))
    assert parsed.form_index() == {
        "加强": (0, 0),
        "强化": (0, 1),
        "甲乙": (1, 0),
        "丙丁": (1, 1),
        "戊己": (1, 2),
        "庚辛": (1, 3),
    }


def test_comments_and_blank_lines_are_ignored():
    text = "# a header\n\n   \n加强 | 强化   # trailing comment\n\t\n# 和 | 与\n当前|目前\n"
    assert parse_variant_list(text).groups == (("加强", "强化"), ("当前", "目前"))
    assert parse_variant_list("").groups == ()
    assert parse_variant_list("# only comments\n\n").groups == ()


def test_digest_follows_the_content_only():
    one = parse_variant_list("加强 | 强化\n当前|目前\n")
    same = parse_variant_list("# comment\n加强|强化\n\n当前 | 目前  # note\n")
    other = parse_variant_list("加强 | 强化\n目前|当前\n")
    assert one.digest == same.digest
    assert one.digest != other.digest
    assert len(one.digest) == 16


@pytest.mark.parametrize(
    ("text", "line", "words_in_message"),
    [
        ("加强 | 强化\n\n和 | 与同\n", 3, "same length"),
        ("加强 | 强化\n# c\n甲 | 乙 | 丙\n", 3, "2 or 4"),
        ("甲\n", 1, "2 or 4"),
        ("甲 | 乙 | 丙 | 丁 | 戊\n", 1, "2 or 4"),
        ("加强 | \n", 1, "non-empty"),
        ("甲 | 甲\n", 1, "repeated"),
        ("甲 乙 | 丙 丁\n", 1, "spaces"),
    ],
)
def test_broken_lines_are_named(text, line, words_in_message):
    with pytest.raises(VariantListError) as caught:
        parse_variant_list(text)
    message = str(caught.value)
    assert message.startswith(f"line {line}:")
    assert words_in_message in message


def test_a_form_in_two_groups_names_both_lines():
    text = "加强 | 强化\n当前 | 目前\n# comment\n\n强化 | 增强\n"
    with pytest.raises(VariantListError) as caught:
        parse_variant_list(text)
    message = str(caught.value)
    assert message.startswith("line 5:")
    assert "强化" in message
    assert "line 1" in message


def test_context_rules_after_the_forms():
    parsed = parse_variant_list("推动 | 推进  !会 !器\n确保 | 保证  坚强! 的!\n当前 | 目前\n")
    assert parsed.groups == (("推动", "推进"), ("确保", "保证"), ("当前", "目前"))
    # (not followed by, not preceded by) per group
    assert parsed.contexts == ((("会", "器"), ()), ((), ("坚强", "的")), ((), ()))
    assert not parsed.allows(0, "召开", "会上讲")
    assert not parsed.allows(0, "", "器人")
    assert parsed.allows(0, "会", "改革")  # a rule looks at one side only
    assert not parsed.allows(1, "提供坚强", "。")
    assert parsed.allows(1, "坚强而", "。")
    assert parsed.allows(2, "坚强", "会")


def test_context_rules_change_the_digest():
    assert (
        parse_variant_list("推动 | 推进  !会\n").digest
        != parse_variant_list("推动 | 推进\n").digest
    )


def test_an_empty_context_rule_is_named():
    with pytest.raises(VariantListError, match=r"^line 2: .*empty context rule"):
        parse_variant_list("加强 | 强化\n推动 | 推进 !\n")


def test_variant_list_error_is_a_value_error():
    assert issubclass(VariantListError, ValueError)


def test_shipped_list_parses_and_keeps_every_rule():
    parsed = parse_variant_list(SHIPPED.read_text("utf-8"))
    assert len(parsed.groups) >= 20
    forms = [form for group in parsed.groups for form in group]
    assert len(forms) == len(set(forms))
    marks_and_glyphs = set(ZW_MARKS + VS_MARKS) | set(GLYPHS)
    for group in parsed.groups:
        assert len(group) in (2, 4)
        assert len({len(form) for form in group}) == 1
        for form in group:
            assert 1 <= len(form) <= 4, form
            assert not set(form) & marks_and_glyphs
            # Every form is Han text (a variation selector may follow its last character).
            assert all("\u4e00" <= ch <= "\u9fff" for ch in form), form
    assert ("和", "与") in parsed.groups


def test_shipped_forms_are_whole_words_to_the_segmenter():
    """A form the segmenter never produces as a token could never become a slot."""
    parsed = parse_variant_list(SHIPPED.read_text("utf-8"))
    never = []
    for group in parsed.groups:
        for form in group:
            if form not in words(f"我们要{form}。"):
                never.append(form)
    assert not never, never


def test_a_long_context_rule_is_honoured_or_refused():
    text = "推动 | 推进  组织工作部署!\n"
    base = "按照组织工作部署推动落实。"
    try:
        custom = parse_variant_list(text)
    except VariantListError:
        return  # refusing the rule is fine too
    tokens = words(base)
    assert "推动" in tokens
    plan = build_plan(base, b"k" * 32, tokens, custom, Profile("strong"))
    assert base.index("推动") not in plan.index[plan.layer == WORD].tolist()


def test_a_word_touching_another_form_of_its_group_is_never_varied():
    # 健全完善城市: varying either word would print 完善完善 or 健全健全 in the copy.
    from wenxing.fingerprint.plan import wording_places

    variants = parse_variant_list("完善 | 健全\n")
    assert not variants.allows(0, "", "完善城市") and not variants.allows(0, "健全", "城市")
    assert variants.allows(0, "不断", "城市")
    base = "健全完善城市管理，不断完善制度。"
    places = wording_places(
        base, ["健全", "完善", "城市", "管理", "，", "不断", "完善", "制度", "。"], variants
    )
    assert [(offset, length) for offset, length, _g, _f in places] == [(11, 2)]


def test_the_shipped_list_never_doubles_a_word_in_the_sample():
    variants = parse_variant_list(SHIPPED.read_text(encoding="utf-8"))
    written = sorted((REPO / "tests/fixtures/materials").rglob("*.txt"))
    assert len(written) >= 5
    for path in written:
        # each written material, and once more with the phrase that doubled a word
        base = path.read_text(encoding="utf-8", errors="ignore") + "健全完善城市管理体制。"
        plan = build_plan(base, b"k" * 32, words(base), variants, Profile("strong"))
        for slot in range(len(plan.layer)):
            if plan.layer[slot] != WORD:
                continue
            offset, length = int(plan.index[slot]), int(plan.length[slot])
            forms = plan.groups[int(plan.group[slot])]
            assert not any(base[offset + length :].startswith(f) for f in forms), path.name
            assert not any(base[:offset].endswith(f) for f in forms), path.name
