"""What the terms of a query match in the index: tantivy queries built from parsed terms.

A term matches as words (its segmentation: the words in order as a phrase, or all its
sub-words anywhere in the section) or as a run of characters (``run_clause``: the phrase of
its bigrams in the body, wherever the segmenter's word boundaries fall). Sections are
``UNIT`` documents with positions; a material's own document (``MATERIAL``) holds sub-words
only, to decide which materials hold every term somewhere.
"""

from __future__ import annotations

import tantivy

from wenxing.search.index import MATERIAL, SCHEMA, UNIT
from wenxing.search.query import Query
from wenxing.search.tokenize import index_form, normalise, pairs, run_of, words

TITLE_BOOST, HEAD_BOOST = 3.0, 2.0
PARTS_BOOST = 0.5  # a quoted phrase found as a run of characters, below it found as words


def term(field_name: str, token: str) -> tantivy.Query:
    return tantivy.Query.term_query(SCHEMA, field_name, token)


def boost(query: tantivy.Query, weight: float) -> tantivy.Query:
    return tantivy.Query.boost_query(query, weight) if weight != 1.0 else query


def either(*queries: tantivy.Query) -> tantivy.Query:
    return tantivy.Query.boolean_query([(tantivy.Occur.Should, q) for q in queries])


def every(queries: list[tantivy.Query]) -> tantivy.Query:
    return tantivy.Query.boolean_query([(tantivy.Occur.Must, q) for q in queries])


def all_of(*parts: tantivy.Query | list[tuple[tantivy.Occur, tantivy.Query]]) -> tantivy.Query:
    """Every query of ``parts`` must match (a list part: clauses as they are)."""
    must: list[tuple[tantivy.Occur, tantivy.Query]] = []
    for part in parts:
        if isinstance(part, list):
            must += part
        else:
            must.append((tantivy.Occur.Must, part))
    return tantivy.Query.boolean_query(must)


def opening_sections(count: int) -> tantivy.Query:
    return tantivy.Query.range_query(SCHEMA, "ordinal", tantivy.FieldType.Unsigned, 0, count - 1)


def level(value: int) -> tantivy.Query:
    return tantivy.Query.term_query(SCHEMA, "level", value)


def run_of_text(text: str) -> str:
    """The run of characters a term or phrase is looked for as (spaces, punctuation gone)."""
    return run_of(index_form(text))


def run_clause(text: str) -> tantivy.Query | None:
    """The term as a run of characters in a section's body or its material's title: the
    phrase of its bigrams (a single character: the character in the body), so a fragment
    cut through words is found."""
    run = run_of_text(text)
    if not run:
        return None
    if len(run) == 1:
        return term("body_c", run)
    found = pairs(run)
    if len(found) == 1:
        return either(boost(term("title_b", found[0]), TITLE_BOOST), term("body_b", found[0]))
    return either(
        boost(tantivy.Query.phrase_query(SCHEMA, "title_b", [*found]), TITLE_BOOST),
        tantivy.Query.phrase_query(SCHEMA, "body_b", [*found]),
    )


def term_clause(text: str, *, phrase: bool = False) -> tantivy.Query | None:
    """What one term (or quoted phrase) of a query matches in a unit."""
    tokens = words(normalise(text))
    if not tokens:
        return None
    if len(tokens) == 1:
        token = tokens[0]
        clauses = [
            boost(term("title_s", token), TITLE_BOOST),
            boost(term("head_s", token), HEAD_BOOST),
            term("body_s", token),
        ]
        if len(token) == 1:  # a single character: any word that holds it
            clauses.append(term("body_c", token))
        if phrase and len(token) > 1:  # a quoted figure or word cut out of a longer one
            characters = run_clause(text)
            if characters is not None:
                clauses.append(boost(characters, PARTS_BOOST))
        return either(*clauses)
    phrases = [
        boost(tantivy.Query.phrase_query(SCHEMA, "title_w", [*tokens]), TITLE_BOOST),
        boost(tantivy.Query.phrase_query(SCHEMA, "head_w", [*tokens]), HEAD_BOOST),
        tantivy.Query.phrase_query(SCHEMA, "body_w", [*tokens]),
    ]
    if phrase:
        # A quoted phrase cut out of running text may start or end inside a word
        # ("商环境" of 营商环境) and then never segments as the text did: the body's
        # bigrams find it as a run of characters (ranked below the phrase found as words;
        # the engine still checks each section exactly).
        characters = run_clause(text)
        if characters is None:
            return either(*phrases)
        return either(*phrases, boost(characters, PARTS_BOOST))
    # Unquoted words the segmenter splits: the phrase ranks first, all parts anywhere in
    # the section still match (segmentation of a query can differ from the text's).
    parts = every(
        [either(term("title_s", t), term("head_s", t), term("body_s", t)) for t in tokens]
    )
    return either(*phrases, parts)


