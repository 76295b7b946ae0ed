"""相似段落: sections of other materials on the topic of one section (more like this).

A member reading a section (the reader page's heading anchor ``s1``, ``s2`` …, the table of
contents' entries: ``delivery.layout``) asks which sections of other materials speak of
the same thing, to gather pieces for a draft without leaving the reader. The section's key
terms are its words weighed by tf-idf against the index's own statistics (how many units
hold each word; headings count twice, the jargon of ``materials/data/jargon.txt`` half
again, the words every official text shares never); the index is asked for units of other
materials holding any of them (BM25, each term boosted by its weight, headings twice the
body), one section per material, sections with a heading only (a heading is what a member
lands on and what may be shown to anyone). While the index is being rebuilt the database
answers (``fallback``: the newest materials scanned, units scored by the key terms of
``materials.keywords`` they hold), with the same notice a search carries.

What an answer shows is what a search shows everybody: titles and public headings, kind,
date, and a link to the material's reader page at the section's anchor; never body text.
A member (or staff) is only shown materials they may read (their archive window, as a
range on the index's ``published`` field), so every section offered can go into their
素材篮; others see headings of the whole library, as search gives them. The web counts each
answer like a search (``service.count_search``).
"""

from __future__ import annotations

import bisect
import calendar
import json
import math
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import tantivy
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from wenxing.config import PublisherSettings
from wenxing.db.engine import Database
from wenxing.delivery.layout import layout_of
from wenxing.materials.keywords import extract_keywords, generic_words, idf_table, jargon_terms
from wenxing.materials.models import Material, MaterialVersion
from wenxing.materials.queries import MaterialNotFound, current_version, get_material
from wenxing.members.entitlement import may_read
from wenxing.members.models import Member
from wenxing.members.subscriptions import account_view, plans
from wenxing.search import fallback
from wenxing.search.build import searchable_with_text
from wenxing.search.clauses import HEAD_BOOST, all_of, boost, level, term
from wenxing.search.index import SCHEMA, UNIT, SearchIndex
from wenxing.search.sync import IndexUnusable, NodeIndex, _recoverable
from wenxing.search.tokenize import normalise, words
from wenxing.search.units import units_of

LIMIT = 8  # sections offered
KEY_TERMS = 12  # terms of the section asked for
CANDIDATES = 80  # units read from the index before choosing one per material
_ASKED = 48  # words of a section whose unit counts the index is asked for
FRESH_SECONDS = 0.5  # as a search: another worker's publish is seen within this
_HEADING_WEIGHT, _JARGON_WEIGHT = 2.0, 1.5
_FALLBACK_HEADING = 3.0  # the database's scores: a key term in the heading path


class SectionNotFound(LookupError):
    """The material is not published, or its current version has no such anchor."""


@dataclass(frozen=True)
class Viewer:
    """Whose answer: whether they may read materials at all (a 素材篮 makes sense), and
    the publication dates they may read (Unix seconds, inclusive; None: any)."""

    may_read: bool = False
    window: tuple[int, int] | None = None


@dataclass(frozen=True)
class Source:
    """The section asked about."""

    material_id: int
    version_id: int
    anchor: str
    heading: str
    text: str


@dataclass
class SimilarSection:
    material_id: int
    version_id: int
    title: str
    heading: str  # the unit's public heading path (一、… › （二）…)
    kind: str
    published: int  # Unix seconds
    start: int  # offset of the unit in its version's body
    score: float
    anchor: str | None = None  # the reader page's anchor of the section holding it

    @property
    def published_at(self) -> datetime:
        return datetime.fromtimestamp(self.published, UTC).replace(tzinfo=None)

    @property
    def href(self) -> str:
        at = f"#{self.anchor}" if self.anchor else ""
        return f"/materials/{self.material_id}/read{at}"


@dataclass
class Similar:
    source: Source
    sections: list[SimilarSection]
    terms: list[str]
    took_ms: float = 0.0
    notice: str | None = None
    readable: bool = False  # the viewer may put these sections in their 素材篮


# --- the section asked about ----------------------------------------------------------------


def source_section(session: Session, material_id: int, anchor: str) -> Source:
    """The section at ``anchor`` of the material's current version (published only)."""
    try:
        material = get_material(session, material_id)
    except MaterialNotFound:
        raise SectionNotFound(material_id) from None
    if material.status != "published":
        raise SectionNotFound(material_id)
    version = current_version(session, material)
    span = section_span(version.title, version.body, version.outline or "", anchor)
    if span is None:
        raise SectionNotFound(anchor)
    start, end, heading = span
    return Source(material.id, version.id, anchor, heading, version.body[start:end])


