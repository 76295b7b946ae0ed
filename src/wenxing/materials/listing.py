"""The publisher's list of materials: filtered, searched and paged by key, newest first.

A library of a hundred thousand materials is listed a page at a time by the material's id
(``after``: the last id of the page before), never by ``OFFSET``: the next page costs the
same however deep it is. Every filter is a column with an index (migrations 0015, 0019):
state, kind, category and the year the material was added; a tag is matched inside the
comma-separated ``tags``, the search inside the title and the tags through a trigram index
(``db/substring.py``). The count of what matches stops at ``COUNT_LIMIT`` (the list says
"more than"): a filter matching most of the library never reads it all. ``among`` narrows the
list to a subquery of ids a package above gives (the materials with reports: the reports
package knows which, this one does not).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Select, false, func, literal, select, text
from sqlalchemy.orm import Session

from wenxing.db.substring import contains
from wenxing.materials.models import KINDS, Material, MaterialVersion

PAGE_SIZE = 50  # materials a page of the console's list
COUNT_LIMIT = 10_000  # the list counts what matches up to this, then says "more than"
# A search of the text (title, tags) matches row by row when it is too short for the index:
# its count stops sooner.
TEXT_COUNT_LIMIT = 1_000
STATES = ("published", "draft")


@dataclass(frozen=True)
class MaterialFilter:
    """What the publisher asked the list for; empty values filter nothing."""

    q: str = ""
    state: str = ""
    kind: str = ""
    category: str = ""
    tag: str = ""
    year: int | None = None
    oldest_first: bool = False
    # ids of the materials to keep (a subquery), when a filter of a package above applies
    among: Any = field(default=None, compare=False)

    def query(self) -> dict[str, str]:
        """The filter as query-string values (for links that keep it)."""
        values = {
            "q": self.q,
            "state": self.state,
            "kind": self.kind,
            "category": self.category,
            "tag": self.tag,
            "year": str(self.year or ""),
            "order": "oldest" if self.oldest_first else "",
        }
        return {name: value for name, value in values.items() if value}


@dataclass(frozen=True)
class ListedMaterial:
    id: int
    title: str
    kind: str
    category: str | None
    tags: list[str]
    status: str
    version: int
    chars: int
    created_at: datetime
    published_at: datetime | None


@dataclass(frozen=True)
class MaterialPage:
    rows: list[ListedMaterial]
    total: int  # materials matching the filter, over every page, at most ``limit`` + 1
    next_after: int | None  # the ``after`` of the next page, None on the last
    limit: int = COUNT_LIMIT  # how far the count went

    @property
    def more(self) -> bool:
        """Whether more match than the count went to (then ``limit`` is what to say)."""
        return self.total > self.limit


def _filtered(session: Session, query: Select, wanted: MaterialFilter) -> Select:
    if wanted.state in STATES:
        query = query.where(Material.status == wanted.state)
    elif wanted.state:
        return query.where(false())
    if wanted.kind:
        query = query.where(Material.kind == wanted.kind if wanted.kind in KINDS else false())
    if wanted.category:
        query = query.where(Material.category == wanted.category)
    if wanted.tag:
        listed = literal(",") + Material.tags + literal(",")
        query = query.where(listed.contains(f",{wanted.tag},", autoescape=True))
    if wanted.year:
        query = query.where(
            Material.created_at >= datetime(wanted.year, 1, 1),
            Material.created_at < datetime(wanted.year + 1, 1, 1),
        )
    if wanted.q:
        query = query.where(contains(session, [Material.title, Material.tags], wanted.q))
    if wanted.among is not None:
        query = query.where(Material.id.in_(wanted.among))
    return query


def material_page(
    session: Session, wanted: MaterialFilter, *, after: int | None = None, size: int = PAGE_SIZE
) -> MaterialPage:
    """One page of the filtered list: ``size`` materials after the id ``after`` (in the
    list's order), the count of all that match, and where the next page starts."""
    query = _filtered(
        session,
        select(Material, MaterialVersion.chars).join(
            MaterialVersion,
            (MaterialVersion.material_id == Material.id)
            & (MaterialVersion.number == Material.current_version),
        ),
        wanted,
    )
    if after is not None:
        query = query.where(Material.id > after if wanted.oldest_first else Material.id < after)
    order = Material.id.asc() if wanted.oldest_first else Material.id.desc()
    found = session.execute(query.order_by(order).limit(size + 1)).all()
    rows = [
        ListedMaterial(
            m.id,
            m.title,
            m.kind,
            m.category,
            [t for t in (m.tags or "").split(",") if t],
            m.status,
            m.current_version,
            chars,
            m.created_at,
            m.published_at,
        )
        for m, chars in found[:size]
    ]
    limit = TEXT_COUNT_LIMIT if wanted.q or wanted.tag else COUNT_LIMIT
    if after is None and len(found) <= size:
        total = len(found)  # one page holds them all
    else:
        matching = _filtered(session, select(Material.id), wanted).limit(limit + 1)
        total = session.scalar(select(func.count()).select_from(matching.subquery())) or 0
    return MaterialPage(rows, total, rows[-1].id if len(found) > size else None, limit)


def matching_ids(session: Session, wanted: MaterialFilter, limit: int) -> list[int]:
    """The ids of every material the filter matches, up to ``limit`` (a bulk action on
    "everything this filter shows")."""
    return list(
        session.scalars(
            _filtered(session, select(Material.id), wanted)
            .order_by(Material.id.desc())
            .limit(limit)
        )
    )


_CATEGORIES_IN_USE = text(
    "WITH RECURSIVE used(category) AS ("
    " SELECT MIN(category) FROM materials"
    " UNION ALL"
    " SELECT (SELECT MIN(category) FROM materials WHERE category > used.category)"
    " FROM used WHERE used.category IS NOT NULL"
    ") SELECT category FROM used WHERE category IS NOT NULL LIMIT :limit"
)


def facets(session: Session) -> dict[str, list]:
    """The choices the list's filters offer: categories in use and the years materials
    were added in."""
    # Each category is found by one step along the category index from the one before,
    # not by reading every material's (a loose index scan, written out on both databases).
    categories = session.scalars(_CATEGORIES_IN_USE, {"limit": 200}).all()
    # Apart: either alone is one step along the index, the two together a read of it all.
    first = session.scalar(select(func.min(Material.created_at)))
    last = session.scalar(select(func.max(Material.created_at)))
    years = list(range(last.year, first.year - 1, -1)) if first and last else []
    return {"categories": [c for c in categories if c], "years": years, "kinds": list(KINDS)}


def counts_by_state(session: Session) -> dict[str, int]:
    """How many materials are published and how many are drafts."""

    def counted(state: str) -> int:  # a range of the (status, id) index
        return session.scalar(select(func.count()).where(Material.status == state)) or 0

    return {"published": counted("published"), "drafts": counted("draft")}
