"""Running a parsed query against the index: matching, ranking, grouping and snippets.

Two passes. The first finds the materials: every term must occur somewhere in the material
(its title, headings or body), no excluded term may, filters apply; tantivy's BM25 ranks
them, titles weighing three times and headings twice the body, and equal scores go to the
newer material. The second finds, inside those materials only, the sections (units) that
speak of the terms, up to three per material, each with a snippet around the matched words.
A query with a single-character term or a quoted phrase runs on sections alone (all its
terms in one section): characters and word positions are indexed per section only.
"""

from __future__ import annotations

import html
import time
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field

import tantivy

from wenxing.search.index import MATERIAL, SCHEMA, UNIT, SearchIndex
from wenxing.search.query import Query
from wenxing.search.tokenize import index_form, normalise, same_length_form, words

TITLE_BOOST, HEAD_BOOST = 3.0, 2.0
PARTS_BOOST = 0.5  # a quoted phrase found as a run of characters, below it found as words
SECTIONS_PER_MATERIAL = 3


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


@dataclass
class Results:
    materials: list[MaterialHit]
    more: bool  # more materials matched than were returned
    took_ms: float
    notice: str | None = None  # said above the results (the index is being rebuilt)

    def as_dict(self) -> dict:
        """The contract's JSON: one hit per section, materials in rank order."""
        return {
            "hits": [
                {
                    "material": hit.material_id,
                    "title": hit.title,
                    "section": section.heading,
                    "snippet": section.snippet,
                    "highlights": [list(span) for span in section.highlights],
                    "score": round(section.score, 4),
                }
                for hit in self.materials
                for section in hit.sections
            ],
            "more": self.more,
            "took_ms": round(self.took_ms, 2),
            **({"notice": self.notice} if self.notice else {}),
        }


def _term(field_name: str, token: str) -> tantivy.Query:
    return tantivy.Query.term_query(SCHEMA, field_name, token)


def _boost(query: tantivy.Query, boost: float) -> tantivy.Query:
    return tantivy.Query.boost_query(query, boost) if boost != 1.0 else query


def _either(*queries: tantivy.Query) -> tantivy.Query:
    return tantivy.Query.boolean_query([(tantivy.Occur.Should, q) for q in queries])


def _all(queries: list[tantivy.Query]) -> tantivy.Query:
    return tantivy.Query.boolean_query([(tantivy.Occur.Must, q) for q in queries])


def term_clause(text: str, *, phrase: bool = False) -> tantivy.Query | None:
    """What one term (or quoted phrase) of a query matches in a unit."""
    normal = normalise(text)
    tokens = words(normal)
    if not tokens:
        return None
    if len(tokens) == 1:
        token = tokens[0]
        clauses = [
            _boost(_term("title_s", token), TITLE_BOOST),
            _boost(_term("head_s", token), HEAD_BOOST),
            _term("body_s", token),
        ]
        if len(token) == 1:  # a single character: any word that holds it
            clauses.append(_term("body_c", token))
        return _either(*clauses)
    phrases = [
        _boost(tantivy.Query.phrase_query(SCHEMA, "title_w", [*tokens]), TITLE_BOOST),
        _boost(tantivy.Query.phrase_query(SCHEMA, "head_w", [*tokens]), HEAD_BOOST),
        tantivy.Query.phrase_query(SCHEMA, "body_w", [*tokens]),
    ]
    if phrase:
        # A quoted phrase cut out of running text may start or end inside a word
        # ("商环境" of 营商环境) and then never segments as the text did: the body's
        # characters, indexed with positions, find it as a run of characters (ranked below
        # the phrase found as words; ``_collect`` still checks each section exactly).
        run = list(index_form(text).replace(" ", ""))
        characters = (
            tantivy.Query.phrase_query(SCHEMA, "body_c", [*run])
            if len(run) > 1
            else _term("body_c", run[0])
        )
        return _either(*phrases, _boost(characters, PARTS_BOOST))
    # Unquoted words the segmenter splits: the phrase ranks first, all parts anywhere in
    # the section still match (segmentation of a query can differ from the text's).
    parts = _all(
        [_either(_term("title_s", t), _term("head_s", t), _term("body_s", t)) for t in tokens]
    )
    return _either(*phrases, parts)


def build(query: Query) -> tantivy.Query:
    """The query on sections: every term in the section itself."""
    must: list[tuple[tantivy.Occur, tantivy.Query]] = []
    for term in query.terms:
        clause = term_clause(term)
        if clause is not None:
            must.append((tantivy.Occur.Must, clause))
    for phrase in query.phrases:
        clause = term_clause(phrase, phrase=True)
        if clause is not None:
            must.append((tantivy.Occur.Must, clause))
    if not must:
        return tantivy.Query.empty_query()
    must += _filters(query)
    for term in query.excluded:
        clause = term_clause(term)
        if clause is not None:
            must.append((tantivy.Occur.MustNot, clause))
    return tantivy.Query.boolean_query(must)


