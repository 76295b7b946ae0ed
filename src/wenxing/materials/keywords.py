"""Keywords of a material: jieba segmentation with the project's dictionary of jargon.

Jargon terms found in the text come first (they are what members search for), then the
words that weigh most by TF-IDF, minus the verbs and fillers every official text shares.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from wenxing.fingerprint.variants import parse_variant_list

if TYPE_CHECKING:
    import jieba

_LOCK = threading.Lock()


@lru_cache(maxsize=1)
def _generic_words() -> frozenset[str]:
    text = resources.files("wenxing.materials").joinpath("data/generic_words.txt")
    lines = text.read_text("utf-8").splitlines()
    return frozenset(w for line in lines if not line.startswith("#") for w in line.split())


def generic_words() -> frozenset[str]:
    """Words in nearly every official text (never keywords: they say nothing of a topic)."""
    return _generic_words()


@lru_cache(maxsize=1)
def jargon_terms() -> tuple[str, ...]:
    text = resources.files("wenxing.materials").joinpath("data/jargon.txt").read_text("utf-8")
    terms = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            terms.append(line.split()[0])
    return tuple(dict.fromkeys(terms))


_TOKENIZER: jieba.Tokenizer | None = None


def _tokenizer() -> jieba.Tokenizer:
    """jieba with the jargon and wording variants, built once per process (threads that
    ask at once wait for the first to build it)."""
    global _TOKENIZER
    tokenizer = _TOKENIZER
    if tokenizer is not None:
        return tokenizer
    with _LOCK:
        if _TOKENIZER is not None:
            return _TOKENIZER
        import jieba  # here, not at import: with pkg_resources, a tenth of a second

        jieba.setLogLevel(logging.WARNING)
        tokenizer = jieba.Tokenizer()
        tokenizer.initialize()
        path = resources.files("wenxing.materials").joinpath("data/jargon.txt")
        with path.open("rb") as handle:
            tokenizer.load_userdict(handle)
        # Wording-variant forms are whole words, so that copies can vary them (年初以来).
        variants = resources.files("wenxing.fingerprint").joinpath("data/variants.txt")
        for group in parse_variant_list(variants.read_text("utf-8")).groups:
            for form in group:
                if len(form) >= 3:
                    tokenizer.add_word(form, 20000)
        _TOKENIZER = tokenizer
        return tokenizer


@lru_cache(maxsize=1)
def _idf() -> tuple[dict[str, float], float]:
    # jieba's own loader leaves the file open; read its IDF table here instead.
    import jieba

    idf: dict[str, float] = {}
    with open(Path(jieba.__file__).parent / "analyse" / "idf.txt", encoding="utf-8") as handle:
        for line in handle:
            word, _, value = line.strip().partition(" ")
            if value:
                idf[word] = float(value)
    values = sorted(idf.values())
    return idf, values[len(values) // 2]


def idf_table() -> tuple[dict[str, float], float]:
    """jieba's IDF of each word and the median (for words it lacks)."""
    return _idf()


def words(text: str) -> list[str]:
    """Every token of the text, whitespace included: ``"".join(words(t)) == t``."""
    return list(_tokenizer().cut(text, HMM=False))


def segment(text: str) -> list[str]:
    """Words of the text (dictionary segmentation; jargon kept whole)."""
    return [w for w in _tokenizer().cut(text, HMM=False) if w.strip()]


def extract_keywords(title: str, body: str, limit: int = 12) -> list[str]:
    text = f"{title}\n{body}"
    words = segment(text)
    counts = Counter(w for w in words if len(w) >= 2 and not w.isdigit())
    jargon = [term for term in jargon_terms() if term in counts or term in text]
    jargon.sort(key=lambda term: -text.count(term))
    idf, median = _idf()
    scored = sorted(
        (
            (count * idf.get(word, median) * (1.5 if word in title else 1.0), word)
            for word, count in counts.items()
            if word not in _generic_words() and not _is_number_like(word)
        ),
        reverse=True,
    )
    result = list(dict.fromkeys(jargon[: limit // 2] + [w for _s, w in scored]))
    return result[:limit]


def _is_number_like(word: str) -> bool:
    return any(ch.isdigit() for ch in word)


def warm_up() -> None:
    """Load the segmenter and the IDF table now (before forking workers that share them)."""
    _tokenizer()
    _idf()
    jargon_terms()
    _generic_words()
