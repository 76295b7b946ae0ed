"""Where a piece lies in its version: the blocks of the section a heading anchor names.

The reader page numbers its table of contents ``s1``, ``s2``, … (``delivery.layout``); a
piece is the anchored heading's section or item, from its heading to the end of its outline
node (its sub-sections with it), as blocks of the version's layout.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy.orm import Session

from wenxing.delivery.layout import layout_of
from wenxing.materials.models import Material, MaterialVersion
from wenxing.materials.queries import current_version

PATH_SEPARATOR = " › "


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
    return extents(version).get(anchor)


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
