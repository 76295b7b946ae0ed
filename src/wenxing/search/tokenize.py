"""Chinese text to search tokens, the same way for indexing and for queries.

Segmentation is jieba's (through rjieba, jieba's algorithm in Rust, about 25 times faster)
with the project's dictionary of official jargon, so that 河湖长制 and 一企一策 stay whole.
Each text gives three token streams:

``words``  the segmentation, in order (positions make phrases possible);
``sub``    search mode: every word and the dictionary words inside it, so 乡村 finds 乡村振兴;
``chars``  every character but spaces and punctuation, so a single-character query finds
           any word holding the character;
``pairs``  every two consecutive characters of the same (bigrams), in order with positions:
           any run of characters, wherever the segmenter's word boundaries fall, is a phrase
           of its bigrams (a fragment pasted from the middle of a sentence finds its text).

Numbers keep their decimals and percent signs (``6.5%`` is one word; the sub-word stream
holds ``6.5`` too).

Queries are normalised like the text: NFKC (full-width letters, digits and signs become
plain), traditional characters to simplified (OpenCC's t2s table, shipped in the wheel),
Latin letters lower-cased.

Indexing is most of a rebuild's work, so the text is prepared once per unit for all three
streams, and punctuation becomes spaces before segmenting: punctuation and spaces split
jieba's blocks the same way, so the words are the ones segmenting the punctuation and
dropping its tokens gives, without a Python test per token.
"""

from __future__ import annotations

import re
import sys
import threading
import unicodedata
from array import array
from collections.abc import Iterable
from functools import lru_cache
from typing import TYPE_CHECKING

from wenxing.materials.keywords import jargon_terms

if TYPE_CHECKING:
    import rjieba

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
                import rjieba  # here, not at import: a command that never segments skips it

                segmenter = rjieba.Jieba()
                for term in jargon_terms():
                    segmenter.add_word(term, 20000, "n")
                _SEGMENTER = segmenter
    return segmenter


@lru_cache(maxsize=1)
def _t2s():
    import opencc

    return opencc.OpenCC("t2s")


# Full-width forms that official text is full of: NFKC maps them to ASCII one for one.
_WIDE = re.compile("[\uff01-\uff5e\u3000]")
_NARROW = {chr(code): chr(code - 0xFEE0) for code in range(0xFF01, 0xFF5F)} | {"\u3000": " "}
# The full-width forms that become each character once narrowed and lower-cased.
_WIDE_FORMS: dict[str, list[str]] = {}
for _wide, _narrow in _NARROW.items():
    _WIDE_FORMS.setdefault(_narrow.lower(), []).append(_wide)
# What is not part of a word: anything but letters, digits and the signs jieba keeps inside
# a block (3.5%, c++, a-b), so replacing it with a space changes no word's segmentation.
_NOT_WORD = re.compile(r"[^\w+#&.%\-]+")
# A token of those signs alone (a lone "-" or "."): dropped like punctuation.
_SIGN = re.compile(r"[+#&.%\-_]")
_SIGN_TOKEN = re.compile(r"(?<![^ ])[+#&.%\-_]+(?![^ ])")
# jieba cuts 6.5% into 6 . 5 %: joined back, so that a figure is one word.
_DECIMAL = re.compile(r"(?<![^ ])(\d+) \. (\d+)(?![^ ])")
_PERCENT = re.compile(r"(?<![^ ])(\d+(?:\.\d+)?) %(?![^ ])")


def _narrowed(text: str) -> str:
    """Full-width forms replaced by their ASCII forms. A text uses a handful of them (，：；
    （）…): one ``str.replace`` each is about twice as fast as a substitution that calls
    back into Python for every one of the dozens of occurrences, and ``str.translate``
    (a table lookup per character) slower still."""
    for wide in set(_WIDE.findall(text)):
        text = text.replace(wide, _NARROW[wide])
    return text


def normalise(text: str) -> str:
    """The form both indexed text and queries take before segmentation: NFKC, traditional
    to simplified, lower case. (NFKC of Chinese text is mostly full-width punctuation to
    ASCII: done by one substitution, and the library's NFKC only when something else is
    left, which gives the same text at a fraction of the cost.)"""
    if not unicodedata.is_normalized("NFKC", text):
        text = _narrowed(text)
        if not unicodedata.is_normalized("NFKC", text):
            text = unicodedata.normalize("NFKC", text)
    return _t2s().convert(text).lower()


