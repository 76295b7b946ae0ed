"""Scoring the recipients of a material version against a reading, and accusing.

Every recipient is scored on the whole evidence and, when the evidence has several lines,
on each line with enough readable positions (pasted paragraphs from different copies are
each a single-leaker case and need far fewer positions than a whole-text collusion
decoder). Each (recipient, segment) pair is one test; a recipient is accused when one of
their tests passes its threshold, the score at which the Chernoff bound times the number
of tests falls to the allowed total. So the chance that anyone innocent is accused in this
trace is at most the total bound, whatever the colluders did.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from wenxing.fingerprint import code, prf
from wenxing.fingerprint.bound import evidence_bound
from wenxing.fingerprint.read import Reading

DEFAULT_TOTAL_BOUND = 1e-6
MIN_SEGMENT_POSITIONS = 24
CHUNK_POSITIONS = 128  # one-line evidence is cut into runs of this many positions


@dataclass(frozen=True)
class MemberScore:
    member: str
    score: float  # on the whole evidence
    threshold: float  # for the whole evidence
    best_segment: int | None  # evidence line whose test was strongest (None: the whole text)
    bound: float  # probability bound that an innocent does this well (all tests counted)
    accused: bool
    log10_bound: float = 0.0  # the same bound as a power of ten (bounds underflow floats)


@dataclass(frozen=True)
class Verdict:
    positions: int
    tests: int
    total_bound: float
    threshold: float
    scores: list[MemberScore]  # strongest first

    @property
    def accused(self) -> list[MemberScore]:
        return [s for s in self.scores if s.accused]


def _segments(reading: Reading) -> list[tuple[int, np.ndarray]]:
    """(evidence line, positions) for every line with enough positions.

    Evidence on a single line (paragraphs pasted together, whitespace removed) is cut into
    consecutive runs of positions instead, so that pieces from different copies are still
    each tested as a single-leaker case.
    """
    lines, counts = np.unique(reading.lines, return_counts=True)
    if len(lines) < 2:
        return _chunks(reading)
    return [
        (int(line), reading.lines == line)
        for line, count in zip(lines, counts, strict=True)
        if count >= MIN_SEGMENT_POSITIONS
    ]


def _chunks(reading: Reading) -> list[tuple[int, np.ndarray]]:
    total = len(reading.position_ids)
    if total < 2 * CHUNK_POSITIONS:
        return []
    order = np.argsort(reading.offsets, kind="stable")
    line = int(reading.lines[0])
    chunks = []
    for start in range(0, total - CHUNK_POSITIONS // 2, CHUNK_POSITIONS):
        mask = np.zeros(total, dtype=bool)
        mask[order[start : start + CHUNK_POSITIONS]] = True
        chunks.append((line, mask))
    return chunks


def accuse(
    reading: Reading,
    key: bytes,
    recipients: Sequence[str],
    total_bound: float = DEFAULT_TOTAL_BOUND,
) -> Verdict:
    """Score ``recipients`` (members who were issued this version) against ``reading``."""
    ids, y = reading.position_ids, reading.symbols
    pieces = _segments(reading)
    segment_lines = [line for line, _mask in pieces]
    segments = [mask for _line, mask in pieces]
    tests = max(1, len(recipients) * (1 + len(segments)))
    log_target = math.log(total_bound / tests)
    if len(ids) == 0 or not recipients:
        return Verdict(
            len(ids),
            tests,
            total_bound,
            math.inf,
            [MemberScore(m, 0.0, math.inf, None, 1.0, False) for m in recipients],
        )
    p = code.biases(key, ids)
    masks = [np.ones(len(ids), dtype=bool), *segments]
    bounds = [evidence_bound(p[m], y[m]) for m in masks]
    thresholds = np.array([b.threshold(log_target) for b in bounds])
    one, zero = code.score_weights(p, y)
    table = code.score_members(
        key, prf.member_seeds(key, recipients), ids, p, [(one - zero, m) for m in masks]
    )
    table += np.array([zero[m].sum() for m in masks])[None, :]
    # Exact bounds for members near a threshold; for the rest 1.0 is a valid (if loose) bound.
    near = np.flatnonzero((table >= 0.5 * thresholds[None, :]).any(axis=1))
    member_log10 = np.zeros(len(recipients))
    best = np.zeros(len(recipients), dtype=np.int64)
    if len(near):
        log_tails = np.stack(
            [
                np.minimum(0.0, np.min(-np.outer(table[near, t], b.alphas) + b.cumulants, 1))
                for t, b in enumerate(bounds)
            ],
            axis=1,
        )
        best[near] = np.argmin(log_tails, axis=1)
        member_log10[near] = np.minimum(
            0.0, (math.log(tests) + log_tails.min(axis=1)) / math.log(10)
        )
    accused = np.asarray((table >= thresholds[None, :]).any(axis=1))
    results = [
        MemberScore(
            member=member,
            score=float(table[row, 0]),
            threshold=float(thresholds[0]),
            best_segment=None if best[row] == 0 else segment_lines[best[row] - 1],
            bound=float(10.0 ** member_log10[row]),
            accused=bool(accused[row]),
            log10_bound=float(member_log10[row]),
        )
        for row, member in enumerate(recipients)
    ]
    results.sort(key=lambda s: (s.log10_bound, -s.score))
    return Verdict(len(ids), tests, total_bound, float(thresholds[0]), results)
