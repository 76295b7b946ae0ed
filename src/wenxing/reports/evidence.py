"""Getting text (and any exact copy tag) out of an evidence file."""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

from wenxing.materials.readers import ReadError, decode_text, pdf_text

EVIDENCE_SUFFIXES = (".txt", ".html", ".htm", ".docx", ".pdf")
_LATER = {".png": "image", ".jpg": "image", ".jpeg": "image"}
_TAG = re.compile(r"WX1-[A-Z2-7]{20,40}")


@dataclass(frozen=True)
class Evidence:
    text: str
    copy_tags: tuple[str, ...] = ()


class _TextOfPage(HTMLParser):
    _BLOCKS = frozenset(
        [
            "p",
            "div",
            "br",
            "li",
            "h1",
            "h2",
            "h3",
            "h4",
            "h5",
            "h6",
            "tr",
            "section",
            "article",
            "header",
            "footer",
        ]
    )

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.tags: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self._skip += 1
        if tag in self._BLOCKS:
            self.parts.append("\n")
        if tag == "meta":
            self.tags.extend(_TAG.findall(" ".join(v or "" for _k, v in attrs)))

    def handle_endtag(self, tag):
        if tag in ("script", "style") and self._skip:
            self._skip -= 1
        if tag in self._BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)


def read_evidence_file(path: Path, max_bytes: int) -> Evidence:
    suffix = path.suffix.lower()
    if suffix in _LATER:
        raise ReadError(f"{_LATER[suffix]} evidence is not supported yet (OCR comes with reports)")
    if suffix not in EVIDENCE_SUFFIXES:
        raise ReadError(
            f"unsupported evidence type {suffix or '(none)'}; use .txt, .html, .docx or .pdf"
        )
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ReadError("file not found") from None
    except OSError as exc:
        raise ReadError(f"cannot read file: {exc.strerror or exc}") from None
    if not data:
        raise ReadError("empty file")
    if len(data) > max_bytes:
        raise ReadError(f"file is larger than the {max_bytes / 1048576:.1f} MB limit")
    return read_evidence_bytes(data, suffix)


def read_evidence_bytes(data: bytes, suffix: str) -> Evidence:
    if suffix == ".docx":
        return _docx(data)
    if suffix == ".pdf":
        text, info = pdf_text(data)
        return Evidence(text, tuple(_TAG.findall(info)))
    text, _encoding = decode_text(data)
    if suffix in (".html", ".htm"):
        page = _TextOfPage()
        page.feed(text)
        page.close()
        return Evidence("".join(page.parts), tuple(page.tags))
    return Evidence(text, tuple(_TAG.findall(text)))


def _docx(data: bytes) -> Evidence:
    from docx import Document

    try:
        document = Document(io.BytesIO(data))
    except (zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise ReadError(f"not a readable .docx file ({exc.__class__.__name__})") from None
    lines = [p.text for p in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            lines.append("\t".join(cell.text for cell in row.cells))
    properties = document.core_properties
    tags = _TAG.findall(" ".join(filter(None, [properties.identifier, properties.comments])))
    return Evidence("\n".join(lines), tuple(tags))
