"""Running a parsed query against the index: matching, ranking, grouping and snippets.

Two passes. The first finds and ranks the materials; the second finds, inside the materials
of the page asked for, the sections (units) that speak of the terms, up to three per
material, each with a snippet around the matched words.

Ranking, for terms typed without quotes, goes by tiers, BM25 (titles weighing three times
and headings twice the body; equal scores to the newer material) inside each:

1. a section holds every term as typed, exactly (a run of characters: the phrase of its
   bigrams) — so the material with the exact query string comes first;
2. a section holds every term as words (close together, not scattered over the material);
3. the material holds every term somewhere.

A term that is not found as words (a fragment pasted from the middle of a sentence, cut
through words) is still found as a run of characters. When nothing holds every term, the
materials holding the most of them are given, marked ``partial``. A query with a
single-character term or a quoted phrase runs on sections alone (all its terms in one
section).
"""

from __future__ import annotations

import html
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

import tantivy

from wenxing.search import clauses
from wenxing.search.clauses import (
    all_of,
    among,
    either,
    level,
    materials_query,
    opening_sections,
    partial_query,
    run_clause,
)
from wenxing.search.clauses import sections_query as build
from wenxing.search.clauses import term_clause as term_clause
from wenxing.search.facets import Facets, facets_of
from wenxing.search.index import MATERIAL, UNIT, SearchIndex
from wenxing.search.query import Query
from wenxing.search.snippet import snippet
from wenxing.search.tokenize import normalise, words

__all__ = ["MaterialHit", "Results", "Section", "build", "run", "snippet", "term_clause"]

SECTIONS_PER_MATERIAL = 3
CANDIDATES = 200  # materials ranked per query at most: the pages a query can have
EXACT, TOGETHER, SOMEWHERE = 2, 1, 0  # the tiers


@dataclass
class Section:
    ordinal: int
    heading: str
    snippet: str
    highlights: list[tuple[int, int]]  # [start, end) spans of ``snippet`` to highlight
    score: float

    def snippet_html(self) -> str:
        out, cursor = [], 0
        for start, end in self.highlights:
            out.append(html.escape(self.snippet[cursor:start]))
            out.append(f"<mark>{html.escape(self.snippet[start:end])}</mark>")
            cursor = end
        out.append(html.escape(self.snippet[cursor:]))
        return "".join(out)


@dataclass
class MaterialHit:
    material_id: int
    title: str
    score: float
    published: int
    sections: list[Section] = field(default_factory=list)
    kind: str = ""
    category: str = ""

    @property
    def published_at(self) -> datetime:
        """When it was published, as stored (naive UTC)."""
        return datetime.fromtimestamp(self.published, UTC).replace(tzinfo=None)


@dataclass
class Results:
    materials: list[MaterialHit]
    more: bool  # more materials matched than were returned
    took_ms: float
    notice: str | None = None  # said above the results (the index is being rebuilt)
    total: int = 0  # materials found (at most CANDIDATES are ranked)
    offset: int = 0  # materials ranked above the first one returned
    partial: bool = False  # nothing held every term: these hold the most of them
    facets: Facets | None = None
    ranked: list[int] = field(default_factory=list)  # with facets: every material ranked

    def as_dict(self) -> dict:
        """The contract's JSON: one hit per section, materials in rank order."""
        return {
            "hits": [
                {
                    "material": hit.material_id,
                    "title": hit.title,
                    "kind": hit.kind,
                    "published": hit.published,
                    "section": section.heading,
                    "snippet": section.snippet,
                    "highlights": [list(span) for span in section.highlights],
                    "score": round(section.score, 4),
                }
                for hit in self.materials
                for section in hit.sections
            ],
            "more": self.more,
            "total": self.total,
            "partial": self.partial,
            "took_ms": round(self.took_ms, 2),
            **({"notice": self.notice} if self.notice else {}),
        }


@dataclass
class _Candidate:
    material: int
    tier: int
    score: float
    published: int
    by_words: bool  # found by the material query (its score is a material's BM25)


