"""The Word format of a copy: a .docx set as a Chinese official document (GB/T 9704-2012).

The page follows the standard: A4, a 156 × 225 mm type area 37 mm from the top and 28 mm
from the left, 22 lines of 28 characters of 3号仿宋, a 2号小标宋 title, 黑体/楷体 headings
and the page number ``— 1 —`` on the outer side. Formatting lives in named styles, so a
member who edits the copy keeps the look; headings carry outline levels for Word's
navigation pane.

Besides the marked text, the copy names its recipient twice in the file's own structure:
the core properties (``dc:identifier`` is the copy tag) and the ``w14:paraId`` of every body
paragraph, derived from the copy tag (``paragraph_ids``). Both travel with a forwarded file
whatever is done to the text, and neither leaves the file with copied text, which the marks
do. LibreOffice keeps the core properties when it saves a copy again but drops the ids.

The parts are written directly as OOXML. ``prepare`` serialises every part once per version
with holes where per-copy text goes; ``render`` fills the holes with escaped text and zips.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import math
import re
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from lxml import etree

from wenxing.delivery.layout import (
    DATELINE,
    HEADING,
    SALUTATION,
    SIGNATURE,
    CopyContent,
    Layout,
)
from wenxing.i18n import N_

_W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
_W14_NS = "http://schemas.microsoft.com/office/word/2010/wordml"
_R_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_MC_NS = "http://schemas.openxmlformats.org/markup-compatibility/2006"
_W = f'xmlns:w="{_W_NS}"'
_DOC_NS = f'{_W} xmlns:r="{_R_NS}" xmlns:w14="{_W14_NS}" xmlns:mc="{_MC_NS}" mc:Ignorable="w14"'
_DECLARATION = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'


def _twips(mm: float) -> int:
    return round(mm * 1440 / 25.4)


# The page (GB/T 9704-2012 5.2): A4 with a 156 × 225 mm type area whose top-left corner is
# 37 mm from the top edge and 28 mm from the left edge, which leaves 35 mm and 26 mm.
PAGE_WIDTH, PAGE_HEIGHT = _twips(210), _twips(297)
MARGIN_TOP, MARGIN_BOTTOM = _twips(37), _twips(35)
MARGIN_LEFT, MARGIN_RIGHT = _twips(28), _twips(26)
LINES_PER_PAGE, CHARS_PER_LINE = 22, 28
BODY_SIZE = 16  # pt, 3号
TITLE_SIZE = 22  # pt, 2号
PAGE_NUMBER_SIZE = 14  # pt, 4号
HEADER_SIZE = 9  # pt: the masthead is small print above the type area
_HEADER_LINE = 240  # twips: header lines are 12 pt apart

# 22 lines of 28 characters (5.2.3). The type area is 16838 - 2098 - 1984 = 12756 twips
# high and 11906 - 1587 - 1474 = 8845 twips = 442.25 pt wide.
# Lines: a line grid (w:docGrid type "lines") of pitch 12756 / 22 = 579.8, rounded down to
# 579 because Word fits floor(height / pitch) lines (580 gives 21). Body lines are single
# spaced, so each takes one grid line.
# Characters: 442.25 pt / 28 = 15.79 pt a character, 0.21 pt less than the 16 pt font.
# Word templates use a character grid for this (type "linesAndChars", charSpace -842 in
# 1/4096 pt), but LibreOffice (7.4) then gives every character two cells of the narrower
# grid and sets 14 a line. So the text is condensed instead: the body font's character
# spacing is -0.25 pt (w:spacing in twips, rounded down from -0.21 so that 28 fit:
# 28 x 15.75 = 441 pt), a plain run property that every client applies.
_TYPE_WIDTH = PAGE_WIDTH - MARGIN_LEFT - MARGIN_RIGHT
_TYPE_HEIGHT = PAGE_HEIGHT - MARGIN_TOP - MARGIN_BOTTOM
LINE_PITCH = _TYPE_HEIGHT // LINES_PER_PAGE
CHAR_SPACING = math.floor(_TYPE_WIDTH / CHARS_PER_LINE - BODY_SIZE * 20)

# The page number's dash line sits 7 mm below the type area (7.5); the footer distance is
# measured from the page's bottom edge to the foot of the footer's (exact-height) line.
_PAGE_NUMBER_LINE = 360  # twips, exact line height of the footer paragraph
FOOTER_DISTANCE = _twips(35 - 7) - _PAGE_NUMBER_LINE
HEADER_DISTANCE = _twips(10)  # leaves the masthead room above the 37 mm top margin

TITLE_FONT = "方正小标宋简体"
BODY_FONT = "仿宋_GB2312"
HEI_FONT = "黑体"
KAI_FONT = "楷体_GB2312"
SONG_FONT = "宋体"
# Font per heading rank: 0 第X章/部分, 1 一、, 2 （一）, 3 1. (bold), 4 （1）, 5 第X条.
RANK_FONTS = (HEI_FONT, HEI_FONT, KAI_FONT, BODY_FONT, BODY_FONT, BODY_FONT)
BOLD_RANKS = frozenset({3})
_RANK_NAMES = ("章节标题", "一级标题", "二级标题", "三级标题", "四级标题", "条款标题")
# What Word and WPS substitute when a document's font is not installed.
_ALT_NAMES = {
    TITLE_FONT: "宋体",
    BODY_FONT: "仿宋",
    KAI_FONT: "楷体",
    HEI_FONT: "SimHei",
    SONG_FONT: "SimSun",
}

_HOLE = "\x00"  # marks a per-copy value in a serialised part; XML text can never hold it
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_ZIP_LEVEL = 1  # the text compresses well at any level; level 1 is several times faster


def _xml_text(text: str) -> str:
    """Text as XML character data: escaped, and without characters XML 1.0 cannot hold."""
    if _NOT_XML.search(text):
        text = _NOT_XML.sub("", text)
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return text.replace("\r", "&#13;")  # a bare CR would be read back as LF


def paragraph_ids(copy_tag: str, count: int) -> list[str]:
    """The ``w14:paraId`` of body paragraphs 0..count-1 of the copy with this tag.

    Each is the first 31 bits of HMAC-SHA256(copy tag, ``p{i}``), as Word requires ids
    below 0x80000000.
    """
    key = copy_tag.encode()
    return [
        f"{int.from_bytes(hmac.digest(key, f'p{i}'.encode(), hashlib.sha256)[:4]) >> 1:08X}"
        for i in range(count)
    ]


_PARAGRAPH = f"{{{_W_NS}}}p"
_PARA_ID = f"{{{_W14_NS}}}paraId"


def read_paragraph_ids(data: bytes) -> list[str]:
    """The paragraph ids in a .docx's main document, in order (upper-case hex).

    Raises ``ValueError`` when ``data`` is not a .docx.
    """
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            xml = archive.read("word/document.xml")
        parser = etree.XMLParser(resolve_entities=False, no_network=True)
        root = etree.fromstring(xml, parser)
    except (zipfile.BadZipFile, KeyError, etree.XMLSyntaxError) as exc:
        raise ValueError(f"not a .docx file: {exc}") from None
    return [p.get(_PARA_ID).upper() for p in root.iter(_PARAGRAPH) if p.get(_PARA_ID)]


def matches_copy_tag(data: bytes, copy_tag: str, paragraphs: int | None = None) -> float:
    """The fraction of a .docx's paragraph ids that belong to the copy with this tag.

    Ids are compared as a set, so paragraphs added, moved or deleted in an edited copy cost
    only their own share. ``paragraphs`` is the number of body paragraphs of the version
    when known; without it ids of paragraphs beyond the document's current count (after
    deletions) are not recognised. A copy for another tag scores about 0.
    """
    found = read_paragraph_ids(data)
    if not found:
        return 0.0
    ours = set(paragraph_ids(copy_tag, max(len(found), paragraphs or 0)))
    return sum(paragraph_id in ours for paragraph_id in found) / len(found)


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
                ("word/styles.xml", _styles().encode()),
                ("word/settings.xml", _SETTINGS.encode()),
                ("word/fontTable.xml", _font_table().encode()),
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
        for paragraph_id, marked, has_head in zip(
            ids, content.blocks, prepared.has_head, strict=True
        ):
            values.append(paragraph_id)
            if has_head:
                values.append(_xml_text(marked.head))
                values.append(_xml_text(marked.text))
            else:
                values.append(_xml_text(marked.whole))
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
        f"{_DECLARATION}<w:document {_DOC_NS}><w:body>{''.join(paragraphs)}{section}"
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
    return f"{_DECLARATION}<w:hdr {_DOC_NS}>{body}</w:hdr>"


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
        f'{_DECLARATION}<w:ftr {_DOC_NS}><w:p><w:pPr><w:pStyle w:val="GwPageNumber"/>{side}</w:pPr>'
        f"{_run('— ')}{field}{_run(' —')}</w:p></w:ftr>"
    )


# --- styles, settings, fonts -------------------------------------------------------------


def _fonts(font: str) -> str:
    # eastAsia is what Word and WPS use for Chinese; ascii/hAnsi for Latin letters and
    # digits; the hint sends shared characters (quotes, dashes) to the East Asian font.
    return (
        f'<w:rFonts w:ascii="{font}" w:hAnsi="{font}" w:eastAsia="{font}" w:cs="{font}" '
        'w:hint="eastAsia"/>'
    )


def _condensed(twips: int) -> str:
    return f'<w:spacing w:val="{twips}"/>'


def _size(points: float) -> str:
    half_points = round(points * 2)
    return f'<w:sz w:val="{half_points}"/><w:szCs w:val="{half_points}"/>'


def _chars_indent(first_line: int = 0, right: int = 0) -> str:
    """An indent in characters (hundredths, as Word stores it) with its twips fallback."""
    attributes = ""
    if first_line:
        attributes += f' w:firstLineChars="{first_line}" w:firstLine="{_char_twips(first_line)}"'
    if right:
        attributes += f' w:rightChars="{right}" w:right="{_char_twips(right)}"'
    return f"<w:ind{attributes}/>"


def _char_twips(hundredths: int) -> int:
    return hundredths * BODY_SIZE * 20 // 100


def _paragraph_style(
    style_id: str, name: str, p_pr: str = "", r_pr: str = "", based_on: str = "Normal"
) -> str:
    return (
        f'<w:style w:type="paragraph" w:styleId="{style_id}"><w:name w:val="{name}"/>'
        f'<w:basedOn w:val="{based_on}"/><w:qFormat/><w:pPr>{p_pr}</w:pPr>'
        f"<w:rPr>{r_pr}</w:rPr></w:style>"
    )


def _styles() -> str:
    no_indent = '<w:ind w:firstLineChars="0" w:firstLine="0"/>'
    styles = [
        # Normal carries the body font, its size and the condensed spacing that makes a
        # line hold 28 characters (CHAR_SPACING); every other style builds on it.
        '<w:style w:type="paragraph" w:default="1" w:styleId="Normal"><w:name w:val="Normal"/>'
        f"<w:qFormat/><w:rPr>{_fonts(BODY_FONT)}{_condensed(CHAR_SPACING)}{_size(BODY_SIZE)}"
        "</w:rPr></w:style>",
        '<w:style w:type="character" w:default="1" w:styleId="DefaultParagraphFont">'
        '<w:name w:val="Default Paragraph Font"/><w:uiPriority w:val="1"/><w:semiHidden/>'
        "<w:unhideWhenUsed/></w:style>",
        # The title is followed by one empty grid line, as the standard sets it.
        _paragraph_style(
            "GwTitle",
            "公文标题",
            f'<w:spacing w:after="{LINE_PITCH}"/>{no_indent}<w:jc w:val="center"/>',
            _fonts(TITLE_FONT) + _condensed(0) + _size(TITLE_SIZE),
        ),
        _paragraph_style("GwBody", "公文正文", _chars_indent(first_line=200)),
        _paragraph_style("GwSalutation", "称谓", f'{no_indent}<w:jc w:val="left"/>'),
        _paragraph_style(
            "GwDateline", "题下日期", f'{no_indent}<w:jc w:val="center"/>', _fonts(KAI_FONT)
        ),
        # Unsealed documents put the issuer and the date two characters from the right (7.3.5.3).
        _paragraph_style("GwSignature", "落款", f'{_chars_indent(right=200)}<w:jc w:val="right"/>'),
    ]
    for rank, (font, name) in enumerate(zip(RANK_FONTS, _RANK_NAMES, strict=True)):
        bold = "<w:b/><w:bCs/>" if rank in BOLD_RANKS else ""
        # Chapters are centred; every other rank is indented like the text.
        place = f'{no_indent}<w:jc w:val="center"/>' if rank == 0 else ""
        styles.append(
            _paragraph_style(
                f"GwH{rank}",
                name,
                f'<w:keepNext/>{place}<w:outlineLvl w:val="{rank}"/>',
                _fonts(font) + bold,
                based_on="GwBody",
            )
        )
        styles.append(
            f'<w:style w:type="character" w:styleId="GwH{rank}Char"><w:name w:val="{name}字符"/>'
            f'<w:basedOn w:val="DefaultParagraphFont"/><w:rPr>{_fonts(font)}{bold}</w:rPr></w:style>'
        )
    # Header lines keep their own size and spacing: the grid is for the type area.
    small = (
        f'<w:snapToGrid w:val="0"/><w:spacing w:line="{_HEADER_LINE}" w:lineRule="exact"/>'
        f'{no_indent}<w:jc w:val="both"/>'
    )
    rule = '<w:pBdr><w:bottom w:val="single" w:sz="6" w:space="1" w:color="C00000"/></w:pBdr>'
    styles += [
        _paragraph_style(
            "GwMasthead", "页眉刊头", small, _fonts(SONG_FONT) + _condensed(0) + _size(HEADER_SIZE)
        ),
        # The recipient line closes the header with a rule, as a 版头 is closed.
        _paragraph_style(
            "GwRecipient",
            "页眉接收人",
            rule + small,
            _fonts(SONG_FONT) + '<w:color w:val="C00000"/>' + _condensed(0) + _size(HEADER_SIZE),
        ),
        _paragraph_style(
            "GwPageNumber",
            "页码",
            f'<w:snapToGrid w:val="0"/><w:spacing w:line="{_PAGE_NUMBER_LINE}" w:lineRule="exact"/>',
            _fonts(SONG_FONT) + _condensed(0) + _size(PAGE_NUMBER_SIZE),
        ),
    ]
    defaults = (
        "<w:docDefaults><w:rPrDefault><w:rPr>"
        f'{_fonts(BODY_FONT)}{_size(BODY_SIZE)}<w:lang w:val="en-US" w:eastAsia="zh-CN"/>'
        "</w:rPr></w:rPrDefault><w:pPrDefault><w:pPr>"
        # Widow control would shorten pages and break the 22-line grid.
        '<w:widowControl w:val="0"/><w:autoSpaceDE w:val="0"/><w:autoSpaceDN w:val="0"/>'
        '<w:jc w:val="both"/></w:pPr></w:pPrDefault></w:docDefaults>'
    )
    return f"{_DECLARATION}<w:styles {_W}>{defaults}{''.join(styles)}</w:styles>"


def _font_table() -> str:
    fonts = "".join(
        f'<w:font w:name="{font}"><w:altName w:val="{alt}"/><w:charset w:val="86"/>'
        '<w:family w:val="auto"/><w:pitch w:val="variable"/></w:font>'
        for font, alt in _ALT_NAMES.items()
    )
    return f"{_DECLARATION}<w:fonts {_W}>{fonts}</w:fonts>"


_SETTINGS = (
    f"{_DECLARATION}<w:settings {_W}>"
    '<w:zoom w:percent="100"/>'
    '<w:defaultTabStop w:val="420"/>'
    "<w:evenAndOddHeaders/>"
    '<w:characterSpacingControl w:val="doNotCompress"/>'
    "<w:compat>"
    '<w:compatSetting w:name="compatibilityMode" w:uri="http://schemas.microsoft.com/office/word" '
    'w:val="15"/>'
    "</w:compat>"
    '<w:themeFontLang w:val="en-US" w:eastAsia="zh-CN"/>'
    "</w:settings>"
)


# --- package -----------------------------------------------------------------------------

_MAIN = "application/vnd.openxmlformats-officedocument.wordprocessingml"
_CONTENT_TYPES = (
    f"{_DECLARATION}"
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
    f'{_DECLARATION}<Relationships xmlns="{_RELS_NS}">'
    f'<Relationship Id="rId1" Type="{_REL}/officeDocument" Target="word/document.xml"/>'
    '<Relationship Id="rId2" '
    'Type="http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties" '
    'Target="docProps/core.xml"/>'
    "</Relationships>"
)
_DOCUMENT_RELS = (
    f'{_DECLARATION}<Relationships xmlns="{_RELS_NS}">'
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
        f"{_DECLARATION}<cp:coreProperties "
        'xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        f"<dc:title>{_HOLE}</dc:title><dc:creator>{brand}</dc:creator>"
        f"<cp:lastModifiedBy>{brand}</cp:lastModifiedBy><dc:identifier>{_HOLE}</dc:identifier>"
        f'<dcterms:created xsi:type="dcterms:W3CDTF">{_HOLE}</dcterms:created>'
        f'<dcterms:modified xsi:type="dcterms:W3CDTF">{_HOLE}</dcterms:modified>'
        "</cp:coreProperties>"
    )
