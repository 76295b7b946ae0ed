"""Member numbers printed on copies (WX-10001), as OCR reads and misreads them."""

from __future__ import annotations

import pytest

from wenxing.reports.trace import visible_numbers


@pytest.mark.parametrize(
    ("text", "numbers"),
    [
        ("会员 WX-10003 · 2026-11-26 · 本资料", ["WX-10003"]),
        ("会员WX一10001，2026", ["WX-10001"]),
        ("WX—10001 / WX——10002 / WX–10003 / WX－10004", [f"WX-1000{n}" for n in range(1, 5)]),
        ("ＷＸ－１０００５", ["WX-10005"]),
        ("W X - 1 0 0 0 6 ·", ["WX-10006"]),
        ("WX-1O0O7 WX-l0008 WX-I0009 WX-1OO10", ["WX-10007", "WX-10008", "WX-10009", "WX-10010"]),
        ("WX 10011 and WX10012", ["WX-10011", "WX-10012"]),
        ("VVX-10013，W×-10014", ["WX-10013", "WX-10014"]),
        ("WX-10015 2026-11-26", ["WX-10015"]),
        ("WX-123456 WX-10001 WX-10001", ["WX-10001", "WX-123456"]),
    ],
)
def test_member_numbers_as_ocr_misreads_them(text, numbers):
    assert visible_numbers(text) == numbers


@pytest.mark.parametrize(
    "text",
    [
        "2024年全区GDP增长5.2%，完成投资10001万元。",
        "wx-10001 wx10001",  # lower case: a WeChat id, not a printed number
        "AWX-10001 WX-10001A WX-10001l",  # glued to other letters
        "WX-1234 WX-12 WX-",  # too short
        "WX-1OOO1 WX-IIIII WX-OOlO1",  # mostly letters: words, not numbers
        "WX-1000120261126",  # too long: not one number
        "WXYZ-10001 W-10001 X-10001",
        "WX\n10001",  # a line break between them
    ],
)
def test_ordinary_text_does_not_become_member_numbers(text):
    assert visible_numbers(text) == []
