"""Activation codes: check character guarantees, entry normalisation, format, generation."""

from __future__ import annotations

import random
import re
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wenxing.members.codes import (
    ALPHABET,
    CODE_CHARS,
    CodeError,
    CodeMalformed,
    CodeTypo,
    check_character,
    format_code,
    generate_code,
    normalise_code,
)

PROPERTY = settings(max_examples=150, deadline=None)
LENGTH_MESSAGE = "an activation code has 17 characters (XXXX-XXXX-XXXX-XXXX-X)"
TYPO_MESSAGE = "looks like a typo: check the code and try again"
FORMATTED = re.compile(r"^[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]$")


def seeded_codes(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return [generate_code(rng.getrandbits) for _ in range(n)]


def is_typo(entry: str) -> bool:
    try:
        normalise_code(entry)
    except CodeTypo:
        return True
    return False


def assert_one_line(exc: BaseException) -> None:
    message = str(exc)
    assert message and message.strip() == message
    assert "\n" not in message and "\r" not in message


# --- an independent statement of the scheme: sum of alpha^(16-i) * c_i over GF(32) is 0 ---


def gf32_mul(a: int, b: int) -> int:
    product = 0
    for bit in range(5):  # carry-less multiplication ...
        if b >> bit & 1:
            product ^= a << bit
    for bit in range(8, 4, -1):  # ... reduced modulo x^5 + x^2 + 1
        if product >> bit & 1:
            product ^= 0b100101 << (bit - 5)
    return product


def gf32_pow(a: int, n: int) -> int:
    result = 1
    for _ in range(n):
        result = gf32_mul(result, a)
    return result


def test_check_character_is_the_gf32_weighted_sum():
    weights = [gf32_pow(2, 16 - i) for i in range(17)]
    assert len(set(weights)) == 17 and 0 not in weights
    for code in seeded_codes(300, seed=1):
        syndrome = 0
        for w, ch in zip(weights, code, strict=True):
            syndrome ^= gf32_mul(w, ALPHABET.index(ch))
        assert syndrome == 0, code
    # hand-checked: alpha * 1 = 2, alpha^2 * 1 = 4, alpha^5 = alpha^2 + 1 = 5
    assert check_character("0" * 16) == "0"
    assert check_character("0" * 15 + "1") == "2"
    assert check_character("0" * 14 + "10") == "4"
    assert check_character("0" * 11 + "10000") == "5"


@pytest.mark.parametrize(
    "payload", ["0" * 15, "0" * 17, "0" * 15 + "U", "0" * 15 + "a", "0" * 15 + "I"]
)
def test_check_character_wants_canonical_payload(payload):
    with pytest.raises(CodeMalformed):
        check_character(payload)


# --- the guarantees -----------------------------------------------------------------------


def test_every_single_substitution_is_a_typo():
    """200 codes x 17 positions x 31 other characters: all CodeTypo, none redeemed."""
    not_typo = []
    checked = 0
    for code in seeded_codes(200, seed=2):
        for i, original in enumerate(code):
            for substitute in ALPHABET:
                if substitute == original:
                    continue
                checked += 1
                if not is_typo(code[:i] + substitute + code[i + 1 :]):
                    not_typo.append((code, i, substitute))
    assert checked == 200 * 17 * 31
    assert not_typo == []


def test_adjacent_transpositions_share_detected():
    """Floor 100%: swapping different characters at positions i, j changes the sum by
    (alpha^(16-i) + alpha^(16-j)) * (a + b), a product of nonzero GF(32) elements (the
    weights are distinct since alpha has order 31 > 16). The mod-32 odd-weight sum would
    score 30/31 = 96.8% here (it misses pairs whose values differ by 16)."""
    detected = total = 0
    for code in seeded_codes(500, seed=3):
        for i in range(len(code) - 1):
            if code[i] == code[i + 1]:
                continue
            total += 1
            detected += is_typo(code[:i] + code[i + 1] + code[i] + code[i + 2 :])
    share = detected / total
    assert total > 7000
    assert share >= 1.0, f"adjacent transpositions detected: {detected}/{total} = {share:.4%}"


def test_distant_transpositions_and_twin_errors_detected():
    missed = []
    for code in seeded_codes(60, seed=4):
        for i in range(17):
            for j in range(i + 1, 17):
                if code[i] != code[j]:
                    swapped = list(code)
                    swapped[i], swapped[j] = code[j], code[i]
                    if not is_typo("".join(swapped)):
                        missed.append(("swap", code, i, j))
                twin = list(code)  # the same wrong character typed at both places
                other = ALPHABET[(ALPHABET.index(code[i]) + 7) % 32]
                if code[i] == code[j]:
                    twin[i] = twin[j] = other
                    if not is_typo("".join(twin)):
                        missed.append(("twin", code, i, j))
    assert missed == []


def test_double_substitutions_pass_exactly_one_time_in_31():
    """The documented limit: for positions i, j and a change at i, exactly one change at j
    cancels it (and gives another valid code); no single check character can prevent it."""
    rng = random.Random(5)
    for code in seeded_codes(12, seed=5):
        i, j = sorted(rng.sample(range(17), 2))
        for a in ALPHABET.replace(code[i], ""):
            valid = []
            for b in ALPHABET.replace(code[j], ""):
                entry = code[:i] + a + code[i + 1 : j] + b + code[j + 1 :]
                if not is_typo(entry):
                    valid.append(normalise_code(entry))
            assert len(valid) == 1, (code, i, j, a, valid)


# --- normalisation ------------------------------------------------------------------------

SEPARATORS = [" ", "  ", "-", "–", "—", "－", "_", "\u3000", "\t", " - "]
ONE = ["1", "I", "i", "L", "l", "１", "Ｉ", "ｌ"]
ZERO = ["0", "O", "o", "０", "Ｏ", "ｏ"]


def full_width(ch: str) -> str:
    return chr(ord(ch) + 0xFEE0)


@st.composite
def messy(draw, code: str) -> str:
    """``code`` as a member might type it: any case, separators, full-width, I/L/O."""
    parts = [draw(st.sampled_from(["", " ", "\u3000", "\n"]))]
    for ch in code:
        if ch == "1":
            rendered = draw(st.sampled_from(ONE))
        elif ch == "0":
            rendered = draw(st.sampled_from(ZERO))
        else:
            rendered = draw(st.sampled_from([ch, ch.lower()]))
            if draw(st.booleans()):
                rendered = full_width(rendered)
        parts.append(rendered)
        if draw(st.integers(0, 3)) == 0:
            parts.append(draw(st.sampled_from(SEPARATORS)))
    parts.append(draw(st.sampled_from(["", " ", "\u3000", "\n"])))
    return "".join(parts)


codes = st.integers(0, 2**80 - 1).map(lambda n: generate_code(lambda _bits: n))
# payloads rich in 0 and 1, so that I/L/O folding is exercised on most examples
folding_codes = st.text(st.sampled_from(ALPHABET + "0101"), min_size=16, max_size=16).map(
    lambda p: p + check_character(p)
)


@PROPERTY
@given(st.data(), st.one_of(codes, folding_codes))
def test_generate_format_normalise_round_trip(data, code):
    assert normalise_code(format_code(code)) == code
    entry = data.draw(messy(code))
    assert normalise_code(entry) == code


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ("2rmb-wn0p-6y41-79vk-w", "2RMBWN0P6Y4179VKW"),
        ("2RMB WNOP 6Y4I 79VK W", "2RMBWN0P6Y4179VKW"),
        ("２ＲＭＢ－ＷＮ０Ｐ－６Ｙ４１－７９ＶＫ－Ｗ", "2RMBWN0P6Y4179VKW"),
        ("  2RMB—WNoP—6Y4l—79VK—W\u3000", "2RMBWN0P6Y4179VKW"),
        ("2RMB_WN0P_6Y4L_79VK_W\n", "2RMBWN0P6Y4179VKW"),
    ],
)
def test_normalise_examples(entry, expected):
    assert normalise_code(entry) == expected


