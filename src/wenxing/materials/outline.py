"""The structure of an official-writing material: title, front matter, sections and items.

Input is the list of clean paragraphs; output is the title, the body (the paragraphs after
the title, joined by ``\\n``) and a tree of nodes whose ``start``/``end`` are character
offsets into that body (``body[start:end]`` is the node's text, without a trailing newline).

Node types:
  ``dateline``/``byline`` front matter such as ``（2025年6月12日）`` or ``×××同志``;
  ``salutation`` ``同志们：``; ``opening`` text before the first section;
  ``section`` a heading on one of the ranks below, nested by rank;
  ``item`` an inline enumeration (一是…二是…, 首先…其次…, 第一，…第二，…);
  ``closing`` the closing paragraph(s); ``signature`` issuer and date lines at the tail.
Levels: sections and items count depth from 1; front and back matter have level 0.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from wenxing.materials import sequences
from wenxing.materials.cleaning import same_line
from wenxing.materials.sequences import SENTENCE_END

_CN_NUM = "一二三四五六七八九十百零〇两"

# Heading markers by rank: a heading closes every open heading of the same or lower rank.
_HEADING_MARKERS: tuple[tuple[int, re.Pattern[str]], ...] = (
    (0, re.compile(rf"^第[{_CN_NUM}\d]+[章编篇](?:\s|$|[　：:、])")),
    (0, re.compile(rf"^第[{_CN_NUM}\d]+部分[　：:、\s]?")),
    (1, re.compile(rf"^[{_CN_NUM}]+、")),
    (2, re.compile(rf"^[（(][{_CN_NUM}]+[）)][、，]?")),
    (3, re.compile(r"^\d{1,3}(?:[.．](?!\d)|、)")),
    (4, re.compile(r"^[（(]\d{1,3}[）)][、，]?")),
    (5, re.compile(rf"^第[{_CN_NUM}\d]+条(?:\s|$|[　：:])")),
)
_DATE = re.compile(r"\d{4}\s*年\s*\d{1,2}\s*月(\s*\d{1,2}\s*日)?")
_SALUTATION_WORDS = re.compile(r"同志们|代表|委员|同事|朋友|来宾|领导|嘉宾|同学|各位|大家")
_CLOSING_START = re.compile(r"^(同志们|各位代表|各位委员|让我们|最后[，,]|总之[，,]|总而言之)")
_THANKS = re.compile(r"^(谢谢|感谢)(大家|各位)?[！!。.]*$")
_TITLE_WORDS = re.compile(
    r"讲话|报告|通知|方案|总结|体会|意见|办法|决定|决议|规划|纲要|发言|致辞|汇报|主持词|"
    r"述职|公告|通报|请示|批复|函|要点|计划|规定|细则|党课|讲稿|心得|感悟"
)
_FRONT_WINDOW = 12


@dataclass
class Node:
    type: str
    level: int
    marker: str
    heading: str
    start: int
    end: int
    rank: int = -1
    children: list[Node] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "level": self.level,
            "marker": self.marker,
            "heading": self.heading,
            "start": self.start,
            "end": self.end,
            "children": [child.to_dict() for child in self.children],
        }


@dataclass
class Structure:
    title: str | None
    body: str
    outline: list[Node]

    def outline_dicts(self) -> list[dict[str, Any]]:
        return [node.to_dict() for node in self.outline]

    def nodes(self, type_: str | None = None) -> list[Node]:
        found: list[Node] = []
        stack = list(reversed(self.outline))
        while stack:
            node = stack.pop()
            if type_ is None or node.type == type_:
                found.append(node)
            stack.extend(reversed(node.children))
        return found


def heading_marker(paragraph: str) -> tuple[int, str] | None:
    """(rank, marker) when the paragraph opens with an outline marker."""
    for rank, pattern in _HEADING_MARKERS:
        match = pattern.match(paragraph)
        if match and len(paragraph) > len(match.group(0).strip()):
            return rank, match.group(0).strip()
    return None


def split_heading(text: str) -> str:
    """The heading of a section paragraph (marker removed): its first sentence.

    A run-in heading (``粮食生产稳中有增。全面落实…``) ends at the first full stop; a
    heading line has none and is taken whole.
    """
    text = text.lstrip("　 \u2002，,、：:")
    match = SENTENCE_END.search(text) or re.search(r"[\s\u3000\u2002]{2,}", text)
    heading = text[: match.start()] if match else text
    return heading.rstrip("：:，,；;").strip() or text.strip()


def _normalise_title(line: str) -> str:
    # 政 府 工 作 报 告: spaced-out titles lose the spaces between Han characters.
    if re.fullmatch(r"[\u4e00-\u9fff](\s+[\u4e00-\u9fff])+", line):
        line = re.sub(r"\s+", "", line)
    return re.sub(r"\s+", " ", line).strip()


def _is_body_start(paragraph: str) -> bool:
    return (
        heading_marker(paragraph) is not None
        or (len(paragraph) >= 40 and bool(SENTENCE_END.search(paragraph)))
        or _is_salutation(paragraph)
    )


def _is_salutation(paragraph: str) -> bool:
    if len(paragraph) > 60 or SENTENCE_END.search(paragraph[:-1]):
        return False
    if paragraph.endswith(("：", ":")):
        return bool(_SALUTATION_WORDS.search(paragraph)) or "，" in paragraph or "、" in paragraph
    return (
        paragraph.endswith(("！", "!"))
        and len(paragraph) <= 12
        and bool(_SALUTATION_WORDS.search(paragraph))
    )


def _is_front_line(paragraph: str) -> bool:
    return len(paragraph) <= 60 and not SENTENCE_END.search(paragraph.rstrip("）)"))


def _is_subtitle(paragraph: str) -> bool:
    """A dateline or subtitle: ``——在…上的讲话``, ``（2024年3月5日）``, ``(译自…)``."""
    return paragraph[:1] in "—-－―" or bool(
        re.fullmatch(r"[（(].*[）)]", paragraph) or _DATE.match(paragraph.lstrip("（( "))
    )


def _looks_like_title(paragraph: str) -> bool:
    return (
        len(paragraph) <= 100
        and heading_marker(paragraph) is None
        and not _is_salutation(paragraph)
        and not _is_subtitle(paragraph)
        and not SENTENCE_END.search(paragraph[:-1] if paragraph else paragraph)
        and paragraph[-1:] not in "。；;，,的了：:"
    )


def find_title(paragraphs: list[str]) -> tuple[int, int, str] | None:
    """(first, end, separator): the title's paragraph range, or None when there is none."""
    window: list[int] = []
    before_subtitle = False
    for index, paragraph in enumerate(paragraphs[:_FRONT_WINDOW]):
        if _is_body_start(paragraph) or _is_subtitle(paragraph):
            before_subtitle = _is_subtitle(paragraph)
            break
        following = paragraphs[index + 1] if index + 1 < len(paragraphs) else ""
        # A line followed by one that starts with punctuation is a sentence broken in two.
        if not re.match(r"[。，、；,;]", following):
            window.append(index)
    candidates = [i for i in window if _looks_like_title(paragraphs[i])]
    if not candidates:
        return None
    worded = [i for i in candidates if _TITLE_WORDS.search(paragraphs[i])]
    if not worded and before_subtitle and candidates == window[-len(candidates) :]:
        # Main title lines over a subtitle (——在…上的报告): the title is all of them.
        first, end = candidates[0], candidates[-1] + 1
        if end - first <= 3 and candidates == list(range(first, end)):
            short = any(len(paragraphs[i]) <= 2 for i in candidates)
            return first, end, "" if short else " "
    first = worded[0] if worded else candidates[0]
    if first - 1 in candidates and (
        _unbalanced(paragraphs[first - 1]) or re.search(r"(关于|印发|转发)$", paragraphs[first - 1])
    ):
        first -= 1
    end = first + 1
    # A title broken over lines: an open 《 or （, a last line that is only the end of a
    # word (报\n告), or a last line that ends the title (…的通知).
    while end in candidates and end - first < 3:
        line, following = paragraphs[end - 1], paragraphs[end]
        ends_title = bool(re.search(r"的(通知|报告|讲话|意见|决定|批复|函)$", following))
        word_cut = len(following) <= 2 and not _TITLE_WORDS.search(line[-3:])
        if _unbalanced(line) or word_cut or (ends_title and end - 1 not in worded):
            end += 1
        else:
            break
    return first, end, ""


