"""Where a copy's wording is never varied: the protected spans of a material body.

A reader notices a changed heading (the 目录 no longer matches the body), a broken 排比
(着力提升 / 大力深化 / 着力破解), an altered quotation, name or number. So wording variants
are never placed in

* headings: every section heading and every run-in heading (一是着力构建良好发展环境。),
  marker and text, exactly what a table of contents shows for it;
* front and back matter: datelines, bylines, the salutation, the signature;
* the lead words of parallel items: the words that consecutive clauses of a paragraph, or
  the opening clauses of consecutive paragraphs, share among their first three keep their
  form, so a 排比 keeps one choice throughout;
* quotations and titles of documents: “…”, ‘…’, 「…」, 『…』, "…", 《…》, 〈…〉;
* names: up to four characters before 同志, placeholders such as ××;
* numbers: digits, Chinese numerals with what they count.

Invisible marks may sit anywhere: they change nothing a reader sees, and a copy's text with
its marks removed is the base text exactly.
"""

from __future__ import annotations

import bisect
import itertools
import json
import re
from collections.abc import Iterable
from typing import Any

from wenxing.materials.keywords import words
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


LEAD_TOKENS = 3  # a clause's lead: its first three words after its marker


def _clauses(body: str) -> list[tuple[int, int, int]]:
    """(start after the clause's own marker, end, paragraph number) of every clause."""
    found = []
    paragraph_starts = [0] + [m.end() for m in re.finditer("\n", body)]
    paragraph = 0
    for match in _CLAUSE.finditer(body):
        while (
            paragraph + 1 < len(paragraph_starts)
            and paragraph_starts[paragraph + 1] <= match.start()
        ):
            paragraph += 1
        skip = _LEADING_MARKER.match(match.group())
        found.append((match.start() + (skip.end() if skip else 0), match.end(), paragraph))
    return found


def _parallel_leads(body: str) -> list[tuple[int, int]]:
    """The words two consecutive clauses of a paragraph (or the first clauses of two
    consecutive paragraphs) share among their first three: the lead of a 排比 or 对仗
    (要大力推进改革，大力优化服务 share 大力), kept as it is in each clause."""
    offsets, at = [], 0
    for token in words(body):
        if token.strip():
            offsets.append((at, token))
        at += len(token)
    starts = [o for o, _t in offsets]
    clauses = []
    for start, end, paragraph in _clauses(body):
        first = bisect.bisect_left(starts, start)
        lead = [(o, t) for o, t in offsets[first : first + LEAD_TOKENS] if o < end]
        clauses.append((paragraph, lead))
    spans: list[tuple[int, int]] = []

    def pair(one: list[tuple[int, str]], two: list[tuple[int, str]]) -> None:
        shared = {t for _o, t in one} & {t for _o, t in two}
        spans.extend((o, o + len(t)) for o, t in one + two if t in shared)

    for (p1, lead1), (p2, lead2) in itertools.pairwise(clauses):
        if p1 == p2:
            pair(lead1, lead2)
    openings = [lead for n, (p, lead) in enumerate(clauses) if n == 0 or clauses[n - 1][0] != p]
    for lead1, lead2 in itertools.pairwise(openings):
        pair(lead1, lead2)
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