@PROPERTY
@given(codes, st.data())
def test_wrong_length_is_malformed(code, data):
    i = data.draw(st.integers(0, 16))
    shorter = code[:i] + code[i + 1 :]
    longer = code[:i] + data.draw(st.sampled_from(ALPHABET)) + code[i:]
    for entry in (shorter, longer, format_code(code) + "-" + code[:4], code[:4]):
        with pytest.raises(CodeMalformed) as caught:
            normalise_code(entry)
        assert str(caught.value) == LENGTH_MESSAGE


@PROPERTY
@given(
    codes,
    st.integers(0, 16),
    st.sampled_from(["U", "u", "Ｕ", ".", ",", "!", "#", "/", "*", "卡", "码", "：", "。", "é"]),
    st.booleans(),
)
def test_foreign_character_is_malformed_and_named(code, i, bad, replace):
    entry = format_code(code)
    entry = entry[:i] + bad + entry[i + replace :]
    with pytest.raises(CodeMalformed) as caught:
        normalise_code(entry)
    assert_one_line(caught.value)
    assert repr(bad) in str(caught.value)
    assert not isinstance(caught.value, CodeTypo)


@pytest.mark.parametrize("entry", ["", " ", "\u3000\u3000", "----", "\n"])
def test_empty_is_malformed(entry):
    with pytest.raises(CodeMalformed, match=re.escape(LENGTH_MESSAGE)):
        normalise_code(entry)


