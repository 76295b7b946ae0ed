"""Copy tags: short, keyed ids for file formats; only the key holder makes or reads them."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wenxing.fingerprint import make_copy_tag, read_copy_tag

KEY = b"material-key-0123456789abcdef!!!"
OTHER_KEY = b"material-key-0123456789abcdef!!?"
BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
copy_ids = st.integers(min_value=0, max_value=2**64 - 1)


@settings(max_examples=200, deadline=None)
@given(copy_id=copy_ids, key=st.binary(min_size=1, max_size=64))
def test_round_trip(copy_id, key):
    tag = make_copy_tag(key, copy_id)
    assert tag.startswith("WX1-")
    assert set(tag[4:]) <= set(BASE32)
    assert read_copy_tag(key, tag) == copy_id
    # Read as typed back by a person: lower case, surrounding spaces.
    assert read_copy_tag(key, f"  {tag.lower()}\n") == copy_id


def test_tags_are_short_and_distinct():
    tags = {make_copy_tag(KEY, n) for n in range(1, 2_001)}
    assert len(tags) == 2_000
    assert {len(t) for t in tags} == {33}
    assert make_copy_tag(KEY, 5) == make_copy_tag(KEY, 5)


@settings(max_examples=200, deadline=None)
@given(copy_id=copy_ids)
def test_other_key_reads_nothing(copy_id):
    assert read_copy_tag(OTHER_KEY, make_copy_tag(KEY, copy_id)) is None


@settings(max_examples=300, deadline=None)
@given(copy_id=copy_ids, data=st.data())
def test_tampered_data_characters_read_nothing(copy_id, data):
    tag = make_copy_tag(KEY, copy_id)
    # Characters 4 … 31 carry only data bits; the last one carries 4 data bits and 1 pad bit.
    at = data.draw(st.integers(min_value=4, max_value=len(tag) - 2))
    new = data.draw(st.sampled_from(BASE32).filter(lambda c: c != tag[at]))
    assert read_copy_tag(KEY, tag[:at] + new + tag[at + 1 :]) is None


@settings(max_examples=100, deadline=None)
@given(copy_id=copy_ids, data=st.data())
def test_tampered_last_character_data_bits_read_nothing(copy_id, data):
    tag = make_copy_tag(KEY, copy_id)
    value = BASE32.index(tag[-1])
    flip = data.draw(st.sampled_from([2, 4, 8, 16]))  # the four data bits
    assert read_copy_tag(KEY, tag[:-1] + BASE32[value ^ flip]) is None


def test_tampered_pad_bit_reads_nothing():
    tag = make_copy_tag(KEY, 12345)
    tampered = tag[:-1] + BASE32[BASE32.index(tag[-1]) ^ 1]
    assert tampered != tag
    assert read_copy_tag(KEY, tampered) is None


@settings(max_examples=300, deadline=None)
@given(text=st.text(max_size=60))
def test_garbage_reads_nothing(text):
    assert read_copy_tag(KEY, text) is None
    assert read_copy_tag(KEY, "WX1-" + text) is None


@pytest.mark.parametrize(
    "garbage",
    [
        "",
        "WX1-",
        "WX1-AAAA",
        "WX1-!!!!",
        "WX1-文行文行",
        "WX2-" + "A" * 29,
        "WX1-" + "A" * 29,
        "WX1-" + "A" * 40,
    ],
)
def test_known_garbage_reads_nothing(garbage):
    assert read_copy_tag(KEY, garbage) is None


def test_a_tag_cut_short_or_extended_reads_nothing():
    tag = make_copy_tag(KEY, 77)
    assert read_copy_tag(KEY, tag[:-1]) is None
    assert read_copy_tag(KEY, tag + "A") is None
    assert read_copy_tag(KEY, tag[:-8]) is None
