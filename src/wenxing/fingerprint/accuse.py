"""Scoring the recipients of a material version against a reading, layer by layer, and
accusing.

The evidence is cut into segments: the whole of it and, when it has several lines, each
line with enough readable positions (pasted paragraphs from different copies are each a
single-leaker case and need far fewer positions than a whole-text collusion decoder); one
long line is cut into runs of positions instead. The positions of a segment belong to
layers (wording, zero-width places, … see :mod:`wenxing.fingerprint.layers`). For every
segment and every non-empty subset of the layers present, each recipient's symmetric
Tardos score over those positions is one test; the whole evidence's every-layer test has a
twin in which the presence layers are scored by the fitted presence score
(:func:`wenxing.fingerprint.code.fitted_weights`: a log-likelihood ratio under the
deletion or insertion the evidence shows). The allowed total is shared out before any
score is seen (a weighted union bound): a quarter to the every-layer test, a quarter to its
twin, the rest equally to every other test; a test's threshold is where the Chernoff bound
of exactly its positions and scores falls to its share, divided by the number of
recipients. A recipient is accused when one of their tests passes. So the chance that
anyone innocent is accused in this trace is at most the total bound, whatever the
colluders did to any layer: a scrambled layer only has tests of its own that nobody
passes, and the subsets without it are tested as if it were not there.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from wenxing.fingerprint import code, layers, prf
from wenxing.fingerprint.bound import (
    _ALPHAS,
    ExactTail,
    evidence_bound,
    exact_tail,
    table_bound,
)
from wenxing.fingerprint.read import Reading

DEFAULT_TOTAL_BOUND = 1e-6
MIN_SEGMENT_POSITIONS = 24
CHUNK_POSITIONS = 128  # one-line evidence is cut into runs of this many positions
# Members scoring this share of a threshold get their exact bound worked out (for the
# report); below it, 1 is the (valid) bound printed.
NEAR = 0.8
_LOG10 = math.log(10)


@dataclass(frozen=True)
class MemberScore:
    member: str
    score: float  # on the whole evidence, every layer
    threshold: float  # for the whole evidence, every layer
    best_segment: int | None  # evidence line whose test was strongest (None: the whole text)
    bound: float  # probability bound that an innocent does this well (all tests counted)
    accused: bool
    log10_bound: float = 0.0  # the same bound as a power of ten (bounds underflow floats)
    basis: tuple[str, ...] = ()  # the layers of the strongest test
    # Per layer on the whole evidence: log10 of the bound that layer alone gives, all tests
    # counted (0 = says nothing). Filled for members near or past a threshold.
    layer_log10: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Verdict:
    positions: int
    tests: int
    total_bound: float
    threshold: float
    scores: list[MemberScore]  # strongest first
    layers: tuple[str, ...] = ()  # layers present in the evidence
    layer_positions: dict[str, int] = field(default_factory=dict)

    @property
    def accused(self) -> list[MemberScore]:
        return [s for s in self.scores if s.accused]


def _pieces(reading: Reading) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """The evidence cut into pieces: (piece of each position, [(evidence line, piece)] for
    the pieces tested as segments of their own).

    The pieces are the evidence's lines, and a line with enough positions is a segment.
    Evidence on a single line (paragraphs pasted together, whitespace removed) is cut into
    consecutive runs of positions instead, so that pieces from different copies are still
    each tested as a single-leaker case.
    """
    total = len(reading.position_ids)
    lines, inverse, counts = np.unique(reading.lines, return_inverse=True, return_counts=True)
    if len(lines) >= 2:
        return inverse.astype(np.int64), [
            (int(lines[k]), k) for k in range(len(lines)) if counts[k] >= MIN_SEGMENT_POSITIONS
        ]
    piece = np.zeros(total, dtype=np.int64)
    if total < 2 * CHUNK_POSITIONS:
        return piece, []
    order = np.argsort(reading.offsets, kind="stable")
    starts = list(range(0, total - CHUNK_POSITIONS // 2, CHUNK_POSITIONS))
    piece[:] = len(starts)  # positions after the last run: in the whole evidence only
    for k, start in enumerate(starts):
        piece[order[start : start + CHUNK_POSITIONS]] = k
    line = int(reading.lines[0])
    return piece, [(line, k) for k in range(len(starts))]


def _tails(scores: np.ndarray, cumulants: np.ndarray, block: int = 64) -> np.ndarray:
    """log P(an innocent reaches each score), bounded: members × families."""
    out = np.empty(scores.shape)
    for start in range(0, len(scores), block):
        part = scores[start : start + block]
        out[start : start + block] = np.min(
            cumulants[None, :, :] - part[:, :, None] * _ALPHAS[None, None, :], axis=2
        )
    return np.minimum(0.0, out)


# Of the total bound, the share of the whole evidence's every-layer test (and as much again
# for its fitted-presence twin, when the evidence has presence layers); the other tests
# share the rest equally. A weighted union bound: every test's allotment is fixed before
# the scores are seen, and the allotments add up to the total.
HEADLINE_SHARE = 0.25
PRESENCE_CODES = (layers.ZW_PLACE_CODE, layers.VS_PLACE_CODE, layers.ZW_SPARSE_CODE)


def _shares(segments: int, families: int, fitted: bool) -> tuple[float, float, float]:
    """(share of the headline test, of its fitted twin, of every other test)."""
    others = segments * families - 1
    if not fitted:
        headline = HEADLINE_SHARE * 2 if others else 1.0
        return headline, 0.0, (1.0 - headline) / others if others else 0.0
    headline = HEADLINE_SHARE if others else 0.5
    twin = 2 * HEADLINE_SHARE if others else 0.5
    rest = (1.0 - headline - twin) / others if others else 0.0
    return headline, twin, rest


@dataclass(frozen=True)
class _Evidence:
    """What every test of one trace shares: the layers present, the segments, the biases
    and the per-position score tables (symmetric, and the fitted twin's)."""

    present: list[int]
    names: tuple[str, ...]
    families: list[tuple[int, ...]]
    piece: np.ndarray
    pieces: list[tuple[int, int]]
    fitted_layers: list[int]
    in_layer: list[np.ndarray]
    p: np.ndarray
    one: np.ndarray
    zero: np.ndarray
    twin_one: np.ndarray  # the fitted twin's table: fitted scores on presence layers
    twin_zero: np.ndarray

    @property
    def segment_count(self) -> int:
        return 1 + len(self.pieces)

    @property
    def all_family(self) -> int:
        return len(self.families) - 1  # the last family is every layer


@dataclass(frozen=True)
class _Tables:
    """Members' scores and the cumulants per (segment, layer); the fitted twin's."""

    layer_scores: list[np.ndarray]  # per segment: members × layers
    layer_cumulants: list[np.ndarray]  # per segment: layers × α
    fitted_swap: np.ndarray  # per member: twin score − every-layer score
    twin_cumulants: np.ndarray  # α


def _evidence(reading: Reading, key: bytes) -> _Evidence:
    ids, y = reading.position_ids, reading.symbols
    codes = layers.code_of(ids)
    present = sorted(set(codes.tolist()))
    piece, pieces = _pieces(reading)
    p = code.biases(key, ids)
    one, zero = code.score_weights(p, y)
    twin_one, twin_zero = one.copy(), zero.copy()
    in_layer = [codes == c for c in present]
    fitted_layers = [i for i, c in enumerate(present) if c in PRESENCE_CODES]
    for i in fitted_layers:
        m = in_layer[i]
        twin_one[m], twin_zero[m] = code.fitted_weights(p[m], y[m])
    return _Evidence(
        present=present,
        names=tuple(layers.name_of(c) for c in present),
        families=layers.subsets(len(present)),
        piece=piece,
        pieces=pieces,
        fitted_layers=fitted_layers,
        in_layer=in_layer,
        p=p,
        one=one,
        zero=zero,
        twin_one=twin_one,
        twin_zero=twin_zero,
    )


def _tables(ev: _Evidence, reading: Reading, key: bytes, recipients: Sequence[str]) -> _Tables:
    """Scores and cumulants per cell (piece × layer); a segment's or the whole evidence's
    per-layer figures are sums of cells. Layer-major cells follow the position ids (layer,
    then text order): the scorer's fast path."""
    ids, y, p = reading.position_ids, reading.symbols, ev.p
    count = len(ev.present)
    piece_count = int(ev.piece.max()) + 1
    codes = layers.code_of(ids)
    cells = np.searchsorted(np.array(ev.present), codes) * piece_count + ev.piece
    cell_count = piece_count * count
    extra = np.zeros((len(ids), len(ev.fitted_layers)))
    extra_offsets = np.zeros(len(ev.fitted_layers))
    fitted_cumulants = np.zeros_like(_ALPHAS)
    for j, i in enumerate(ev.fitted_layers):
        m = ev.in_layer[i]
        extra[m, j] = ev.twin_one[m] - ev.twin_zero[m]
        extra_offsets[j] = ev.twin_zero[m].sum()
        fitted_cumulants += table_bound(p[m], ev.twin_one[m], ev.twin_zero[m]).cumulants
    seeds = prf.member_seeds(key, recipients)
    cell_scores, fitted_scores = code.score_cells(
        key, seeds, ids, p, ev.one - ev.zero, cells, cell_count, extra
    )
    cell_scores += np.bincount(cells, weights=ev.zero, minlength=cell_count)[None, :]
    fitted_scores += extra_offsets[None, :]
    cell_cumulants = np.zeros((cell_count, len(_ALPHAS)))
    for cell in np.unique(cells).tolist():
        m = cells == cell
        cell_cumulants[cell] = evidence_bound(p[m], y[m]).cumulants
    by_piece = cell_scores.reshape(len(recipients), count, piece_count).transpose(0, 2, 1)
    cumulants_by_piece = cell_cumulants.reshape(count, piece_count, -1).transpose(1, 0, 2)
    whole_cumulants = cumulants_by_piece.sum(axis=0)
    return _Tables(
        layer_scores=[by_piece.sum(axis=1), *(by_piece[:, k, :] for _line, k in ev.pieces)],
        layer_cumulants=[whole_cumulants, *(cumulants_by_piece[k] for _line, k in ev.pieces)],
        fitted_swap=fitted_scores.sum(axis=1)
        - by_piece.sum(axis=1)[:, ev.fitted_layers].sum(axis=1),
        twin_cumulants=whole_cumulants.sum(axis=0)
        - whole_cumulants[ev.fitted_layers].sum(axis=0)
        + fitted_cumulants,
    )


def _exact_tails(
    ev: _Evidence, log_targets: np.ndarray, cumulants: np.ndarray, wanted: np.ndarray
) -> dict[int, ExactTail]:
    """Exact tails for the whole evidence's tests that short evidence depends on (each
    layer alone, every layer, and the fitted twin: the column after the families), where
    ``wanted`` (a member is near the Chernoff threshold and not past it)."""
    every = np.ones(len(ev.p), dtype=bool)
    tests = {f: (ev.in_layer[f], ev.one, ev.zero) for f in range(len(ev.present))}
    tests[ev.all_family] = (every, ev.one, ev.zero)
    if ev.fitted_layers:
        tests[len(ev.families)] = (every, ev.twin_one, ev.twin_zero)
    tails = {}
    for f, (m, one, zero) in tests.items():
        if wanted[f] and np.isfinite(log_targets[f]):
            target = float(log_targets[f])
            tails[f] = exact_tail(ev.p[m], one[m], zero[m], target, cumulants[f])
    return tails


def _segment_tests(
    ev: _Evidence, tables: _Tables, s: int, shares: tuple[float, float, float]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Segment ``s``'s tests: (members × tests scores, tests × α cumulants, log shares)."""
    headline, twin, rest = shares
    choose = np.zeros((len(ev.present), len(ev.families)))
    for f, family in enumerate(ev.families):
        choose[list(family), f] = 1.0
    scores = tables.layer_scores[s] @ choose
    cumulants = choose.T @ tables.layer_cumulants[s]
    log_share = np.full(len(ev.families), math.log(rest) if rest else -math.inf)
    if s == 0:
        log_share[ev.all_family] = math.log(headline)
    if s == 0 and ev.fitted_layers:
        # The fitted twin of the headline test: the presence layers' columns swapped for
        # their fitted scores.
        scores = np.column_stack([scores, scores[:, ev.all_family] + tables.fitted_swap])
        cumulants = np.vstack([cumulants, tables.twin_cumulants])
        log_share = np.append(log_share, math.log(twin))
    return scores, cumulants, log_share


@dataclass
class _Decisions:
    """What the tests found so far, per member."""

    accused: np.ndarray
    best_log: np.ndarray  # log of each member's best tail bound / share
    best_test: np.ndarray  # (segment, family) of it
    layer_log: np.ndarray  # the whole evidence's single-layer tails

    @classmethod
    def empty(cls, members: int, layer_count: int) -> _Decisions:
        return cls(
            np.zeros(members, dtype=bool),
            np.zeros(members),
            np.zeros((members, 2), dtype=np.int64),
            np.zeros((members, layer_count)),
        )


def _decide(
    ev: _Evidence,
    s: int,
    tests: tuple[np.ndarray, np.ndarray, np.ndarray],
    log_base: float,
    found: _Decisions,
) -> np.ndarray:
    """Apply segment ``s``'s tests to every member; returns the tests' thresholds."""
    scores, cumulants, log_share = tests
    usable = np.isfinite(log_share)
    log_target = log_base + log_share
    thresholds = np.full(len(log_share), math.inf)
    thresholds[usable] = np.min(
        (cumulants[usable] - log_target[usable, None]) / _ALPHAS[None, :], axis=1
    )
    # Exact bounds for members near a threshold; 1.0 is a valid (loose) bound for others.
    # (A fitted score's threshold can be negative: innocents' scores are then mostly far
    # below it. "Near" is measured from the threshold either way.)
    near_line = thresholds - (1.0 - NEAR) * np.abs(thresholds)
    exact = {}
    if s == 0:  # the exact tail can only change the verdict of a member near, not past
        undecided = (scores >= near_line[None, :]) & (scores < thresholds[None, :])
        exact = _exact_tails(ev, log_target, cumulants, undecided.any(axis=0))
    for f, tail in exact.items():
        thresholds[f] = min(thresholds[f], tail.threshold(float(log_target[f])))
    near_line = np.minimum(near_line, thresholds - (1.0 - NEAR) * np.abs(thresholds))
    found.accused |= (scores >= thresholds[None, :]).any(axis=1)
    near = np.flatnonzero((scores >= near_line[None, :]).any(axis=1))
    if not len(near):
        return thresholds
    tails = _tails(scores[near], cumulants)
    for f, tail in exact.items():
        exact_logs = np.array([tail.log_tail(float(v)) for v in scores[near, f]])
        tails[:, f] = np.minimum(tails[:, f], exact_logs)
    tails = tails - np.where(usable, log_share, 0.0)
    tails[:, ~usable] = 0.0
    if s == 0:
        found.layer_log[near] = tails[:, : len(ev.present)]  # the single layers come first
    least = tails.min(axis=1)
    better = least < found.best_log[near]
    found.best_log[near[better]] = least[better]
    chosen = np.minimum(tails.argmin(axis=1), ev.all_family)  # the twin counts as every layer
    found.best_test[near[better]] = np.stack([np.full(better.sum(), s), chosen[better]], axis=1)
    return thresholds


def _member_scores(
    ev: _Evidence,
    recipients: Sequence[str],
    found: _Decisions,
    whole_scores: np.ndarray,
    whole_threshold: float,
) -> list[MemberScore]:
    segment_lines = [None, *(line for line, _piece in ev.pieces)]
    log_recipients = math.log(len(recipients))
    member_log10 = np.minimum(0.0, (log_recipients + found.best_log) / _LOG10)
    layer_log10 = np.minimum(0.0, (log_recipients + found.layer_log) / _LOG10)
    results = []
    for row, member in enumerate(recipients):
        segment, family = found.best_test[row]
        results.append(
            MemberScore(
                member=member,
                score=float(whole_scores[row]),
                threshold=whole_threshold,
                best_segment=segment_lines[segment],
                bound=float(10.0 ** member_log10[row]),
                accused=bool(found.accused[row]),
                log10_bound=float(member_log10[row]),
                basis=tuple(ev.names[i] for i in ev.families[family])
                if found.best_log[row] < 0
                else (),
                layer_log10={
                    ev.names[i]: round(float(layer_log10[row, i]), 2)
                    for i in range(len(ev.present))
                    if layer_log10[row, i] < 0
                },
            )
        )
    results.sort(key=lambda s: (s.log10_bound, -s.score))
    return results


def accuse(
    reading: Reading,
    key: bytes,
    recipients: Sequence[str],
    total_bound: float = DEFAULT_TOTAL_BOUND,
) -> Verdict:
    """Score ``recipients`` (members who were issued this version) against ``reading``."""
    ev = _evidence(reading, key)
    fitted = bool(ev.fitted_layers)
    families = max(1, len(ev.families))
    tests = max(1, len(recipients) * (ev.segment_count * families + fitted))
    if reading.positions == 0 or not recipients:
        return Verdict(
            reading.positions,
            tests,
            total_bound,
            math.inf,
            [MemberScore(m, 0.0, math.inf, None, 1.0, False) for m in recipients],
            ev.names,
        )
    shares = _shares(ev.segment_count, len(ev.families), fitted)
    log_base = math.log(total_bound / len(recipients))
    tables = _tables(ev, reading, key, recipients)
    found = _Decisions.empty(len(recipients), len(ev.present))
    whole_threshold = math.inf
    for s in range(ev.segment_count):
        segment_tests = _segment_tests(ev, tables, s, shares)
        thresholds = _decide(ev, s, segment_tests, log_base, found)
        if s == 0:
            whole_threshold = float(thresholds[ev.all_family])
    whole_scores = tables.layer_scores[0].sum(axis=1)
    return Verdict(
        reading.positions,
        tests,
        total_bound,
        whole_threshold,
        _member_scores(ev, recipients, found, whole_scores, whole_threshold),
        ev.names,
        reading.layer_positions(),
    )