def run(
    index: SearchIndex,
    query: Query,
    *,
    limit: int,
    snippet_chars: int,
    offset: int = 0,
    newest: bool = False,
    facets: bool = False,
    partial: bool = False,
    zone: str = "Asia/Shanghai",
) -> Results:
    """Materials ``offset`` to ``offset + limit`` of the ranking (``newest``: of the
    matching materials ranked, newest first), with their sections and snippets;
    ``partial``: when nothing holds every term, those holding the most of them."""
    started = time.perf_counter()
    searcher = index.searcher()
    depth = offset + limit
    fell_back = False
    if query.phrases or any(len(normalise(t).strip()) == 1 for t in query.positive):
        # Single characters and quoted phrases are only indexed per section (characters,
        # positions): such a query looks for one section that holds all of its terms.
        found = _by_sections(searcher, query, depth)
        ranked = [_Candidate(h.material_id, 0, h.score, h.published, False) for h in found]
        hits = {h.material_id: h for h in found}
    else:
        ranked = _by_materials(searcher, query, depth)
        if partial and not ranked and query.positive:
            ranked, fell_back = _partial(searcher, query, depth), True
        hits = {}
    if newest:
        ranked.sort(key=lambda c: (-c.published, -c.material))
    chosen = ranked[offset:depth]
    page = [
        hits.get(c.material) or MaterialHit(c.material, "", c.score, c.published) for c in chosen
    ]
    _describe(searcher, page)
    fresh = {h.material_id: h for h in page if not h.sections}
    if fresh:
        _add_sections(searcher, query, fresh)
    terms = [normalise(t) for t in query.positive]
    for hit in page:
        # Filters alone: the opening sections in the material's order (their scores say
        # nothing, and differ with the segments the index happens to be in); equal scores
        # in the material's order too.
        if query.positive:
            hit.sections.sort(key=lambda s: (-round(s.score, 4), s.ordinal))
        else:
            hit.sections.sort(key=lambda s: s.ordinal)
        for section in hit.sections:
            section.snippet, section.highlights = snippet(section.snippet, terms, snippet_chars)
    results = Results(page, len(ranked) > depth, 0.0, total=len(ranked), offset=offset)
    results.partial = fell_back and bool(ranked)
    if facets and ranked:
        results.facets = facets_of(searcher, [(c.material, c.published) for c in ranked], zone)
        results.ranked = [c.material for c in ranked]
    results.took_ms = (time.perf_counter() - started) * 1000
    return results


def _by_materials(searcher, query: Query, depth: int) -> list[_Candidate]:
    if not query.positive:  # filters alone: the newest materials of the kind
        found = searcher.search(
            materials_query(query), limit=depth + 1, count=False, order_by_field="published"
        ).hits
        # Materials published in the same second (a folder imported with --publish) by
        # id, so that the order does not depend on the segments the index happens to be in.
        newest = [
            _Candidate(material, 0, 0.0, published, True)
            for material, published in _fast(searcher, found)
        ]
        return sorted(newest, key=lambda c: (-c.published, -c.material))
    limit = max(depth + 1, CANDIDATES)
    found = searcher.search(materials_query(query), limit=limit, count=False).hits
    candidates = {
        material: _Candidate(material, SOMEWHERE, float(score), published, True)
        for (score, _address), (material, published) in zip(
            found, _fast(searcher, found), strict=True
        )
    }
    wanted: list[tuple[int, tantivy.Query | None]] = []
    if _discriminates(query):
        wanted.append((EXACT, clauses.together_query(query, runs=True)))
        if len(query.terms) > 1:
            wanted.append((TOGETHER, clauses.together_query(query, runs=False)))
    elif len(candidates) <= depth:  # a term found too rarely as a word: also as characters
        wanted.append((SOMEWHERE, clauses.together_query(query, runs=True)))
    tiers = [(tier, compiled) for tier, compiled in wanted if compiled is not None]
    # Many materials hold every term (common words): the ranked ones' tiers come from their
    # own sections, and the whole library's sections are searched for a tier only when
    # fewer than a page's worth of the ranked reach it.
    among_ranked = len(found) >= limit and bool(tiers)
    if among_ranked:
        _tiers_among(searcher, tiers, candidates, depth)
    added = []
    for tier, compiled in tiers:
        if among_ranked and sum(c.tier >= tier for c in candidates.values()) > depth:
            continue
        sections = searcher.search(compiled, limit=CANDIDATES, count=False).hits
        for (score, _address), (material, published) in zip(
            sections, _fast(searcher, sections), strict=True
        ):
            known = candidates.get(material)
            if known is None:
                known = candidates[material] = _Candidate(
                    material, tier, float(score), published, False
                )
                added.append(material)
            known.tier = max(known.tier, tier)
    if added and query.excluded:
        _drop_excluded(searcher, query, candidates, added)
    return sorted(candidates.values(), key=_best_first)


def _tiers_among(
    searcher, tiers: list[tuple[int, tantivy.Query]], candidates: dict, depth: int
) -> None:
    """Raise each candidate to the best tier one of its sections reaches (an aggregation
    over their sections: nothing scored). A lower tier is not looked for once more than
    ``depth`` candidates are above it: it could only reorder materials past the page."""
    for tier, compiled in tiers:
        if sum(c.tier > tier for c in candidates.values()) > depth:
            return
        below = [m for m, c in candidates.items() if c.tier < tier]
        if not below:
            continue
        answer = searcher.aggregate(
            all_of(among(below), compiled),
            {"material": {"terms": {"field": "material", "size": len(below)}}},
        )
        for bucket in answer.get("material", {}).get("buckets", []):
            known = candidates.get(int(bucket["key"]))
            if known is not None:
                known.tier = max(known.tier, tier)


