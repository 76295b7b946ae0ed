"""Inline enumerations inside paragraphs: 一是…二是…, 首先…其次…最后…, 第一，…第二，….

An enumeration counts only as a run: 一是 followed by 二是, 首先 followed by 其次. A marker
must open a paragraph or follow punctuation, so 统一是 or 第一次 never start an item.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

SENTENCE_END = re.compile(r"[。！？!?]|\.(?=\s|$)")
_ITEM_HEADING_END = re.compile(r"[。！？!?；;]")
_CN_DIGITS = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_BOUNDARY = r"(?:(?<=^)|(?<=[\n，,；;。：:！？!?、）)]))"

_SHI = re.compile(_BOUNDARY + r"(?P<marker>(?P<num>[一二三四五六七八九十]{1,3})是)", re.M)
_DI = re.compile(
    _BOUNDARY + r"(?P<marker>第(?P<num>[一二三四五六七八九十]{1,3}))(?=[，,、：:]|是)", re.M
)
_ORDER_WORDS = {"首先": 1, "其次": 2, "再次": 3, "然后": 3, "最后": 9}
_ORDER = re.compile(_BOUNDARY + r"(?P<marker>首先|其次|再次|最后)(?=[，,、：:]?)", re.M)


@dataclass(frozen=True)
class ItemSpan:
    marker: str
    heading: str
    start: int
    end: int


def chinese_number(text: str) -> int | None:
    """一 → 1, 十二 → 12, 二十 → 20; None for anything else."""
    if not text:
        return None
    if text == "十":
        return 10
    if "十" in text:
        tens, _, ones = text.partition("十")
        tens_value = _CN_DIGITS.get(tens, 0) if tens else 1
        ones_value = _CN_DIGITS.get(ones, 0) if ones else 0
        if (tens and tens not in _CN_DIGITS) or (ones and ones not in _CN_DIGITS):
            return None
        return tens_value * 10 + ones_value
    return _CN_DIGITS.get(text) if len(text) == 1 else None


def starts_item(paragraph: str) -> bool:
    head = paragraph[:6]
    return bool(_SHI.match(head) or _DI.match(head) or _ORDER.match(head))


def _runs(matches: list[tuple[int, int, str]]) -> list[list[tuple[int, int, str]]]:
    """Split (start, number, marker) into runs numbered 1, 2, 3 … (at least two long)."""
    runs: list[list[tuple[int, int, str]]] = []
    current: list[tuple[int, int, str]] = []
    for match in matches:
        number = match[1]
        if current and number == current[-1][1] + 1:
            current.append(match)
            continue
        if len(current) >= 2:
            runs.append(current)
        current = [match] if number == 1 else []
    if len(current) >= 2:
        runs.append(current)
    return runs


def _order_runs(matches: list[tuple[int, int, str]]) -> list[list[tuple[int, int, str]]]:
    runs: list[list[tuple[int, int, str]]] = []
    current: list[tuple[int, int, str]] = []
    for match in matches:
        number = match[1]
        if number == 1:
            if len(current) >= 2:
                runs.append(current)
            current = [match]
        elif current and number > current[-1][1] and (number != 9 or len(current) >= 2):
            current.append(match)
            if number == 9:
                runs.append(current)
                current = []
        elif current and number == 9:
            continue
    if len(current) >= 2:
        runs.append(current)
    return [run for run in runs if run[1][1] == 2]


def _numbered(pattern: re.Pattern[str], text: str, base: int) -> list[tuple[int, int, str]]:
    found = []
    for match in pattern.finditer(text):
        number = chinese_number(match.group("num"))
        if number is not None:
            found.append((base + match.start("marker"), number, match.group("marker")))
    return found


def find_items(body: str, start: int, end: int) -> list[ItemSpan]:
    """Items of every enumeration run inside ``body[start:end]``, in order."""
    text = body[start:end]
    runs = _runs(_numbered(_SHI, text, start)) + _runs(_numbered(_DI, text, start))
    order = [
        (start + m.start("marker"), _ORDER_WORDS[m.group("marker")], m.group("marker"))
        for m in _ORDER.finditer(text)
    ]
    runs += _order_runs(order)
    runs = _without_overlaps(sorted(runs, key=lambda run: run[0][0]))
    spans = []
    for run in runs:
        for position, (item_start, _number, marker) in enumerate(run):
            item_end = _item_end(body, item_start, run, position, end)
            heading = _item_heading(body[item_start + len(marker) : item_end])
            spans.append(ItemSpan(marker, heading, item_start, item_end))
    return spans


def _without_overlaps(runs: list[list[tuple[int, int, str]]]) -> list[list[tuple[int, int, str]]]:
    kept: list[list[tuple[int, int, str]]] = []
    for run in runs:
        if kept and run[0][0] < kept[-1][-1][0]:
            continue
        kept.append(run)
    return kept


def _item_end(
    body: str, item_start: int, run: list[tuple[int, int, str]], position: int, limit: int
) -> int:
    if position + 1 < len(run):
        end = run[position + 1][0]
    else:
        newline = body.find("\n", item_start, limit)
        end = newline if newline != -1 else limit
    while end > item_start and body[end - 1] in "\n \u3000":
        end -= 1
    return end


def _item_heading(text: str) -> str:
    text = text.lstrip("，,、：: \u3000")
    match = _ITEM_HEADING_END.search(text)
    heading = text[: match.start()] if match else text
    return heading.rstrip("，,：:").strip()
