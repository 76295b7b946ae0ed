"""Tracing leaked copies: detection, false accusations and speed of the fingerprint library.

The sample material is issued to 1,000 recipients (WX-10000 … WX-10999). For every row of
the issue's table, each trial picks the leaker(s) at random, builds the evidence with one
attack implemented below, reads it (``read_evidence``) and traces it (``accuse``). A trial
succeeds when at least one true leaker is accused; any other accused member is a false
accusation. Every row prints its detection rate beside the target, the false accusations
(target 0), the readable positions, the threshold, the trace time and the largest
false-accusation bound printed for an accused member (target ≤ 1e-6).

Speed: marking the sample for one member (target ≤ 5 ms) and a trace of a full copy against
10,000 recipients (target ≤ 1 s, excluding file parsing).

    .venv/bin/python bench/trace.py             # 200 trials per row, about 5-8 minutes
    .venv/bin/python bench/trace.py --quick     # 20 trials per row
    .venv/bin/python bench/trace.py --only c3-  # rows whose id starts with c3-

Figures are printed beside their targets and written to bench/out/trace.json. The exit code
is 0 whether targets pass or miss; it is non-zero only when something raises.
"""

from __future__ import annotations

import argparse
import html
import io
import json
import math
import os
import platform
import random
import statistics
import subprocess
import sys
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache as functools_cache
from functools import partial
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import numpy as np

from wenxing.config import DEFAULT_MASTHEAD
from wenxing.fingerprint import (
    DEFAULT_TOTAL_BOUND,
    Plan,
    Profile,
    accuse,
    build_plan,
    mark,
    parse_variant_list,
    read_evidence,
)
from wenxing.fingerprint.embed import rendered_symbols
from wenxing.fingerprint.plan import (
    GLYPHS,
    LAYER_NAMES,
    VS,
    VS_MARKS,
    VS_PLACE,
    ZW,
    ZW_MARKS,
    ZW_PLACE,
    is_vs,
)
from wenxing.materials import identify
from wenxing.materials.cleaning import Cleaner
from wenxing.materials.keywords import words
from wenxing.materials.outline import parse
from wenxing.materials.protect import protected_spans
from wenxing.reports.trace import leads

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
SAMPLE = REPO / "src" / "wenxing" / "demo" / "sample.txt"
VARIANTS = REPO / "src" / "wenxing" / "fingerprint" / "data" / "variants.txt"
OUT = BENCH / "out" / "trace.json"  # trace-strong.json etc. for other strengths
CORPUS = Path(os.environ.get("WENXING_CORPUS") or REPO.parent / "shared" / "corpus")
# The second material issued (two materials in one file) and the library's other texts,
# which the evidence is identified among; the unrelated document a copy is pasted into is
# none of them.
SECOND_MATERIAL = "gwr_district_hailar/gwr_hailar_2018.txt"
DECOYS = (
    *(f"gwr_district_hailar/gwr_hailar_{year}.txt" for year in range(2012, 2018)),
    "cpc_congress_reports/cpc_congress_18_14.txt",
    "cpc_congress_reports/cpc_congress_17_13.txt",
)
UNRELATED = "cpc_congress_reports/cpc_congress_19_15.txt"
FOREIGN_IGNORABLES = ("\u2065", "\ufff0", "\U000e0080", "\u3164")

RECIPIENTS = 1000
SPEED_RECIPIENTS = 10_000
FIRST_MEMBER = 10_000
BOUND_TARGET = 1e-6
MARK_TARGET_MS = 5.0
TRACE_TARGET_MS = 1000.0
MARK_RUNS = 50
TRACE_RUNS = 5
TYPO_RATE = 0.01
ONE_THREAD = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}

_MARKS = frozenset(ZW_MARKS + VS_MARKS)
_PLAIN = {look: plain for plain, looks in GLYPHS.items() for look in looks}


def spans(base: str) -> list[tuple[int, int]]:
    """The spans a plan keeps wording variants out of, as delivery computes them."""
    return protected_spans(base)


def member_ids(count: int) -> list[str]:
    return [f"WX-{FIRST_MEMBER + i}" for i in range(count)]


# --- attacks on one copy -------------------------------------------------------------------


def as_issued_txt(text: str) -> str:
    """The copy as issued in a .txt file: unchanged."""
    return text


class _ParagraphText(HTMLParser):
    """The text of the ``<p>`` elements of a page, as a reader selecting it gets it."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.paragraphs: list[str] = []
        self._inside = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "p":
            self.paragraphs.append("")
            self._inside = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "p":
            self._inside = False

    def handle_data(self, data: str) -> None:
        if self._inside:
            self.paragraphs[-1] += data


def as_issued_html(text: str) -> str:
    """The copy as selected on a reader page.

    Every line is rendered as an escaped ``<p>`` element (``html.escape``), the page is parsed
    back with ``html.parser`` (character references decoded) and the paragraphs' texts are
    joined with ``\\n``, as a browser's selected text is.
    """
    page = "\n".join(f"<p>{html.escape(line)}</p>" for line in text.split("\n"))
    parser = _ParagraphText()
    parser.feed(f"<html><body>\n{page}\n</body></html>")
    parser.close()
    return "\n".join(parser.paragraphs)


def as_issued_docx(text: str) -> str:
    """The copy as a Word file: written with python-docx (one paragraph per line) to memory
    and read back paragraph by paragraph. Checks that .docx keeps the invisible marks."""
    from docx import Document

    document = Document()
    for line in text.split("\n"):
        document.add_paragraph(line)
    buffer = io.BytesIO()
    document.save(buffer)
    buffer.seek(0)
    return "\n".join(paragraph.text for paragraph in Document(buffer).paragraphs)


def visible_length(text: str) -> int:
    """Characters of ``text`` other than the library's invisible marks."""
    return sum(ch not in _MARKS for ch in text)


def excerpt(text: str, length: int, rng: random.Random) -> str:
    """``length`` visible characters of ``text`` from a random place.

    Invisible marks between them (and after the last one) come along, as they do when a
    reader selects and copies a passage; the length counts visible characters only.
    """
    visible = [i for i, ch in enumerate(text) if ch not in _MARKS]
    if length >= len(visible):
        return text
    first = rng.randrange(len(visible) - length + 1)
    end = visible[first + length] if first + length < len(visible) else len(text)
    return text[visible[first] : end]


