"""Word's automatic list numbering: rendering the numbers Word draws but does not store.

A paragraph with ``w:numPr`` (its own or its style's) shows a number such as ``一、`` or
``（三）`` that is not in its text. This module resolves numId → abstractNum → level and
keeps the counters, so that imported text reads the way the document looked.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from lxml import etree

if TYPE_CHECKING:
    from docx.document import Document as WordDocument

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


@dataclass(frozen=True)
class _Level:
    fmt: str
    text: str
    start: int
    restart: int | None  # None: after any shallower level; 0: never
    legal: bool
    separated: bool  # whether Word puts a tab or space between number and text


def _val(element: etree._Element | None, path: str) -> str | None:
    if element is None:
        return None
    found = element.find(path.replace("w:", W))
    return None if found is None else found.get(W + "val")


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _parse_level(lvl: etree._Element) -> _Level:
    restart = _int(_val(lvl, "w:lvlRestart"))
    legal = lvl.find(W + "isLgl") is not None and _val(lvl, "w:isLgl") not in ("0", "false")
    return _Level(
        fmt=_val(lvl, "w:numFmt") or "decimal",
        text=_val(lvl, "w:lvlText") or "",
        start=_int(_val(lvl, "w:start")) or 0,
        restart=restart,
        legal=legal,
        separated=_val(lvl, "w:suff") != "nothing",
    )


class Numbering:
    """Word's list numbers, which python-docx leaves out of paragraph text."""

    def __init__(self, document: WordDocument):
        self._styles = {
            s.get(W + "styleId"): s for s in document.styles.element.iterchildren(W + "style")
        }
        self._default_style = next(
            (sid for sid, s in self._styles.items()
             if s.get(W + "type") == "paragraph" and s.get(W + "default") in ("1", "true")),
            None,
        )  # fmt: skip
        from docx.opc.constants import RELATIONSHIP_TYPE as RT

        try:
            root = document.part.part_related_by(RT.NUMBERING).element  # type: ignore[attr-defined]  # an XmlPart
        except KeyError:
            root = None
        children = [] if root is None else list(root)
        self._abstracts = {
            el.get(W + "abstractNumId"): el for el in children if el.tag == W + "abstractNum"
        }
        self._nums = {_int(el.get(W + "numId")): el for el in children if el.tag == W + "num"}
        self._counters: dict[tuple[str, object], dict[int, int]] = {}

    def prefix(self, p: etree._Element) -> str:
        num_id, ilvl = self._reference(p)
        found = self._build_list(num_id) if num_id else None
        if found is None:
            return ""
        key, levels = found
        if ilvl not in levels:
            return ""
        counters = self._advance(key, levels, ilvl)
        return _render_marker(levels, counters, ilvl)

    def _reference(self, p: etree._Element) -> tuple[int | None, int]:
        ppr = p.find(W + "pPr")
        num_id = _int(_val(ppr, "w:numPr/w:numId"))
        ilvl = _int(_val(ppr, "w:numPr/w:ilvl"))
        current = _val(ppr, "w:pStyle") or self._default_style
        seen: set[str] = set()
        # Numbering may be inherited through the basedOn chain; stop on cycles.
        while (num_id is None or ilvl is None) and current and current not in seen:
            seen.add(current)
            style = self._styles.get(current)
            if style is None:
                break
            spr = style.find(W + "pPr")
            num_id = num_id if num_id is not None else _int(_val(spr, "w:numPr/w:numId"))
            ilvl = ilvl if ilvl is not None else _int(_val(spr, "w:numPr/w:ilvl"))
            current = _val(style, "w:basedOn")
        return num_id, ilvl or 0

    def _abstract_for(self, num_id: int, depth: int = 0) -> etree._Element | None:
        abstract = self._abstracts.get(_val(self._nums.get(num_id), "w:abstractNumId"))
        link = _val(abstract, "w:numStyleLink")
        # A numbering style's abstractNum only points at the style that holds the real list.
        if link and depth < 3:
            linked = _int(_val(self._styles.get(link), "w:pPr/w:numPr/w:numId"))
            if linked and linked != num_id:
                return self._abstract_for(linked, depth + 1)
        return abstract

    def _build_list(self, num_id: int) -> tuple[tuple[str, object], dict[int, _Level]] | None:
        num, abstract = self._nums.get(num_id), self._abstract_for(num_id)
        if num is None or abstract is None:
            return None
        levels = {}
        for lvl in abstract.iterchildren(W + "lvl"):
            ilvl = _int(lvl.get(W + "ilvl"))
            if ilvl is not None:
                levels[ilvl] = _parse_level(lvl)
        overrides = list(num.iterchildren(W + "lvlOverride"))
        for override in overrides:
            ilvl = _int(override.get(W + "ilvl"))
            lvl = override.find(W + "lvl")
            if lvl is not None and ilvl is not None:
                levels[ilvl] = _parse_level(lvl)
            start = _int(_val(override, "w:startOverride"))
            if start is not None and ilvl in levels:
                levels[ilvl] = replace(levels[ilvl], start=start)
        # Lists sharing an abstractNum continue one another unless a list restarts itself.
        key = ("num", num_id) if overrides else ("abstract", abstract.get(W + "abstractNumId"))
        return key, levels

    def _advance(
        self, key: tuple[str, object], levels: dict[int, _Level], ilvl: int
    ) -> dict[int, int]:
        counters = self._counters.setdefault(key, {})
        counters[ilvl] = counters[ilvl] + 1 if ilvl in counters else levels[ilvl].start
        for deeper in [lvl for lvl in counters if lvl > ilvl]:
            restart = levels[deeper].restart if deeper in levels else None
            if restart is None or (restart != 0 and ilvl < restart):
                del counters[deeper]
        return counters


