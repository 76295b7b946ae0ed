"""Where a material's copies carry their code: the marking plan.

A plan lists the slots of one base text, each a carrier of one or two code positions:

* ``ZW``    a zero-width character (4 kinds, 2 bits) after a character; survives copy-paste,
            Word, WPS and NFKC; dies to "clean invisible characters" tools.
* ``VS``    a variation selector (4 kinds, 2 bits) after a Han character; invisible, not a
            format character (Cf) and kept by NFKC, so it survives zero-width stripping.
* ``GLYPH`` a look-alike of a dash or middle dot (2 kinds, 1 bit), both unlike the plain
            form, so mapping look-alikes to plain forms makes an erasure, not a wrong bit.
* ``WORD``  a reviewed wording variant (和/与, 加强/强化 …; 1 or 2 bits); visible, and the
            only carrier that survives retyping and OCR.

A plan depends on the base text, the material key, the word segmentation and the marking
profile (variant list, strength, vetoes). It is built once per material version and
profile and stored; tracing reads the stored plan, so later edits to the variant list or
the segmenter's dictionary never change how an issued copy is read.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from wenxing.fingerprint import prf
from wenxing.fingerprint.variants import VariantList

ZW, VS, GLYPH, WORD = 0, 1, 2, 3
LAYER_NAMES = ("zero-width", "variation-selector", "glyph", "wording")
ZW_MARKS = ("\u200b", "\u200c", "\u200d", "\u2060")
VS_MARKS = ("\ufe04", "\ufe05", "\ufe06", "\ufe07")
# Plain form → its two look-alikes. Both differ from the plain form on purpose.
GLYPHS: dict[str, tuple[str, str]] = {
    "\u2014": ("\u2015", "\u2500"),  # — : ― ─
    "\u00b7": ("\u30fb", "\u2027"),  # · : ・ ‧
}
STRENGTHS = ("off", "light", "strong")
ZW_DENSITY = 0.3  # share of eligible gaps that get a zero-width mark
VS_DENSITY = 0.25  # share of Han characters that get a variation selector
LIGHT_WORDS_PER_1000 = 25  # wording slots per 1,000 characters in "light"
PLAN_FORMAT = 1
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

    @property
    def slot_ids(self) -> np.ndarray:
        return (self.layer.astype(np.uint64) << np.uint64(40)) | self.index.astype(np.uint64)

    def alphabet(self) -> np.ndarray:
        """Symbols per slot: 4 for marks, 2 or 4 for groups."""
        sizes = np.array([len(g) for g in self.groups] + [4], dtype=np.int64)
        return np.where(self.group >= 0, sizes[self.group], 4)

    def position_ids(self) -> tuple[np.ndarray, np.ndarray]:
        """(code position ids, owning slot number) for every bit the plan carries."""
        bits = np.where(self.alphabet() == 4, 2, 1)
        slot_numbers = np.repeat(np.arange(len(self.layer)), bits)
        starts = np.cumsum(bits) - bits  # index of each slot's first bit
        bit = np.arange(int(bits.sum())) - np.repeat(starts, bits)
        ids = (self.slot_ids[slot_numbers] << np.uint64(2)) | bit.astype(np.uint64)
        return ids, slot_numbers

    def counts(self) -> dict[str, int]:
        return {name: int(np.sum(self.layer == n)) for n, name in enumerate(LAYER_NAMES)}

    def to_json(self) -> str:
        return json.dumps(
            {
                "format": PLAN_FORMAT,
                "base_length": self.base_length,
                "base_digest": self.base_digest,
                "slots": np.stack(
                    [self.layer, self.index, self.length, self.group, self.base_form]
                ).T.tolist(),
                "groups": [list(g) for g in self.groups],
                "variant_digest": self.variant_digest,
                "strength": self.profile.strength,
                "vetoes": sorted(self.profile.vetoes),
            },
            ensure_ascii=False,
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, text: str) -> Plan:
        data = json.loads(text)
        if data.get("format") != PLAN_FORMAT:
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
        )


def text_digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _is_han(ch: str) -> bool:
    return "\u4e00" <= ch <= "\u9fff" or "\u3400" <= ch <= "\u4dbf"


def _keyed_pick(key: bytes, label: str, count: int, share: float) -> np.ndarray:
    if count == 0:
        return np.zeros(0, dtype=bool)
    draws = prf.uniform01(prf.keyed(prf.key_word(key, label), np.arange(count, dtype=np.uint64)))
    return draws < share


def wording_places(
    base: str, words: Sequence[str], variants: VariantList
) -> list[tuple[int, int, int, int]]:
    """(offset, length, group, form) of every whole word the variant list may vary here."""
    if "".join(words) != base:
        raise PlanError("the word segmentation does not join up to the base text")
    forms = variants.form_index()
    places = []
    offset = 0
    for word in words:
        found = forms.get(word)
        end = offset + len(word)
        if found is not None and variants.allows(
            found[0],
            base[max(0, offset - _CONTEXT_CHARS) : offset],
            base[end : end + _CONTEXT_CHARS],
        ):
            places.append((offset, len(word), found[0], found[1]))
        offset = end
    return places


def _word_slots(
    base: str, key: bytes, words: Sequence[str], variants: VariantList, profile: Profile
) -> list[tuple[int, int, int, int]]:
    """The wording places the profile allows: not vetoed, thinned out in "light"."""
    candidates = [p for p in wording_places(base, words, variants) if p[0] not in profile.vetoes]
    if profile.strength == "off":
        return []
    if profile.strength == "light" and candidates:
        share = min(1.0, len(base) * LIGHT_WORDS_PER_1000 / 1000 / len(candidates))
        picked = _keyed_pick(key, "layout:word", len(base), share)
        candidates = [c for c in candidates if picked[c[0]]]
    return candidates


def build_plan(
    base: str,
    key: bytes,
    words: Sequence[str],
    variants: VariantList,
    profile: Profile = Profile(),
) -> Plan:
    """The plan for ``base`` (a material body) under ``profile``.

    ``words`` is the base text's word segmentation (its concatenation must equal ``base``);
    wording variants are only placed on whole words.
    """
    word_slots = _word_slots(base, key, words, variants, profile)
    inside = np.zeros(len(base) + 1, dtype=bool)  # offsets that are not a word's last char
    in_word = np.zeros(len(base) + 1, dtype=bool)  # every offset of a replaced word
    for offset, length, _group, _form in word_slots:
        inside[offset : offset + length - 1] = True
        in_word[offset : offset + length] = True
    glyph_groups = {plain: i for i, plain in enumerate(GLYPHS)}
    groups = tuple(variants.groups) + tuple(GLYPHS.values())
    rows: list[tuple[int, int, int, int, int]] = []
    for offset, length, group, form in word_slots:
        rows.append((WORD, offset, length, group, form))
    zw_pick = _keyed_pick(key, "layout:zw", len(base), ZW_DENSITY)
    vs_pick = _keyed_pick(key, "layout:vs", len(base), VS_DENSITY)
    for i, ch in enumerate(base):
        if ch in glyph_groups and not in_word[i]:
            rows.append((GLYPH, i, 1, len(variants.groups) + glyph_groups[ch], -1))
        if inside[i] or ch.isspace():
            continue
        # A variation selector must follow a Han character in every copy, so never one
        # after a replaced word (its other form may end otherwise).
        if vs_pick[i] and _is_han(ch) and not in_word[i]:
            rows.append((VS, i, 0, -1, -1))
        if zw_pick[i] and i + 1 < len(base) and not base[i + 1].isspace():
            rows.append((ZW, i, 0, -1, -1))
    return _assemble(base, rows, groups, variants.digest, profile)


def _assemble(
    base: str,
    rows: Iterable[tuple[int, int, int, int, int]],
    groups: tuple[tuple[str, ...], ...],
    variant_digest: str,
    profile: Profile,
) -> Plan:
    # Rendering order: a replacement starts at its offset; marks follow their character,
    # the variation selector first (it must touch the character), then the zero-width mark.
    order = {WORD: 0, GLYPH: 0, VS: 1, ZW: 2}
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
    )
