"""What a writer remembers, drawn from a library at random (seeded), and how search ranks it.

* ``fragments``: 6 to 10 characters cut at a random place of one material's body (through
  words, across punctuation), found in no other material;
* ``phrases``: two to four consecutive whole words, 4 to 8 characters of Chinese, found in
  exactly one material;
* ``decoys``: materials of the library's own words in a seeded random order (the words of
  every phrase scattered over many of them, never the phrase itself), so that a phrase
  found as words anywhere does not rank its material first by chance.

``rank`` says where the material from which a query was drawn came among the answers.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from dataclasses import dataclass

from wenxing.search.clauses import run_of_text
from wenxing.search.tokenize import normalise, words

_CJK = re.compile(r"^[\u4e00-\u9fff]+$")


@dataclass(frozen=True)
class Case:
    query: str
    material: int  # the material it was drawn from


def runs(texts: dict[int, str]) -> dict[int, str]:
    """Each material's text as one run of characters, as search compares them."""
    return {material: run_of_text(text) for material, text in texts.items()}


def _only_in(piece: str, material: int, every: dict[int, str]) -> bool:
    run = run_of_text(piece)
    return run in every[material] and not any(
        run in text for other, text in every.items() if other != material
    )


def fragments(texts: dict[int, str], count: int, seed: int) -> list[Case]:
    """``count`` distinct fragments of 6-10 characters, each in one material only."""
    rng = random.Random(seed)
    every = runs(texts)
    order = sorted(texts)
    found: dict[str, Case] = {}
    for attempt in range(count * 200):
        material = order[attempt % len(order)]
        body = texts[material]
        width = rng.randint(6, 10)
        if len(body) <= width:
            continue
        at = rng.randrange(len(body) - width)
        piece = body[at : at + width]
        if "\n" in piece or len(run_of_text(piece)) < 5 or piece in found:
            continue
        if _only_in(piece, material, every):
            found[piece] = Case(piece, material)
            if len(found) == count:
                break
    return list(found.values())


def phrases(texts: dict[int, str], count: int, seed: int) -> list[Case]:
    """``count`` distinct phrases of whole words, 4-8 Chinese characters, in one material."""
    rng = random.Random(seed)
    every = runs(texts)
    lines = {
        m: [w for line in t.split("\n") if (w := words(normalise(line)))] for m, t in texts.items()
    }
    order = sorted(m for m in texts if lines[m])
    found: dict[str, Case] = {}
    for attempt in range(count * 300):
        material = order[attempt % len(order)]
        line = rng.choice(lines[material])
        if len(line) < 2:
            continue
        size = rng.randint(2, 4)
        at = rng.randrange(max(1, len(line) - size + 1))
        phrase = "".join(line[at : at + size])
        if not (4 <= len(phrase) <= 8 and _CJK.match(phrase)) or phrase in found:
            continue
        if _only_in(phrase, material, every):
            found[phrase] = Case(phrase, material)
            if len(found) == count:
                break
    return list(found.values())


def decoys(texts: list[str], count: int, seed: int, chars: int = 1500) -> list[tuple[str, str]]:
    """``count`` (title, body) of the library's words in a seeded random order."""
    rng = random.Random(seed)
    vocabulary = sorted({w for text in texts for w in words(normalise(text)) if _CJK.match(w)})
    made = []
    for number in range(count):
        paragraphs, size = [], 0
        while size < chars:
            sentence = "".join(rng.choice(vocabulary) for _ in range(rng.randint(6, 14)))
            paragraphs.append(sentence + "。")
            size += len(sentence) + 1
        made.append((f"综合材料汇编（第{number + 1}辑）", "\n".join(paragraphs)))
    return made


def rank(search: Callable[[str], list[int]], case: Case) -> int | None:
    """1 for first; None when the material is not among the answers."""
    found = search(case.query)
    return found.index(case.material) + 1 if case.material in found else None


@dataclass
class Score:
    name: str
    total: int
    first: int
    top3: int
    misses: list[tuple[str, int | None]]

    def line(self, backend: str) -> str:
        return (
            f"relevance [{backend}] {self.name}: {self.total} queries, "
            f"first {self.first / self.total:.0%}, top 3 {self.top3 / self.total:.0%}"
        )


def score(name: str, search: Callable[[str], list[int]], cases: list[Case]) -> Score:
    result = Score(name, len(cases), 0, 0, [])
    for case in cases:
        where = rank(search, case)
        result.first += where == 1
        result.top3 += where is not None and where <= 3
        if where != 1:
            result.misses.append((case.query, where))
    return result
