"""Keyed pseudo-random values for code positions and members, vectorised with numpy.

Every value is a function of a secret 32-byte material key: per-position biases from
``mix(key_word ^ position_id)``, per-member symbols from ``mix(member_seed ^ position_id)``
where a member's seed is an HMAC of the key. Nothing per member is stored; whoever holds
the key recomputes any member's symbols at any position. Colluders see their own symbols
only, and an HMAC-derived seed reveals nothing about anyone else's.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable

import numpy as np

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)


def mix64(values: np.ndarray) -> np.ndarray:
    """SplitMix64's finaliser: a bijective, well-diffusing mix of 64-bit words."""
    with np.errstate(over="ignore"):
        z = values.astype(np.uint64, copy=True) + _GOLDEN
        z ^= z >> np.uint64(30)
        z *= _M1
        z ^= z >> np.uint64(27)
        z *= _M2
        z ^= z >> np.uint64(31)
    return z


def key_word(key: bytes, label: str) -> np.uint64:
    """A 64-bit word derived from the key for one use (``bias``, ``slot`` …)."""
    digest = hmac.new(key, b"wenxing:fp:" + label.encode(), hashlib.sha256).digest()
    return np.uint64(int.from_bytes(digest[:8], "little"))


def member_seeds(key: bytes, members: Iterable[str]) -> np.ndarray:
    """One secret 64-bit seed per member (by the member's public number or id)."""
    seeds = [
        int.from_bytes(
            hmac.new(key, b"wenxing:fp:member:" + m.encode(), hashlib.sha256).digest()[:8],
            "little",
        )
        for m in members
    ]
    return np.array(seeds, dtype=np.uint64)


def keyed(word: np.uint64, ids: np.ndarray) -> np.ndarray:
    """``mix(word ^ mix(id))`` for every id: independent-looking values per (word, id)."""
    return mix64(mix64(ids) ^ word)


def uniform01(values: np.ndarray) -> np.ndarray:
    """Map 64-bit words to floats in [0, 1) using their top 53 bits."""
    return (values >> np.uint64(11)).astype(np.float64) * (1.0 / (1 << 53))


def mix64_inplace(z: np.ndarray, tmp: np.ndarray) -> None:
    """:func:`mix64` in place on ``z`` (``tmp`` is scratch of the same shape)."""
    with np.errstate(over="ignore"):
        z += _GOLDEN
        np.right_shift(z, np.uint64(30), out=tmp)
        z ^= tmp
        z *= _M1
        np.right_shift(z, np.uint64(27), out=tmp)
        z ^= tmp
        z *= _M2
        np.right_shift(z, np.uint64(31), out=tmp)
        z ^= tmp
