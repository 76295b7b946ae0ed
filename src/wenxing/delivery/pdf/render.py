"""``PdfFormat``: a copy's pages drawn from its prepared fonts and line breaks."""

from __future__ import annotations

import zlib

import numpy as np

from wenxing.delivery.layout import (
    CopyContent,
    Layout,
)
from wenxing.delivery.pdf.fonts import FACE_OF_STYLE, FONTS, WIDE, shared_characters
from wenxing.delivery.pdf.geometry import (
    HEI,
    KAI,
    LEFT,
    PAGE_H,
    PAGE_W,
    PT,
    RIGHT,
    SONG,
    SONG_BOLD,
    TOP,
)
from wenxing.delivery.pdf.lines import half_cells
from wenxing.delivery.pdf.objects import MM, Embedded, Pdf, pdf_text
from wenxing.delivery.pdf.pages import PreparedPdf, Row, compose, header_lines, title_lines
from wenxing.delivery.pdf.stamp import STAMPS, stamp_size, write_stamp
from wenxing.fingerprint import visual
from wenxing.i18n import N_

_BOLD_STROKE = 0.09  # mm of outline stroke that makes Song "bold" (there is no bold face)


class PdfFormat:
    """A4 PDF laid out like a GB/T 9704 document, with embedded fonts that carry the marks.

    The file is written here, not by a PDF library: what every copy of a version shares
    (its fonts, cut down and compiled into PDF objects, and the breaks of its paragraphs)
    is made once, so a copy costs setting its pages' text and compressing them.
    """

    name = "pdf"
    media_type = "application/pdf"
    label = N_("PDF .pdf")

    def prepare(self, layout: Layout, masthead: tuple[str, ...]) -> PreparedPdf:
        for key in (SONG, KAI, HEI):
            FONTS.face(key)  # a missing font fails here, once, with the package to install
        return PreparedPdf(
            title_lines(layout.title or ""), header_lines(masthead), header_lines(masthead[:1])
        )

    def render(self, prepared: PreparedPdf, content: CopyContent) -> bytes:
        advances = Advances()
        pages = compose(prepared, content)
        fonts_of_rows = [[_fonts_of(row, advances) for row in page.rows] for page in pages]
        used: dict[str, set[int]] = {}
        for page, fonts in zip(pages, fonts_of_rows, strict=True):
            for row, row_fonts in zip(page.rows, fonts, strict=True):
                for cluster, font in zip(row.line.clusters, row_fonts, strict=True):
                    used.setdefault(font, set()).update(map(ord, cluster.text))
        embedded = {
            font: FONTS.embedded(font, frozenset(shared_characters() | points))
            for font, points in sorted(used.items())
        }
        names = {font: f"F{n}" for n, font in enumerate(embedded, start=1)}
        shift = _Shifts(content)
        pdf = Pdf()
        catalog, tree, info, resources = (pdf.reserve() for _ in range(4))
        stamp_number = write_stamp(pdf, content.member_number)
        font_refs = " ".join(
            f"/{names[font]} {emb.write(pdf)} 0 R" for font, emb in embedded.items()
        )
        pdf.put(
            resources,
            f"<< /ProcSet [/PDF /Text /ImageB] /Font << {font_refs} >> "
            f"/XObject << /I1 {stamp_number} 0 R >> >>",
        )
        kids = []
        stamp_w, stamp_h = stamp_size(content.member_number)
        for page, fonts in zip(pages, fonts_of_rows, strict=True):
            ops = _page_ops(stamp_w, stamp_h)
            for row, row_fonts in zip(page.rows, fonts, strict=True):
                ops.extend(_row_ops(row, row_fonts, advances, embedded, names, shift))
            ops.append("ET")
            number, contents = pdf.reserve(), pdf.reserve()
            pdf.put(
                number,
                f"<< /Type /Page /Parent {tree} 0 R /Resources {resources} 0 R "
                f"/Contents {contents} 0 R >>",
            )
            pdf.stream(contents, " /Filter /FlateDecode", zlib.compress("\n".join(ops).encode(), 6))
            kids.append(f"{number} 0 R")
        pdf.put(
            tree,
            f"<< /Type /Pages /Kids [{' '.join(kids)}] /Count {len(kids)} "
            f"/MediaBox [0 0 {PAGE_W * MM:.2f} {PAGE_H * MM:.2f}] >>",
        )
        pdf.put(
            catalog,
            f"<< /Type /Catalog /Pages {tree} 0 R /Lang (zh-CN) /PageLayout /OneColumn >>",
        )
        issued = content.issued_on.replace("-", "")
        pdf.put(
            info,
            f"<< /Title {pdf_text(content.title or '')} "
            f"/Subject {pdf_text(f'会员专属副本 {content.copy_tag}')} "
            f"/Keywords {pdf_text(content.copy_tag)} /Creator {pdf_text('wenxing')} "
            f"/CreationDate (D:{issued}000000Z) >>",
        )
        tag = content.copy_tag.encode("ascii").hex().upper()
        return pdf.finish(catalog, info, f"<{tag}><{tag}>")


class _Shifts:
    """Which moved glyph each body character of a copy is drawn with (the visual layer's
    variant, by base offset), for copies that carry it."""

    def __init__(self, content: CopyContent) -> None:
        self.kinds: list[int] = []
        if content.visual_key is None or not content.blocks:
            return
        length = content.blocks[-1].block.end + 1
        self.kinds = visual.variants(
            content.visual_key, content.member_number, np.arange(length)
        ).tolist()


