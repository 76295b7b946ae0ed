"""The visual layer of a .docx copy: stretches of the body raised by half a point.

A .docx is laid out by whoever opens it (Word, WPS, LibreOffice), so the copy cannot place
glyphs as the .pdf does. What every client applies the same way is a run's vertical
position (``w:position``, in half points). The body is cut into stretches of
:data:`wenxing.fingerprint.visual.DOCX_GROUP` characters by base offset; each stretch
carries one code position and is raised by half a point (0.18 mm, 3 % of the 16-pt em)
when the member's bit there is 1, left on the baseline when it is 0. The tracer measures
each character's height against its line's baseline in an image of the page and averages
per stretch (:func:`wenxing.reports.visual_lines.read_docx_pages`).

Why stretches and not every character (as the .pdf moves each glyph by a keyed chip):
LibreOffice drops a run's negative character spacing on the last character before a run
with other properties, and the body is condensed by −0.25 pt a character to set 28 a line.
Every change of position costs a line 0.25 pt; per-character changes would push lines to
27 characters. With stretches of 7 a line has at most four changes, 1 pt of the 1.25 pt a
28-character line has to spare. (Horizontal moves by character spacing, the first design,
fail on the same rule: LibreOffice sets the negative spacings as zero, and the shifts it
draws correlate only weakly with the code.)

Headings (other faces) are left as they are; invisible marks stay in the run of the
character before them.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from wenxing.fingerprint import visual

RAISE_HALF_POINTS = 1  # a raised stretch sits half a point above the baseline


def raised(key: bytes | None, member: str, length: int) -> np.ndarray | None:
    """Whether each base offset's character is raised (None for no visual layer)."""
    if key is None or length <= 0:
        return None
    return visual.docx_raised(key, member, np.arange(length))


def raised_pieces(text: str, start: int, lifted: np.ndarray) -> list[tuple[bool, str]]:
    """``text`` cut into pieces that are raised or not, in order: ``(raised, text)``.

    ``start`` is the base offset of the text's first visible character; characters that
    take no place (marks) go with the character before them.
    """
    pieces: list[tuple[bool, list[str]]] = []
    at = start
    for ch in text:
        if visual.takes_no_place(ch) and pieces:
            pieces[-1][1].append(ch)
            continue
        up = bool(lifted[at]) if 0 <= at < len(lifted) else False
        if not visual.takes_no_place(ch):
            at += 1
        if pieces and pieces[-1][0] == up:
            pieces[-1][1].append(ch)
        else:
            pieces.append((up, [ch]))
    return [(up, "".join(chars)) for up, chars in pieces]


def stretch_runs(
    text: str, start: int, lifted: np.ndarray | None, escape: Callable[[str], str]
) -> str:
    """Body text (escaped by ``escape``) for a hole inside an open plain run; with the
    visual layer, the raised stretches in runs of their own."""
    if lifted is None:
        return escape(text)
    out = []
    for n, (up, piece) in enumerate(raised_pieces(text, start, lifted)):
        if n or up:
            out.append("</w:t></w:r><w:r>")
            if up:
                out.append(f'<w:rPr><w:position w:val="{RAISE_HALF_POINTS}"/></w:rPr>')
            out.append('<w:t xml:space="preserve">')
        out.append(escape(piece))
    return "".join(out)
