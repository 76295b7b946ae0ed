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


# --- exact tails ---------------------------------------------------------------------------
#
# The Chernoff bound is loose by a factor that grows with the spread of the score (about
# 1/(α·σ√2π)); for short evidence that is a few units of score, the margin by which many
# short excerpts miss. An innocent's score is a sum over few classes of positions (same
# bias, same table row), each class a binomial count, so its whole distribution can be
# worked out. Each class's total is rounded *up* to a grid of step δ: the rounded score is
# never below the true one, so its tail bounds the true tail. The classes are convolved by
# FFT after tilting every class by e^{θ·value} (θ: the Chernoff-optimal α for the target),
# which puts the tail that matters at the centre of the tilted distribution, where the
# FFT's absolute error (at most _FFT_ERROR a grid point, added to every point) is
# negligible; untilting is exact on the grid.

_EXACT_POINTS = 1 << 14  # grid points the rounded score spans (at most)
_FFT_ERROR = 1e-12  # added to every point of the tilted distribution (its total is 1)


@dataclass(frozen=True)
class ExactTail:
    """Upper bounds of an innocent's tail on a grid: ``log P(score ≥ (lo + k)·delta)``."""

    delta: float
    lo: int
    log_tails: np.ndarray  # non-increasing, ≤ 0

    def log_tail(self, score: float) -> float:
        """log P(an innocent's score ≥ score), bounded."""
        k = math.ceil(score / self.delta - 1e-9) - self.lo
        if k <= 0:
            return 0.0
        return float(self.log_tails[min(k, len(self.log_tails) - 1)])

    def threshold(self, log_target: float) -> float:
        """The least grid score with bound ≤ exp(log_target) (inf: none)."""
        ok = np.flatnonzero(self.log_tails <= log_target)
        return (self.lo + int(ok[0])) * self.delta if len(ok) else math.inf


def _log_binomial(k: int, bias: float) -> np.ndarray:
    """log P(n of k positions hold 1), n = 0 … k."""
    n = np.arange(k + 1)
    steps = np.log(np.arange(k, 0, -1, dtype=np.float64)) - np.log(np.arange(1, k + 1))
    log_choose = np.concatenate([[0.0], np.cumsum(steps)])
    return log_choose + n * math.log(bias) + (k - n) * math.log1p(-bias)


def exact_tail(
    p: np.ndarray,
    holds_one: np.ndarray,
    holds_zero: np.ndarray,
    log_target: float,
    cumulants: np.ndarray | None = None,
) -> ExactTail:
    """The tail of an innocent's score for a per-position score table (as
    :func:`table_bound`), tightest near ``log_target``. ``cumulants``: the table's
    :func:`table_bound` cumulants, when the caller has them (they only choose the tilt)."""
    if len(p) == 0:  # nothing to accuse on
        return ExactTail(1.0, 0, np.zeros(1))
    classes, counts = np.unique(np.stack([p, holds_one, holds_zero]), axis=1, return_counts=True)
    values, log_pmfs = [], []
    for (bias, one, zero), count in zip(classes.T, counts, strict=True):
        n = np.arange(int(count) + 1)
        values.append(n * one + (count - n) * zero)
        log_pmfs.append(_log_binomial(int(count), float(bias)))
    span = sum(float(v.max() - v.min()) for v in values)
    delta = max(span / (_EXACT_POINTS // 2), 1e-9) if span > 0 else 1.0
    if cumulants is None:
        cumulants = table_bound(p, holds_one, holds_zero).cumulants
    theta = float(_ALPHAS[np.argmin((cumulants - log_target) / _ALPHAS)])
    lo, log_norm, spectra = 0, 0.0, []
    grids = [np.ceil(v / delta - 1e-9).astype(np.int64) for v in values]
    size = sum(int(g.max() - g.min()) for g in grids) + 1
    fft_size = 1 << max(1, (size - 1).bit_length())
    for grid, log_pmf in zip(grids, log_pmfs, strict=True):
        low = int(grid.min())
        tilted = log_pmf + theta * grid * delta
        top = float(tilted.max())
        mass = np.zeros(int(grid.max()) - low + 1)
        np.add.at(mass, grid - low, np.exp(tilted - top))
        total = float(mass.sum())
        lo += low
        log_norm += top + math.log(total)
        spectra.append(np.fft.rfft(mass / total, fft_size))
    tilted_sum = np.fft.irfft(np.prod(spectra, axis=0), fft_size)[:size]
    points = np.log(np.maximum(tilted_sum, 0.0) + _FFT_ERROR)
    log_points = points + log_norm - theta * (lo + np.arange(size)) * delta
    log_tails = np.logaddexp.accumulate(log_points[::-1])[::-1]
    return ExactTail(delta, lo, np.minimum(log_tails, 0.0))