def _page_ops(stamp_w: float, stamp_h: float) -> list[str]:
    ops = [
        f"q {stamp_w * MM:.2f} 0 0 {stamp_h * MM:.2f} {(fx * PAGE_W - stamp_w / 2) * MM:.2f} "
        f"{(PAGE_H - fy * PAGE_H - stamp_h / 2) * MM:.2f} cm /I1 Do Q"
        for fx, fy in STAMPS  # first, so that everything else is drawn over it
    ]
    rule_y = (PAGE_H - (TOP - 3.5)) * MM
    ops.append(
        f"0.6667 G {0.2 * MM:.2f} w {LEFT * MM:.2f} {rule_y:.2f} m "
        f"{(PAGE_W - RIGHT) * MM:.2f} {rule_y:.2f} l S"  # under the header
    )
    ops.append(f"0 G {_BOLD_STROKE * MM:.2f} w BT")
    return ops


class Advances(dict[str, dict[int, float]]):
    """Glyph advances (em) per font, a face loaded the first time a copy needs it."""

    def __missing__(self, key: str) -> dict[int, float]:
        advances = self[key] = FONTS.face(key).advance
        return advances


def font_for(style: str, ch: str, advances: Advances) -> str:
    """The style's face, or the wide Hei for a character that face lacks."""
    key = FACE_OF_STYLE[style]
    if ord(ch) in advances[key] or half_cells(ch) == 0 or ord(ch) not in advances[WIDE]:
        return key
    return WIDE


_FONT_OF: dict[tuple[str, str], str] = {}  # (style, character) → face: faces never change


def _fonts_of(row: Row, advances: Advances) -> list[str]:
    out = []
    for cluster in row.line.clusters:
        key = (cluster.style, cluster.text[0])
        font = _FONT_OF.get(key)
        if font is None:
            font = _FONT_OF[key] = font_for(key[0], key[1], advances)
        out.append(font)
    return out


_JUMP = 0.1  # cells: a glyph further than this from where the one before ends is placed anew


def _row_ops(
    row: Row,
    fonts: list[str],
    advances: Advances,
    embedded: dict[str, Embedded],
    names: dict[str, str],
    shift: _Shifts,
) -> list[str]:
    """The text operators of one row.

    Glyphs of one font follow each other in one string, small moves (justification, the
    visual layer's shifts) as adjustments inside it; a change of font or a larger move
    (squeezed punctuation, a gap) places the next string anew. Text extraction orders the
    strings of a line by where they start, so a character's marks never end a string that
    another continues at the same place: they begin that next string instead.
    """
    line = row.line
    stretch = line.stretch
    ops = [f"{row.gray / 255:.4f} g {100 * row.cell * stretch / (row.size * PT):.2f} Tz"]
    text: list[str] = []  # the TJ array being built
    current: tuple[str, bool] | None = None
    pen = -1e9  # cells: where the next glyph would go
    pending = ""  # marks waiting for the next string
    visible = row.origin - 1
    per_cell = -1000 / stretch  # TJ units per cell of move
    kinds = shift.kinds if row.origin >= 0 else None
    clusters, xs, last = line.clusters, line.x, len(line.clusters) - 1
    for i, cluster in enumerate(clusters):
        if not cluster.cells:  # marks before the first character
            pending += cluster.text
            continue
        visible += 1
        font, bold = fonts[i], cluster.style == SONG_BOLD
        emb = embedded[font]
        x = xs[i]
        if (font, bold) != current or abs(x - pen) > _JUMP:
            text = _start_string(ops, text, row, names[font], bold, (font, bold) != current, x)
            current = (font, bold)
            if pending:  # the marks begin the new string
                text.append(emb.hex(pending))
                pending = ""
        elif abs(x - pen) > 1e-6:
            text.append(f"{(x - pen) * per_cell:.1f}")
        char = cluster.text[0]
        moved = emb.shifted.get(char) if kinds else None
        text.append(moved[kinds[visible]] if kinds and moved is not None else emb.hex(char))
        pen = x + advances[font].get(ord(char), 0.0) * stretch
        marks = cluster.text[1:]
        if marks:
            if i < last and _starts_anew(line, fonts, i + 1, (font, bold), pen):
                pending = marks
            else:
                text.append(emb.hex(marks))
    if pending:  # a line of marks only
        if current is None:
            text = _start_string(ops, text, row, names[fonts[0]], False, True, xs[0])
        text.append(embedded[fonts[0]].hex(pending))
    if text:
        ops.append(f"[{' '.join(text)}] TJ")
    return ops


def _start_string(
    ops: list[str], text: list[str], row: Row, name: str, bold: bool, new_font: bool, x: float
) -> list[str]:
    """Close the TJ string being built (``text``) and place the next one at cell ``x``,
    in a new font if ``new_font``; the new string's (empty) array."""
    if text:
        ops.append(f"[{' '.join(text)}] TJ")
    if new_font:
        ops.append(f"/{name} {row.size:.2f} Tf {2 if bold else 0} Tr")
    baseline = (PAGE_H - row.baseline) * MM
    ops.append(f"1 0 0 1 {(row.left + x * row.cell) * MM:.3f} {baseline:.3f} Tm")
    return []


def _starts_anew(line, fonts: list[str], i: int, font: tuple[str, bool], pen: float) -> bool:
    """Whether cluster ``i`` begins a new string (another font, or a larger move)."""
    following = (fonts[i], line.clusters[i].style == SONG_BOLD)
    return following != font or abs(line.x[i] - pen) > _JUMP
