"""The reader page: one copy as a self-contained HTML page.

Members read on phones inside WeChat's browser, so the page is one narrow column with a
collapsible table of contents; as the site serves it, a small script of the site's own adds
the reader's comforts (below, ``_READER_HEAD``), and the page reads whole without it. It carries the recipient three ways:
the recipient line under the masthead, a faint tiled watermark of the member number drawn
by CSS (it is part of every screenshot but never of selected text), and the fingerprint in
the text itself, which goes wherever a member copies it.

The page is prepared once per version: the static parts are rendered and kept as a list of
strings with holes for the per-copy values, so a copy is one ``"".join``.
"""

from __future__ import annotations

import re
from html import escape
from urllib.parse import quote

import numpy as np

from wenxing.delivery.layout import (
    CLOSING,
    DATELINE,
    HEADING,
    SALUTATION,
    SIGNATURE,
    CopyContent,
    Layout,
)
from wenxing.fingerprint import visual
from wenxing.i18n import N_

_STYLE = """
:root{--ink:#1f2328;--muted:#6b7280;--red:#b91c1c;--paper:#fffdf8}
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{margin:0;color:var(--ink);background-color:var(--paper);background-repeat:repeat;
 font:18px/1.9 "FangSong","仿宋","STFangsong","Noto Serif CJK SC","AR PL UMing CN",serif}
.page{max-width:46rem;margin:0 auto;padding:0 1rem 4rem}
.masthead{font:13px/1.6 system-ui,"Microsoft YaHei","WenQuanYi Micro Hei",sans-serif;
 color:var(--muted);border-bottom:1px solid #e5e0d5;padding:.8rem 0 .6rem}
.masthead p{margin:0}
.masthead .notice{color:var(--red);font-weight:600}
.recipient{font:13px/1.6 system-ui,"Microsoft YaHei","WenQuanYi Micro Hei",sans-serif;
 margin:.6rem 0 0;padding:.4rem .6rem;border-left:3px solid var(--red);background:#fbefe9;color:var(--ink)}
nav.links{font:14px system-ui,sans-serif;display:flex;flex-wrap:wrap;gap:.4rem 1rem;margin:.8rem 0}
nav.links a{color:#1d4ed8}
h1{font:700 26px/1.5 "方正小标宋简体","FZXiaoBiaoSong-B05S","SimSun","AR PL UMing CN",serif;
 text-align:center;margin:1.6rem 0 1rem}
details.toc{font:15px/1.7 system-ui,"Microsoft YaHei","WenQuanYi Micro Hei",sans-serif;
 border:1px solid #e5e0d5;border-radius:6px;padding:.4rem .8rem;margin:0 0 1.2rem;background:#fff}
details.toc summary{cursor:pointer;font-weight:600}
details.toc ol{list-style:none;margin:.4rem 0;padding:0}
details.toc li.l2{padding-left:1.2em}
details.toc li.l3{padding-left:2.4em}
details.toc li.l4{padding-left:3.6em}
details.toc a{color:var(--ink);text-decoration:none}
article p{margin:0 0 .6em;text-indent:2em;text-align:justify}
article p.flush{text-indent:0}
article p.centre{text-indent:0;text-align:center;font-family:"KaiTi","楷体","AR PL UKai CN",serif}
article p.right{text-indent:0;text-align:right}
article .r0,article .r1{font-family:"SimHei","黑体","Microsoft YaHei","WenQuanYi Micro Hei",sans-serif;font-weight:700}
article .r2{font-family:"KaiTi","楷体","KaiTi_GB2312","AR PL UKai CN",serif;font-weight:700}
article .r3{font-weight:700}
article h2,article h3,article h4{font-size:18px;margin:1.1em 0 .5em;text-indent:2em;line-height:1.8}
article h2.r0{text-align:center;text-indent:0}
w-0,w-1,w-2,w-3{position:relative}
w-0{top:@DYem}w-1{top:-@DYem}w-2{left:@DXem;top:@DYem}w-3{left:@DXem;top:-@DYem}
footer{font:12px system-ui,sans-serif;color:var(--muted);margin-top:2rem;text-align:center}
@media (min-width:48rem){body{font-size:19px}.page{padding:0 2rem 4rem}}
@media print{nav.links,details.toc{display:none}body{background-color:#fff}}
""".replace("@DX", f"{visual.DX_EM:.4f}").replace("@DY", f"{visual.DY_EM:.4f}")


