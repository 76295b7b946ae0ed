"""What every format of a copy is laid out from: the blocks of a material version.

A version's body is a list of paragraphs joined by ``\\n`` and an outline whose nodes carry
offsets into it. ``layout_of`` turns both into blocks (one per paragraph) that say how the
paragraph is set: a heading of some rank, a run-in heading followed by text, the salutation,
a dateline, a signature, or plain text. A copy then fills the blocks with the recipient's
marked text (``CopyContent``), cut at the same places, so a renderer never searches the
marked text and every format of a copy carries exactly the same marks.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from wenxing.materials.outline import heading_marker

# How a paragraph is set. Renderers map these to their own fonts and alignment.
TEXT = "text"  # body text, first line indented two characters
HEADING = "heading"  # a heading alone on its line (rank says which level)
SALUTATION = "salutation"  # 同志们：, set flush left
DATELINE = "dateline"  # （2025年6月12日） or ×××同志 under the title, centred
CLOSING = "closing"  # closing paragraph(s); set as text
SIGNATURE = "signature"  # issuer and date lines at the tail, set flush right


@dataclass(frozen=True)
class Block:
    """One paragraph of the base body: ``[start, head_end)`` is a heading run set in the
    heading's font (empty when ``head_end == start``), ``[head_end, end)`` the rest."""

    style: str
    rank: int  # heading rank: 0 第X章/部分, 1 一、, 2 （一）, 3 1., 4 （1）, 5 第X条; -1 none
    start: int
    head_end: int
    end: int
    anchor: str | None = None  # id of the block in a table of contents


@dataclass(frozen=True)
class TocEntry:
    level: int  # depth in the outline, 1 for top-level sections
    label: str  # marker and heading, as printed
    anchor: str


@dataclass(frozen=True)
class Layout:
    title: str
    blocks: tuple[Block, ...]
    toc: tuple[TocEntry, ...]

    @property
    def cuts(self) -> tuple[int, ...]:
        """Base offsets at which a marked body is cut into block pieces."""
        points: set[int] = set()
        for block in self.blocks:
            points.update((block.start, block.head_end, block.end))
        return tuple(sorted(points))


@dataclass(frozen=True)
class MarkedBlock:
    """A block of one copy: its heading run and its text, both as the recipient sees them."""

    block: Block
    head: str
    text: str

    @property
    def whole(self) -> str:
        return self.head + self.text


@dataclass(frozen=True)
class CopyContent:
    """Everything a renderer needs for one copy."""

    title: str
    blocks: tuple[MarkedBlock, ...]
    toc: tuple[TocEntry, ...]
    masthead: tuple[str, ...]
    recipient_line: str
    member_number: str
    issued_on: str  # YYYY-MM-DD
    copy_tag: str
    copy_id: int
    links: tuple[tuple[str, str], ...] = ()  # (label, href) a reader page offers, e.g. downloads
    # The material key when the page layout carries the visual layer (fingerprint.visual);
    # None draws every character in its place.
    visual_key: bytes | None = None

    @property
    def body(self) -> str:
        """The marked body, paragraphs joined by ``\\n`` as in the source."""
        return "\n".join(block.whole for block in self.blocks)


def layout_of(title: str, body: str, outline_json: str) -> Layout:
    """The layout of one version (cached: versions never change)."""
    return _layout(title, body, outline_json)


@lru_cache(maxsize=256)
def _layout(title: str, body: str, outline_json: str) -> Layout:
    nodes = json.loads(outline_json) if outline_json else []
    starts: dict[int, dict[str, Any]] = {}
    toc: list[TocEntry] = []
    anchors: dict[int, str] = {}

    def visit(items: list[dict[str, Any]], depth: int) -> None:
        for node in items:
            starts.setdefault(node["start"], node)
            if node["type"] == "section" or (node["type"] == "item" and node["start"] in lines):
                anchor = f"s{len(toc) + 1}"
                anchors.setdefault(node["start"], anchor)
                label = f"{node['marker']}{node['heading']}".strip()
                toc.append(TocEntry(depth, label, anchors[node["start"]]))
            visit(node.get("children", []), depth + 1)

    lines = {0}  # offsets where a line starts (found with str.find: a copy's hot path)
    at = body.find("\n")
    while at >= 0:
        lines.add(at + 1)
        at = body.find("\n", at + 1)
    visit(nodes, 1)
    blocks: list[Block] = []
    offset = 0
    for paragraph in body.split("\n"):
        start, end = offset, offset + len(paragraph)
        offset = end + 1
        node = starts.get(start)
        style, rank, head_end = TEXT, -1, start
        if node is not None:
            kind = node["type"]
            if kind == "section":
                rank = _rank(node["marker"] + node["heading"])
                head = f"{node['marker']}{node['heading']}"
                if paragraph.strip() == head.strip() or len(head) >= len(paragraph):
                    style, head_end = HEADING, end
                elif paragraph.startswith(head):
                    head_end = start + len(head)
            elif kind == "salutation":
                style = SALUTATION
            elif kind in ("dateline", "byline"):
                style = DATELINE
            elif kind == "signature":
                style = SIGNATURE
            elif kind == "closing":
                style = CLOSING
        elif (
            blocks
            and blocks[-1].style in (SIGNATURE, DATELINE)
            and _inside_tail(start, nodes, blocks[-1].style)
        ):
            style = blocks[-1].style
        blocks.append(Block(style, rank, start, head_end, end, anchors.get(start)))
    return Layout(title, tuple(blocks), tuple(toc))


def _inside_tail(start: int, nodes: list[dict[str, Any]], style: str) -> bool:
    """Whether a paragraph without a node of its own lies inside a signature or dateline
    node that spans several lines."""
    wanted = {SIGNATURE: ("signature",), DATELINE: ("dateline", "byline")}[style]
    return any(n["type"] in wanted and n["start"] <= start < n["end"] for n in nodes)


def _rank(heading: str) -> int:
    found = heading_marker(heading) if heading else None
    return found[0] if found else 1


def fill(layout: Layout, pieces: list[str]) -> tuple[MarkedBlock, ...]:
    """Marked blocks from the pieces of a body cut at ``layout.cuts``.

    ``pieces[i]`` lies between ``cuts[i-1]`` and ``cuts[i]``; the separator pieces between
    one block's end and the next block's start are the newline (plus any mark after it,
    which stays with the block before).
    """
    cuts = layout.cuts
    at = {cut: i for i, cut in enumerate(cuts)}
    blocks: list[MarkedBlock] = []
    for number, block in enumerate(layout.blocks):
        head = "".join(pieces[at[block.start] + 1 : at[block.head_end] + 1])
        text = "".join(pieces[at[block.head_end] + 1 : at[block.end] + 1])
        if number + 1 < len(layout.blocks):
            separator = "".join(pieces[at[block.end] + 1 : at[layout.blocks[number + 1].start] + 1])
            text += separator[1:] if separator.startswith("\n") else separator
        blocks.append(MarkedBlock(block, head, text))
    return tuple(blocks)


def unmarked(layout: Layout, body: str) -> tuple[MarkedBlock, ...]:
    """The blocks filled with the base text (for previews and for measuring marking cost)."""
    return tuple(
        MarkedBlock(block, body[block.start : block.head_end], body[block.head_end : block.end])
        for block in layout.blocks
    )
