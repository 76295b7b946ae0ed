"""Character shingles, MinHash signatures and LSH bands for near-duplicate detection.

Two materials are near-duplicates when the Jaccard similarity of their sets of 5-character
shingles (over text without spaces and punctuation) is high. A 64-value MinHash signature
estimates it; 16 bands of 4 values index the signature, so that a pair with similarity 0.9
shares a band with probability above 0.999 and the database finds candidates by equality.
Candidates are then compared exactly.
"""

from __future__ import annotations

import re
import unicodedata

import numpy as np

SHINGLE = 5
PERMUTATIONS = 64
BANDS = 16
ROWS = PERMUTATIONS // BANDS
_RNG = np.random.default_rng(20261126)  # fixed: signatures must be comparable across runs
# Multiply-shift hashing, (a*x + b mod 2^64) >> 32 with odd a: a universal family, cheap in numpy.
_A = _RNG.integers(0, 1 << 63, size=PERMUTATIONS, dtype=np.uint64) * np.uint64(2) + np.uint64(1)
_B = _RNG.integers(0, 1 << 63, size=PERMUTATIONS, dtype=np.uint64)
_STRIP = re.compile(r"[\s\W_]+", re.UNICODE)
_BASE = np.uint64(1_000_003)


def shingle_text(body: str) -> str:
    """What shingles are taken over: NFKC, no spaces, no punctuation."""
    return _STRIP.sub("", unicodedata.normalize("NFKC", body))


def rolling_hashes(text: str, width: int, base: np.uint64 = _BASE) -> np.ndarray:
    """A well-mixed 64-bit hash of every ``width``-character window of ``text``."""
    codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    count = len(codes) - width + 1
    if count <= 0:
        return np.zeros(0, dtype=np.uint64)
    hashes = np.zeros(count, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for offset in range(width):
            hashes = hashes * base + codes[offset : offset + count]
        hashes ^= hashes >> np.uint64(29)
        hashes *= np.uint64(0xBF58476D1CE4E5B9)
        hashes ^= hashes >> np.uint64(32)
    return hashes


def shingle_hashes(body: str) -> np.ndarray:
    """The distinct 64-bit hashes of the text's 5-character shingles."""
    text = shingle_text(body)
    if 0 < len(text) < SHINGLE:
        text = text + "\0" * (SHINGLE - len(text))
    return np.unique(rolling_hashes(text, SHINGLE))


def minhash(hashes: np.ndarray) -> np.ndarray:
    """A MinHash signature (``PERMUTATIONS`` uint64 values) of a set of shingle hashes."""
    if len(hashes) == 0:
        return np.full(PERMUTATIONS, np.iinfo(np.uint64).max, dtype=np.uint64)
    with np.errstate(over="ignore"):
        mixed = (_A[:, None] * hashes[None, :] + _B[:, None]) >> np.uint64(32)
    return mixed.min(axis=1)


def bands(signature: np.ndarray) -> list[int]:
    """One signed 63-bit value per band, for an indexed BIGINT column."""
    values = []
    for band in range(BANDS):
        chunk = signature[band * ROWS : (band + 1) * ROWS].tobytes()
        value = int.from_bytes(chunk[:8], "little") ^ int.from_bytes(chunk[8:16], "little") * 31
        for start in range(16, len(chunk), 8):
            value = (value * 1_000_003) ^ int.from_bytes(chunk[start : start + 8], "little")
        values.append((value & ((1 << 63) - 1)) - (1 << 62))
    return values


def signature_bytes(signature: np.ndarray) -> bytes:
    return signature.astype("<u8").tobytes()


def jaccard(a: np.ndarray, b: np.ndarray) -> float:
    """Exact Jaccard similarity of two sets of shingle hashes."""
    if len(a) == 0 and len(b) == 0:
        return 1.0
    inter = len(np.intersect1d(a, b, assume_unique=True))
    return inter / (len(a) + len(b) - inter)
