"""The Word format of a copy: a .docx set as a Chinese official document (GB/T 9704-2012).

The page follows the standard: A4, a 156 × 225 mm type area 37 mm from the top and 28 mm
from the left, 22 lines of 28 characters of 3号仿宋, a 2号小标宋 title, 黑体/楷体 headings
and the page number ``— 1 —`` on the outer side. Formatting lives in named styles, so a
member who edits the copy keeps the look; headings carry outline levels for Word's
navigation pane.

Besides the marked text, the copy names its recipient twice in the file's own structure:
the core properties (``dc:identifier`` is the copy tag) and the ``w14:paraId`` of every body
paragraph, derived from the copy tag (:mod:`wenxing.delivery.docx_ids`). Both travel with a forwarded file
whatever is done to the text, and neither leaves the file with copied text, which the marks
do. LibreOffice keeps the core properties when it saves a copy again but drops the ids.

The parts are written directly as OOXML. ``prepare`` serialises every part once per version
with holes where per-copy text goes; ``render`` fills the holes with escaped text and zips.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from wenxing.delivery.docx_ids import paragraph_ids
from wenxing.delivery.docx_styles import (
    BODY_FONT,
    BODY_SIZE,
    CHAR_SPACING,
    DECLARATION,
    DOC_NS,
    FOOTER_DISTANCE,
    HEADER_DISTANCE,
    HEI_FONT,
    KAI_FONT,
    LINE_PITCH,
    MARGIN_BOTTOM,
    MARGIN_LEFT,
    MARGIN_RIGHT,
    MARGIN_TOP,
    PAGE_HEIGHT,
    PAGE_NUMBER_SIZE,
    PAGE_WIDTH,
    RANK_FONTS,
    SETTINGS_XML,
    TITLE_FONT,
    font_table_xml,
    styles_xml,
)
from wenxing.delivery.docx_visual import raised, stretch_runs
from wenxing.delivery.layout import (
    DATELINE,
    HEADING,
    SALUTATION,
    SIGNATURE,
    CopyContent,
    Layout,
)
from wenxing.i18n import N_

# The page's figures and fonts (docx_styles.py), as the readers of a .docx copy name them.
__all__ = [
    "BODY_FONT",
    "BODY_SIZE",
    "CHAR_SPACING",
    "HEI_FONT",
    "KAI_FONT",
    "LINE_PITCH",
    "RANK_FONTS",
    "TITLE_FONT",
    "DocxFormat",
    "PreparedDocx",
]

_HOLE = "\x00"  # marks a per-copy value in a serialised part; XML text can never hold it
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_ZIP_LEVEL = 1  # the text compresses well at any level; level 1 is several times faster


def _xml_text(text: str) -> str:
    """Text as XML character data: escaped, and without characters XML 1.0 cannot hold."""
    if _NOT_XML.search(text):
        text = _NOT_XML.sub("", text)
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return text.replace("\r", "&#13;")  # a bare CR would be read back as LF


class _Template:
    """A serialised part with holes, filled with already-escaped values in order."""

    __slots__ = ("fixed",)

    def __init__(self, xml: str):
        self.fixed = xml.split(_HOLE)

    def fill(self, values: Sequence[str]) -> bytes:
        if len(values) != len(self.fixed) - 1:
            raise ValueError(f"{len(values)} values for {len(self.fixed) - 1} holes")
        pieces = [""] * (2 * len(self.fixed) - 1)
        pieces[0::2] = self.fixed
        pieces[1::2] = values
        return "".join(pieces).encode()


@dataclass(frozen=True)
class PreparedDocx:
    """One version's parts: fixed ones as bytes, per-copy ones as templates."""

    static: tuple[tuple[str, bytes], ...]
    document: _Template  # holes: per block paragraph id, [head,] text
    has_head: tuple[bool, ...]  # whether a block has a heading run of its own
    headers: tuple[tuple[str, _Template], ...]  # hole: the recipient line
    core: _Template  # holes: title, copy tag, date, date