def watermark_svg(member_number: str, issued_on: str) -> str:
    """A tile with the member number and date, drawn faint and at an angle."""
    text = escape(f"{member_number} {issued_on}")
    return (
        "<svg xmlns='http://www.w3.org/2000/svg' width='320' height='200'>"
        "<text x='20' y='150' transform='rotate(-24 160 100)' fill='rgba(120,110,100,0.13)' "
        "font-family='sans-serif' font-size='22'>"
        f"{text}</text></svg>"
    )


class HtmlFormat:
    """The reader page (also offered as a download: it opens in any browser)."""

    name = "html"
    media_type = "text/html; charset=utf-8"
    label = N_("网页 .html")

    def prepare(self, layout: Layout, masthead: tuple[str, ...]) -> list[str | int]:
        """Static HTML with integer holes: 0 head values, 1 recipient, 2 links, then blocks."""
        parts: list[str | int] = []
        parts.append(
            '<!doctype html>\n<html lang="zh-CN"><head><meta charset="utf-8">\n'
            '<meta name="viewport" content="width=device-width,initial-scale=1">\n'
            f"<title>{escape(layout.title)}</title>\n<style>{_STYLE}</style>\n"
        )
        parts.append(_HEAD)
        notice = {0}
        lines = "".join(
            f'<p class="notice">{escape(line)}</p>'
            if n in notice or "倒卖" in line
            else f"<p>{escape(line)}</p>"
            for n, line in enumerate(masthead)
            if line.strip()
        )
        parts.append(f'</head>\n<body>\n<div class="page">\n<header class="masthead">{lines}')
        parts.append(_RECIPIENT)
        parts.append("</header>\n")
        parts.append(_LINKS)
        parts.append(f"<h1>{escape(layout.title)}</h1>\n")
        if layout.toc:
            items = "".join(
                f'<li class="l{min(entry.level, 4)}"><a href="#{entry.anchor}">'
                f"{escape(entry.label)}</a></li>"
                for entry in layout.toc
            )
            parts.append(
                f'<details class="toc" id="toc"><summary>目录（{len(layout.toc)} 项）</summary>'
                f"<ol>{items}</ol></details>\n"
            )
        parts.append("<article>\n")
        parts.extend(_article(layout))
        parts.append("</article>\n")
        parts.append(_FOOTER)
        parts.append("</div>\n</body></html>\n")
        return parts

    def render(self, prepared: list[str | int], content: CopyContent) -> bytes:
        out: list[str] = []
        blocks = content.blocks
        moved = _moved(content)
        for part in prepared:
            if isinstance(part, str):
                out.append(part)
            elif part >= _SIMILAR_BASE:
                if content.links:  # served on the site: 相似段落 beside the heading
                    out.append(_similar_link(blocks[part - _SIMILAR_BASE].block.anchor))
            elif part >= _TEXT_BASE:
                block = blocks[part - _TEXT_BASE]
                out.append(_text(block.text, block.block.head_end, moved))
            elif part >= _BLOCK_BASE:
                block = blocks[part - _BLOCK_BASE]
                heading = block.block.style == HEADING
                out.append(_text(block.whole if heading else block.head, block.block.start, moved))
            elif part == _HEAD:
                tile = quote(watermark_svg(content.member_number, content.issued_on))
                out.append(
                    f'<meta name="wenxing-copy" content="{escape(content.copy_tag)}">\n'
                    f'<style>body{{background-image:url("data:image/svg+xml,{tile}")}}</style>\n'
                )
                if content.links:  # served on the site: the reader's comforts
                    out.append(_READER_HEAD)
            elif part == _RECIPIENT:
                out.append(f'<p class="recipient">{escape(content.recipient_line)}</p>')
            elif part == _LINKS:
                if content.links:
                    anchors = "".join(
                        f'<a href="{escape(href)}">{escape(label)}</a>'
                        for label, href in content.links
                    )
                    out.append(f'<nav class="links">{anchors}</nav>\n{_TOOLS}')
            elif part == _FOOTER:
                out.append(
                    f"<footer>{escape(content.member_number)} · {escape(content.issued_on)}"
                    " · 个人专属副本 · 可追溯</footer>\n"
                )
        return "".join(out).encode("utf-8")


