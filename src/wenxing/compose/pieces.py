"""Where a piece lies in its version: the blocks of the section a heading anchor names, or
a run of paragraphs a member selected.

The reader page numbers its table of contents ``s1``, ``s2``, … (``delivery.layout``); a
piece is the anchored heading's section or item, from its heading to the end of its outline
node (its sub-sections with it), as blocks of the version's layout. A run of paragraphs is
named ``p<first>-<last>`` by block index (the reader page's article holds one element per
block, in order), at most ``RUN_LIMIT`` paragraphs; its path is the section it starts in
and the paragraphs' numbers there (第 3–5 段): never words of the body, which a member sees
only in a copy marked for them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy.orm import Session

from wenxing.delivery.layout import HEADING, Block, layout_of
from wenxing.materials.models import Material, MaterialVersion
from wenxing.materials.queries import current_version

PATH_SEPARATOR = " › "
RUN_LIMIT = 60  # paragraphs in one selected run
_RUN = re.compile(r"p(\d{1,5})-(\d{1,5})")


@dataclass(frozen=True)
class Extent:
    anchor: str
    path: str  # the outline path, headings from the top, as printed
    label: str  # the anchored heading, as printed
    first: int  # index of the heading's block
    stop: int  # index past the piece's last block


def extents(version: MaterialVersion) -> dict[str, Extent]:
    """Every piece of the version by anchor (cached: versions never change)."""
    return _extents(version.id, version.body_hash, version.title, version.body, version.outline)


def extent(version: MaterialVersion, anchor: str) -> Extent | None:
    """The piece ``anchor`` names: a section's heading anchor or a paragraph run."""
    run = _RUN.fullmatch(anchor)
    if run is None:
        return extents(version).get(anchor)
    first, last = int(run[1]), int(run[2])
    blocks = layout_of(version.title, version.body, version.outline).blocks
    if not first <= last < len(blocks) or last - first >= RUN_LIMIT:
        return None
    return _run(extents(version), blocks, first, last)


def run_anchor(first: int, last: int) -> str:
    return f"p{first}-{last}"


def _run(sections: dict[str, Extent], blocks: Sequence[Block], first: int, last: int) -> Extent:
    """The run of blocks ``first``…``last``, named by the innermost section it starts in."""
    home = None
    for section in sections.values():
        if section.first <= first < section.stop and (home is None or section.first > home.first):
            home = section
    # Paragraphs counted from 1 after the section's heading line (an item's own paragraph,
    # its heading run inside, is its 第 1 段); before any section, from the body's start.
    base = -1 if home is None else home.first - 1 + (blocks[home.first].style == HEADING)
    low, high = first - base, last - base
    if low < 1:  # the run starts at the heading line itself
        label = "标题" if high < 1 else f"标题及第 1–{high} 段" if high > 1 else "标题及第 1 段"
    else:
        label = f"第 {low} 段" if low == high else f"第 {low}–{high} 段"
    path = label if home is None else f"{home.path}{PATH_SEPARATOR}{label}"
    return Extent(run_anchor(first, last), path, label, first, last + 1)


@lru_cache(maxsize=256)
def _extents(
    version_id: int, body_hash: str, title: str, body: str, outline: str
) -> dict[str, Extent]:
    layout = layout_of(title, body, outline)
    ends = _node_ends(json.loads(outline) if outline else [])
    index = {block.anchor: n for n, block in enumerate(layout.blocks) if block.anchor}
    found: dict[str, Extent] = {}
    trail: list[str] = []
    for entry in layout.toc:
        del trail[entry.level - 1 :]
        trail.append(entry.label)
        first = index.get(entry.anchor)
        if first is None:
            continue
        start = layout.blocks[first].start
        end = ends.get(start, layout.blocks[first].end)
        stop = first + 1
        while stop < len(layout.blocks) and layout.blocks[stop].start < end:
            stop += 1
        found[entry.anchor] = Extent(
            entry.anchor, PATH_SEPARATOR.join(trail), entry.label, first, stop
        )
    return found


def _node_ends(nodes: list[dict[str, Any]]) -> dict[int, int]:
    """The end of every section and item node, by its start."""
    ends: dict[int, int] = {}
    stack = list(nodes)
    while stack:
        node = stack.pop()
        if node.get("type") in ("section", "item"):
            ends.setdefault(int(node["start"]), int(node["end"]))
        stack.extend(node.get("children", []))
    return ends


def anchor_at(version: MaterialVersion, offset: int) -> Extent | None:
    """The innermost piece holding the body offset (a search answer's section), if any."""
    layout = layout_of(version.title, version.body, version.outline)
    found = None
    for piece in extents(version).values():
        start = layout.blocks[piece.first].start
        end = layout.blocks[piece.stop - 1].end
        if start <= offset <= end and (found is None or piece.first >= found.first):
            found = piece
    return found


def search_places(
    session: Session,
    sections: Sequence[tuple[int, int]],
    units_of: Callable[[str, str], Sequence[Any]],
) -> dict[tuple[int, int], tuple[int, str]]:
    """For (material id, section ordinal) pairs of a search answer, the (version id,
    anchor) of the piece each section lies in: what a 加入素材篮 button beside a result
    posts. ``units_of`` is the search index's (``search.units.units_of``), passed in: the
    index sits beside this package, not under it."""
    places: dict[tuple[int, int], tuple[int, str]] = {}
    by_material: dict[int, list[int]] = {}
    for material_id, ordinal in sections:
        by_material.setdefault(material_id, []).append(ordinal)
    for material_id, ordinals in by_material.items():
        material = session.get(Material, material_id)
        if material is None or material.status != "published":
            continue
        version = current_version(session, material)
        units = units_of(version.body, version.outline)
        for ordinal in ordinals:
            if 0 <= ordinal < len(units):
                piece = anchor_at(version, units[ordinal].start)
                if piece is not None:
                    places[(material_id, ordinal)] = (version.id, piece.anchor)
    return places