class DocxFormat:
    """A Word document set to GB/T 9704-2012, opened by Word, WPS and LibreOffice."""

    name = "docx"
    media_type = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    label = N_("Word 公文格式 .docx")

    def prepare(self, layout: Layout, masthead: tuple[str, ...]) -> PreparedDocx:
        lines = [line for line in masthead if line.strip()]
        brand = masthead[1] if len(masthead) > 1 else ""
        first_header = _header(
            [("GwMasthead", _xml_text("\u3000".join(lines))), ("GwRecipient", _HOLE)]
        )
        later_header = _header(
            [("GwRecipient", (_xml_text(lines[0]) + "\u3000" if lines else "") + _HOLE)]
        )
        return PreparedDocx(
            static=(
                ("[Content_Types].xml", _CONTENT_TYPES.encode()),
                ("_rels/.rels", _PACKAGE_RELS.encode()),
                ("word/_rels/document.xml.rels", _DOCUMENT_RELS.encode()),
                ("word/styles.xml", styles_xml().encode()),
                ("word/settings.xml", SETTINGS_XML.encode()),
                ("word/fontTable.xml", font_table_xml().encode()),
                ("word/footer1.xml", _footer(odd=True).encode()),
                ("word/footer2.xml", _footer(odd=True).encode()),
                ("word/footer3.xml", _footer(odd=False).encode()),
            ),
            document=_Template(_document(layout)),
            has_head=tuple(block.head_end > block.start for block in layout.blocks),
            headers=(
                ("word/header1.xml", _Template(first_header)),
                ("word/header2.xml", _Template(later_header)),
                ("word/header3.xml", _Template(later_header)),
            ),
            core=_Template(_core(_xml_text(brand))),
        )

    def render(self, prepared: PreparedDocx, content: CopyContent) -> bytes:
        if len(content.blocks) != len(prepared.has_head):
            raise ValueError("the copy's blocks do not match the prepared version")
        values: list[str] = []
        ids = paragraph_ids(content.copy_tag, len(content.blocks))
        length = content.blocks[-1].block.end + 1 if content.blocks else 0
        lifted = raised(content.visual_key, content.member_number, length)
        for paragraph_id, marked, has_head in zip(
            ids, content.blocks, prepared.has_head, strict=True
        ):
            values.append(paragraph_id)
            if has_head:
                values.append(_xml_text(marked.head))
                values.append(stretch_runs(marked.text, marked.block.head_end, lifted, _xml_text))
            elif marked.block.style == HEADING:
                values.append(_xml_text(marked.whole))
            else:
                values.append(stretch_runs(marked.whole, marked.block.start, lifted, _xml_text))
        issued = date.fromisoformat(content.issued_on)
        stamp = f"{issued.isoformat()}T00:00:00Z"
        recipient = [_xml_text(content.recipient_line)]
        parts = [
            *prepared.static,
            ("word/document.xml", prepared.document.fill(values)),
            *((name, header.fill(recipient)) for name, header in prepared.headers),
            (
                "docProps/core.xml",
                prepared.core.fill(
                    [_xml_text(content.title), _xml_text(content.copy_tag), stamp, stamp]
                ),
            ),
        ]
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            for name, data in parts:
                # A fixed timestamp: the same copy always packs to the same bytes.
                info = zipfile.ZipInfo(
                    name, date_time=(issued.year, issued.month, issued.day, 0, 0, 0)
                )
                info.compress_type = zipfile.ZIP_DEFLATED
                archive.writestr(info, data, compresslevel=_ZIP_LEVEL)
        return buffer.getvalue()


# --- document.xml ------------------------------------------------------------------------

_PARAGRAPH_STYLES = {SALUTATION: "GwSalutation", DATELINE: "GwDateline", SIGNATURE: "GwSignature"}


def _rank(rank: int) -> int:
    return min(max(rank, 0), len(RANK_FONTS) - 1)


def _document(layout: Layout) -> str:
    paragraphs = [
        f'<w:p><w:pPr><w:pStyle w:val="GwTitle"/></w:pPr>{_run(_xml_text(layout.title))}</w:p>'
    ]
    for block in layout.blocks:
        if block.style == HEADING:
            style = f"GwH{_rank(block.rank)}"
        else:
            style = _PARAGRAPH_STYLES.get(block.style, "GwBody")
        runs = _run(_HOLE)
        if block.head_end > block.start:
            runs = _run(_HOLE, f"GwH{_rank(block.rank)}Char") + runs
        paragraphs.append(
            f'<w:p w14:paraId="{_HOLE}"><w:pPr><w:pStyle w:val="{style}"/></w:pPr>{runs}</w:p>'
        )
    section = (
        "<w:sectPr>"
        '<w:headerReference w:type="default" r:id="rIdHeaderOdd"/>'
        '<w:headerReference w:type="even" r:id="rIdHeaderEven"/>'
        '<w:headerReference w:type="first" r:id="rIdHeaderFirst"/>'
        '<w:footerReference w:type="default" r:id="rIdFooterOdd"/>'
        '<w:footerReference w:type="even" r:id="rIdFooterEven"/>'
        '<w:footerReference w:type="first" r:id="rIdFooterFirst"/>'
        f'<w:pgSz w:w="{PAGE_WIDTH}" w:h="{PAGE_HEIGHT}"/>'
        f'<w:pgMar w:top="{MARGIN_TOP}" w:right="{MARGIN_RIGHT}" w:bottom="{MARGIN_BOTTOM}" '
        f'w:left="{MARGIN_LEFT}" w:header="{HEADER_DISTANCE}" w:footer="{FOOTER_DISTANCE}" '
        'w:gutter="0"/>'
        '<w:pgNumType w:fmt="decimal" w:start="1"/>'
        "<w:titlePg/>"
        f'<w:docGrid w:type="lines" w:linePitch="{LINE_PITCH}"/>'
        "</w:sectPr>"
    )
    return (
        f"{DECLARATION}<w:document {DOC_NS}><w:body>{''.join(paragraphs)}{section}"
        "</w:body></w:document>"
    )