def _article(layout: Layout) -> list[str | int]:
    """The article's static HTML with the holes of its blocks (heading runs, text, and the
    相似段落 link of each anchored heading)."""
    parts: list[str | int] = []
    for number, block in enumerate(layout.blocks):
        anchor = f' id="{block.anchor}"' if block.anchor else ""
        if block.style == HEADING:
            tag = "h2" if block.rank <= 1 else "h3" if block.rank == 2 else "h4"
            parts.append(f'<{tag}{anchor} class="r{max(block.rank, 0)}">')
            parts.append(_BLOCK_BASE + number)
            if block.anchor:
                parts.append(_SIMILAR_BASE + number)
            parts.append(f"</{tag}>\n")
            continue
        css = {
            SALUTATION: ' class="flush"',
            DATELINE: ' class="centre"',
            SIGNATURE: ' class="right"',
            CLOSING: "",
        }.get(block.style, "")
        parts.append(f"<p{anchor}{css}>")
        if block.head_end > block.start:
            parts.append(f'<span class="r{max(block.rank, 0)}">')
            parts.append(_BLOCK_BASE + number)
            parts.append("</span>")
            if block.anchor:
                parts.append(_SIMILAR_BASE + number)
        parts.append(_TEXT_BASE + number)
        parts.append("</p>\n")
    return parts


def _moved(content: CopyContent) -> list[str] | None:
    """The visual layer's opening tag for every base offset of the body (None for a page
    that does not carry it): each Han character is wrapped in ``w-0`` … ``w-3``, inline
    elements the style moves by the member's shifts (as the .pdf copy moves its glyphs);
    selected and copied text is the same."""
    if content.visual_key is None or not content.blocks:
        return None
    length = content.blocks[-1].block.end + 1
    kinds = visual.variants(content.visual_key, content.member_number, np.arange(length))
    return [_OPEN[k] for k in kinds.tolist()]


# The reader page as the site serves it (a copy with links back to the site) gets the
# reader's comforts: font size, night mode, the remembered place, 收藏, a 目录 button and
# the masthead folded to two lines (static/reader.js and reader.css). They only restyle
# the page: the text, its invisible marks and the visual layer's wrappers are the same
# bytes, and the shifts are in em, so they scale with the font. Without the script (a
# copy saved and opened elsewhere) the toolbar stays hidden and the masthead whole.
_READER_HEAD = (
    '<link rel="stylesheet" href="/static/reader.css">\n'
    '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">\n'
    '<script src="/static/reader.js" defer></script>\n'
)
_TOOLS = (
    '<div class="tools" id="tools" hidden>'
    '<button type="button" data-act="toc">目录</button>'
    '<button type="button" data-act="smaller" aria-label="字号减小">A−</button>'
    '<button type="button" data-act="larger" aria-label="字号增大">A+</button>'
    '<button type="button" data-act="night" aria-pressed="false">夜间</button>'
    '<button type="button" data-act="favourite" aria-pressed="false"'
    ' data-on="已收藏" data-off="收藏">收藏</button>'
    '<button type="button" data-act="masthead" aria-expanded="false"'
    ' data-on="收起刊头" data-off="展开刊头">展开刊头</button>'
    "</div>\n"
)


def _similar_link(anchor: str | None) -> str:
    """The 相似段落 button of an anchored heading: a plain link to the page of similar
    sections (relative: the reader page is ``/materials/{id}/read``), which the reader's
    script opens as a panel instead. Its label is drawn by reader.css (``::after``), so it
    is never part of the text a member selects and copies, nor of the page's text."""
    return (
        f'<a class="sim" href="similar?at={anchor}" data-at="{anchor}"'
        ' title="相似段落" aria-label="相似段落"></a>'
    )


_OPEN = ("<w-0>", "<w-1>", "<w-2>", "<w-3>")
_CLOSE = {"<w-0>": "</w-0>", "<w-1>": "</w-1>", "<w-2>": "</w-2>", "<w-3>": "</w-3>"}


def _text(text: str, start: int, moved: list[str] | None) -> str:
    """``text`` escaped, its Han characters wrapped by their shifts; ``start`` is the base
    offset of its first visible character (invisible marks take none)."""
    if moved is None:
        return escape(text, quote=False)
    out = []
    at = start
    for n, part in enumerate(_HAN.split(text)):  # odd parts: one Han character each
        if n % 2:
            tag = moved[at]
            out.append(f"{tag}{part}{_CLOSE[tag]}")
            at += 1
        elif part:
            out.append(escape(part, quote=False))
            at += sum(1 for ch in part if not _invisible(ch))
    return "".join(out)


_HAN = re.compile("([\u3400-\u4dbf\u4e00-\u9fff])")


_invisible = visual.takes_no_place


# Holes in a prepared page. Block holes are offsets from their bases, one per block.
_HEAD, _RECIPIENT, _LINKS, _FOOTER = 0, 1, 2, 3
_BLOCK_BASE = 1_000
_TEXT_BASE = 1_000_000
_SIMILAR_BASE = 1_000_000_000  # the 相似段落 link of a block with an anchor
