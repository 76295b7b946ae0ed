"""Rigorous false-accusation bounds from the actual evidence (Chernoff).

An innocent member's symbols are independent of the evidence, so for any α > 0
``P(score ≥ s) ≤ exp(−α·s + Λ(α))`` with ``Λ(α) = Σ_i log E_x[exp(α·U(x, y_i, p_i))]``.
The bound depends only on the evidence (``y``, ``p``), not on the member, so one threshold
serves every member scored; it is multiplied by the number of (member, segment) tests.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

_ALPHAS = np.geomspace(1e-3, 8.0, 400)


@dataclass(frozen=True)
class Bound:
    """The evidence's cumulant function, tabulated on a grid of α."""

    alphas: np.ndarray
    cumulants: np.ndarray  # Λ(α) for each α

    def log_tail(self, score: float) -> float:
        """log P(an innocent's score ≥ score), bounded."""
        return float(min(0.0, np.min(-self.alphas * score + self.cumulants)))

    def threshold(self, log_target: float) -> float:
        """The least score s with bound ≤ exp(log_target)."""
        return float(np.min((self.cumulants - log_target) / self.alphas))


def evidence_bound(p: np.ndarray, y: np.ndarray) -> Bound:
    """Tabulate Λ(α) for readable positions with biases ``p`` and evidence symbols ``y``."""
    if len(p) == 0:
        return Bound(_ALPHAS, np.zeros_like(_ALPHAS))
    # Positions fall into few (p, y) classes; count them instead of summing per position.
    classes, counts = np.unique(np.stack([p, y.astype(np.float64)]), axis=1, return_counts=True)
    total = np.zeros_like(_ALPHAS)
    for (bias, symbol), count in zip(classes.T, counts, strict=True):
        up = math.sqrt((1 - bias) / bias)
        down = math.sqrt(bias / (1 - bias))
        if symbol == 1:  # holding 1 scores +up (prob p), holding 0 scores −down
            terms = (np.log(bias) + _ALPHAS * up, np.log(1 - bias) - _ALPHAS * down)
        else:  # holding 0 scores +down (prob 1−p), holding 1 scores −up
            terms = (np.log(1 - bias) + _ALPHAS * down, np.log(bias) - _ALPHAS * up)
        total += count * np.logaddexp(*terms)
    return Bound(_ALPHAS, total)


def table_bound(p: np.ndarray, holds_one: np.ndarray, holds_zero: np.ndarray) -> Bound:
    """Λ(α) for any per-position score table: an innocent member holding 1 (probability
    ``p``) scores ``holds_one``, holding 0 scores ``holds_zero``.

    The table may be chosen from the evidence (and the biases) in any way: an innocent's
    symbols are independent of both, so the bound holds for the score it defines.
    """
    if len(p) == 0:
        return Bound(_ALPHAS, np.zeros_like(_ALPHAS))
    rows = np.stack([p, holds_one, holds_zero])
    classes, counts = np.unique(rows, axis=1, return_counts=True)
    total = np.zeros_like(_ALPHAS)
    for (bias, one, zero), count in zip(classes.T, counts, strict=True):
        total += count * np.logaddexp(
            math.log(bias) + _ALPHAS * one, math.log(1.0 - bias) + _ALPHAS * zero
        )
    return Bound(_ALPHAS, total)