def sections_query(query: Query) -> tantivy.Query:
    """The query on sections: every term in the section itself."""
    must: list[tuple[tantivy.Occur, tantivy.Query]] = []
    for text in query.terms:
        clause = term_clause(text)
        if clause is not None:
            must.append((tantivy.Occur.Must, clause))
    for text in query.phrases:
        clause = term_clause(text, phrase=True)
        if clause is not None:
            must.append((tantivy.Occur.Must, clause))
    if not must:
        return tantivy.Query.empty_query()
    must += filters(query)
    for text in query.excluded:
        clause = term_clause(text)
        if clause is not None:
            must.append((tantivy.Occur.MustNot, clause))
    return tantivy.Query.boolean_query([(tantivy.Occur.Must, level(UNIT)), *must])


def together_query(query: Query, *, runs: bool) -> tantivy.Query | None:
    """Sections holding every term of ``query`` (no quoted phrases): as runs of characters
    (``runs``: the exact strings typed) or as words. None when a term has neither."""
    made = [run_clause(t) if runs else term_clause(t) for t in query.terms]
    clauses = [c for c in made if c is not None]
    if not clauses or len(clauses) < len(made):
        return None
    must = [(tantivy.Occur.Must, c) for c in clauses]
    if not runs:  # runs are in fields only sections have: no section list to go through
        must.insert(0, (tantivy.Occur.Must, level(UNIT)))
    return tantivy.Query.boolean_query([*must, *filters(query)])


def material_clause(text: str) -> tantivy.Query | None:
    """What one term matches in a material's own document (sub-words, no positions)."""
    tokens = words(normalise(text))
    if not tokens:
        return None
    return every(
        [
            either(
                boost(term("title_s", t), TITLE_BOOST),
                boost(term("head_s", t), HEAD_BOOST),
                term("body_s", t),
            )
            for t in tokens
        ]
    )


def materials_query(query: Query) -> tantivy.Query:
    """Materials holding every term somewhere, no excluded one, within the filters."""
    clauses: list[tuple[tantivy.Occur, tantivy.Query]] = [(tantivy.Occur.Must, level(MATERIAL))]
    positive = [material_clause(t) for t in query.positive]
    if query.positive and not any(positive):
        return tantivy.Query.empty_query()  # only punctuation was typed: nothing can match
    clauses += [(tantivy.Occur.Must, c) for c in positive if c is not None]
    clauses += filters(query)
    clauses += excluded(query)
    return tantivy.Query.boolean_query(clauses)


def partial_query(query: Query) -> tantivy.Query | None:
    """Materials holding at least one term, scored first by how many they hold."""
    made = [material_clause(t) for t in query.positive]
    clauses = [c for c in made if c is not None]
    if not clauses:
        return None
    held = [(tantivy.Occur.Should, tantivy.Query.const_score_query(c, 1.0)) for c in clauses] + [
        (tantivy.Occur.Should, boost(c, 0.01)) for c in clauses
    ]
    return tantivy.Query.boolean_query(
        [
            (tantivy.Occur.Must, level(MATERIAL)),
            (tantivy.Occur.Must, tantivy.Query.boolean_query(held)),
            *filters(query),
            *excluded(query),
        ]
    )


def among(material_ids: list[int]) -> tantivy.Query:
    return tantivy.Query.term_set_query(SCHEMA, "material", material_ids)


def excluded(query: Query) -> list[tuple[tantivy.Occur, tantivy.Query]]:
    made = (material_clause(t) for t in query.excluded)
    return [(tantivy.Occur.MustNot, c) for c in made if c is not None]


def filters(query: Query) -> list[tuple[tantivy.Occur, tantivy.Query]]:
    found = []
    for name in ("kind", "category", "tag"):
        value = getattr(query, name)
        if value is not None:
            found.append((tantivy.Occur.Must, term(name, value)))
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
