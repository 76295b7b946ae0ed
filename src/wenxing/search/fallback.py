"""Searching the database itself, while this node's index is being rebuilt.

Slower than the index (every published material's current text is scanned for the terms)
and plainer: all terms must occur in the material, excluded ones must not, filters apply,
newest first; sections and snippets as the index gives them (60 characters). Results carry
a notice saying the index is being rebuilt, so nobody mistakes them for the full ranking.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

from wenxing.db.engine import Database
from wenxing.i18n import _
from wenxing.materials.models import Material, MaterialVersion
from wenxing.search.build import searchable_with_text
from wenxing.search.engine import SECTIONS_PER_MATERIAL, MaterialHit, Results, Section, snippet
from wenxing.search.query import Query
from wenxing.search.tokenize import normalise
from wenxing.search.units import units_of

SCANNED = 2000  # at most this many of the newest published materials are read per search


def notice() -> str:
    return _("搜索索引正在重建，以下结果直接从资料库查找，可能不全，排序按发布时间。")


def run(db: Database, query: Query, *, limit: int, snippet_chars: int) -> Results:
    started = time.perf_counter()
    terms = [normalise(t).strip() for t in query.positive if normalise(t).strip()]
    excluded = [normalise(t).strip() for t in query.excluded if normalise(t).strip()]
    hits: list[MaterialHit] = []
    more = False
    with db.reading() as session:
        rows = session.execute(
            searchable_with_text(
                Material.id,
                Material.title,
                Material.published_at,
                MaterialVersion.body,
                MaterialVersion.outline,
            )
            .where(*_filters(query))
            .order_by(Material.published_at.desc(), Material.id.desc())
            .limit(SCANNED)
        ).all()
    for material_id, title, published_at, body, outline in rows:
        whole = normalise(f"{title}\n{body}")
        if any(t not in whole for t in terms) or any(t in whole for t in excluded):
            continue
        if len(hits) == limit:
            more = True
            break
        published = int(published_at.replace(tzinfo=UTC).timestamp())
        hit = MaterialHit(material_id, title, 0.0, published)
        units = units_of(body, outline)
        chosen = [u for u in units if any(t in normalise(u.text) for t in terms)] or units[:1]
        for unit in chosen[:SECTIONS_PER_MATERIAL]:
            text, marks = snippet(unit.text, terms, snippet_chars)
            hit.sections.append(Section(unit.ordinal, unit.heading, text, marks, 0.0))
        hits.append(hit)
    results = Results(hits, more, (time.perf_counter() - started) * 1000)
    results.notice = notice()
    return results


def _filters(query: Query) -> list:
    found = []
    if query.kind:
        found.append(Material.kind == query.kind)
    if query.category:
        found.append(Material.category == query.category)
    if query.tag:
        found.append(("," + Material.tags + ",").contains("," + query.tag + ","))
    if query.since is not None:
        found.append(Material.published_at >= _naive(query.since))
    if query.until is not None:
        found.append(Material.published_at < _naive(query.until))
    return found


def _naive(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC).replace(tzinfo=None)
