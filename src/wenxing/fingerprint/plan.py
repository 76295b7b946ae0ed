"""Where a material's copies carry their code: the marking plan.

A plan lists the slots of one base text. Each slot carries one or more code positions, and
each code position belongs to one *code layer* (see :mod:`wenxing.fingerprint.layers`),
decoded on its own and combined when tracing.

Format 3 (every plan made now):

* ``ZW_PLACE`` a keyed candidate place between two characters. A copy has a zero-width
               character there or not (the member's presence bit, layer ``zw-sparse`` at
               light, sparser biases: 1 place in 15 filled; ``zw-place`` at strong); when it
               has one, which of 4 it is carries 2 more bits (layer ``zw-kind``).
               Replacing or homogenising the marks leaves the presence bits intact.
* ``VS_PLACE`` the same after a Han character (presence in ``vs-place``, Nuida's biases),
               but the selector (one of 8) is keyed by the place and the same in every copy
               (:func:`shared_kinds`): colluders comparing copies see only which of them
               have a mark there, and deleting the marks they disagree on keeps those they
               all have. Not a format character (Cf), so it survives "remove zero-width
               characters" tools.
* ``GLYPH``    a look-alike of a dash or middle dot (2 kinds, 1 bit), both unlike the plain
               form, so mapping look-alikes to plain forms makes an erasure, not a wrong bit.
* ``WORD``     a reviewed wording variant (和/与, 加强/强化 …; 1 or 2 bits); visible, and the
               only carrier that survives retyping and OCR. Never in a protected span
               (headings, run-in headings, parallel lead words, quotations, names, numbers).

Format 2 (copies issued before plan format 3, still read with their plan): the same slots,
zero-width presence in ``zw-place`` (biases 0.1 / 0.233 on 23% of the gaps) and the
member's own selector at a selector place (3 bits in ``vs-kind``).

Format 1 (copies issued before tracing v2, still read with the plan they were made with):
``ZW`` (one of 4 zero-width characters after 30% of characters, 2 bits by code point) and
``VS`` (one of 4 variation selectors after 25% of Han characters), plus glyph and wording;
built only by tests, with :func:`wenxing.fingerprint.plan_v1.build_plan_v1`.

At the default strength a copy holds at most one invisible code point per 20 visible
characters (4.8% in the sample: zero-width places on 42% of the gaps, 1 in 15 filled;
selector places on 6%, half filled), three per 20 at strong.

A plan depends on the base text, the material key, the word segmentation, the protected
spans and the marking profile (variant list, strength, vetoes). It is built once per
material version and profile and stored; tracing reads the stored plan, so later edits to
the variant list, the segmenter or the outline parser never change how an issued copy is
read.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from wenxing.fingerprint import prf
from wenxing.fingerprint.layers import (
    VS_KIND_CODE,
    VS_PLACE_CODE,
    ZW_KIND_CODE,
    ZW_PLACE_CODE,
    ZW_SPARSE_CODE,
    position_id,
)
from wenxing.fingerprint.variants import VariantList

# Slot kinds (the ``layer`` column of a plan).
ZW, VS, GLYPH, WORD, ZW_PLACE, VS_PLACE = 0, 1, 2, 3, 4, 5
LAYER_NAMES = ("zero-width", "variation-selector", "glyph", "wording", "zw-place", "vs-place")
ZW_MARKS = ("\u200b", "\u200c", "\u200d", "\u2060")
VS_MARKS_V1 = ("\ufe04", "\ufe05", "\ufe06", "\ufe07")
# Format 2's variation selectors: FE04–FE0B. FE00–FE02 select compatibility-ideograph
# glyphs of some Han characters and FE0E/FE0F text or emoji style; these select nothing.
VS_MARKS = tuple(chr(c) for c in range(0xFE04, 0xFE0C))
# What counts as a mark at a candidate place: any character of the same family, ours or a
# replacement (a leaker who swaps every mark for a random one of its kind keeps the places).
ZW_FAMILY = frozenset((*ZW_MARKS, "\ufeff", "\u2061", "\u2062", "\u2063", "\u2064", "\u180e"))


def is_vs(ch: str) -> bool:
    return "\ufe00" <= ch <= "\ufe0f" or "\U000e0100" <= ch <= "\U000e01ef"


def is_family_mark(ch: str) -> bool:
    """A zero-width or variation-selector character: kept aside, never a foreign one."""
    return ch in ZW_FAMILY or is_vs(ch)


# Plain form → its two look-alikes. Both differ from the plain form on purpose.
GLYPHS: dict[str, tuple[str, str]] = {
    "\u2014": ("\u2015", "\u2500"),  # — : ― ─
    "\u00b7": ("\u30fb", "\u2027"),  # · : ・ ‧
}
STRENGTHS = ("off", "light", "strong")
# Share of gaps that are keyed candidate places for invisible marks, by strength. Of them,
# VS_PLACE_SHARE (after Han characters) take selectors, which a member fills about half the
# time (Nuida's biases); the rest take zero-width marks, filled one time in six (the sparse
# biases). Light: about 4.7% invisible code points per visible character, and a copy never
# holds more than one per 20 (``MAX_INVISIBLE_SHARE``, enforced when marking).
PLACE_SHARE = {"off": 0.23, "light": 0.23, "strong": 0.55}
VS_PLACE_SHARE = 0.22
# Format 3: share of gaps that are zero-width places (sparser biases: 1 in 15 filled) and
# share that are selector places (after Han characters; Nuida's biases, the selector the
# same in every copy), by strength.
# Strong uses the denser SPARSE biases (1 place in 6 filled) on its zero-width places.
ZW_PLACE_SHARE_V3 = {"off": 0.42, "light": 0.42, "strong": 0.72}
VS_PLACE_SHARE_V3 = {"off": 0.06, "light": 0.06, "strong": 0.1}
MAX_INVISIBLE_SHARE = {"off": 0.05, "light": 0.05, "strong": 0.15}
WORDING_STRENGTHS = frozenset({"light", "strong"})
PLAN_FORMAT = 3
READABLE_FORMATS = (1, 2, 3)
_CONTEXT_CHARS = 32  # longest context rule a variant list may use


class PlanError(ValueError):
    """A plan cannot be built or read as given."""


@dataclass(frozen=True)
class Profile:
    """How visible marking may be for one material: strength and an editor's vetoes."""

    strength: str = "light"
    vetoes: frozenset[int] = frozenset()  # base offsets of wording slots an editor refused

    def __post_init__(self) -> None:
        if self.strength not in STRENGTHS:
            raise PlanError(f"unknown marking strength {self.strength!r}")