def _unbalanced(line: str) -> bool:
    return line.count("《") > line.count("》") or line.count("（") > line.count("）")


def parse(paragraphs: list[str]) -> Structure:
    """Parse clean paragraphs into title, body and outline."""
    title_span = find_title(paragraphs)
    if title_span:
        first, end, separator = title_span
        title = _normalise_title(separator.join(paragraphs[first:end]))
        paragraphs = paragraphs[end:]
        if paragraphs and same_line(paragraphs[0], title):
            paragraphs = paragraphs[1:]
    else:
        title = None
    body = "\n".join(paragraphs)
    offsets = []
    position = 0
    for paragraph in paragraphs:
        offsets.append(position)
        position += len(paragraph) + 1
    builder = _OutlineBuilder(paragraphs, offsets)
    return Structure(title=title, body=body, outline=builder.build())


class _OutlineBuilder:
    def __init__(self, paragraphs: list[str], offsets: list[int]):
        self.paragraphs = paragraphs
        self.offsets = offsets
        self.body = "\n".join(paragraphs)

    def _end_of(self, index: int) -> int:
        return self.offsets[index] + len(self.paragraphs[index])

    def build(self) -> list[Node]:
        if not self.paragraphs:
            return []
        front, index = self._front_matter()
        tail_start, back = self._back_matter(index)
        sections = self._sections(index, tail_start)
        opening = self._opening(index, tail_start, sections)
        nodes = front + ([opening] if opening else []) + sections + back
        for node in nodes:
            _attach_items(node, self)
        return nodes

    def _front_matter(self) -> tuple[list[Node], int]:
        nodes: list[Node] = []
        index = 0
        while index < min(len(self.paragraphs), _FRONT_WINDOW):
            paragraph = self.paragraphs[index]
            # Right after the title, any short line ending in a colon is an address
            # (同志们：, or a notice's 主送机关 such as 各省人民政府：).
            if _is_salutation(paragraph) or (
                len(paragraph) <= 40
                and paragraph.endswith(("：", ":"))
                and not SENTENCE_END.search(paragraph)
            ):
                nodes.append(self._leaf("salutation", index, paragraph))
                return nodes, index + 1
            if heading_marker(paragraph) or not _is_front_line(paragraph):
                break
            kind = "dateline" if _DATE.search(paragraph) or paragraph[:1] in "—-－" else "byline"
            nodes.append(self._leaf(kind, index, paragraph))
            index += 1
        else:
            if index >= len(self.paragraphs):
                return nodes, index
        if index >= _FRONT_WINDOW or index == len(self.paragraphs):
            # No body start in sight: these were body lines after all.
            return [], 0
        return nodes, index

    def _leaf(self, type_: str, index: int, heading: str) -> Node:
        return Node(type_, 0, "", heading, self.offsets[index], self._end_of(index))

    def _back_matter(self, body_start: int) -> tuple[int, list[Node]]:
        """Where the closing (and signature) begins, and their nodes."""
        count = len(self.paragraphs)
        end = count
        signature_start = end
        while signature_start > body_start and _is_signature_line(
            self.paragraphs[signature_start - 1]
        ):
            signature_start -= 1
        if signature_start < end and not any(
            _DATE.fullmatch(p) for p in self.paragraphs[signature_start:end]
        ):
            signature_start = end
        closing_start = signature_start
        for index in range(signature_start - 1, max(body_start, signature_start - 3) - 1, -1):
            paragraph = self.paragraphs[index]
            if heading_marker(paragraph) or sequences.starts_item(paragraph):
                break
            if _THANKS.match(paragraph) or _CLOSING_START.match(paragraph):
                closing_start = index
        nodes = []
        if closing_start < signature_start and closing_start > body_start:
            nodes.append(
                Node(
                    "closing",
                    0,
                    "",
                    split_heading(self.paragraphs[closing_start]),
                    self.offsets[closing_start],
                    self._end_of(signature_start - 1),
                )
            )
        else:
            closing_start = signature_start
        if signature_start < end:
            nodes.append(
                Node(
                    "signature",
                    0,
                    "",
                    self.paragraphs[signature_start],
                    self.offsets[signature_start],
                    self._end_of(end - 1),
                )
            )
        return closing_start, nodes

    def _sections(self, start: int, stop: int) -> list[Node]:
        roots: list[Node] = []
        stack: list[Node] = []
        last_index: list[int] = []
        for index in range(start, stop):
            found = heading_marker(self.paragraphs[index])
            if found is None:
                continue
            rank, marker = found
            while stack and stack[-1].rank >= rank:
                self._close(stack.pop(), last_index.pop(), index)
            node = Node(
                "section",
                len(stack) + 1,
                marker,
                split_heading(self.paragraphs[index][len(marker) :]),
                self.offsets[index],
                self._end_of(index),
                rank,
            )
            (stack[-1].children if stack else roots).append(node)
            stack.append(node)
            last_index.append(index)
        while stack:
            self._close(stack.pop(), last_index.pop(), stop)
        return roots

    def _close(self, node: Node, _opened_at: int, next_index: int) -> None:
        node.end = max(node.end, self._end_of(next_index - 1))

    def _opening(self, start: int, stop: int, sections: list[Node]) -> Node | None:
        first_section = sections[0].start if sections else None
        if start >= stop:
            return None
        if first_section is None:
            end = self._end_of(stop - 1)
        else:
            index = self.offsets.index(first_section)
            if index == start:
                return None
            end = self._end_of(index - 1)
        begin = self.offsets[start]
        return Node("opening", 0, "", split_heading(self.paragraphs[start]), begin, end)


