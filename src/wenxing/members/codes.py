"""Activation codes (卡密): generation, display format, and checked normalisation of entries.

A code is 16 random Crockford base32 characters (80 bits) followed by one check character
from the same alphabet, shown as ``XXXX-XXXX-XXXX-XXXX-X`` and stored canonically as the
17 characters without dashes. On entry, case, spaces and dashes are ignored, full-width
forms are folded (NFKC), and I/L read as 1, O as 0 (Crockford decoding). An entry of the
right shape whose check character does not match is a typo (:class:`CodeTypo`), never a
code: the caller must not look it up.

Check scheme
------------
Each character is a value 0..31, read as an element of the field GF(32) = GF(2)[x] /
(x^5 + x^2 + 1), so that adding is XOR. With alpha = x (the value 2) and characters
c_0 .. c_16 (c_16 the check), a code is valid when

    S = alpha^16 * c_0 + alpha^15 * c_1 + ... + alpha * c_15 + c_16 = 0

so the check character is ``alpha^16 c_0 + ... + alpha c_15`` (minus is plus in GF(2^k)).
The multiplicative group of GF(32) has prime order 31, so alpha (like every element other
than 0 and 1) has order 31 and the 17 weights alpha^16 .. alpha^0 are distinct and nonzero.

* Every single substitution c_i -> c_i' changes S by alpha^(16-i) * (c_i + c_i'): the
  product of two nonzero field elements, so nonzero. Detected, at every position including
  the check character.
* Every transposition of two different characters, adjacent or not, changes S by
  (alpha^(16-i) + alpha^(16-j)) * (c_i + c_j), nonzero because the weights are distinct.
  Detected: the scheme misses no adjacent transposition (measured share: 100%).
* Twin errors (aa -> bb at two positions) change S by the same product: detected too.
* What it cannot catch: two independent substitutions, one time in 31 (for positions i, j
  and any change at i, exactly one change at j cancels it). No single check character can
  do better: 32^16 valid codes among 32^17 strings means two changes can reach another
  valid code.

Why not the weighted sum mod 32 with odd weights: it also catches every substitution (odd
weights are invertible mod 32), but two odd weights differ by an even number, so swapping
adjacent values a, b changes the sum by 2k(a - b), which vanishes mod 32 whenever
a - b = ±16 even with the best weights (k odd): 1 in 31 adjacent transpositions missed.
GF(32) has no zero divisors, so it misses none.
"""

from __future__ import annotations

import secrets
import unicodedata
from collections.abc import Callable
from typing import Any

from wenxing.errors import DomainError

__all__ = [
    "ALPHABET",
    "CODE_CHARS",
    "CODE_LENGTH",
    "CodeError",
    "CodeMalformed",
    "CodeTypo",
    "check_character",
    "format_code",
    "generate_code",
    "normalise_code",
]

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32
CODE_CHARS = 16  # random characters: 16 * 5 = 80 bits
CODE_LENGTH = CODE_CHARS + 1  # with the check character
RANDOM_BITS = 5 * CODE_CHARS
_GROUPS = (4, 4, 4, 4, 1)

_POLY = 0b100101  # x^5 + x^2 + 1, irreducible (and primitive) over GF(2)

_VALUE = {ch: i for i, ch in enumerate(ALPHABET)}
# Accepted on entry: lower case, and Crockford's readings of I, L (one) and O (zero).
_DECODE = {**_VALUE, **{ch.lower(): v for ch, v in _VALUE.items()}}
_DECODE.update({c: 1 for c in "IiLl"})
_DECODE.update({c: 0 for c in "Oo"})
# Ignored on entry (besides whitespace): dashes as typed on phones and by Chinese input
# methods (after NFKC, full-width － is '-' and U+3000 is a space), underscores, and the
# zero-width characters that copying from chat apps sometimes carries along.
_SEPARATORS = frozenset(
    "-_\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u200b\u200c\u200d\u2060\ufeff"
)


class CodeError(DomainError):
    """An entry that is not a redeemable code (a ``code.*`` code); ``str()`` is a one-line
    English message."""


class CodeMalformed(CodeError):
    """Wrong length, or a character outside the alphabet (after normalising)."""


class CodeTypo(CodeError):
    """Right shape, wrong check character: almost certainly a mistyped code."""

    def __init__(self, code: str = "code.typo", /, **params: Any) -> None:
        super().__init__(code, **params)


def _times_alpha(v: int) -> int:
    v <<= 1
    return v ^ _POLY if v & 0b100000 else v


def _syndrome(values: list[int]) -> int:
    """Horner: sum of alpha^(n-1-i) * values[i] in GF(32)."""
    s = 0
    for v in values:
        s = _times_alpha(s) ^ v
    return s


def _canonical_values(text: str, count: int, what: str) -> list[int]:
    """Values of ``text``, which must be ``count`` characters of ALPHABET (canonical form)."""
    values = [_VALUE.get(ch, -1) for ch in text]
    if len(values) != count or -1 in values:
        raise CodeMalformed(
            "code.not_canonical", what=what, count=count, alphabet=ALPHABET, text=text
        )
    return values


def check_character(payload: str) -> str:
    """The check character for 16 payload characters in canonical form."""
    values = _canonical_values(payload, CODE_CHARS, "a code payload")
    return ALPHABET[_times_alpha(_syndrome(values))]


def generate_code(randbits: Callable[[int], int] = secrets.randbits) -> str:
    """A new code in canonical form: 16 random characters (80 bits) and the check."""
    n = randbits(RANDOM_BITS)
    if not 0 <= n < 1 << RANDOM_BITS:
        raise ValueError(f"randbits({RANDOM_BITS}) returned {n}, out of range")
    payload = "".join(
        ALPHABET[(n >> (5 * (CODE_CHARS - 1 - i))) & 31] for i in range(CODE_CHARS)
    )  # big-endian base32: a bijection between 0 .. 2**80-1 and the 32**16 payloads
    return payload + check_character(payload)


def format_code(canonical: str) -> str:
    """``XXXX-XXXX-XXXX-XXXX-X`` for a code in canonical form (shape checked, not the check)."""
    _canonical_values(canonical, CODE_LENGTH, "a canonical code")
    parts, start = [], 0
    for size in _GROUPS:
        parts.append(canonical[start : start + size])
        start += size
    return "-".join(parts)


def normalise_code(entry: str) -> str:
    """The canonical form of a code as entered; raises CodeMalformed or CodeTypo."""
    values: list[int] = []
    for ch in entry:
        # Normalise character by character so that an error names what was typed.
        for c in ch if ch.isascii() else unicodedata.normalize("NFKC", ch):
            v = _DECODE.get(c)
            if v is not None:
                values.append(v)
            elif c not in _SEPARATORS and not c.isspace():
                raise CodeMalformed("code.character", character=ch)
    if len(values) != CODE_LENGTH:
        raise CodeMalformed("code.length")
    if _syndrome(values) != 0:
        raise CodeTypo()
    return "".join(ALPHABET[v] for v in values)
