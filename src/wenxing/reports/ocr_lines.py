"""What Tesseract saw in an image of a page: its lines of text with their boxes, read from
its TSV output. The visual layer's readers (reports/visual.py, visual_lines.py) match these
lines to the version's lines as the copy laid them out.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class OcrLine:
    """One line Tesseract found: its text and its box in pixels (left, top, right, bottom)."""

    text: str
    box: tuple[int, int, int, int]
    words: tuple[tuple[str, tuple[int, int, int, int]], ...] = ()


@dataclass(frozen=True)
class PageImage:
    """An image of (part of) a page: grayscale pixels and the lines Tesseract found."""

    pixels: np.ndarray  # uint8, rows × columns, dark text on light ground
    lines: tuple[OcrLine, ...]


def parse_tsv(tsv: str) -> tuple[OcrLine, ...]:
    """Lines out of Tesseract's TSV output: the words of each (block, paragraph, line)
    joined, and the union of their boxes."""
    lines: dict[tuple[int, int, int, int], list[tuple[str, int, int, int, int]]] = {}
    for row in tsv.splitlines()[1:]:
        cells = row.split("\t")
        if len(cells) < 12 or cells[0] != "5":
            continue
        text = cells[11].strip()
        if not text:
            continue
        key = (int(cells[1]), int(cells[2]), int(cells[3]), int(cells[4]))
        left, top, width, height = (int(v) for v in cells[6:10])
        lines.setdefault(key, []).append((text, left, top, left + width, top + height))
    out = []
    for key in sorted(lines):
        words = lines[key]
        out.append(
            OcrLine(
                "".join(w[0] for w in words),
                (
                    min(w[1] for w in words),
                    min(w[2] for w in words),
                    max(w[3] for w in words),
                    max(w[4] for w in words),
                ),
                tuple((w[0], (w[1], w[2], w[3], w[4])) for w in words),
            )
        )
    return tuple(out)