def _is_signature_line(paragraph: str) -> bool:
    return bool(
        _DATE.fullmatch(paragraph)
        or re.fullmatch(r"[（(]此件.{1,12}[）)]", paragraph)
        or (
            len(paragraph) <= 25
            and not re.search(r"[，。；！？、：,.;!?:]", paragraph)
            and heading_marker(paragraph) is None
        )
    )


def _attach_items(node: Node, builder: _OutlineBuilder) -> None:
    """Find inline items in the node's own text (before its first sub-section)."""
    own_end = node.children[0].start if node.children else node.end
    if node.type not in ("signature", "dateline", "byline", "salutation"):
        for span in sequences.find_items(builder.body, node.start, own_end):
            level = node.level + 1 if node.level else 1
            node.children.insert(
                len([c for c in node.children if c.start < span.start]),
                Node("item", level, span.marker, span.heading, span.start, span.end),
            )
    for child in node.children:
        if child.type == "section":
            _attach_items(child, builder)


PUBLIC_ITEM_HEADING = 16  # characters of an item's run-in heading anyone may see


def public_heading(node: dict[str, Any]) -> str:
    """What of an outline node's heading is public (rule 1 of the architecture: headings
    are, running text is not). A section's heading as it is; an item (一是…) shows its
    run-in heading, the words before its first stop, cut to ``PUBLIC_ITEM_HEADING``
    characters, and nothing when the item is one running sentence with no stop of its own
    (its "heading" is then the sentence itself)."""
    heading = str(node.get("heading") or "")
    if node.get("type") != "item":
        return heading[:60]
    length = int(node.get("end", 0)) - int(node.get("start", 0))
    if len(node.get("marker") or "") + len(heading) >= length - 1 and len(heading) > (
        PUBLIC_ITEM_HEADING
    ):
        return ""
    return heading[:PUBLIC_ITEM_HEADING]