def _discriminates(query: Query) -> bool:
    """Whether tiers can tell materials apart: several terms, or one that is several words
    (a single word found as a word is found as its characters too)."""
    return len(query.terms) > 1 or any(len(words(normalise(t))) > 1 for t in query.terms)


def _drop_excluded(searcher, query: Query, candidates: dict, added: list[int]) -> None:
    """Materials found by their sections that hold an excluded term elsewhere leave."""
    kept = all_of(level(MATERIAL), among(added), clauses.excluded(query))
    allowed = {m for m, _p in _fast(searcher, searcher.search(kept, limit=len(added)).hits)}
    for material in added:
        if material not in allowed:
            del candidates[material]


def _partial(searcher, query: Query, depth: int) -> list[_Candidate]:
    compiled = partial_query(query)
    if compiled is None:
        return []
    found = searcher.search(compiled, limit=max(depth + 1, CANDIDATES), count=False).hits
    return [
        _Candidate(material, 0, float(score), published, True)
        for (score, _a), (material, published) in zip(found, _fast(searcher, found), strict=True)
    ]


def _fast(searcher, found) -> list[tuple[int, int]]:
    """(material, published) of each hit, from fast fields (no stored document read)."""
    addresses = [address for _score, address in found]
    if not addresses:
        return []
    return list(
        zip(
            searcher.fast_field_values("material", addresses),
            searcher.fast_field_values("published", addresses),
            strict=True,
        )
    )


def _best_first(candidate: _Candidate) -> tuple:
    return (
        -candidate.tier,
        not candidate.by_words,
        -round(candidate.score, 4),
        -candidate.published,
        -candidate.material,
    )


def _describe(searcher, page: list[MaterialHit]) -> None:
    """Title, kind and category of each hit, from its material's own document."""
    if not page:
        return
    by_id = {hit.material_id: hit for hit in page}
    found = searcher.search(
        all_of(level(MATERIAL), among(list(by_id))), limit=len(by_id), count=False
    ).hits
    for _score, address in found:
        doc = searcher.doc(address)
        hit = by_id.get(doc.get_first("material"))
        if hit is not None:
            hit.title = doc.get_first("title")
            hit.kind = doc.get_first("kind") or ""
            hit.category = doc.get_first("category") or ""


def _add_sections(searcher, query: Query, hits: dict[int, MaterialHit]) -> None:
    candidates = [term_clause(t) for t in query.terms] + [
        term_clause(p, phrase=True) for p in query.phrases
    ]
    candidates += [run_clause(t) for t in query.terms if len(normalise(t).strip()) > 1]
    speaks = [c for c in candidates if c is not None]
    # Filters alone: the opening sections.
    where = either(*speaks) if speaks else opening_sections(SECTIONS_PER_MATERIAL)
    found = searcher.search(
        all_of(level(UNIT), among(list(hits)), where), limit=len(hits) * 20, count=False
    ).hits
    _collect(searcher, found, query, hits, create=False)


def _by_sections(searcher, query: Query, depth: int) -> list[MaterialHit]:
    compiled = build(query)
    wanted = max(depth * 4, 40)
    while True:  # fetch more sections when a few materials hold all the best ones
        found = searcher.search(compiled, limit=wanted, count=False).hits
        hits: dict[int, MaterialHit] = {}
        _collect(searcher, found, query, hits, create=True)
        if len(hits) > depth or len(found) < wanted or wanted >= 1000:
            break
        wanted *= 4
    return sorted(hits.values(), key=lambda h: (-round(h.score, 4), -h.published, -h.material_id))


def _collect(searcher, found, query: Query, hits: dict[int, MaterialHit], *, create: bool) -> None:
    """Sections from ``found`` (best first) into their materials' hits, three at most each."""
    phrases = [clauses.run_of_text(p) for p in query.phrases]
    # The material of each section from its fast field: the stored document (with the
    # section's text) is read only for sections that can still be taken.
    materials = searcher.fast_field_values("material", [address for _score, address in found])
    for (score, address), material in zip(found, materials, strict=True):
        hit = hits.get(material)
        if hit is not None and len(hit.sections) >= SECTIONS_PER_MATERIAL:
            continue
        if hit is None and not create:
            continue
        doc = searcher.doc(address)
        heading = bytes(doc.get_first("heading")).decode("utf-8")
        text = bytes(doc.get_first("text")).decode("utf-8")
        title = doc.get_first("title")
        if phrases:  # a quoted phrase must be there exactly, whatever the segmentation
            haystack = clauses.run_of_text(f"{title}\n{heading}\n{text}")
            if not all(p in haystack for p in phrases):
                continue
        if hit is None:
            hit = hits[material] = MaterialHit(
                material, title, float(score), doc.get_first("published")
            )
        hit.sections.append(Section(doc.get_first("ordinal"), heading, text, [], float(score)))