def _render_marker(levels: dict[int, _Level], counters: dict[int, int], ilvl: int) -> str:
    level = levels[ilvl]
    if level.fmt == "bullet":
        return ""

    def number(match: re.Match[str]) -> str:
        other = int(match.group(1)) - 1
        other_level = levels.get(other, level)
        value = counters.get(other, other_level.start)
        if level.fmt == "none" or other_level.fmt == "none":
            return ""
        return _format_number(value, "decimal" if level.legal else other_level.fmt)

    marker = re.sub(r"%([1-9])", number, level.text)
    # "一、" and "（一）" run straight into the text; "1." gets the space Word shows.
    last = marker[-1:]
    if level.separated and last.isascii() and last.strip():
        return marker + " "
    return marker


_CHINESE_DIGITS = "〇一二三四五六七八九"
_CHINESE_UNITS = ((1000, "千"), (100, "百"), (10, "十"), (1, ""))
_LEGAL = str.maketrans("〇一二三四五六七八九十百千", "零壹贰叁肆伍陆柒捌玖拾佰仟")
_ENCLOSED = {
    "decimalEnclosedCircle": 0x2460,
    "decimalEnclosedCircleChinese": 0x2460,
}
_CYCLES = {"ideographTraditional": "甲乙丙丁戊己庚辛壬癸"}
_ROMAN = ((1000, "m"), (900, "cm"), (500, "d"), (400, "cd"), (100, "c"), (90, "xc"),
          (50, "l"), (40, "xl"), (10, "x"), (9, "ix"), (5, "v"), (4, "iv"), (1, "i"))  # fmt: skip


def _chinese_number(n: int) -> str:
    if n <= 0 or n >= 10000:
        return _CHINESE_DIGITS[0] if n == 0 else str(n)
    parts: list[str] = []
    gap = False
    for value, unit in _CHINESE_UNITS:
        digit = n // value % 10
        if digit == 0:
            gap = bool(parts)
            continue
        parts.append(("零" if gap else "") + _CHINESE_DIGITS[digit] + unit)
        gap = False
    text = "".join(parts)
    return text[1:] if 10 <= n < 20 else text  # 十一, not 一十一


def _letters(n: int) -> str:
    # Word repeats the letter (z, aa, bb); a hostile start value must not build a huge string.
    return chr(ord("a") + (n - 1) % 26) * ((n - 1) // 26 + 1) if 0 < n < 1000 else str(n)


def _roman(n: int) -> str:
    if not 0 < n < 4000:
        return str(n)
    out = []
    for value, symbol in _ROMAN:
        count, n = divmod(n, value)
        out.append(symbol * count)
    return "".join(out)


_FORMATTERS: dict[str, Callable[[int], str]] = {
    "decimalFullWidth": lambda n: "".join(chr(ord(c) + 0xFEE0) for c in str(n)),
    "chineseCounting": _chinese_number,
    "chineseCountingThousand": _chinese_number,
    "chineseLegalSimplified": lambda n: (
        "壹" * (10 <= n < 20) + _chinese_number(n).translate(_LEGAL)
    ),
    "lowerLetter": _letters,
    "upperLetter": lambda n: _letters(n).upper(),
    "lowerRoman": _roman,
    "upperRoman": lambda n: _roman(n).upper(),
    "bullet": lambda n: "",
    "none": lambda n: "",
}


def _format_number(value: int, fmt: str) -> str:
    if fmt in _ENCLOSED and 1 <= value <= 20:
        return chr(_ENCLOSED[fmt] + value - 1)
    if fmt in _CYCLES and value >= 1:
        cycle = _CYCLES[fmt]
        return cycle[(value - 1) % len(cycle)]
    return _FORMATTERS.get(fmt, str)(value)