def material_clause(text: str) -> tantivy.Query | None:
    """What one term matches in a material's own document (sub-words, no positions)."""
    tokens = words(normalise(text))
    if not tokens:
        return None
    return _all(
        [
            _either(
                _boost(_term("title_s", t), TITLE_BOOST),
                _boost(_term("head_s", t), HEAD_BOOST),
                _term("body_s", t),
            )
            for t in tokens
        ]
    )


def _level(level: int) -> tantivy.Query:
    return tantivy.Query.term_query(SCHEMA, "level", level)


def _materials_query(query: Query) -> tantivy.Query:
    clauses: list[tuple[tantivy.Occur, tantivy.Query]] = [(tantivy.Occur.Must, _level(MATERIAL))]
    positive = [material_clause(t) for t in query.positive]
    if query.positive and not any(positive):
        return tantivy.Query.empty_query()  # only punctuation was typed: nothing can match
    clauses += [(tantivy.Occur.Must, c) for c in positive if c is not None]
    clauses += _filters(query)
    clauses += [
        (tantivy.Occur.MustNot, c) for c in map(material_clause, query.excluded) if c is not None
    ]
    return tantivy.Query.boolean_query(clauses)


def _filters(query: Query) -> list[tuple[tantivy.Occur, tantivy.Query]]:
    found = []
    for name in ("kind", "category", "tag"):
        value = getattr(query, name)
        if value is not None:
            found.append((tantivy.Occur.Must, _term(name, value)))
    if query.since is not None or query.until is not None:
        found.append(
            (
                tantivy.Occur.Must,
                tantivy.Query.range_query(
                    SCHEMA,
                    "published",
                    tantivy.FieldType.Integer,
                    query.since,
                    query.until,
                    include_lower=True,
                    include_upper=query.until is None,
                ),
            )
        )
    return found


def run(index: SearchIndex, query: Query, *, limit: int, snippet_chars: int) -> Results:
    started = time.perf_counter()
    searcher = index.searcher()
    if query.phrases or any(len(normalise(t).strip()) == 1 for t in query.positive):
        # Single characters and quoted phrases are only indexed per section (characters,
        # positions): such a query looks for one section that holds all of its terms.
        ranked = _by_sections(searcher, query, limit)
    else:
        ranked = _by_materials(searcher, query, limit)
    chosen = ranked[:limit]
    terms = [normalise(t) for t in query.positive]
    for hit in chosen:
        # Equal scores (filters alone: the opening sections) in the material's order, the
        # same whatever segments the index happens to be in.
        hit.sections.sort(key=lambda s: (-round(s.score, 4), s.ordinal))
        for section in hit.sections:
            section.snippet, section.highlights = snippet(section.snippet, terms, snippet_chars)
    return Results(chosen, len(ranked) > limit, (time.perf_counter() - started) * 1000)


def _by_materials(searcher, query: Query, limit: int) -> list[MaterialHit]:
    newest_first = not query.positive  # filters alone: the newest materials of the kind
    wanted = limit + 1 + (2 * limit if query.phrases else 0)
    if newest_first:
        found = searcher.search(
            _materials_query(query), limit=wanted, count=False, order_by_field="published"
        ).hits
    else:
        found = searcher.search(_materials_query(query), limit=wanted, count=False).hits
    hits: dict[int, MaterialHit] = {}
    for score, address in found:
        doc = searcher.doc(address)
        material = doc.get_first("material")
        hits[material] = MaterialHit(
            material,
            doc.get_first("title"),
            0.0 if newest_first else float(score),
            doc.get_first("published"),
        )
    if not hits:
        return []
    _add_sections(searcher, query, hits)
    if query.phrases:  # a quoted phrase must be in one of its sections, exactly
        hits = {m: h for m, h in hits.items() if h.sections}
    ranked = list(hits.values())
    if newest_first:
        ranked.sort(key=_newest_first)
    else:
        ranked.sort(key=_best_first)
    return ranked


def _newest_first(hit: MaterialHit) -> tuple[int, int]:
    # Materials published in the same second (a folder imported with --publish) by id, so
    # that the order does not depend on the segments the index happens to be in.
    return (-hit.published, -hit.material_id)


def _best_first(hit: MaterialHit) -> tuple[float, int, int]:
    return (-round(hit.score, 4), -hit.published, -hit.material_id)


