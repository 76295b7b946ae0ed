"""Turning a marked body into a file: .txt, .html and a plain .docx.

The layout of record (GB/T 9704 .docx, PDF) belongs to the delivery issue; these renderers
carry everything a copy must: the masthead, a recipient line, the title, the marked body,
and for .docx the exact copy tag in the document properties.
"""

from __future__ import annotations

import html
import io
from dataclasses import dataclass

from docx import Document

FORMATS = ("txt", "html", "docx")


@dataclass(frozen=True)
class CopyContent:
    title: str
    body: str  # marked
    masthead: list[str]
    recipient_line: str
    copy_tag: str


def recipient_line(member_number: str, issued_on: str) -> str:
    return (
        f"会员 {member_number} · {issued_on} · 本资料为会员个人专属副本，"
        "已嵌入可追溯标识，仅供本人学习使用，请勿转发、出售"
    )


def render_txt(content: CopyContent) -> bytes:
    lines = [*content.masthead, content.recipient_line, "", content.title, "", content.body, ""]
    return "\n".join(lines).encode("utf-8")


def render_html(content: CopyContent) -> bytes:
    paragraphs = "\n".join(f"<p>{html.escape(p)}</p>" for p in content.body.split("\n"))
    masthead = "<br>".join(html.escape(line) for line in content.masthead)
    page = f"""<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="wenxing-copy" content="{html.escape(content.copy_tag)}">
<title>{html.escape(content.title)}</title></head>
<body>
<header><p>{masthead}</p><p>{html.escape(content.recipient_line)}</p></header>
<h1>{html.escape(content.title)}</h1>
<article>
{paragraphs}
</article>
</body></html>
"""
    return page.encode("utf-8")


def render_docx(content: CopyContent) -> bytes:
    document = Document()
    header = document.sections[0].header
    header.paragraphs[0].text = "　".join(content.masthead[:2])
    header.add_paragraph(content.recipient_line)
    document.add_heading(content.title, level=1)
    for paragraph in content.body.split("\n"):
        document.add_paragraph(paragraph)
    properties = document.core_properties
    properties.title = content.title
    properties.identifier = content.copy_tag
    properties.comments = content.recipient_line
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


RENDERERS = {"txt": render_txt, "html": render_html, "docx": render_docx}
