"""Code layers: which carrier a code position belongs to, and how layers are combined.

Every code position of a material's code has a 64-bit id, ``(code << 42) | (sub << 38) |
(index << 2) | bit`` with ``index`` below 2³⁶: ``code`` names the *layer* (the carrier
and, for invisible marks, what of it is read), ``index`` where in the base text (or on the
page) it sits, ``sub`` and ``bit`` tell several positions of one place apart. A member's
bit at a position is a keyed pseudo-random function of the material key, the member and the
id (:mod:`wenxing.fingerprint.code`), so any carrier that can show a member's bits and read
them back from evidence is a layer: it only needs its own code.

Layers are decoded on their own and combined by :func:`wenxing.fingerprint.accuse.accuse`:
every non-empty subset of the layers present in the evidence is one test per segment, with
the Chernoff threshold of its own positions, and all tests are counted in the false-
accusation bound. So a layer whose evidence is scrambled (random or homogenised symbols)
adds nothing and takes nothing away beyond its share of that count, and layers that each
fall short can still name a leaker together.

A new carrier plugs in by

1. taking a free code here (:func:`register`; ``visual`` is reserved for the page layer),
2. making copies carry the member's bits at its positions (``code.member_bits``), and
3. reading evidence into a :class:`~wenxing.fingerprint.read.Reading` whose
   ``position_ids`` use its code, then ``merge_readings`` with the text reading before
   ``accuse``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Format-1 carriers (copies issued before tracing v2) and the visible carriers.
ZW_CODE, VS_CODE, GLYPH_CODE, WORD_CODE = 0, 1, 2, 3
# Format-2 invisible carriers: presence at keyed places, and the code point as extra bits.
ZW_PLACE_CODE, VS_PLACE_CODE, ZW_KIND_CODE, VS_KIND_CODE = 4, 5, 6, 7
# The page's own carrier (line/word shifts, glyph spacing read back from an image).
VISUAL_CODE = 16
# Format 3: zero-width presence with sparser biases (more places, fewer marks at each).
ZW_SPARSE_CODE = 8

NUIDA = "nuida"  # biases (1 ± 1/√3)/2: secure against up to four colluders
HALF = "half"  # bias 1/2: most information per position for one leaker (code-point choice)
# Biases 0.1 and 0.233 with equal weight: few marks (1 place in 6 holds one), each saying
# much (an innocent has a mark at a given place 1 time in 6): the most information per
# invisible code point, for short excerpts. Weaker against three or more colluders, which
# the Nuida layers (selector places, wording) cover.
SPARSE = "sparse"
# Biases 0.04 and 0.09: format 3's zero-width places, one place in 15 holds a mark: about
# 1.5 bits more per mark than SPARSE for the same number of marks (a mark at a place where
# an innocent has one 1 time in 15 says log2 15 ≈ 3.9 bits, the empty places the rest).
SPARSER = "sparser"
BIAS_PAIRS = {
    NUIDA: (0.2113248654051871, 0.7886751345948129),
    SPARSE: (0.1, 0.233),
    SPARSER: (0.04, 0.09),
}


@dataclass(frozen=True)
class Layer:
    code: int
    name: str
    bias: str = NUIDA
    summary: str = ""


_LAYERS: dict[int, Layer] = {}


def register(layer: Layer) -> Layer:
    """Make a layer known (idempotent for the same definition)."""
    if not 0 <= layer.code < 1 << 22:
        raise ValueError("a layer code is below 2**22")
    if layer.bias not in (NUIDA, HALF, SPARSE, SPARSER):
        raise ValueError(f"unknown bias rule {layer.bias!r}")
    known = _LAYERS.get(layer.code)
    if known is not None and known != layer:
        raise ValueError(f"layer code {layer.code} is taken by {known.name}")
    if any(other.name == layer.name and other.code != layer.code for other in _LAYERS.values()):
        raise ValueError(f"layer name {layer.name!r} is taken")
    _LAYERS[layer.code] = layer
    return layer


for _layer in (
    Layer(ZW_CODE, "zero-width", NUIDA, "format 1: which zero-width character follows"),
    Layer(VS_CODE, "variation-selector", NUIDA, "format 1: which variation selector follows"),
    Layer(GLYPH_CODE, "glyph", NUIDA, "look-alike dash or middle dot"),
    Layer(WORD_CODE, "wording", NUIDA, "reviewed wording variant"),
    Layer(ZW_PLACE_CODE, "zw-place", SPARSE, "a zero-width mark at a keyed place or not"),
    Layer(VS_PLACE_CODE, "vs-place", NUIDA, "a variation selector at a keyed place or not"),
    Layer(ZW_KIND_CODE, "zw-kind", HALF, "which zero-width character a mark is"),
    Layer(VS_KIND_CODE, "vs-kind", HALF, "which variation selector a mark is"),
    Layer(VISUAL_CODE, "visual", NUIDA, "the page itself (shifts read back from an image)"),
    Layer(ZW_SPARSE_CODE, "zw-sparse", SPARSER, "format 3: a zero-width mark at a keyed place"),
):
    register(_layer)


def position_id(code: int, index, sub=0) -> np.ndarray:
    """Position ids of layer ``code`` at ``index`` (and ``sub``), as uint64 (vectorised)."""
    index = np.asarray(index, dtype=np.uint64)
    sub = np.asarray(sub, dtype=np.uint64)
    return (
        (np.uint64(code) << np.uint64(42)) | (sub << np.uint64(38)) | (index << np.uint64(2))
    ).astype(np.uint64)


def code_of(position_ids: np.ndarray) -> np.ndarray:
    """The layer code of each position id."""
    return (np.asarray(position_ids, dtype=np.uint64) >> np.uint64(42)).astype(np.int64)


def layer(code: int) -> Layer:
    found = _LAYERS.get(int(code))
    if found is None:
        raise KeyError(f"no layer has code {code}")
    return found


def name_of(code: int) -> str:
    return layer(code).name


def bias_codes(rule: str) -> np.ndarray:
    """The layer codes whose positions follow a bias rule."""
    return np.array(sorted(c for c, lay in _LAYERS.items() if lay.bias == rule), dtype=np.int64)


def half_bias_codes() -> np.ndarray:
    return bias_codes(HALF)


def subsets(count: int) -> list[tuple[int, ...]]:
    """The tests' layer families for ``count`` layers present: every non-empty subset while
    there are at most 7 layers (127 families); beyond that each layer alone and all of them.
    Ordered smallest first, so a tie names the plainest family."""
    if count <= 0:
        return []
    if count > 7:
        return [(i,) for i in range(count)] + [tuple(range(count))]
    found = [tuple(i for i in range(count) if mask >> i & 1) for mask in range(1, 1 << count)]
    return sorted(found, key=lambda s: (len(s), s))
