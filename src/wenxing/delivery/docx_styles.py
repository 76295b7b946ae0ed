"""The page and type of a Chinese official document (GB/T 9704-2012) as Word stores them:
the A4 page, its 22 × 28 grid, the fonts of the title, body and headings, and the parts
that carry them (``styles.xml``, ``fontTable.xml``, ``settings.xml``). ``docx.py`` writes
the document that uses these styles."""

from __future__ import annotations

import math

from wenxing.delivery.docx_ids import W14_NS, W_NS

_R_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_MC_NS = "http://schemas.openxmlformats.org/markup-compatibility/2006"
W_DECL = f'xmlns:w="{W_NS}"'
DOC_NS = f'{W_DECL} xmlns:r="{_R_NS}" xmlns:w14="{W14_NS}" xmlns:mc="{_MC_NS}" mc:Ignorable="w14"'
DECLARATION = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'


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


_NO_INDENT = '<w:ind w:firstLineChars="0" w:firstLine="0"/>'


def styles_xml() -> str:
    """``styles.xml``: the defaults, the text's styles, one per heading rank, the header's."""
    styles = [*_text_styles(), *_rank_styles(), *_header_styles()]
    defaults = (
        "<w:docDefaults><w:rPrDefault><w:rPr>"
        f'{_fonts(BODY_FONT)}{_size(BODY_SIZE)}<w:lang w:val="en-US" w:eastAsia="zh-CN"/>'
        "</w:rPr></w:rPrDefault><w:pPrDefault><w:pPr>"
        # Widow control would shorten pages and break the 22-line grid.
        '<w:widowControl w:val="0"/><w:autoSpaceDE w:val="0"/><w:autoSpaceDN w:val="0"/>'
        '<w:jc w:val="both"/></w:pPr></w:pPrDefault></w:docDefaults>'
    )
    return f"{DECLARATION}<w:styles {W_DECL}>{defaults}{''.join(styles)}</w:styles>"


def _text_styles() -> list[str]:
    no_indent = _NO_INDENT
    return [
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


def _rank_styles() -> list[str]:
    """A paragraph style per heading rank, and a character style for a heading that leads
    its paragraph (``GwH{rank}Char``)."""
    styles = []
    for rank, (font, name) in enumerate(zip(RANK_FONTS, _RANK_NAMES, strict=True)):
        bold = "<w:b/><w:bCs/>" if rank in BOLD_RANKS else ""
        # Chapters are centred; every other rank is indented like the text.
        place = f'{_NO_INDENT}<w:jc w:val="center"/>' if rank == 0 else ""
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
    return styles


def _header_styles() -> list[str]:
    # Header lines keep their own size and spacing: the grid is for the type area.
    small = (
        f'<w:snapToGrid w:val="0"/><w:spacing w:line="{_HEADER_LINE}" w:lineRule="exact"/>'
        f'{_NO_INDENT}<w:jc w:val="both"/>'
    )
    rule = '<w:pBdr><w:bottom w:val="single" w:sz="6" w:space="1" w:color="C00000"/></w:pBdr>'
    return [
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


def font_table_xml() -> str:
    fonts = "".join(
        f'<w:font w:name="{font}"><w:altName w:val="{alt}"/><w:charset w:val="86"/>'
        '<w:family w:val="auto"/><w:pitch w:val="variable"/></w:font>'
        for font, alt in _ALT_NAMES.items()
    )
    return f"{DECLARATION}<w:fonts {W_DECL}>{fonts}</w:fonts>"


SETTINGS_XML = (
    f"{DECLARATION}<w:settings {W_DECL}>"
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
