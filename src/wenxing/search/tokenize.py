"""Chinese text to search tokens, the same way for indexing and for queries.

Segmentation is jieba's (through rjieba, jieba's algorithm in Rust, about 25 times faster)
with the project's dictionary of official jargon, so that 河湖长制 and 一企一策 stay whole.
Each text gives three token streams:

``words``  the segmentation, in order (positions make phrases possible);
``sub``    search mode: every word and the dictionary words inside it, so 乡村 finds 乡村振兴;
``chars``  every character (tantivy's own 1-gram tokenizer does this from the raw text), so a
           single-character query finds any word holding the character.

Queries are normalised like the text: NFKC (full-width letters, digits and signs become
plain), traditional characters to simplified (OpenCC's t2s table, shipped in the wheel),
Latin letters lower-cased.
"""

from __future__ import annotations

import threading
import unicodedata
from functools import lru_cache

import rjieba

from wenxing.materials.keywords import jargon_terms

_LOCK = threading.Lock()
_SEGMENTER: rjieba.Jieba | None = None


def _segmenter() -> rjieba.Jieba:
    """The process's segmenter with the jargon dictionary, built once (about 30 MB and a
    second of work: threads that ask at once wait for the first to build it)."""
    global _SEGMENTER
    segmenter = _SEGMENTER
    if segmenter is None:
        with _LOCK:
            segmenter = _SEGMENTER
            if segmenter is None:
                segmenter = rjieba.Jieba()
                for term in jargon_terms():
                    segmenter.add_word(term, 20000, "n")
                _SEGMENTER = segmenter
    return segmenter


@lru_cache(maxsize=1)
def _t2s():
    import opencc

    return opencc.OpenCC("t2s")


def normalise(text: str) -> str:
    """The form both indexed text and queries take before segmentation."""
    text = unicodedata.normalize("NFKC", text)
    return _t2s().convert(text).lower()


def _spaced(tokens: list[str]) -> str:
    return " ".join(t for t in tokens if not t.isspace() and _is_word(t))


def _is_word(token: str) -> bool:
    return any(ch.isalnum() for ch in token)


def words(text: str) -> list[str]:
    """Segmented words of normalised text (punctuation and spaces dropped)."""
    return [t for t in _segmenter().cut(text, False) if _is_word(t)]


def index_streams(text: str) -> tuple[str, str]:
    """(words, sub) of a text as space-separated tokens, ready for a whitespace tokenizer."""
    text = normalise(text)
    segmenter = _segmenter()
    return _spaced(segmenter.cut(text, False)), _spaced(segmenter.cut_for_search(text, False))


def warm_up() -> None:
    _segmenter().cut("乡村振兴", False)
    normalise("營商環境")
