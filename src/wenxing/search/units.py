"""Searchable units: the parts of a material a member wants to land on.

A unit is a node of the outline: a section's heading with its lead text (up to its first
sub-section or item), each item (一是…), each sub-section, the opening and the closing.
A material without an outline is cut into runs of paragraphs of about 1,500 characters.
Every unit knows its heading path (一、… › （二）…) for display and for ranking.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from wenxing.materials.outline import public_heading

RUN_CHARS = 1500


@dataclass(frozen=True)
class Unit:
    ordinal: int  # position in the material, from 0
    heading: str  # heading path, outermost first, joined by " › "
    text: str  # the unit's own text (clean body characters)
    start: int  # offset of ``text`` in the version's body


def units_of(body: str, outline_json: str) -> list[Unit]:
    nodes = json.loads(outline_json) if outline_json else []
    spans: list[tuple[str, int, int]] = []

    def visit(items: list[dict[str, Any]], path: tuple[str, ...]) -> None:
        for node in items:
            label = (  # public headings only: an item's running sentence is body text
                f"{node['marker']}{public_heading(node)}".strip()
                if node["type"]
                in (
                    "section",
                    "item",
                )
                else ""
            )
            here = (*path, label) if label else path
            children = node.get("children") or []
            end = children[0]["start"] if children else node["end"]
            if end > node["start"]:
                spans.append((" › ".join(here), node["start"], end))
            visit(children, here)

    visit(nodes, ())
    covered = sorted(spans, key=lambda s: s[1])
    units: list[Unit] = []
    cursor = 0
    for heading, start, end in covered:
        if start > cursor:  # text the outline does not name: paragraph runs
            units.extend(_runs(body, cursor, start, ""))
        units.append(Unit(0, heading, body[start:end].strip("\n"), start))
        cursor = max(cursor, end)
    if cursor < len(body):
        units.extend(_runs(body, cursor, len(body), ""))
    units = [u for u in units if u.text.strip()]
    return [Unit(n, u.heading, u.text, u.start) for n, u in enumerate(units)]


def _runs(body: str, start: int, end: int, heading: str) -> list[Unit]:
    """Paragraph runs of about RUN_CHARS between ``start`` and ``end``."""
    runs: list[Unit] = []
    run_start = start
    at = start
    for paragraph in body[start:end].split("\n"):
        at_end = at + len(paragraph)
        if at_end - run_start >= RUN_CHARS:
            runs.append(Unit(0, heading, body[run_start:at_end].strip("\n"), run_start))
            run_start = at_end + 1
        at = at_end + 1
    if run_start < end:
        runs.append(Unit(0, heading, body[run_start:end].strip("\n"), run_start))
    return runs