def _add_sections(searcher, query: Query, hits: dict[int, MaterialHit]) -> None:
    among = tantivy.Query.term_set_query(SCHEMA, "material", list(hits))
    clauses = [(tantivy.Occur.Must, _level(UNIT)), (tantivy.Occur.Must, among)]
    candidates = [term_clause(t) for t in query.terms] + [
        term_clause(p, phrase=True) for p in query.phrases
    ]
    speaks = [c for c in candidates if c is not None]
    if speaks:
        clauses.append((tantivy.Occur.Must, _either(*speaks)))
    else:  # filters alone: the opening sections
        clauses.append(
            (
                tantivy.Occur.Must,
                tantivy.Query.range_query(
                    SCHEMA, "ordinal", tantivy.FieldType.Unsigned, 0, SECTIONS_PER_MATERIAL - 1
                ),
            )
        )
    found = searcher.search(
        tantivy.Query.boolean_query(clauses), limit=len(hits) * 20, count=False
    ).hits
    _collect(searcher, found, query, hits, create=False)


def _by_sections(searcher, query: Query, limit: int) -> list[MaterialHit]:
    compiled = tantivy.Query.boolean_query(
        [(tantivy.Occur.Must, _level(UNIT)), (tantivy.Occur.Must, build(query))]
    )
    wanted = max(limit * 4, 40)
    while True:  # fetch more sections when a few materials hold all the best ones
        found = searcher.search(compiled, limit=wanted, count=False).hits
        hits: dict[int, MaterialHit] = {}
        _collect(searcher, found, query, hits, create=True)
        if len(hits) > limit or len(found) < wanted or wanted >= 1000:
            break
        wanted *= 4
    return sorted(hits.values(), key=_best_first)


def _collect(searcher, found, query: Query, hits: dict[int, MaterialHit], *, create: bool) -> None:
    """Sections from ``found`` (best first) into their materials' hits, three at most each."""
    phrases = [normalise(p).replace(" ", "") for p in query.phrases]
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
            haystack = normalise(f"{title}\n{heading}\n{text}").replace(" ", "")
            if not all(p in haystack for p in phrases):
                continue
        if hit is None:
            hit = hits[material] = MaterialHit(
                material, title, float(score), doc.get_first("published")
            )
        hit.sections.append(Section(doc.get_first("ordinal"), heading, text, [], float(score)))


def snippet(text: str, terms: list[str], width: int) -> tuple[str, list[tuple[int, int]]]:
    """At most ``width`` characters of ``text`` around the terms, and where they are in it.

    The terms are found in a same-length form of the whole text (``same_length_form``:
    cheap, and its offsets are the text's); only the piece shown is fully normalised, to
    mark what NFKC's rarer mappings make of it as well."""
    text = text.replace("\n", " ")
    needles = [(number, t.replace(" ", "")) for number, t in enumerate(terms)]
    needles = [(number, needle) for number, needle in needles if needle]
    spans = _found(same_length_form(text, [needle for _n, needle in needles]), needles)
    start = _window(spans, width)
    end = min(len(text), start + width)
    start = max(0, min(start, end - width))
    piece = text[start:end]
    marks = {(s - start, e - start) for s, e, _n in spans if s >= start and e <= end}
    normal = normalise(piece)
    if len(normal) == len(piece):
        marks.update((s, e) for s, e, _n in _found(normal, needles))
    merged: list[tuple[int, int]] = []
    for s, e in sorted(marks):
        if merged and s < merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], e))
        else:
            merged.append((s, e))
    prefix = "…" if start > 0 else ""
    suffix = "…" if end < len(text) else ""
    shift = len(prefix)
    return prefix + piece + suffix, [(s + shift, e + shift) for s, e in merged]


def _window(spans: list[tuple[int, int, int]], width: int) -> int:
    """Where a snippet of ``width`` characters starts: a quarter of the width before the
    first match whose window holds the most different terms (0 when nothing matched)."""
    present = len({n for _s, _e, n in spans})
    starts = [s for s, _e, _n in spans]
    best, start = -1, 0
    for first, _end, _n in spans:
        begin = max(0, first - width // 4)
        stop = begin + width
        held = spans[bisect_left(starts, begin) : bisect_right(starts, stop)]
        inside = len({n for _s, e, n in held if e <= stop})
        if inside > best:  # a later window must hold more terms to win
            best, start = inside, begin
            if best == present:
                break
    return start


def _found(haystack: str, needles: list[tuple[int, str]]) -> list[tuple[int, int, int]]:
    """Every occurrence of each needle: (start, end, needle number), in text order."""
    spans = []
    for number, needle in needles:
        at = haystack.find(needle)
        while at >= 0:
            spans.append((at, at + len(needle), number))
            at = haystack.find(needle, at + len(needle))
    spans.sort()
    return spans
