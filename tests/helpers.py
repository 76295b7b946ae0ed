"""Small helpers shared by tests."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from wenxing.config import DEFAULT_MASTHEAD
from wenxing.materials.cleaning import Cleaner
from wenxing.materials.outline import Node, Structure, parse

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "src" / "wenxing" / "demo" / "sample.txt"
SHARED = REPO.parent / "shared"
CORPUS = SHARED / "corpus"


def parse_text(text: str) -> Structure:
    return parse(Cleaner(DEFAULT_MASTHEAD).clean(text))


def corpus_files() -> list[Path]:
    return sorted(p for p in CORPUS.glob("*/*.txt") if p.parent.name != "raw_gbk")


def walk(nodes: list[Node]):
    for node in nodes:
        yield node
        yield from walk(node.children)


FINGERPRINT_KEY = b"material-key-0123456789abcdef!!!"


@cache
def shipped_variants():
    from wenxing.fingerprint import parse_variant_list

    return parse_variant_list(
        (REPO / "src/wenxing/fingerprint/data/variants.txt").read_text("utf-8")
    )


@cache
def sample_body() -> str:
    return parse_text(SAMPLE.read_text("utf-8")).body
