"""The text layer of a PDF: pages read (after the content rules), their visual lines
rejoined into paragraphs across page breaks, page numbers dropped. Materials read a whole
PDF; evidence reads its first pages."""

from __future__ import annotations

import io
import re
import statistics
import unicodedata
from typing import TYPE_CHECKING, Any

from wenxing.materials import file_rules
from wenxing.materials.source import ReadError, SourceText, normalise_newlines, short, source_text

if TYPE_CHECKING:
    import pypdf

_SENTENCE_END = tuple("。！？：；…”」』!?:;")
_OUTLINE_START = re.compile(
    r"^(?:[一二三四五六七八九十]+[、是]|[（(][一二三四五六七八九十\d]+[）)]|\d+[.．、](?!\d)"
    r"|第[一二三四五六七八九十百千\d]+[条章节])"
)
_PAGE_NUMBER = re.compile(
    r"^[-—–－―~·\s]*(?:\d{1,3}|\d{1,3}\s*/\s*\d{1,3}"
    r"|第\s*\d{1,3}\s*页(?:\s*[,，/／]?\s*共\s*\d{1,3}\s*页)?)[-—–－―~·\s]*$"
)  # four digits would also take a year standing alone on a line
_CJK_CLASS = r"[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef]"
_SPACE_IN_CJK = re.compile(rf"(?<={_CJK_CLASS}) (?={_CJK_CLASS})")
_FULL_LINE = 0.85
_MIN_FULL_WIDTH = 10  # a page of short lines (a name list) is never rejoined


def read_pdf(data: bytes) -> SourceText:
    text, _info = pdf_text(data)
    return source_text(text, "pdf", None, None)


def pdf_text(data: bytes) -> tuple[str, str]:
    """The text layer of a PDF rejoined into paragraphs, and its document info as one string
    (title, subject, keywords: where a copy tag may be)."""
    if b"%PDF-" not in data[:1024]:
        raise ReadError("read.pdf_invalid")
    pages, info = pdf_pages(data)
    text = "\n".join(pdf_paragraphs(pages))
    if len(re.sub(r"\s", "", text)) < 20:
        raise ReadError("read.pdf_no_text_layer")
    return text, info


def pdf_pages(data: bytes) -> tuple[list[str], str]:
    """The text layer of each page and the document's title, subject and keywords, or
    ``ReadError`` (encrypted, damaged)."""
    pages, info, _total = pdf_first_pages(data, None)
    return pages, info


def pdf_first_pages(data: bytes, max_pages: int | None) -> tuple[list[str], str, int]:
    """As :func:`pdf_pages`, reading only the first ``max_pages`` pages (evidence), after
    the content rules (``materials.file_rules``) have passed them; also the page count."""
    # pypdf (a tenth of a second to import) is loaded by the first PDF read, not by every
    # command and server worker; pdf_fonts adjusts pypdf's font reading as it loads.
    import pypdf
    from pypdf.errors import DependencyError, FileNotDecryptedError

    from wenxing.materials import pdf_fonts

    try:
        reader = pypdf.PdfReader(io.BytesIO(data))
        # pypdf already tried the empty user password; an owner-only PDF is open now.
        if reader.is_encrypted and reader.decrypt("") == pypdf.PasswordType.NOT_DECRYPTED:
            raise ReadError("read.pdf_encrypted")
        chosen = list(reader.pages) if max_pages is None else _first_pages(reader, max_pages)
        most = (
            file_rules.PDF_IMPORT_MAX_CONTENT if max_pages is None else file_rules.PDF_MAX_CONTENT
        )
        file_rules.check_pdf_pages(chosen, most)
        pages = pdf_fonts.page_texts(chosen)
        meta: Any = reader.metadata or {}
        info = " ".join(str(meta.get(k) or "") for k in ("/Title", "/Subject", "/Keywords"))
        return pages, info, len(reader.pages)
    except (ReadError, MemoryError):
        raise
    except FileNotDecryptedError:
        raise ReadError("read.pdf_encrypted") from None
    except DependencyError:
        raise ReadError("read.pdf_needs_aes") from None
    except Exception as exc:
        raise ReadError("read.pdf_damaged", detail=short(exc)) from None


def _first_pages(reader: pypdf.PdfReader, count: int) -> list:
    pages = []
    for number in range(min(count, len(reader.pages))):
        pages.append(reader.pages[number])
    return pages


def _width(line: str) -> float:
    return sum(1.0 if unicodedata.east_asian_width(c) in "WF" else 0.5 for c in line)


def pdf_paragraphs(pages: list[str]) -> list[str]:
    """Rejoin visual lines into paragraphs, across page breaks too."""
    paragraphs: list[str] = []
    current = ""
    last_full = False
    for page in pages:
        lines = [
            _SPACE_IN_CJK.sub("", line.strip()) for line in normalise_newlines(page).split("\n")
        ]
        lines = [line for line in lines if not _PAGE_NUMBER.match(line)]
        widths = [_width(line) for line in lines]
        longest = max(widths, default=0.0)
        typical = [w for w in widths if w >= 0.25 * longest and w > 0]
        threshold = max(_FULL_LINE * statistics.median(typical or [0.0]), _MIN_FULL_WIDTH)
        for line, width in zip(lines, widths, strict=True):
            joins = (
                current
                and line
                and last_full
                and not current.endswith(_SENTENCE_END)
                and not _OUTLINE_START.match(line)
            )
            if joins:
                current = _join(current, line)
            else:
                if current:
                    paragraphs.append(current)
                current = line
            last_full = width >= threshold
    if current:
        paragraphs.append(current)
    return paragraphs


def _join(previous: str, line: str) -> str:
    # Latin words wrapped across lines need their space back; CJK text has none.
    if _width(previous[-1]) < 1 and _width(line[0]) < 1:
        return previous + " " + line
    return previous + line
