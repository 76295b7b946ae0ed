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
from wenxing.fingerprint.bound import _ALPHAS, evidence_bound, table_bound
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


def accuse(
    reading: Reading,
    key: bytes,
    recipients: Sequence[str],
    total_bound: float = DEFAULT_TOTAL_BOUND,
) -> Verdict:
    """Score ``recipients`` (members who were issued this version) against ``reading``."""
    ids, y = reading.position_ids, reading.symbols
    codes = layers.code_of(ids)
    present = sorted(set(codes.tolist()))
    names = tuple(layers.name_of(c) for c in present)
    families = layers.subsets(len(present))
    piece, pieces = _pieces(reading)
    segment_lines = [None, *(line for line, _piece in pieces)]
    segments = [None, *(k for _line, k in pieces)]
    fitted_layers = [i for i, c in enumerate(present) if c in PRESENCE_CODES]
    fitted = bool(fitted_layers)
    tests = max(1, len(recipients) * (len(segments) * max(1, len(families)) + fitted))
    if len(ids) == 0 or not recipients:
        return Verdict(
            len(ids),
            tests,
            total_bound,
            math.inf,
            [MemberScore(m, 0.0, math.inf, None, 1.0, False) for m in recipients],
            names,
        )
    headline, twin, rest = _shares(len(segments), len(families), fitted)
    log_base = math.log(total_bound / len(recipients))
    p = code.biases(key, ids)
    count = len(present)
    in_layer = [codes == c for c in present]
    # Scores and cumulants per cell (piece × layer); a segment's or the whole evidence's
    # per-layer figures are sums of cells. Then one column per fitted presence layer.
    # Layer-major cells follow the position ids (layer, then text order): the scorer's
    # fast path.
    piece_count = int(piece.max()) + 1
    cells = np.searchsorted(np.array(present), codes) * piece_count + piece
    cell_count = piece_count * count
    one, zero = code.score_weights(p, y)
    extra = np.zeros((len(ids), len(fitted_layers)))
    extra_offsets = np.zeros(len(fitted_layers))
    fitted_cumulants = np.zeros_like(_ALPHAS)
    for j, i in enumerate(fitted_layers):
        m = in_layer[i]
        fit_one, fit_zero = code.fitted_weights(p[m], y[m])
        extra[m, j] = fit_one - fit_zero
        extra_offsets[j] = fit_zero.sum()
        fitted_cumulants += table_bound(p[m], fit_one, fit_zero).cumulants
    cell_scores, fitted_scores = code.score_cells(
        key, prf.member_seeds(key, recipients), ids, p, one - zero, cells, cell_count, extra
    )
    cell_scores += np.bincount(cells, weights=zero, minlength=cell_count)[None, :]
    fitted_scores += extra_offsets[None, :]
    cell_cumulants = np.zeros((cell_count, len(_ALPHAS)))
    for cell in np.unique(cells).tolist():
        m = cells == cell
        cell_cumulants[cell] = evidence_bound(p[m], y[m]).cumulants
    by_piece = cell_scores.reshape(len(recipients), count, piece_count).transpose(0, 2, 1)
    cumulants_by_piece = cell_cumulants.reshape(count, piece_count, -1).transpose(1, 0, 2)
    layer_tables = [by_piece.sum(axis=1), *(by_piece[:, k, :] for _line, k in pieces)]
    layer_cumulants = [
        cumulants_by_piece.sum(axis=0),
        *(cumulants_by_piece[k] for _line, k in pieces),
    ]
    # Families as a (layers × families) 0/1 matrix: a family's score and cumulants are sums.
    choose = np.zeros((len(present), len(families)))
    for f, family in enumerate(families):
        choose[list(family), f] = 1.0
    accused = np.zeros(len(recipients), dtype=bool)
    best_log = np.zeros(len(recipients))  # log of each member's best tail bound / share
    best_test = np.zeros((len(recipients), 2), dtype=np.int64)  # (segment, family)
    layer_log = np.zeros((len(recipients), count))
    all_family = len(families) - 1  # the last family is every layer
    whole_scores = layer_tables[0] @ choose[:, all_family]
    whole_threshold = math.inf
    for s in range(len(segments)):
        scores = layer_tables[s] @ choose  # members × families
        family_cumulants = choose.T @ layer_cumulants[s]  # families × α
        log_share = np.full(len(families), math.log(rest) if rest else -math.inf)
        if s == 0:
            log_share[all_family] = math.log(headline)
        if s == 0 and fitted:
            # The fitted twin of the headline test: the presence layers' columns swapped
            # for their fitted scores.
            swap = fitted_scores.sum(axis=1) - layer_tables[0][:, fitted_layers].sum(axis=1)
            twin_cumulants = (
                family_cumulants[all_family]
                - layer_cumulants[0][fitted_layers].sum(axis=0)
                + fitted_cumulants
            )
            scores = np.column_stack([scores, scores[:, all_family] + swap])
            family_cumulants = np.vstack([family_cumulants, twin_cumulants])
            log_share = np.append(log_share, math.log(twin))
        usable = np.isfinite(log_share)
        log_target = log_base + log_share
        thresholds = np.full(len(log_share), math.inf)
        thresholds[usable] = np.min(
            (family_cumulants[usable] - log_target[usable, None]) / _ALPHAS[None, :], axis=1
        )
        if s == 0:
            whole_threshold = float(thresholds[all_family])
        accused |= (scores >= thresholds[None, :]).any(axis=1)
        # Exact bounds for members near a threshold; 1.0 is a valid (loose) bound for others.
        # (A fitted score's threshold can be negative: innocents' scores are then mostly far
        # below it. "Near" is measured from the threshold either way.)
        near_line = thresholds - (1.0 - NEAR) * np.abs(thresholds)
        near = np.flatnonzero((scores >= near_line[None, :]).any(axis=1))
        if not len(near):
            continue
        tails = _tails(scores[near], family_cumulants) - np.where(usable, log_share, 0.0)
        tails[:, ~usable] = 0.0
        if s == 0:
            layer_log[near] = tails[:, :count]  # the first families are the single layers
        least = tails.min(axis=1)
        better = least < best_log[near]
        best_log[near[better]] = least[better]
        chosen = np.minimum(tails.argmin(axis=1), all_family)  # the twin counts as every layer
        best_test[near[better]] = np.stack([np.full(better.sum(), s), chosen[better]], axis=1)
    log_recipients = math.log(len(recipients))
    member_log10 = np.minimum(0.0, (log_recipients + best_log) / _LOG10)
    layer_log10 = np.minimum(0.0, (log_recipients + layer_log) / _LOG10)
    results = []
    for row, member in enumerate(recipients):
        segment, family = best_test[row]
        results.append(
            MemberScore(
                member=member,
                score=float(whole_scores[row]),
                threshold=whole_threshold,
                best_segment=segment_lines[segment],
                bound=float(10.0 ** member_log10[row]),
                accused=bool(accused[row]),
                log10_bound=float(member_log10[row]),
                basis=tuple(names[i] for i in families[family]) if best_log[row] < 0 else (),
                layer_log10={
                    names[i]: round(float(layer_log10[row, i]), 2)
                    for i in range(count)
                    if layer_log10[row, i] < 0
                },
            )
        )
    results.sort(key=lambda s: (s.log10_bound, -s.score))
    return Verdict(
        len(ids),
        tests,
        total_bound,
        whole_threshold,
        results,
        names,
        reading.layer_positions(),
    )
