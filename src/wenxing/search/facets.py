"""Counts of a query's ranked materials by kind, category, year and tag, for the filter chips."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from wenxing.materials.models import Material
from wenxing.search.clauses import all_of, among, level
from wenxing.search.index import MATERIAL

SHOWN = 12  # values of a facet shown at most, the most frequent
# One statement for any number of ids (compiled once; the ORM's in_ of a list of literals
# costs about twice as much for the 200 materials of a ranking)
_TAGS = select(Material.tags).where(Material.id.in_(bindparam("ids", expanding=True)))


@dataclass(frozen=True)
class Facets:
    kind: list[tuple[str, int]]
    category: list[tuple[str, int]]
    year: list[tuple[int, int]]  # newest year first
    tag: list[tuple[str, int]] = field(default_factory=list)  # most frequent first


def facets_of(searcher, ranked: list[tuple[int, int]], zone: str) -> Facets:
    """Facets of ``ranked`` (material id, published Unix seconds): kinds and categories
    from the index's fast fields in one aggregation, years in the publisher's calendar."""
    materials = [material for material, _published in ranked]
    answer = searcher.aggregate(
        all_of(level(MATERIAL), among(materials)),
        {
            "kind": {"terms": {"field": "kind", "size": SHOWN}},
            "category": {"terms": {"field": "category", "size": SHOWN}},
        },
    )
    local = ZoneInfo(zone)
    years = Counter(
        datetime.fromtimestamp(published, UTC).astimezone(local).year for _m, published in ranked
    )
    return Facets(
        kind=_buckets(answer, "kind"),
        category=_buckets(answer, "category"),
        year=sorted(years.items(), reverse=True)[:SHOWN],
    )


def _buckets(answer: dict, name: str) -> list[tuple[str, int]]:
    buckets = answer.get(name, {}).get("buckets", [])
    return [(str(b["key"]), int(b["doc_count"])) for b in buckets if str(b["key"])]


def tag_counts(session: Session, materials: list[int]) -> list[tuple[str, int]]:
    """How many of ``materials`` carry each tag (the index keeps tags for filtering only,
    without the values a count needs: they are read from the materials, at most
    ``CANDIDATES`` of them), the most frequent first."""
    if not materials:
        return []
    counts: Counter[str] = Counter()
    for tags in session.scalars(_TAGS, {"ids": materials}):
        counts.update({t.strip() for t in (tags or "").split(",") if t.strip()})
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:SHOWN]