def _kind_bits(layer: int, plan_format: int = PLAN_FORMAT) -> int:
    """Code positions a place carries in the choice of its mark. Format 3 gives every copy
    the same selector at a place (keyed by the place: :func:`shared_kinds`), so copies
    differ at a selector place only by whether the mark is there."""
    if layer == ZW_PLACE:
        return 2
    return 3 if plan_format == 2 else 0


def shared_kinds(key: bytes, index: np.ndarray) -> np.ndarray:
    """The selector every format-3 copy has at the selector places at base offsets
    ``index`` (0 … 7, an index into ``VS_MARKS``)."""
    draws = prf.keyed(prf.key_word(key, "vs-kind"), np.asarray(index, dtype=np.uint64))
    return (draws % np.uint64(len(VS_MARKS))).astype(np.int64)


@dataclass(frozen=True)
class Plan:
    """The slots of one base text, as parallel arrays sorted by rendering order."""

    base_length: int
    base_digest: str
    layer: np.ndarray  # uint8
    index: np.ndarray  # int64: base offset (inserted marks follow that character)
    length: np.ndarray  # int64: characters replaced (0 for inserted marks)
    group: np.ndarray  # int64: row of ``groups`` for GLYPH/WORD slots, -1 otherwise
    base_form: np.ndarray  # int64: which alternative the base text has (-1 for none)
    groups: tuple[tuple[str, ...], ...]
    variant_digest: str
    profile: Profile
    format: int = PLAN_FORMAT
    protected_digest: str = ""  # identifies the protected spans the plan kept clear

    @property
    def slot_ids(self) -> np.ndarray:
        return (self.layer.astype(np.uint64) << np.uint64(40)) | self.index.astype(np.uint64)

    def alphabet(self) -> np.ndarray:
        """Symbols per slot: 4 for format-1 marks, 2 or 4 for groups, 2·kinds for places."""
        sizes = np.array([len(g) for g in self.groups] + [4], dtype=np.int64)
        sizes = np.where(self.group >= 0, sizes[self.group], 4)
        sizes = np.where(self.layer == ZW_PLACE, 2 * len(ZW_MARKS), sizes)
        return np.where(self.layer == VS_PLACE, 2 * len(VS_MARKS), sizes)

    def marks(self, layer: int) -> tuple[str, ...]:
        """The invisible characters of a mark slot kind under this plan's format."""
        if layer in (ZW, ZW_PLACE):
            return ZW_MARKS
        return VS_MARKS_V1 if self.format == 1 else VS_MARKS

    def bits(self) -> np.ndarray:
        """Code positions per slot."""
        bits = np.where(self.alphabet() == 4, 2, 1)
        bits = np.where(self.layer == ZW_PLACE, 1 + _kind_bits(ZW_PLACE, self.format), bits)
        return np.where(self.layer == VS_PLACE, 1 + _kind_bits(VS_PLACE, self.format), bits)

    def position_ids(self) -> tuple[np.ndarray, np.ndarray]:
        """(code position ids, owning slot number) for every bit the plan carries.

        A slot's positions come in order; the member's symbol for the slot is
        ``Σ bit_r · 2^r`` over its positions r (for a place: presence, then kind bits).
        Glyph and wording positions are the same in both formats (``slot_id << 2 | bit``
        with the slot kind as layer code); format 1's mark slots likewise; a format-2
        place's presence bit and kind bits each have their own id in their code layer.
        """
        bits = self.bits()
        slot_numbers = np.repeat(np.arange(len(self.layer)), bits)
        starts = np.cumsum(bits) - bits  # index of each slot's first bit
        rank = np.arange(int(bits.sum())) - np.repeat(starts, bits)
        ids = (self.slot_ids[slot_numbers] << np.uint64(2)) | rank.astype(np.uint64)
        layer = self.layer[slot_numbers]
        index = self.index[slot_numbers].astype(np.uint64)
        zw_code = ZW_SPARSE_CODE
        if self.format == 2 or self.profile.strength == "strong":
            zw_code = ZW_PLACE_CODE
        for place, presence_code, kind_code in (
            (ZW_PLACE, zw_code, ZW_KIND_CODE),
            (VS_PLACE, VS_PLACE_CODE, VS_KIND_CODE),
        ):
            here = layer == place
            if not here.any():
                continue
            r = rank[here].astype(np.uint64)
            ids[here] = np.where(
                r == 0,
                position_id(presence_code, index[here]),
                position_id(kind_code, index[here], r - np.uint64(1)),
            )
        return ids, slot_numbers

    def counts(self) -> dict[str, int]:
        return {
            name: int(np.sum(self.layer == n))
            for n, name in enumerate(LAYER_NAMES)
            if self.format >= 2 or n < 4
        }

    def to_json(self) -> str:
        data = {
            "format": self.format,
            "base_length": self.base_length,
            "base_digest": self.base_digest,
            "slots": np.stack(
                [self.layer, self.index, self.length, self.group, self.base_form]
            ).T.tolist(),
            "groups": [list(g) for g in self.groups],
            "variant_digest": self.variant_digest,
            "strength": self.profile.strength,
            "vetoes": sorted(self.profile.vetoes),
        }
        if self.format >= 2:
            data["protected_digest"] = self.protected_digest
        return json.dumps(data, ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> Plan:
        data = json.loads(text)
        if data.get("format") not in READABLE_FORMATS:
            raise PlanError(f"unsupported plan format {data.get('format')!r}")
        slots = np.array(data["slots"], dtype=np.int64).reshape(-1, 5)
        return cls(
            base_length=data["base_length"],
            base_digest=data["base_digest"],
            layer=slots[:, 0].astype(np.uint8),
            index=slots[:, 1],
            length=slots[:, 2],
            group=slots[:, 3],
            base_form=slots[:, 4],
            groups=tuple(tuple(g) for g in data["groups"]),
            variant_digest=data["variant_digest"],
            profile=Profile(data["strength"], frozenset(data["vetoes"])),
            format=data["format"],
            protected_digest=data.get("protected_digest", ""),
        )


def text_digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def is_han(ch: str) -> bool:
    return "\u4e00" <= ch <= "\u9fff" or "\u3400" <= ch <= "\u4dbf"


_is_han = is_han


def _keyed_draws(key: bytes, label: str, count: int) -> np.ndarray:
    if count == 0:
        return np.zeros(0, dtype=np.float64)
    return prf.uniform01(prf.keyed(prf.key_word(key, label), np.arange(count, dtype=np.uint64)))


def _protected_mask(length: int, protected: Iterable[tuple[int, int]]) -> np.ndarray:
    mask = np.zeros(length, dtype=bool)
    for start, end in protected:
        mask[max(0, start) : max(0, min(length, end))] = True
    return mask


def protected_digest(protected: Iterable[tuple[int, int]]) -> str:
    spans = sorted((int(a), int(b)) for a, b in protected)
    return hashlib.sha256(json.dumps(spans).encode()).hexdigest()[:16]


def wording_places(
    base: str,
    words: Sequence[str],
    variants: VariantList,
    protected: Iterable[tuple[int, int]] = (),
) -> list[tuple[int, int, int, int]]:
    """(offset, length, group, form) of every whole word the variant list may vary here.

    Words that overlap a protected span (``(start, end)`` base offsets: headings, parallel
    lead words, quotations, names, numbers) are never places.
    """
    if "".join(words) != base:
        raise PlanError("the word segmentation does not join up to the base text")
    shielded = _protected_mask(len(base), protected)
    forms = variants.form_index()
    places = []
    offset = 0
    for word in words:
        found = forms.get(word)
        end = offset + len(word)
        if (
            found is not None
            and not shielded[offset:end].any()
            and variants.allows(
                found[0],
                base[max(0, offset - _CONTEXT_CHARS) : offset],
                base[end : end + _CONTEXT_CHARS],
            )
        ):
            places.append((offset, len(word), found[0], found[1]))
        offset = end
    return places


def _word_slots(
    base: str,
    words: Sequence[str],
    variants: VariantList,
    profile: Profile,
    protected: Iterable[tuple[int, int]],
) -> list[tuple[int, int, int, int]]:
    """The wording places the profile allows: every reviewed place that is not vetoed."""
    if profile.strength not in WORDING_STRENGTHS:
        return []
    return [
        p for p in wording_places(base, words, variants, protected) if p[0] not in profile.vetoes
    ]


def build_plan(
    base: str,
    key: bytes,
    words: Sequence[str],
    variants: VariantList,
    profile: Profile = Profile(),
    protected: Sequence[tuple[int, int]] = (),
    plan_format: int = PLAN_FORMAT,
) -> Plan:
    """The plan for ``base`` (a material body) under ``profile``.

    ``words`` is the base text's word segmentation (its concatenation must equal ``base``);
    wording variants are only placed on whole words, and never on a word that overlaps one
    of the ``protected`` spans (``(start, end)`` base offsets).
    """
    word_slots = _word_slots(base, words, variants, profile, protected)
    in_word = np.zeros(len(base) + 1, dtype=bool)  # every offset of a replaced word
    for offset, length, _group, _form in word_slots:
        in_word[offset : offset + length] = True
    glyph_groups = {plain: i for i, plain in enumerate(GLYPHS)}
    groups = tuple(variants.groups) + tuple(GLYPHS.values())
    rows: list[tuple[int, int, int, int, int]] = []
    for offset, length, group, form in word_slots:
        rows.append((WORD, offset, length, group, form))
    if plan_format == 2:
        share = PLACE_SHARE[profile.strength]
        vs_share = share * VS_PLACE_SHARE
    else:
        vs_share = VS_PLACE_SHARE_V3[profile.strength]
        share = vs_share + ZW_PLACE_SHARE_V3[profile.strength]
    draws = _keyed_draws(key, "layout:place", len(base))
    for i, ch in enumerate(base):
        if ch in glyph_groups and not in_word[i]:
            rows.append((GLYPH, i, 1, len(variants.groups) + glyph_groups[ch], -1))
        if in_word[i] or ch.isspace() or draws[i] >= share:
            continue
        # A variation selector must follow a Han character in every copy, so never one
        # inside or after a replaced word (its other form may end otherwise); a zero-width
        # mark sits between two visible characters.
        if draws[i] < vs_share and is_han(ch):
            rows.append((VS_PLACE, i, 0, -1, -1))
        elif i + 1 < len(base) and not base[i + 1].isspace():
            rows.append((ZW_PLACE, i, 0, -1, -1))
    if plan_format not in (2, 3):
        raise PlanError(f"build_plan makes formats 2 and 3, not {plan_format}")
    return _assemble(
        base, rows, groups, variants.digest, profile, plan_format, protected_digest(protected)
    )


def _assemble(
    base: str,
    rows: Iterable[tuple[int, int, int, int, int]],
    groups: tuple[tuple[str, ...], ...],
    variant_digest: str,
    profile: Profile,
    plan_format: int,
    protected: str,
) -> Plan:
    # Rendering order: a replacement starts at its offset; marks follow their character,
    # the variation selector first (it must touch the character), then the zero-width mark.
    order = {WORD: 0, GLYPH: 0, VS: 1, VS_PLACE: 1, ZW: 2, ZW_PLACE: 2}
    table = sorted(rows, key=lambda r: (r[1] if r[2] else r[1] + 0.5, order[r[0]]))
    array = np.array(table, dtype=np.int64).reshape(-1, 5)
    return Plan(
        base_length=len(base),
        base_digest=text_digest(base),
        layer=array[:, 0].astype(np.uint8),
        index=array[:, 1],
        length=array[:, 2],
        group=array[:, 3],
        base_form=array[:, 4],
        groups=groups,
        variant_digest=variant_digest,
        profile=profile,
        format=plan_format,
        protected_digest=protected,
    )
