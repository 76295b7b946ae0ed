"""Where a copy's wording is never varied: the protected spans of a material body.

A reader notices a changed heading (the 目录 no longer matches the body), a broken 排比
(着力提升 / 大力深化 / 着力破解), an altered quotation, name or number. So wording variants
are never placed in

* headings: every section heading and every run-in heading (一是着力构建良好发展环境。),
  marker and text, exactly what a table of contents shows for it;
* front and back matter: datelines, bylines, the salutation, the signature;
* the lead words of parallel items: consecutive clauses, or consecutive paragraphs, that
  open with the same two characters keep those characters (and the word they begin) as
  they are, so a 排比 keeps one choice throughout;
* quotations and titles of documents: “…”, ‘…’, 「…」, 『…』, "…", 《…》, 〈…〉;
* names: up to four characters before 同志, placeholders such as ××;
* numbers: digits, Chinese numerals with what they count.

Invisible marks may sit anywhere: they change nothing a reader sees, and a copy's text with
its marks removed is the base text exactly.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

from wenxing.materials.outline import _OutlineBuilder, split_heading

_QUOTES = {"“": "”", "‘": "’", "「": "」", "『": "』", '"': '"', "《": "》", "〈": "〉"}
_QUOTE_LIMIT = 400  # an opening mark without its closing one stops at the paragraph's end
_CLAUSE = re.compile(r"[^，,；;。！？!?：:、\n]+")
# A clause's own marker (一是, （一）, 1., 第一，) is not its lead word.
_LEADING_MARKER = re.compile(
    r"^(?:[（(][一二三四五六七八九十\d]+[）)]|[一二三四五六七八九十]+[是、]|\d{1,3}[.．、]|"
    r"第[一二三四五六七八九十]+[，,、]?|[\s\u3000]+)+"
)
_NUMBER = re.compile(
    r"[0-9０-９][0-9０-９.．,，%％‰]*|[一二三四五六七八九十百千万亿零〇两]+"
    r"(?=[个项年月日次种条家批名人户亩元万亿倍期届级类座所点条件套台辆篇岁天周])"
    r"|[一二三四五六七八九十百千万亿零〇两]{2,}"
)
_NAME = re.compile(r"[\u4e00-\u9fff×○Ｘ]{1,4}(?=同志)|[×○Ｘ]{1,}")
_FRONT_AND_BACK = ("dateline", "byline", "salutation", "signature")


def protected_spans(body: str, outline_json: str | None = None) -> list[tuple[int, int]]:
    """``(start, end)`` offsets of ``body`` that wording variants must leave alone.

    ``outline_json`` is the version's stored outline (what its copies' tables of contents
    are made from); without it the outline is parsed from the body.
    """
    nodes = json.loads(outline_json) if outline_json else _parsed_outline(body)
    spans = list(_heading_spans(body, nodes))
    spans += _parallel_leads(body)
    spans += _quotations(body)
    spans += [m.span() for m in _NAME.finditer(body)]
    spans += [m.span() for m in _NUMBER.finditer(body)]
    return _merged(spans)


def _parsed_outline(body: str) -> list[dict[str, Any]]:
    paragraphs = body.split("\n")
    offsets, at = [], 0
    for paragraph in paragraphs:
        offsets.append(at)
        at += len(paragraph) + 1
    return [node.to_dict() for node in _OutlineBuilder(paragraphs, offsets).build()]


def _walk(nodes: list[dict[str, Any]]) -> Iterable[dict[str, Any]]:
    for node in nodes:
        yield node
        yield from _walk(node.get("children", []))


def _heading_spans(body: str, nodes: list[dict[str, Any]]) -> Iterable[tuple[int, int]]:
    for node in _walk(nodes):
        start = node["start"]
        line_end = body.find("\n", start)
        line_end = len(body) if line_end < 0 else line_end
        if node["type"] in _FRONT_AND_BACK:
            yield start, max(node["end"], line_end)
        elif node["type"] in ("section", "item"):
            yield start, _heading_end(body, start, line_end, node)


def _heading_end(body: str, start: int, line_end: int, node: dict[str, Any]) -> int:
    """Where the node's marker and heading end on its line (the whole line when the
    heading cannot be found there)."""
    line = body[start:line_end]
    heading = node.get("heading") or split_heading(line[len(node.get("marker", "")) :])
    found = line.find(heading, len(node.get("marker", ""))) if heading else -1
    if found < 0:
        return line_end
    return start + found + len(heading)


def _leads(body: str) -> list[tuple[int, int, str, int]]:
    """(clause start after its marker, paragraph number, first two characters, clause
    number in its paragraph) for every clause of the body."""
    found = []
    paragraph_starts = [0] + [m.end() for m in re.finditer("\n", body)]
    paragraph = 0
    number = 0
    for match in _CLAUSE.finditer(body):
        while (
            paragraph + 1 < len(paragraph_starts)
            and paragraph_starts[paragraph + 1] <= match.start()
        ):
            paragraph += 1
            number = 0
        text = match.group()
        skip = _LEADING_MARKER.match(text)
        offset = skip.end() if skip else 0
        lead = text[offset : offset + 2]
        if len(lead) == 2:
            found.append((match.start() + offset, paragraph, lead, number))
        number += 1
    return found


def _parallel_leads(body: str) -> list[tuple[int, int]]:
    """The first two characters of every clause in a run of consecutive clauses (or of
    consecutive paragraphs' first clauses) that open alike."""
    clauses = _leads(body)
    spans: list[tuple[int, int]] = []

    def runs(items: list[tuple[int, int, str, int]]) -> None:
        for i in range(1, len(items)):
            if items[i][2] == items[i - 1][2]:
                spans.extend(
                    [(items[i - 1][0], items[i - 1][0] + 2), (items[i][0], items[i][0] + 2)]
                )

    runs(clauses)
    runs([c for c in clauses if c[3] == 0])  # paragraphs opening alike
    return spans


def _quotations(body: str) -> list[tuple[int, int]]:
    spans = []
    at = 0
    while at < len(body):
        ch = body[at]
        close = _QUOTES.get(ch)
        if close is None:
            at += 1
            continue
        limit = body.find("\n", at)
        limit = len(body) if limit < 0 else min(limit, at + _QUOTE_LIMIT)
        end = body.find(close, at + 1, limit)
        end = limit if end < 0 else end + 1
        spans.append((at, end))
        at = max(end, at + 1)
    return spans


def _merged(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for start, end in sorted(s for s in spans if s[1] > s[0]):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out