@pytest.mark.parametrize(
    "entry", ["卡密：2RMB-WN0P-6Y41-79VK-W", "2RMB-WN0P-6Y41-79VK-W。", "激活码\n2RMB", "\x00"]
)
def test_chinese_and_control_characters_named_on_one_line(entry):
    with pytest.raises(CodeMalformed) as caught:
        normalise_code(entry)
    assert_one_line(caught.value)
    assert "not a character used in activation codes" in str(caught.value)


def test_typo_message():
    with pytest.raises(CodeTypo) as caught:
        normalise_code("2RMB-WN0P-6Y41-79VK-X")
    assert str(caught.value) == TYPO_MESSAGE
    assert isinstance(caught.value, CodeError) and isinstance(caught.value, ValueError)


@PROPERTY
@given(
    st.one_of(
        st.text(),
        st.text(st.sampled_from(ALPHABET + "IiLlOoUu-－ \u3000_."), min_size=15, max_size=22),
    )
)
def test_arbitrary_text_only_raises_code_errors(text):
    try:
        code = normalise_code(text)
    except CodeError as exc:
        assert_one_line(exc)
    else:
        assert len(code) == 17 and set(code) <= set(ALPHABET)
        assert code[-1] == check_character(code[:16])
        assert normalise_code(format_code(code)) == code


# --- format and generation ----------------------------------------------------------------


def test_format_groups_4_4_4_4_1():
    assert format_code("0123456789ABCDEFG") == "0123-4567-89AB-CDEF-G"
    for code in seeded_codes(50, seed=6):
        formatted = format_code(code)
        assert FORMATTED.match(formatted)
        assert formatted.replace("-", "") == code


@pytest.mark.parametrize(
    "bad", ["0123-4567-89AB-CDEF-G", "0123456789abcdefg", "0123456789ABCDEF", "0123456789ABCDEFU"]
)
def test_format_wants_canonical_code(bad):
    with pytest.raises(CodeMalformed):
        format_code(bad)


def test_generate_maps_80_bits_bijectively():
    calls = []

    def randbits(k: int) -> int:
        calls.append(k)
        return value

    for value in [0, 1, 31, 32, 2**40 + 5, 2**79, 2**80 - 1]:
        code = generate_code(randbits)
        assert normalise_code(code) == code
        payload = code[:CODE_CHARS]
        decoded = 0
        for ch in payload:
            decoded = decoded * 32 + ALPHABET.index(ch)
        assert decoded == value
    assert calls == [80] * 7
    assert generate_code(lambda _k: 0)[:16] == "0" * 16
    assert generate_code(lambda _k: 2**80 - 1)[:16] == "Z" * 16
    assert generate_code(lambda _k: 1)[:16] == "0" * 15 + "1"
    assert generate_code(lambda _k: 2**79)[:16] == "G" + "0" * 15


@pytest.mark.parametrize("value", [-1, 2**80])
def test_generate_rejects_out_of_range_randomness(value):
    with pytest.raises(ValueError, match="out of range"):
        generate_code(lambda _k: value)


def test_generated_codes_cover_the_alphabet():
    generated = [generate_code() for _ in range(2000)]
    assert len(set(generated)) == 2000
    assert all(normalise_code(c) == c for c in generated)
    payload_counts = Counter("".join(c[:16] for c in generated))
    # 32,000 characters, 1,000 expected per symbol (sd about 31): 700..1300 is ~10 sd
    assert set(payload_counts) == set(ALPHABET)
    assert all(700 <= n <= 1300 for n in payload_counts.values()), payload_counts
    assert set(c[16] for c in generated) == set(ALPHABET)  # check chars: 62 expected each