def section_span(title: str, body: str, outline: str, anchor: str) -> tuple[int, int, str] | None:
    """``(start, end, heading)`` of the outline node the reader page anchors at ``anchor``
    (a section with its sub-sections and items, or an item), None when there is none."""
    layout = layout_of(title, body, outline)
    start = next((b.start for b in layout.blocks if b.anchor == anchor), None)
    if start is None:
        return None
    for node in _nodes(json.loads(outline) if outline else []):
        if node["start"] == start and node["type"] in ("section", "item"):
            return start, node["end"], f"{node['marker']}{node['heading']}".strip()
    return None


def _nodes(items: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for node in items:
        yield node
        yield from _nodes(node.get("children") or [])


# --- key terms ------------------------------------------------------------------------------


def key_terms(searcher: tantivy.Searcher, source: Source, count: int = KEY_TERMS) -> list:
    """``(word, weight)`` of the section's ``count`` weightiest words: (1 + log tf) × idf
    in the index's units, headings twice, jargon half again; generic words and figures
    never (they say nothing of the topic)."""
    counts = _word_counts(source)
    if not counts:
        return []
    total = max(1, searcher.num_docs)
    jargon = set(jargon_terms())
    # The index is asked about the words jieba's own IDF table ranks first (a lookup in
    # memory; asking the index costs a term lookup in each of its segments per word).
    table, median = idf_table()
    ranked = sorted(counts.items(), key=lambda c: -(1 + math.log(c[1])) * table.get(c[0], median))
    scored = []
    for word, tf in ranked[:_ASKED]:
        found = searcher.doc_freq("body_s", word)
        if found == 0:
            continue
        idf = math.log(1 + (total - found + 0.5) / (found + 0.5))
        weight = (1 + math.log(tf)) * idf * (_JARGON_WEIGHT if word in jargon else 1.0)
        scored.append((weight, word))
    scored.sort(reverse=True)
    return [(word, weight) for weight, word in scored[:count]]


def _word_counts(source: Source) -> Counter[str]:
    skip = generic_words()
    counts: Counter[str] = Counter()
    for text, times in ((source.text, 1), (source.heading, int(_HEADING_WEIGHT))):
        for word in words(normalise(text)):
            if len(word) >= 2 and word not in skip and not any(ch.isdigit() for ch in word):
                counts[word] += times
    return counts


# --- the index ------------------------------------------------------------------------------


def like_query(terms: list, source_material: int, window: tuple[int, int] | None):
    """Units of other materials holding any of ``terms``, each boosted by its weight."""
    top = max((weight for _word, weight in terms), default=1.0) or 1.0
    should = [
        boost(
            tantivy.Query.boolean_query(
                [
                    (tantivy.Occur.Should, term("body_s", word)),
                    (tantivy.Occur.Should, boost(term("head_s", word), HEAD_BOOST)),
                ]
            ),
            round(weight / top, 4),
        )
        for word, weight in terms
    ]
    parts: list = [
        level(UNIT),
        tantivy.Query.boolean_query([(tantivy.Occur.Should, q) for q in should]),
    ]
    if window is not None:
        parts.append(
            tantivy.Query.range_query(
                SCHEMA, "published", tantivy.FieldType.Integer, window[0], window[1]
            )
        )
    mine = [(tantivy.Occur.MustNot, tantivy.Query.term_query(SCHEMA, "material", source_material))]
    return all_of(*parts, mine)


def from_index(
    index: SearchIndex, source: Source, *, window: tuple[int, int] | None, limit: int = LIMIT
) -> tuple[list[SimilarSection], list[str]]:
    """The ``limit`` best sections of other materials, one per material, and the terms."""
    searcher = index.searcher()
    terms = key_terms(searcher, source)
    if not terms:
        return [], []
    found = searcher.search(
        like_query(terms, source.material_id, window), limit=CANDIDATES, count=False
    ).hits
    materials = searcher.fast_field_values("material", [address for _s, address in found])
    chosen: dict[int, SimilarSection] = {}
    for (score, address), material in zip(found, materials, strict=True):
        if material in chosen:
            continue
        section = _section(searcher.doc(address), float(score))
        if section is not None:
            chosen[section.material_id] = section
        if len(chosen) == limit:
            break
    return list(chosen.values()), [word for word, _w in terms]


def _section(doc, score):
    """The unit's section, or None for an opening or a run of paragraphs without a
    heading (nothing to land on)."""
    heading = bytes(doc.get_first("heading")).decode("utf-8")
    if not heading:
        return None
    return SimilarSection(
        material_id=doc.get_first("material"),
        version_id=doc.get_first("version"),
        title=doc.get_first("title"),
        heading=heading,
        kind=doc.get_first("kind") or "",
        published=doc.get_first("published"),
        start=doc.get_first("start"),
        score=score,
    )


# --- the database, while the index is rebuilt --------------------------------------------


def from_database(
    db: Database, source: Source, *, window: tuple[int, int] | None, limit: int = LIMIT
) -> tuple[list[SimilarSection], list[str]]:
    """The newest ``fallback.SCANNED`` materials' sections scored by the key terms
    (``materials.keywords``) they hold, each weighing by its rank; one per material."""
    terms = [normalise(t) for t in extract_keywords(source.heading, source.text, KEY_TERMS)]
    if not terms:
        return [], []
    weights = {t: 1.0 / (1 + rank) ** 0.5 for rank, t in enumerate(terms)}
    query = searchable_with_text(
        Material.id,
        MaterialVersion.id,
        Material.title,
        Material.kind,
        Material.published_at,
        MaterialVersion.body,
        MaterialVersion.outline,
    ).where(Material.id != source.material_id)
    if window is not None:
        query = query.where(
            Material.published_at >= _naive(window[0]), Material.published_at <= _naive(window[1])
        )
    with db.reading() as session:
        rows = session.execute(
            query.order_by(Material.published_at.desc(), Material.id.desc()).limit(fallback.SCANNED)
        ).all()
    found = []
    for material_id, version_id, title, kind, published_at, body, outline in rows:
        best = _best_unit(body, outline or "", weights)
        if best is None:
            continue
        score, unit = best
        published = calendar.timegm(published_at.timetuple())
        found.append(
            SimilarSection(
                material_id, version_id, title, unit.heading, kind, published, unit.start, score
            )
        )
    found.sort(key=lambda s: (-s.score, -s.published, -s.material_id))
    return found[:limit], terms


def _best_unit(body: str, outline: str, weights: dict[str, float]):
    best = None
    for unit in units_of(body, outline):
        if not unit.heading:
            continue
        heading, text = normalise(unit.heading), normalise(unit.text)
        score = sum(
            weight * (_FALLBACK_HEADING if term in heading else 1.0)
            for term, weight in weights.items()
            if term in heading or term in text
        )
        if score > 0 and (best is None or score > best[0]):
            best = (score, unit)
    return best


def _naive(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC).replace(tzinfo=None)


# --- anchors: where each section is on its reader page ------------------------------------


def add_anchors(session: Session, sections: list[SimilarSection]) -> None:
    """Each section's reader anchor: the block starting where the unit starts, or the
    nearest anchored block before it (an item set within a paragraph lies in its section)."""
    versions = {s.version_id for s in sections}
    if not versions:
        return
    rows = session.execute(
        select(
            MaterialVersion.id, MaterialVersion.title, MaterialVersion.body, MaterialVersion.outline
        ).where(MaterialVersion.id.in_(versions))
    ).all()
    anchored: dict[int, tuple[list[int], list[str]]] = {}
    for version_id, title, body, outline in rows:
        blocks = [b for b in layout_of(title, body, outline or "").blocks if b.anchor]
        anchored[version_id] = ([b.start for b in blocks], [str(b.anchor) for b in blocks])
    for section in sections:
        starts, names = anchored.get(section.version_id, ([], []))
        at = bisect.bisect_right(starts, section.start) - 1
        section.anchor = names[at] if at >= 0 else None


# --- who asks -------------------------------------------------------------------------------


def viewer_of(
    session: Session, member: Member | None, publisher: PublisherSettings, now: datetime
) -> Viewer:
    """What ``member`` may read (at ``now``, naive UTC): staff anything, a member their
    archive window, anyone else nothing (headings of everything, as search shows them)."""
    if member is None or member.status != "active":
        return Viewer()
    decision = may_read(account_view(session, member), now, now, plans(publisher))
    if decision.reason == "staff":
        return Viewer(True, None)
    if decision.window is None or decision.reason not in ("full", "outside-window"):
        return Viewer()
    start, end = decision.window
    return Viewer(True, (calendar.timegm(start.timetuple()), calendar.timegm(end.timetuple())))


# --- answering ------------------------------------------------------------------------------


def similar(
    node: NodeIndex, material_id: int, anchor: str, viewer: Viewer, *, limit: int = LIMIT
) -> Similar:
    """The sections like the one at ``anchor`` of the material, for ``viewer``: from this
    node's index (changes applied first, as a search does), or the database while the index
    is rebuilt. SectionNotFound when the material or the anchor is not there."""
    started = time.perf_counter()
    with node.db.reading() as session:
        source = source_section(session, material_id, anchor)
    notice = None
    try:
        node.catch_up(fresh_for=FRESH_SECONDS)
        index = node.index
        if index is None:
            raise IndexUnusable(node.problem or "search index unusable")
        sections, terms = from_index(index, source, window=viewer.window, limit=limit)
    except IndexUnusable:
        sections, terms, notice = [], [], fallback.notice()
    except BaseException as exc:  # the index failed under the query: rebuilt meanwhile
        if isinstance(exc, SQLAlchemyError) or not _recoverable(exc):
            raise
        node.give_up(f"similar sections failed: {exc}")
        sections, terms, notice = [], [], fallback.notice()
    if notice is not None:
        sections, terms = from_database(node.db, source, window=viewer.window, limit=limit)
    with node.db.reading() as session:
        add_anchors(session, sections)
    took = (time.perf_counter() - started) * 1000
    return Similar(source, sections, terms, took, notice, viewer.may_read)