def _run(text: str, style: str | None = None) -> str:
    properties = f'<w:rPr><w:rStyle w:val="{style}"/></w:rPr>' if style else ""
    return f'<w:r>{properties}<w:t xml:space="preserve">{text}</w:t></w:r>'


# --- headers and footers -----------------------------------------------------------------


def _header(paragraphs: list[tuple[str, str]]) -> str:
    body = "".join(
        f'<w:p><w:pPr><w:pStyle w:val="{style}"/></w:pPr>{_run(text)}</w:p>'
        for style, text in paragraphs
    )
    return f"{DECLARATION}<w:hdr {DOC_NS}>{body}</w:hdr>"


def _footer(odd: bool) -> str:
    """``— N —`` with a PAGE field: odd pages right, even pages left, one character in."""
    one_char = PAGE_NUMBER_SIZE * 20
    if odd:
        side = f'<w:ind w:right="{one_char}"/><w:jc w:val="right"/>'
    else:
        side = f'<w:ind w:left="{one_char}"/><w:jc w:val="left"/>'
    field = (
        '<w:r><w:fldChar w:fldCharType="begin"/></w:r>'
        '<w:r><w:instrText xml:space="preserve"> PAGE </w:instrText></w:r>'
        '<w:r><w:fldChar w:fldCharType="separate"/></w:r>'
        "<w:r><w:t>1</w:t></w:r>"
        '<w:r><w:fldChar w:fldCharType="end"/></w:r>'
    )
    return (
        f'{DECLARATION}<w:ftr {DOC_NS}><w:p><w:pPr><w:pStyle w:val="GwPageNumber"/>{side}</w:pPr>'
        f"{_run('— ')}{field}{_run(' —')}</w:p></w:ftr>"
    )


# --- package -----------------------------------------------------------------------------

_MAIN = "application/vnd.openxmlformats-officedocument.wordprocessingml"
_CONTENT_TYPES = (
    f"{DECLARATION}"
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    f'<Override PartName="/word/document.xml" ContentType="{_MAIN}.document.main+xml"/>'
    f'<Override PartName="/word/styles.xml" ContentType="{_MAIN}.styles+xml"/>'
    f'<Override PartName="/word/settings.xml" ContentType="{_MAIN}.settings+xml"/>'
    f'<Override PartName="/word/fontTable.xml" ContentType="{_MAIN}.fontTable+xml"/>'
    + "".join(
        f'<Override PartName="/word/{kind}{n}.xml" ContentType="{_MAIN}.{kind}+xml"/>'
        for kind in ("header", "footer")
        for n in (1, 2, 3)
    )
    + '<Override PartName="/docProps/core.xml" '
    'ContentType="application/vnd.openxmlformats-package.core-properties+xml"/>'
    "</Types>"
)

_RELS_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PACKAGE_RELS = (
    f'{DECLARATION}<Relationships xmlns="{_RELS_NS}">'
    f'<Relationship Id="rId1" Type="{_REL}/officeDocument" Target="word/document.xml"/>'
    '<Relationship Id="rId2" '
    'Type="http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties" '
    'Target="docProps/core.xml"/>'
    "</Relationships>"
)
_DOCUMENT_RELS = (
    f'{DECLARATION}<Relationships xmlns="{_RELS_NS}">'
    + "".join(
        f'<Relationship Id="{rid}" Type="{_REL}/{kind}" Target="{target}"/>'
        for rid, kind, target in (
            ("rIdStyles", "styles", "styles.xml"),
            ("rIdSettings", "settings", "settings.xml"),
            ("rIdFonts", "fontTable", "fontTable.xml"),
            ("rIdHeaderFirst", "header", "header1.xml"),
            ("rIdHeaderOdd", "header", "header2.xml"),
            ("rIdHeaderEven", "header", "header3.xml"),
            ("rIdFooterFirst", "footer", "footer1.xml"),
            ("rIdFooterOdd", "footer", "footer2.xml"),
            ("rIdFooterEven", "footer", "footer3.xml"),
        )
    )
    + "</Relationships>"
)


def _core(brand: str) -> str:
    return (
        f"{DECLARATION}<cp:coreProperties "
        'xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        f"<dc:title>{_HOLE}</dc:title><dc:creator>{brand}</dc:creator>"
        f"<cp:lastModifiedBy>{brand}</cp:lastModifiedBy><dc:identifier>{_HOLE}</dc:identifier>"
        f'<dcterms:created xsi:type="dcterms:W3CDTF">{_HOLE}</dcterms:created>'
        f'<dcterms:modified xsi:type="dcterms:W3CDTF">{_HOLE}</dcterms:modified>'
        "</cp:coreProperties>"
    )
