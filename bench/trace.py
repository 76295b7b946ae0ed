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
from functools import partial
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import numpy as np

from wenxing.config import DEFAULT_MASTHEAD
from wenxing.fingerprint import (
    Plan,
    Profile,
    accuse,
    build_plan,
    mark,
    parse_variant_list,
    read_evidence,
    slot_symbols,
)
from wenxing.fingerprint.plan import GLYPHS, LAYER_NAMES, VS, VS_MARKS, ZW, ZW_MARKS
from wenxing.materials.cleaning import Cleaner
from wenxing.materials.keywords import words
from wenxing.materials.outline import parse

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
SAMPLE = REPO / "src" / "wenxing" / "demo" / "sample.txt"
VARIANTS = REPO / "src" / "wenxing" / "fingerprint" / "data" / "variants.txt"
OUT = BENCH / "out" / "trace.json"

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
    out[differ & ((layer == ZW) | (layer == VS))] = -1
    return out


def _symbol_counts(symbols: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """(slots × 4) how many colluders hold each symbol, plus a jitter in [0, 1) for ties."""
    counts = np.stack([(symbols == s).sum(axis=0) for s in range(4)], axis=1)
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

    A negative symbol on a zero-width or variation-selector slot leaves the mark out.
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
            if symbol >= 0:
                pieces.append((ZW_MARKS if layer == ZW else VS_MARKS)[symbol])
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

    def copy(self, member: str) -> str:
        if member not in self._copies:
            self._copies[member] = mark(self.base, self.plan, self.key, member)
        return self._copies[member]

    def symbols(self, member: str) -> np.ndarray:
        if member not in self._symbols:
            self._symbols[member] = slot_symbols(self.plan, self.key, member)
        return self._symbols[member]

    def render(self, symbols: np.ndarray) -> str:
        return render(self.base, self.plan, symbols)


def load_bench(seed: int) -> Bench:
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
        plan = build_plan(base, key, tokens, variants, Profile("light"))
        plan_times.append((time.perf_counter() - started) * 1000)
    pool = [ch for ch in base if "\u4e00" <= ch <= "\u9fff"]
    setup = {"words_ms": words_ms, "plan_ms": statistics.median(plan_times)}
    return Bench(base, key, plan, member_ids(RECIPIENTS), pool, setup)


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
        "margin": max(leaker_scores) / verdict.threshold if verdict.positions else 0.0,
        "max_bound": max((s.bound for s in accused), default=None),
        "total_bound": verdict.total_bound,
        "tests": verdict.tests,
        "read_ms": (read_done - started) * 1000,
        "trace_ms": (finished - started) * 1000,
        "cpu_ms": cpu_ms,
    }


def run_row(bench: Bench, row: Row, trials: int, seed: int) -> dict[str, Any]:
    rng = random.Random(f"{seed}:{row.id}")
    outcomes = []
    for _ in range(trials):
        leakers = rng.sample(bench.recipients, row.colluders)
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
    return {
        "id": row.id,
        "label": row.label,
        "colluders": row.colluders,
        "trials": len(outcomes),
        "target": row.target,
        "detection": detection,
        "false_accusations": false,
        "trials_with_false_accusation": sum(o["false"] > 0 for o in outcomes),
        "max_bound": max_bound,
        "total_bound": total_bound,
        "result": "PASS" if detection >= row.target and false == 0 and bound_ok else "MISS",
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


def one_thread_trace_speed(seed: int) -> dict[str, Any]:
    """:func:`trace_speed` again in a subprocess whose BLAS runs on one thread (diagnosis only).

    The scorer's matrix products go to BLAS, which starts a thread per core; when another
    process holds a core those threads spin waiting for each other, so the comparison
    tells contention apart from the trace's own cost.
    """
    command = [sys.executable, str(Path(__file__).resolve()), "--speed-child", f"--seed={seed}"]
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


def print_diagnosis(rows: list[dict[str, Any]]) -> None:
    print(
        "\nDiagnosis (medians over trials; slots read per layer; margin = best leaker's "
        "whole-text score / threshold)"
    )
    print(
        f"{'row':<16} {'zw':>5} {'vs':>5} {'glyph':>5} {'word':>5} {'coverage':>8} "
        f"{'min pos':>7} {'margin med/min':>14} {'leakers accused':>15} {'read ms':>7} "
        f"{'CPU ms':>6}"
    )
    for row in rows:
        read = row["median_slots_read"]
        margin = f"{row['median_margin']:.2f}/{row['min_margin']:.2f}"
        leakers = f"{row['mean_leakers_accused']:.2f} of {row['colluders']}"
        print(
            f"{row['id']:<16} {read['zero-width']:>5.0f} {read['variation-selector']:>5.0f} "
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
    for row in all_rows():
        if row.id.startswith(tuple(args.only)):
            results.append(run_row(bench, row, args.trials, args.seed))
            print_row(results[-1])
            load_max = max(load_max, os.getloadavg()[0])
    return results, load_max


def benchmark(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    load_before = os.getloadavg()[0]
    bench = load_bench(args.seed)
    checks = self_check(bench)
    print(
        f"Trace benchmark — {len(bench.base)}-character sample, {RECIPIENTS} recipients, "
        f"{args.trials} trials per row, seed {args.seed}; plan slots {bench.plan.counts()}"
    )
    print(f"self-check: {checks}\n")
    results, load_max = run_rows(bench, args)
    print_diagnosis(results)
    speed_result = mark_speed(bench) | trace_speed(bench)
    speed_result["one_thread"] = one_thread_trace_speed(args.seed)
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
    print(
        f"\ntotal benchmark time {meta['total_seconds']:.0f} s; figures in {OUT.relative_to(REPO)}"
    )
    OUT.parent.mkdir(parents=True, exist_ok=True)
    document = {"meta": meta, "rows": results, "speed": speed_result}
    OUT.write_text(
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
    parser.add_argument("--speed-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.trials = args.trials or (20 if args.quick else 200)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.speed_child:
        print(json.dumps(trace_speed(load_bench(args.seed))))
        return 0
    return benchmark(args)


if __name__ == "__main__":
    sys.exit(main())