def cleaned(text: str) -> str:
    """A "clean the text" tool: every format character (Unicode category Cf) removed, NFKC,
    all whitespace removed. Zero-width marks go; variation selectors (category Mn) stay."""
    no_format = "".join(ch for ch in text if unicodedata.category(ch) != "Cf")
    return "".join(ch for ch in unicodedata.normalize("NFKC", no_format) if not ch.isspace())


def cleaned_half(text: str, rng: random.Random) -> str:
    """:func:`cleaned`, then a random contiguous half of it (by visible length)."""
    clean = cleaned(text)
    return excerpt(clean, visible_length(clean) // 2, rng)


def _is_variation_selector(ch: str) -> bool:
    return "\ufe00" <= ch <= "\ufe0f" or "\U000e0100" <= ch <= "\U000e01ef"


def typos(text: str, rate: float, rng: random.Random, pool: list[str]) -> str:
    """``rate`` × length random edits at distinct places: half of them substitute a character
    drawn from ``pool`` (never the same character), half delete one."""
    count = round(rate * len(text))
    places = rng.sample(range(len(text)), count)
    chars = list(text)
    for n, place in enumerate(places):
        if n % 2:
            chars[place] = ""
            continue
        replacement = chars[place]
        while replacement == chars[place]:
            replacement = rng.choice(pool)
        chars[place] = replacement
    return "".join(chars)


def retyped(text: str, rng: random.Random, pool: list[str]) -> str:
    """Someone retyping the copy: :func:`cleaned`, every look-alike glyph (the values of
    ``GLYPHS``) mapped to its plain form, every variation selector (U+FE00–FE0F,
    U+E0100–E01EF) dropped, then 1% typos (:func:`typos`: random common Han characters of the
    base text substituted, and deletions, in equal halves). NFKC already folded full-width
    forms."""
    plain = "".join(_PLAIN.get(ch, ch) for ch in cleaned(text) if not _is_variation_selector(ch))
    return typos(plain, TYPO_RATE, rng, pool)


def scrambled(text: str, rng: random.Random) -> str:
    """Every zero-width mark replaced by a random one of the four, every variation selector
    by a random one of the sixteen (U+FE00–FE0F); visible text and wording untouched."""
    selectors = [chr(c) for c in range(0xFE00, 0xFE10)]
    out = []
    for ch in text:
        if ch in ZW_MARKS:
            ch = rng.choice(ZW_MARKS)
        elif is_vs(ch):
            ch = rng.choice(selectors)
        out.append(ch)
    return "".join(out)


def homogenised(text: str) -> str:
    """Every zero-width mark made U+200B and every variation selector U+FE04."""
    return "".join("\u200b" if ch in ZW_MARKS else ("\ufe04" if is_vs(ch) else ch) for ch in text)


def foreign_ignorables(text: str, rng: random.Random) -> str:
    """An invisible character that is not ours (one of U+2065, U+FFF0, U+E0080, U+3164,
    chosen per trial) inserted every 3 to 9 visible characters; every mark kept."""
    filler = rng.choice(FOREIGN_IGNORABLES)
    out, gap = [], rng.randint(3, 9)
    for ch in text:
        out.append(ch)
        if ch not in _MARKS and not is_vs(ch):
            gap -= 1
            if gap == 0:
                out.append(filler)
                gap = rng.randint(3, 9)
    return "".join(out)


def stripped(text: str) -> str:
    """Every invisible character removed: format characters and variation selectors."""
    return "".join(ch for ch in text if unicodedata.category(ch) != "Cf" and not is_vs(ch))


@functools_cache
def _s2t():
    import opencc

    return opencc.OpenCC("s2t")


def traditional_stripped(text: str) -> str:
    """Converted to traditional characters (OpenCC s2t), then stripped of invisible marks."""
    return stripped(_s2t().convert(text))


# --- attacks by colluders ------------------------------------------------------------------


def paragraphs_alternated(copies: list[str]) -> str:
    """Colluders splice their copies: paragraph k (split on ``\\n``) from colluder k mod c."""
    split = [copy.split("\n") for copy in copies]
    return "\n".join(split[k % len(split)][k] for k in range(len(split[0])))


def slot_random(symbols: np.ndarray, layer: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Each slot as one colluder, chosen at random per slot, has it.

    ``symbols`` is (colluders × slots); the result is one symbol per slot (−1: no mark).
    Colluders find the slots by comparing their copies; the benchmark takes them from the plan.
    """
    pick = rng.integers(len(symbols), size=symbols.shape[1])
    return symbols[pick, np.arange(symbols.shape[1])]


def drop_differing(symbols: np.ndarray, layer: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Every invisible mark (zero-width, variation selector) on which the copies differ is
    deleted; marks all copies share stay. Visible slots (glyph, wording) cannot be deleted:
    each takes a random colluder's form."""
    out = slot_random(symbols, layer, rng)
    differ = (symbols != symbols[0]).any(axis=0)
    invisible = (layer == ZW) | (layer == VS) | (layer == ZW_PLACE) | (layer == VS_PLACE)
    out[differ & invisible] = -1
    return out


def _symbol_counts(symbols: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """(slots × 16) how many colluders hold each symbol, plus a jitter in [0, 1) for ties.
    A place's symbol is its whole rendering (no mark, or which mark)."""
    counts = np.stack([(symbols == s).sum(axis=0) for s in range(16)], axis=1)
    return counts + rng.random(counts.shape)


def majority_vote(symbols: np.ndarray, layer: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Every slot takes the symbol most colluders hold (ties broken at random)."""
    return np.argmax(_symbol_counts(symbols, rng), axis=1)


def minority_vote(symbols: np.ndarray, layer: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Every slot takes the symbol fewest colluders hold among those present (ties at random)."""
    counts = _symbol_counts(symbols, rng)
    return np.argmin(np.where(counts >= 1.0, counts, np.inf), axis=1)


Strategy = Callable[[np.ndarray, np.ndarray, np.random.Generator], np.ndarray]
SLOT_STRATEGIES: tuple[tuple[str, str, Strategy, int], ...] = (
    ("slots", "each slot from a random colluder", slot_random, 2),
    ("drop", "differing invisible marks deleted", drop_differing, 2),
    ("majority", "majority vote per slot", majority_vote, 3),
    ("minority", "minority vote per slot", minority_vote, 3),
)


def render(base: str, plan: Plan, symbols: np.ndarray) -> str:
    """A copy of ``base`` carrying ``symbols`` (one per slot), as ``embed.mark`` renders one.

    A negative symbol on an invisible mark's slot leaves the mark out; a place's symbol is
    its presence bit and, when present, the mark's kind (``presence | kind << 1``).
    """
    pieces: list[str] = []
    cursor = 0
    for offset, length, group, layer, symbol in zip(
        plan.index.tolist(),
        plan.length.tolist(),
        plan.group.tolist(),
        plan.layer.tolist(),
        symbols.tolist(),
        strict=True,
    ):
        if length:
            pieces.append(base[cursor:offset])
            pieces.append(plan.groups[group][symbol])
            cursor = offset + length
        else:
            pieces.append(base[cursor : offset + 1])
            if layer in (ZW_PLACE, VS_PLACE):  # symbol = presence | kind << 1
                if symbol >= 0 and symbol & 1:
                    pieces.append(plan.marks(layer)[symbol >> 1])
            elif symbol >= 0:
                pieces.append(plan.marks(layer)[symbol])
            cursor = offset + 1
    pieces.append(base[cursor:])
    return "".join(pieces)


# --- the material and its recipients -------------------------------------------------------


@dataclass
class Bench:
    """The sample material, its plan and key, the recipients and per-member caches."""

    base: str
    key: bytes
    plan: Plan
    recipients: list[str]
    pool: list[str]  # Han characters of the base text, with repetition (typo substitutes)
    setup: dict[str, float]
    _copies: dict[str, str] = field(default_factory=dict)
    _symbols: dict[str, np.ndarray] = field(default_factory=dict)
    library: Library | None = None

    def copy(self, member: str) -> str:
        if member not in self._copies:
            self._copies[member] = mark(self.base, self.plan, self.key, member)
        return self._copies[member]

    def symbols(self, member: str) -> np.ndarray:
        if member not in self._symbols:
            # What the copy shows: the code, less the marks the strength's ceiling leaves out.
            self._symbols[member] = rendered_symbols(self.base, self.plan, self.key, member)
        return self._symbols[member]

    def render(self, symbols: np.ndarray) -> str:
        return render(self.base, self.plan, symbols)


@dataclass
class Issued:
    """A material of the library issued to the recipients: its base, key and plan."""

    name: str
    base: str
    key: bytes
    plan: Plan
    _copies: dict[str, str] = field(default_factory=dict)

    def copy(self, member: str) -> str:
        if member not in self._copies:
            self._copies[member] = mark(self.base, self.plan, self.key, member)
        return self._copies[member]


@dataclass
class Library:
    """The texts evidence is identified among (the sample, a second issued material and
    other published texts), with a winnowed gram index as import builds, and an unrelated
    document that is none of them."""

    issued: dict[str, Issued]
    texts: dict[str, str]
    grams: dict[int, list[str]]
    unrelated: str

    def identify(self, text: str) -> list[tuple[str, float, int]]:
        """As ``reports.trace.identify_versions`` does: the 8 texts sharing the most grams
        (each weighed by its rarity), then ``identify.claim``."""
        weight: dict[str, float] = {}
        for gram in identify.winnow(text).tolist():
            holders = self.grams.get(gram, ())
            for name in holders:
                weight[name] = weight.get(name, 0.0) + 1.0 / len(holders)
        best = sorted(weight, key=lambda name: (-weight[name], name))[:8]
        return identify.claim(text, [(name, self.texts[name]) for name in best])


def _clean_body(raw: str) -> str:
    return parse(Cleaner(DEFAULT_MASTHEAD).clean(raw)).body


def load_library(bench: Bench, seed: int, strength: str = "light") -> Library | None:
    """The library around the sample, from the shared corpus (None when it is not here)."""
    if not (CORPUS / SECOND_MATERIAL).exists():
        return None
    variants = parse_variant_list(VARIANTS.read_text(encoding="utf-8"))
    second = _clean_body((CORPUS / SECOND_MATERIAL).read_text("utf-8"))
    key = random.Random(f"key2:{seed}").randbytes(32)
    issued = {
        "sample": Issued("sample", bench.base, bench.key, bench.plan, bench._copies),
        "second": Issued(
            "second",
            second,
            key,
            build_plan(second, key, words(second), variants, Profile(strength), spans(second)),
        ),
    }
    texts = {name: item.base for name, item in issued.items()}
    for path in DECOYS:
        if (CORPUS / path).exists():
            texts[path] = _clean_body((CORPUS / path).read_text("utf-8"))
    grams: dict[int, list[str]] = {}
    for name, body in texts.items():
        for gram in identify.winnow(body).tolist():
            grams.setdefault(gram, []).append(name)
    unrelated = _clean_body((CORPUS / UNRELATED).read_text("utf-8"))
    return Library(issued, texts, grams, unrelated)


def load_bench(seed: int, strength: str = "light") -> Bench:
    """The sample's clean body, its plan (profile "light") and a material key from the seed."""
    raw = SAMPLE.read_text(encoding="utf-8")
    base = parse(Cleaner(DEFAULT_MASTHEAD).clean(raw)).body
    variants = parse_variant_list(VARIANTS.read_text(encoding="utf-8"))
    key = random.Random(f"key:{seed}").randbytes(32)
    started = time.perf_counter()
    tokens = words(base)
    words_ms = (time.perf_counter() - started) * 1000
    plan_times = []
    for _ in range(5):
        started = time.perf_counter()
        plan = build_plan(base, key, tokens, variants, Profile(strength), spans(base))
        plan_times.append((time.perf_counter() - started) * 1000)
    pool = [ch for ch in base if "\u4e00" <= ch <= "\u9fff"]
    setup = {"words_ms": words_ms, "plan_ms": statistics.median(plan_times)}
    bench = Bench(base, key, plan, member_ids(RECIPIENTS), pool, setup)
    bench.library = load_library(bench, seed, strength)
    return bench


def self_check(bench: Bench) -> dict[str, bool]:
    """The benchmark's own renderer and format round trips, checked once."""
    members = bench.recipients[:3]
    for member in members:
        if bench.render(bench.symbols(member)) != bench.copy(member):
            raise RuntimeError(f"render() differs from mark() for {member}")
    copy = bench.copy(members[0])
    return {
        "render_equals_mark": True,
        "html_round_trip_identical": as_issued_html(copy) == copy,
        "docx_round_trip_identical": as_issued_docx(copy) == copy,
    }


# --- rows ----------------------------------------------------------------------------------

Evidence = Callable[[Bench, list[str], random.Random], str]


@dataclass(frozen=True)
class Row:
    id: str
    label: str
    target: float  # share of trials in which a right member is accused
    colluders: int
    evidence: Evidence
    # Library rows identify the material(s) among the library's texts first; their evidence
    # gives (text, [(material, leaker)], framed member or None).
    library: bool = False
    need_all: bool = False  # every expected (material, leaker) named, not one of them
    identify_target: float | None = None
    framing: bool = False
    strength: str | None = None  # marking strength of this row's plans (None: --strength)
    note: str = ""  # printed under the row


LibraryEvidence = tuple[str, list[tuple[str, str]], str | None]


def _sample_attack(
    attack: Callable[..., str], bench: Bench, leakers: list[str], rng: random.Random
) -> LibraryEvidence:
    return attack(bench.copy(leakers[0])), [("sample", leakers[0])], None


def _stripped_excerpt(
    length: int, bench: Bench, leakers: list[str], rng: random.Random
) -> LibraryEvidence:
    clean = stripped(bench.copy(leakers[0]))
    return excerpt(clean, length, rng), [("sample", leakers[0])], None


def _marked_excerpt(
    length: int, bench: Bench, leakers: list[str], rng: random.Random
) -> LibraryEvidence:
    return excerpt(bench.copy(leakers[0]), length, rng), [("sample", leakers[0])], None


def _two_materials(bench: Bench, leakers: list[str], rng: random.Random) -> LibraryEvidence:
    """Material X from member A's copy and material Y from member B's, pasted into one file."""
    assert bench.library is not None
    a, b = leakers
    x, y = bench.copy(a), bench.library.issued["second"].copy(b)
    return f"{x}\n{y}", [("sample", a), ("second", b)], None


def _inside_unrelated(bench: Bench, leakers: list[str], rng: random.Random) -> LibraryEvidence:
    """Member A's copy pasted at a random paragraph of an unrelated document three times
    its length (a text that is not in the library)."""
    assert bench.library is not None
    copy = bench.copy(leakers[0])
    unrelated = bench.library.unrelated
    start = rng.randrange(max(1, len(unrelated) - 3 * len(copy)))
    stretch = unrelated[start : start + 3 * len(copy)].split("\n")
    at = rng.randrange(1, max(2, len(stretch)))
    text = "\n".join([*stretch[:at], copy, *stretch[at:]])
    return text, [("sample", leakers[0])], None


def _framed(
    treatment: str, bench: Bench, leakers: list[str], rng: random.Random
) -> LibraryEvidence:
    """The leaker's copy under a recipient line edited to an innocent member's number (as
    every copy prints it), whole or stripped of invisible marks."""
    innocent = rng.choice([m for m in bench.recipients if m not in leakers])
    line = f"会员 {innocent} · 2026-12-07 · 本资料为会员个人专属副本，已嵌入可追溯标识"
    text = f"{line}\n{bench.copy(leakers[0])}"
    if treatment == "stripped":
        text = stripped(text)
    return text, [("sample", leakers[0])], innocent


def _single(
    attack: Callable[..., str], bench: Bench, leakers: list[str], rng: random.Random
) -> str:
    return attack(bench.copy(leakers[0]))


def _excerpt(length: int, bench: Bench, leakers: list[str], rng: random.Random) -> str:
    return excerpt(bench.copy(leakers[0]), length, rng)


def _half(bench: Bench, leakers: list[str], rng: random.Random) -> str:
    return cleaned_half(bench.copy(leakers[0]), rng)


def _retyped(bench: Bench, leakers: list[str], rng: random.Random) -> str:
    return retyped(bench.copy(leakers[0]), rng, bench.pool)


def _alternated(bench: Bench, leakers: list[str], rng: random.Random) -> str:
    return paragraphs_alternated([bench.copy(member) for member in leakers])


def _by_slot(strategy: Strategy, bench: Bench, leakers: list[str], rng: random.Random) -> str:
    symbols = np.stack([bench.symbols(member) for member in leakers])
    # What a colluder sees at a place is no mark (whatever the unused kind bits are) or
    # one mark: every rendering without a mark is the same symbol, 0.
    place = (bench.plan.layer == ZW_PLACE) | (bench.plan.layer == VS_PLACE)
    symbols = np.where(place[None, :] & (symbols % 2 == 0), 0, symbols)
    chosen = strategy(symbols, bench.plan.layer, np.random.default_rng(rng.getrandbits(64)))
    return bench.render(chosen)


def all_rows() -> list[Row]:
    rows = [
        Row("issued-txt", "copy as issued, .txt", 1.0, 1, partial(_single, as_issued_txt)),
        Row("issued-html", "copy as issued, reader page", 1.0, 1, partial(_single, as_issued_html)),
        Row("issued-docx", "copy as issued, .docx", 1.0, 1, partial(_single, as_issued_docx)),
        Row("excerpt-300", "300-character excerpt", 0.99, 1, partial(_excerpt, 300)),
        Row("excerpt-150", "150-character excerpt", 0.90, 1, partial(_excerpt, 150)),
        Row("cleaned", "cleaned: Cf removed, NFKC, no spaces", 0.99, 1, partial(_single, cleaned)),
        Row("cleaned-half", "cleaned, half of the text", 0.90, 1, _half),
        Row("retyped", "retyped: cleaned, plain, no VS, 1% typos", 0.99, 1, _retyped),
        Row(
            "scrambled",
            "invisible marks scrambled (random of kind)",
            0.95,
            1,
            lambda b, ls, rng: _sample_attack(partial(scrambled, rng=rng), b, ls, rng),
            library=True,
            identify_target=1.0,
        ),
        Row(
            "homogenised",
            "invisible marks homogenised (200B, FE04)",
            0.95,
            1,
            partial(_sample_attack, homogenised),
            library=True,
            identify_target=1.0,
        ),
        Row(
            "ignorables",
            "foreign ignorable every 3-9 characters",
            0.95,
            1,
            lambda b, ls, rng: _sample_attack(partial(foreign_ignorables, rng=rng), b, ls, rng),
            library=True,
            identify_target=1.0,
        ),
        Row(
            "trad-stripped",
            "traditional (OpenCC s2t), then stripped",
            0.95,
            1,
            partial(_sample_attack, traditional_stripped),
            library=True,
        ),
        Row(
            "two-materials",
            "two materials from two members, one file",
            0.95,
            2,
            _two_materials,
            library=True,
            need_all=True,
            identify_target=1.0,
        ),
        Row(
            "inside-3x",
            "copy inside a 3x longer unrelated document",
            0.95,
            1,
            _inside_unrelated,
            library=True,
            identify_target=1.0,
        ),
        Row(
            "framed-whole",
            "framing: line edited to an innocent, whole",
            0.95,
            1,
            partial(_framed, "whole"),
            library=True,
            framing=True,
        ),
        Row(
            "framed-stripped",
            "framing: line edited to an innocent, stripped",
            0.95,
            1,
            partial(_framed, "stripped"),
            library=True,
            framing=True,
        ),
        Row(
            "excerpt-50",
            "50 visible characters, marks kept",
            0.90,
            1,
            partial(_marked_excerpt, 50),
            library=True,
            identify_target=0.95,
            note=EXCERPT_50_NOTE,
        ),
        Row(
            "excerpt-50-strong",
            "50 visible characters, marks kept, strong",
            0.90,
            1,
            partial(_marked_excerpt, 50),
            library=True,
            identify_target=0.95,
            strength="strong",
        ),
        Row(
            "stripped-1000",
            "stripped contiguous excerpt, 1,000 characters",
            0.95,
            1,
            partial(_stripped_excerpt, 1000),
            library=True,
        ),
    ]
    for count, target in ((2, 0.99), (3, 0.95), (4, 0.90)):
        rows.append(
            Row(
                f"c{count}-paragraphs",
                f"{count} colluders: paragraphs alternated",
                target,
                count,
                _alternated,
            )
        )
        for name, label, strategy, least in SLOT_STRATEGIES:
            if count >= least:
                evidence = partial(_by_slot, strategy)
                rows.append(
                    Row(f"c{count}-{name}", f"{count} colluders: {label}", target, count, evidence)
                )
    rows.append(
        Row(
            "c4-drop-strong",
            "4 colluders: differing marks deleted, strong",
            0.90,
            4,
            partial(_by_slot, drop_differing),
            strength="strong",
        )
    )
    return rows


# --- tracing -------------------------------------------------------------------------------


def trace(bench: Bench, evidence: str, leakers: list[str]) -> dict[str, Any]:
    """Read and trace one piece of evidence; what happened, for the row's statistics."""
    started, cpu = time.perf_counter(), time.process_time()
    reading = read_evidence(bench.base, bench.plan, evidence)
    read_done = time.perf_counter()
    verdict = accuse(reading, bench.key, bench.recipients)
    finished, cpu_ms = time.perf_counter(), (time.process_time() - cpu) * 1000
    accused = verdict.accused
    guilty = set(leakers)
    leaker_scores = [s.score for s in verdict.scores if s.member in guilty]
    return {
        "detected": any(s.member in guilty for s in accused),
        "leakers_accused": sum(s.member in guilty for s in accused),
        "false": sum(s.member not in guilty for s in accused),
        "positions": reading.positions,
        "slots_read": reading.slots_read,
        "coverage": reading.coverage,
        "threshold": verdict.threshold,
        # Leakers who are not recipients (bench/trace_unseen.py's outsiders) have no score.
        "margin": max(leaker_scores, default=0.0) / verdict.threshold
        if verdict.positions and math.isfinite(verdict.threshold)
        else 0.0,
        "max_bound": max((s.bound for s in accused), default=None),
        "total_bound": verdict.total_bound,
        "tests": verdict.tests,
        "read_ms": (read_done - started) * 1000,
        "trace_ms": (finished - started) * 1000,
        "cpu_ms": cpu_ms,
    }


def trace_library(
    bench: Bench, evidence: str, expected: list[tuple[str, str]], framed: str | None, need_all: bool
) -> dict[str, Any]:
    """Identify the material(s) among the library's texts, then trace each against its
    1,000 recipients with the allowed total split between them, as ``reports.trace`` does;
    for framed evidence, how ``reports.trace.leads`` stands on the printed number."""
    assert bench.library is not None
    started, cpu = time.perf_counter(), time.process_time()
    found = bench.library.identify(evidence)
    named = [name for name, _coverage, _chars in found]
    share = DEFAULT_TOTAL_BOUND / max(1, len(found))
    fold = identify.t2s_fold()
    accused: set[tuple[str, str]] = set()
    bounds, positions, tests = [], 0, 0
    slots_read = dict.fromkeys(LAYER_NAMES, 0)
    coverage, threshold, margin = 0.0, math.inf, 0.0
    read_ms = 0.0
    for name, cover, _chars in found:
        issued = bench.library.issued.get(name)
        if issued is None:  # a published text nobody here was issued: nothing to score
            continue
        read_started = time.perf_counter()
        reading = read_evidence(issued.base, issued.plan, evidence, fold)
        read_ms += (time.perf_counter() - read_started) * 1000
        verdict = accuse(reading, issued.key, bench.recipients, share)
        accused |= {(name, s.member) for s in verdict.accused}
        bounds += [s.bound for s in verdict.accused]
        positions += reading.positions
        tests += verdict.tests
        if name == expected[0][0]:
            slots_read = {k: reading.slots_read.get(k, 0) for k in LAYER_NAMES}
            coverage, threshold = cover, verdict.threshold
            scores = [s.score for s in verdict.scores if s.member == expected[0][1]]
            if scores and math.isfinite(threshold) and threshold > 0:
                margin = scores[0] / threshold
    finished, cpu_ms = time.perf_counter(), (time.process_time() - cpu) * 1000
    right = [pair in accused for pair in expected]
    flagged = None
    if framed is not None:
        line = [{"member": framed, "exists": True, "issued_copies": 1}]
        members = [member for material, member in accused if material == "sample"]
        flagged = leads(line, members, positions)[1]
    return {
        "detected": all(right) if need_all else any(right),
        "identified": all(material in named for material, _member in expected),
        "flagged": flagged,
        "framed_accused": framed is not None and ("sample", framed) in accused,
        "leakers_accused": sum(right),
        "false": len(accused - set(expected)),
        "positions": positions,
        "slots_read": slots_read,
        "coverage": coverage,
        "threshold": threshold,
        "margin": margin,
        "max_bound": max(bounds, default=None),
        "total_bound": DEFAULT_TOTAL_BOUND,
        "tests": tests,
        "read_ms": read_ms,
        "trace_ms": (finished - started) * 1000,
        "cpu_ms": cpu_ms,
    }


def run_row(bench: Bench, row: Row, trials: int, seed: int) -> dict[str, Any] | None:
    if row.library and bench.library is None:
        print(
            f"{row.label:<{LABEL}} skipped: the corpus is not at {CORPUS} (set WENXING_CORPUS=PATH)"
        )
        return None
    rng = random.Random(f"{seed}:{row.id}")
    outcomes = []
    for _ in range(trials):
        leakers = rng.sample(bench.recipients, row.colluders)
        if row.library:
            text, expected, framed = row.evidence(bench, leakers, rng)
            outcomes.append(trace_library(bench, text, expected, framed, row.need_all))
        else:
            outcomes.append(trace(bench, row.evidence(bench, leakers, rng), leakers))
    return summarise(row, outcomes)


def summarise(row: Row, outcomes: list[dict[str, Any]]) -> dict[str, Any]:
    def median(name: str) -> float:
        return float(statistics.median(o[name] for o in outcomes))

    bounds = [o["max_bound"] for o in outcomes if o["max_bound"] is not None]
    detection = sum(o["detected"] for o in outcomes) / len(outcomes)
    false = sum(o["false"] for o in outcomes)
    max_bound = max(bounds, default=None)
    total_bound = max(o["total_bound"] for o in outcomes)
    bound_ok = total_bound <= BOUND_TARGET and (max_bound is None or max_bound <= BOUND_TARGET)
    identified = (
        sum(o["identified"] for o in outcomes) / len(outcomes)
        if "identified" in outcomes[0]
        else None
    )
    flagged = sum(bool(o["flagged"]) for o in outcomes) / len(outcomes) if row.framing else None
    framed_accused = sum(o.get("framed_accused", False) for o in outcomes)
    passed = detection >= row.target and false == 0 and bound_ok
    if row.identify_target is not None:
        passed = passed and identified is not None and identified >= row.identify_target
    if row.framing:
        passed = passed and flagged == 1.0 and framed_accused == 0
    return {
        "identified": identified,
        "identify_target": row.identify_target,
        "flagged": flagged,
        "framed_accused": framed_accused,
        "id": row.id,
        "label": row.label,
        "strength": row.strength,
        "note": row.note,
        "colluders": row.colluders,
        "trials": len(outcomes),
        "target": row.target,
        "detection": detection,
        "false_accusations": false,
        "trials_with_false_accusation": sum(o["false"] > 0 for o in outcomes),
        "max_bound": max_bound,
        "total_bound": total_bound,
        "result": "PASS" if passed else "MISS",
        "median_positions": median("positions"),
        "min_positions": min(o["positions"] for o in outcomes),
        "median_slots_read": {
            name: float(statistics.median(o["slots_read"][name] for o in outcomes))
            for name in LAYER_NAMES
        },
        "median_coverage": median("coverage"),
        "median_threshold": median("threshold"),
        "median_margin": median("margin"),
        "min_margin": min(o["margin"] for o in outcomes),
        "mean_leakers_accused": sum(o["leakers_accused"] for o in outcomes) / len(outcomes),
        "median_tests": median("tests"),
        "median_read_ms": median("read_ms"),
        "median_trace_ms": median("trace_ms"),
        "max_trace_ms": max(o["trace_ms"] for o in outcomes),
        "median_cpu_ms": median("cpu_ms"),
    }


# --- speed ---------------------------------------------------------------------------------


def _timed(call: Callable[[], Any]) -> tuple[Any, float, float]:
    """(result, wall ms, CPU ms of this process, all threads) of one call."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = call()
    return result, (time.perf_counter() - wall) * 1000, (time.process_time() - cpu) * 1000


def mark_speed(bench: Bench) -> dict[str, Any]:
    """Marking the sample for fresh (uncached) members; the plan is built beforehand."""
    runs = [
        _timed(partial(mark, bench.base, bench.plan, bench.key, member))
        for member in member_ids(RECIPIENTS + MARK_RUNS)[RECIPIENTS:]
    ]
    wall = statistics.median(r[1] for r in runs)
    return {
        "plan_ms": bench.setup["plan_ms"],
        "words_ms": bench.setup["words_ms"],
        "mark_median_ms": wall,
        "mark_max_ms": max(r[1] for r in runs),
        "mark_median_cpu_ms": statistics.median(r[2] for r in runs),
        "mark_result": "PASS" if wall <= MARK_TARGET_MS else "MISS",
    }


def trace_speed(bench: Bench) -> dict[str, Any]:
    """A full copy as issued traced against 10,000 recipients: read_evidence + accuse."""
    recipients = member_ids(SPEED_RECIPIENTS)
    leaker = recipients[SPEED_RECIPIENTS // 2]
    copy = bench.copy(leaker)
    runs = []
    for _ in range(TRACE_RUNS):
        reading, read_ms, read_cpu = _timed(partial(read_evidence, bench.base, bench.plan, copy))
        verdict, accuse_ms, accuse_cpu = _timed(partial(accuse, reading, bench.key, recipients))
        runs.append((read_ms + accuse_ms, read_cpu + accuse_cpu, read_ms, accuse_ms, verdict))
    accused = [s.member for s in runs[-1][4].accused]
    wall = statistics.median(r[0] for r in runs)
    right = accused == [leaker]
    return {
        "trace_10k_median_ms": wall,
        "trace_10k_max_ms": max(r[0] for r in runs),
        "trace_10k_median_cpu_ms": statistics.median(r[1] for r in runs),
        "trace_10k_median_read_ms": statistics.median(r[2] for r in runs),
        "trace_10k_median_accuse_ms": statistics.median(r[3] for r in runs),
        "trace_10k_tests": runs[-1][4].tests,
        "trace_10k_accused": accused,
        "trace_10k_right": right,
        "trace_result": "PASS" if wall <= TRACE_TARGET_MS and right else "MISS",
    }


def one_thread_trace_speed(seed: int, strength: str = "light") -> dict[str, Any]:
    """:func:`trace_speed` again in a subprocess whose BLAS runs on one thread (diagnosis only).

    The scorer's matrix products go to BLAS, which starts a thread per core; when another
    process holds a core those threads spin waiting for each other, so the comparison
    tells contention apart from the trace's own cost.
    """
    command = [sys.executable, str(Path(__file__).resolve()), "--speed-child", f"--seed={seed}"]
    command.append(f"--strength={strength}")
    done = subprocess.run(
        command, env=os.environ | ONE_THREAD, capture_output=True, text=True, check=True
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


# --- report --------------------------------------------------------------------------------


def _bound(value: float | None) -> str:
    return "—" if value is None else f"{value:.1e}"


LABEL = 47
TABLE_HEADER = (
    f"{'evidence':<{LABEL}} {'detected':>8} {'target':<6} {'res':<4} {'false':>5} "
    f"{'positions':>9} {'threshold':>9} {'trace ms med/max':>16} {'max bound':>9} "
    f"{'total':>7}"
)


EXCERPT_50_NOTE = (
    "impossible at light: at most 1 invisible mark per 20 characters leaves 50 characters "
    "≤ 26 bits on average, naming one of 1,000 at 1e-6 needs ≥ 30 (docs/fingerprint.md); "
    "the strong row is the one to meet"
)


def print_row(row: dict[str, Any]) -> None:
    target = f"{'≥' if row['target'] < 1 else '='}{row['target']:.0%}"
    trace_ms = f"{row['median_trace_ms']:.0f}/{row['max_trace_ms']:.0f}"
    print(
        f"{row['label']:<{LABEL}} {row['detection']:>8.1%} {target:<6} {row['result']:<4} "
        f"{row['false_accusations']:>5} {row['median_positions']:>9.0f} "
        f"{row['median_threshold']:>9.1f} {trace_ms:>16} {_bound(row['max_bound']):>9} "
        f"{_bound(row['total_bound']):>7}",
        flush=True,
    )
    extras = []
    if row["identified"] is not None:
        target = row["identify_target"]
        goal = f" (target ≥ {target:.0%})" if target is not None else ""
        extras.append(f"material identified {row['identified']:.1%}{goal}")
    if row["flagged"] is not None:
        extras.append(
            f"forgery flagged {row['flagged']:.1%} (target 100%), framed innocent accused "
            f"{row['framed_accused']} (target 0)"
        )
    if row.get("note") and row["result"] != "PASS":
        extras.append(row["note"])
    if extras:
        print(f"{'':<{LABEL}}   ↳ {'; '.join(extras)}", flush=True)


def print_diagnosis(rows: list[dict[str, Any]]) -> None:
    print(
        "\nDiagnosis (medians over trials; slots read per layer; margin = best leaker's "
        "whole-text score / threshold)"
    )
    print(
        f"{'row':<16} {'zw-pl':>5} {'vs-pl':>5} {'glyph':>5} {'word':>5} {'coverage':>8} "
        f"{'min pos':>7} {'margin med/min':>14} {'leakers accused':>15} {'read ms':>7} "
        f"{'CPU ms':>6}"
    )
    for row in rows:
        read = row["median_slots_read"]
        margin = f"{row['median_margin']:.2f}/{row['min_margin']:.2f}"
        leakers = f"{row['mean_leakers_accused']:.2f} of {row['colluders']}"
        print(
            f"{row['id']:<16} {read['zw-place']:>5.0f} {read['vs-place']:>5.0f} "
            f"{read['glyph']:>5.0f} {read['wording']:>5.0f} {row['median_coverage']:>8.1%} "
            f"{row['min_positions']:>7} {margin:>14} {leakers:>15} "
            f"{row['median_read_ms']:>7.0f} {row['median_cpu_ms']:>6.0f}"
        )


def print_speed(result: dict[str, Any]) -> None:
    print("\nSpeed (wall time; CPU time of all this process's threads in brackets)")
    print(
        f"{'plan build, median of 5 (not counted)':<{LABEL}} {result['plan_ms']:>8.1f} ms "
        f"(word segmentation {result['words_ms']:.0f} ms, not counted)"
    )
    print(
        f"{f'mark one member, median of {MARK_RUNS}':<{LABEL}} "
        f"{result['mark_median_ms']:>8.2f} ms  target ≤ {MARK_TARGET_MS:.0f} ms  "
        f"{result['mark_result']}  (CPU {result['mark_median_cpu_ms']:.2f} ms; "
        f"max {result['mark_max_ms']:.1f} ms)"
    )
    accused = ", ".join(result["trace_10k_accused"]) or "nobody"
    print(
        f"{f'trace against 10,000 recipients, median of {TRACE_RUNS}':<{LABEL}} "
        f"{result['trace_10k_median_ms']:>8.0f} ms  target ≤ {TRACE_TARGET_MS:.0f} ms  "
        f"{result['trace_result']}  (CPU {result['trace_10k_median_cpu_ms']:.0f} ms; read "
        f"{result['trace_10k_median_read_ms']:.0f} + accuse "
        f"{result['trace_10k_median_accuse_ms']:.0f} ms; max "
        f"{result['trace_10k_max_ms']:.0f} ms; {result['trace_10k_tests']} tests; "
        f"accused {accused})"
    )
    single = result["one_thread"]
    print(
        f"{'  the same, BLAS on one thread (no target)':<{LABEL}} "
        f"{single['trace_10k_median_ms']:>8.0f} ms  (CPU {single['trace_10k_median_cpu_ms']:.0f} "
        f"ms; read {single['trace_10k_median_read_ms']:.0f} + accuse "
        f"{single['trace_10k_median_accuse_ms']:.0f} ms; in a subprocess with {ONE_THREAD})"
    )


def print_summary(rows: list[dict[str, Any]], speed_result: dict[str, Any]) -> None:
    print("\nSummary")
    for row in rows:
        reasons = []
        if row["detection"] < row["target"]:
            reasons.append(f"detected {row['detection']:.1%} < {row['target']:.0%}")
        if row["false_accusations"]:
            reasons.append(f"{row['false_accusations']} false accusation(s)")
        if row["identify_target"] is not None and row["identified"] < row["identify_target"]:
            reasons.append(f"identified {row['identified']:.1%} < {row['identify_target']:.0%}")
        if row["flagged"] is not None and row["flagged"] < 1.0:
            reasons.append(f"forgery flagged {row['flagged']:.1%} < 100%")
        if row["framed_accused"]:
            reasons.append(f"framed innocent accused {row['framed_accused']} times")
        if row["max_bound"] is not None and row["max_bound"] > BOUND_TARGET:
            reasons.append(f"bound {row['max_bound']:.1e} > {BOUND_TARGET:.0e}")
        print(f"  {row['result']:<4} {row['id']:<16} {'; '.join(reasons)}".rstrip())
    print(f"  {speed_result['mark_result']:<4} speed: mark one member")
    print(f"  {speed_result['trace_result']:<4} speed: trace against 10,000 recipients")
    results = [r["result"] for r in rows]
    results += [speed_result["mark_result"], speed_result["trace_result"]]
    print(f"  {results.count('PASS')} PASS, {results.count('MISS')} MISS")


def _busy_note(load_before: float, load_max: float) -> str | None:
    if load_before < 0.8 and load_max < 2.0:
        return None
    return (
        f"NOTE: the machine was busy (load {load_before:.1f} before start, up to {load_max:.1f} "
        f"during rows, {os.cpu_count()} CPUs): trace and mark times are overstated"
    )


def run_rows(bench: Bench, args: argparse.Namespace) -> tuple[list[dict[str, Any]], float]:
    """Every selected row, printed as it finishes; also the highest load average seen."""
    print(TABLE_HEADER)
    print("-" * len(TABLE_HEADER))
    results, load_max = [], os.getloadavg()[0]
    benches = {args.strength: bench}
    for row in all_rows():
        if row.id.startswith(tuple(args.only)):
            strength = row.strength or args.strength
            if strength not in benches:
                benches[strength] = load_bench(args.seed, strength)
            result = run_row(benches[strength], row, args.trials, args.seed)
            if result is not None:
                results.append(result)
                print_row(result)
            load_max = max(load_max, os.getloadavg()[0])
    return results, load_max


def benchmark(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    load_before = os.getloadavg()[0]
    bench = load_bench(args.seed, args.strength)
    checks = self_check(bench)
    print(
        f"Trace benchmark — {len(bench.base)}-character sample, {RECIPIENTS} recipients, "
        f"{args.trials} trials per row, seed {args.seed}, strength {args.strength}; "
        f"plan slots {bench.plan.counts()}"
    )
    print(f"self-check: {checks}\n")
    results, load_max = run_rows(bench, args)
    print_diagnosis(results)
    speed_result = mark_speed(bench) | trace_speed(bench)
    speed_result["one_thread"] = one_thread_trace_speed(args.seed, args.strength)
    print_speed(speed_result)
    print_summary(results, speed_result)
    meta = {
        "seed": args.seed,
        "trials": args.trials,
        "recipients": RECIPIENTS,
        "base_chars": len(bench.base),
        "plan_slots": bench.plan.counts(),
        "self_check": checks,
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "blas_environment": {name: os.environ.get(name) for name in ONE_THREAD},
        "load_before": load_before,
        "load_max": max(load_max, os.getloadavg()[0]),
        "total_seconds": time.perf_counter() - started,
    }
    note = _busy_note(load_before, meta["load_max"])
    if note:
        print(note)
    out = OUT if args.strength == "light" else OUT.with_name(f"trace-{args.strength}.json")
    print(
        f"\ntotal benchmark time {meta['total_seconds']:.0f} s; figures in {out.relative_to(REPO)}"
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    document = {"meta": meta, "rows": results, "speed": speed_result}
    out.write_text(
        json.dumps(_finite(document), ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    return 0


def _finite(value: Any) -> Any:
    """``value`` with infinite floats (no readable positions: no threshold) as null."""
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, help="trials per row (default 200)")
    parser.add_argument("--quick", action="store_true", help="20 trials per row")
    parser.add_argument("--seed", type=int, default=20261126)
    parser.add_argument(
        "--only",
        type=lambda s: s.split(","),
        default=[""],
        help="comma-separated row id prefixes (issued-, excerpt-, cleaned, retyped, c2- …)",
    )
    parser.add_argument(
        "--strength",
        choices=["off", "light", "strong"],
        default="light",
        help="marking strength of the plans (default light, the product's default)",
    )
    parser.add_argument("--speed-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.trials = args.trials or (20 if args.quick else 200)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.speed_child:
        print(json.dumps(trace_speed(load_bench(args.seed, args.strength))))
        return 0
    return benchmark(args)


if __name__ == "__main__":
    sys.exit(main())
