"""Text in the markup of evidence files: an HTML page's text and its ``<meta>`` copy tags
(``TextOfPage``), and what a .docx holds outside its body (``docx_asides``: text boxes,
page headers and footers, footnotes and endnotes). ``evidence.py`` reads the files."""

from __future__ import annotations

import io
import re
import zipfile

from wenxing.materials import office

COPY_TAG = re.compile(r"WX[12]-[A-Z2-7]{20,50}")  # copy tags of both schemes (copytag.py)


class TextOfPage(office.PageText):
    """The text of an HTML page (scripts and styles left out, the ``<head>``'s title kept,
    blocks on lines of their own) and the copy tags its ``<meta>`` attributes hold."""

    SKIPPED = frozenset({"script", "style"})
    BLOCKS = office.HTML_BLOCKS - {"blockquote"}

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []

    def handle_starttag(self, tag, attrs):
        super().handle_starttag(tag, attrs)
        if tag == "meta":
            self.tags.extend(COPY_TAG.findall(" ".join(v or "" for _k, v in attrs)))


_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_ASIDE_PARTS = re.compile(r"^word/(header\d*|footer\d*|footnotes|endnotes)\.xml$")


def docx_asides(document, data: bytes) -> list[str]:
    """Text a .docx holds outside its body's paragraphs and tables: text boxes, then the
    page headers and footers, footnotes and endnotes (where a copy's recipient line may
    sit: a lead, never a basis to accuse)."""
    lines = [_w_text(p) for p in document.element.body.iter(_W + "txbxContent")]
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for name in sorted(archive.namelist()):
            if _ASIDE_PARTS.match(name):
                root = office.parse_xml(archive.read(name), ".docx")
                lines.extend(_w_text(p) for p in root.iter(_W + "p"))
    return [line for line in lines if line.strip()]


def _w_text(element) -> str:
    parts = []
    for node in element.iter(_W + "t", _W + "tab", _W + "br", _W + "p"):
        if node.tag == _W + "t":
            parts.append(node.text or "")
        elif node.tag == _W + "tab":
            parts.append("\t")
        elif node is not element:
            parts.append("\n")
    return "".join(parts)