def same_length_form(text: str, finding: Iterable[str] | None = None) -> str:
    """``text`` as ``normalise`` would make it, character for character, without NFKC's
    rarer mappings (ligatures, circled numbers and the like) and without any step that
    would change its length: full-width forms narrowed, traditional characters simplified,
    lower case. Offsets in it are offsets in ``text`` (snippets find terms in it and
    normalise only the piece they show).

    ``finding``: the normalised terms that will be looked for in it. Then only the
    full-width forms whose narrow form is in a term are narrowed (none for terms in
    Chinese): a term holds no full-width form, and the others would become characters no
    term holds. And the text is lower-cased only when a term holds a character with case:
    lower-casing leaves a character without case as it is and makes no character one
    without case (``tests/unit/test_search_query.py`` checks every code point). Either way
    every term is found at the same offsets as in the full form."""
    if finding is None:
        if _WIDE.search(text) is not None:
            text = _narrowed(text)  # one character for one
        cased = True
    else:
        chars = {char for term in finding for char in term}
        for char in chars & _WIDE_FORMS.keys():
            for wide in _WIDE_FORMS[char]:
                if wide in text:
                    text = text.replace(wide, _NARROW[wide])
        cased = any(char.lower() != char or char.upper() != char for char in chars)
    simplified = _t2s().convert(text)
    if len(simplified) == len(text):
        text = simplified
    if not cased:
        return text
    lowered = text.lower()
    return lowered if len(lowered) == len(text) else text


def _is_word(token: str) -> bool:
    return any(ch.isalnum() for ch in token)


def words(text: str) -> list[str]:
    """Segmented words of normalised text (punctuation and spaces dropped), figures whole."""
    form = _NOT_WORD.sub(" ", text)
    return [t for t in _joined(_segmenter().cut(form, False), form).split() if _is_word(t)]


def index_form(text: str) -> str:
    """Normalised text with punctuation and spaces as single spaces: what is segmented."""
    return _NOT_WORD.sub(" ", normalise(text))


def _joined(tokens: list[str], form: str, *, sub: bool = False) -> str:
    """Tokens of ``form`` separated by spaces; the space tokens only add spaces, which the
    index's whitespace tokenizer skips, figures are joined whole (``sub``: a percentage
    is followed by its bare figure) and tokens of signs alone are dropped."""
    joined = " ".join(tokens)
    if _SIGN.search(form) is not None:
        joined = _DECIMAL.sub(r"\1.\2", joined)
        joined = _PERCENT.sub(r"\1% \1" if sub else r"\1%", joined)
        joined = _SIGN_TOKEN.sub("", joined)
    return joined


def index_streams(text: str) -> tuple[str, str]:
    """(words, sub) of a text as space-separated tokens, ready for a whitespace tokenizer."""
    return form_streams(index_form(text))


def form_streams(form: str) -> tuple[str, str]:
    """(words, sub) of text already in ``index_form``."""
    segmenter = _segmenter()
    return (
        _joined(segmenter.cut(form, False), form),
        _joined(segmenter.cut_for_search(form, False), form, sub=True),
    )


# Streams of one token per character or per pair of characters are made from the text's
# code points (UTF-32) with array slices: no Python object per token.
_CODE = "I"
_UTF32 = "utf-32-le" if sys.byteorder == "little" else "utf-32-be"
_SPACE = ord(" ")


def _code_points(run: str) -> array[int]:
    codes = array(_CODE)
    codes.frombytes(run.encode(_UTF32, "surrogatepass"))
    return codes


def chars_stream(form: str) -> str:
    """The characters of text in ``index_form`` that can be words, one token each, in
    order (indexed with positions: a quoted phrase is a run of characters)."""
    run = run_of(form)
    if len(run) < 2:
        return run
    codes = _code_points(run)
    out = array(_CODE, [_SPACE]) * (2 * len(run))
    out[0::2] = codes
    return out.tobytes()[: -codes.itemsize].decode(_UTF32, "surrogatepass")


def run_of(form: str) -> str:
    """The characters of text in ``index_form`` as one run (spaces and punctuation gone):
    what the ``chars`` and ``pairs`` streams are made of."""
    return form.replace(" ", "")


def pairs(run: str) -> list[str]:
    """Every two consecutive characters of a run, in order (a single character alone)."""
    if len(run) < 2:
        return [run] if run else []
    return [run[at : at + 2] for at in range(len(run) - 1)]


def pairs_stream(form: str) -> str:
    """The bigrams of text in ``index_form``, space-separated, in order (as
    ``" ".join(pairs(run_of(form)))``, at a tenth of the cost)."""
    run = run_of(form)
    if len(run) < 3:
        return run
    codes = _code_points(run)
    out = array(_CODE, [_SPACE]) * (3 * (len(run) - 1))
    out[0::3] = codes[:-1]
    out[1::3] = codes[1:]
    return out.tobytes()[: -codes.itemsize].decode(_UTF32, "surrogatepass")


def warm_up() -> None:
    _segmenter().cut("乡村振兴", False)
    normalise("營商環境")
