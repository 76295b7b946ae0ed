"""Turn an imported source file (.docx, .txt, .md, .pdf; .doc, .wps, .odt, .rtf and .epub
through ``office.py``) into plain text.

Every failure surfaces as :class:`ReadError` with a one-line English reason, so an import
can report a bad file and go on; files come from the wild and may be hostile or damaged.
"""

from __future__ import annotations

import codecs
import io
import os
import re
import stat
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from lxml import etree

from wenxing.materials import file_rules, office, rtf
from wenxing.materials.docx_numbering import Numbering
from wenxing.materials.docx_numbering import W as _W
from wenxing.materials.markdown import strip_markdown
from wenxing.materials.pdf_text import (
    pdf_first_pages,
    pdf_pages,
    pdf_paragraphs,
    pdf_text,
    read_pdf,
)
from wenxing.materials.source import (
    MB,
    ReadError,
    SourceText,
    normalise_newlines,
    short,
    source_text,
)

if TYPE_CHECKING:
    from docx.document import Document as WordDocument

SUPPORTED_SUFFIXES: frozenset[str] = frozenset(
    {".docx", ".txt", ".md", ".pdf", ".doc", ".wps", ".odt", ".rtf", ".epub"}
)

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_MAX_MEMBER_RATIO = 200
_RATIO_CHECK_FROM = 10 * MB


def read_source(path: Path, *, max_bytes: int, max_unpacked_bytes: int) -> SourceText:
    """Read one source file from disk, refusing anything that is not a readable material."""
    path = Path(path)
    try:
        # A FIFO or device would block or stream forever, so only regular files are opened.
        if not stat.S_ISREG(path.stat().st_mode):
            raise ReadError("read.not_regular_file")
        with path.open("rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            if size == 0:
                raise ReadError("read.empty_file")
            if size > max_bytes:
                raise _too_large(max_bytes)
            _check_suffix(path.suffix.lower())
            # Read one byte past the limit: the file may have grown since stat().
            data = handle.read(max_bytes + 1)
    except FileNotFoundError:
        raise ReadError("read.file_not_found") from None
    except PermissionError:
        raise ReadError("read.permission_denied") from None
    except OSError as exc:
        raise ReadError("read.cannot_read", detail=exc.strerror or type(exc).__name__) from None
    if len(data) > max_bytes:
        raise _too_large(max_bytes)
    return read_bytes(data, path.suffix, max_unpacked_bytes=max_unpacked_bytes)


def read_source_positional(path: str, max_bytes: int, max_unpacked_bytes: int) -> SourceText:
    """:func:`read_source` with positional arguments (what the sandbox calls)."""
    return read_source(Path(path), max_bytes=max_bytes, max_unpacked_bytes=max_unpacked_bytes)


def read_bytes(data: bytes, suffix: str, *, max_unpacked_bytes: int) -> SourceText:
    """Read a source already in memory; ``suffix`` is the file's extension, like ".docx"."""
    suffix = suffix.lower()
    if suffix and not suffix.startswith("."):
        suffix = "." + suffix
    if not data:
        raise ReadError("read.empty_file")
    _check_suffix(suffix)
    data = bytes(data)
    if suffix == ".docx":
        return _read_docx(data, max_unpacked_bytes)
    if suffix == ".pdf":
        return read_pdf(data)
    if suffix in (".doc", ".wps"):
        return _read_doc(data, suffix, max_unpacked_bytes)
    if suffix in (".odt", ".epub", ".rtf"):
        return _read_office(data, suffix, max_unpacked_bytes)
    text, encoding = decode_text(data)
    if suffix == ".md":
        text, title = strip_markdown(text)
        return source_text(text, "md", encoding, title)
    return source_text(text, "txt", encoding, None)


def _too_large(max_bytes: int) -> ReadError:
    return ReadError("read.too_large", limit=f"{max_bytes / MB:.1f}")


def _check_suffix(suffix: str) -> None:
    if suffix not in SUPPORTED_SUFFIXES:
        raise (
            ReadError("read.unsupported_type", suffix=suffix)
            if suffix
            else ReadError("read.no_extension")
        )


# --- plain text ------------------------------------------------------------------------

_BOMS = (
    (codecs.BOM_UTF8, "utf-8", "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16-le", "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be", "utf-16-be"),
)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f]")
_CJK = re.compile(r"[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef]")
_PLAIN = re.compile(r"[\t\n\r\f\x20-\x7e\u00a0-\u024f\u2000-\u206f]")
_SAMPLE_CHARS = 100_000


def decode_text(data: bytes) -> tuple[str, str]:
    """Decode a text file of unknown encoding; returns (text, encoding name)."""
    text, encoding = _decode(bytes(data))
    text = normalise_newlines(text.removeprefix("\ufeff"))
    if text and len(_CONTROL.findall(text)) > 0.05 * len(text):
        raise ReadError("read.binary")
    if not text.strip():
        raise ReadError("read.no_text")
    return text, encoding


def _decode(data: bytes) -> tuple[str, str]:
    for bom, codec, name in _BOMS:
        if data.startswith(bom):
            try:
                return data[len(bom) :].decode(codec), name
            except UnicodeDecodeError:
                break  # a stray BOM-like prefix; let the other detectors judge
    has_nul = b"\x00" in data
    # UTF-8 and GB18030 never contain NUL bytes, so with NULs it is UTF-16 or binary.
    if not has_nul:
        text = data.decode("utf-8", errors="replace")
        # A cut-off last character or a stray damaged byte must not turn a long UTF-8 file
        # into GB18030 mojibake; GBK text read as UTF-8 fails far more often than this.
        if text.count("\ufffd") <= len(text) / 1000:
            return text, "utf-8"
    encoding = _utf16_without_bom(data, has_nul)
    if encoding is not None:
        return data.decode(encoding), encoding
    if not has_nul:
        try:
            return data.decode("gb18030"), "gb18030"
        except UnicodeDecodeError:
            pass
    raise ReadError("read.binary")


def _utf16_without_bom(data: bytes, has_nul: bool) -> str | None:
    if len(data) < 2 or len(data) % 2:
        return None
    # ASCII in UTF-16 puts its zero byte at odd offsets (LE) or even ones (BE); CJK text has
    # few zeros (一 U+4E00 has one on the other side), so the zeros only order the guesses
    # and the decoded text decides.
    even_zeros, odd_zeros = data[0::2].count(0), data[1::2].count(0)
    candidates = ("utf-16-le", "utf-16-be")
    if even_zeros > odd_zeros:
        candidates = candidates[::-1]
    for encoding in candidates:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if _looks_like_text(text, min_cjk_share=0.0 if has_nul else 0.5):
            return encoding
    return None


def _looks_like_text(text: str, *, min_cjk_share: float) -> bool:
    sample = text[:_SAMPLE_CHARS]
    if not sample:
        return False
    cjk = len(_CJK.findall(sample))
    plain = len(_PLAIN.findall(sample))
    return (cjk + plain) >= 0.95 * len(sample) and cjk >= min_cjk_share * len(sample)


# --- docx ------------------------------------------------------------------------------

_RUN_CONTAINERS = frozenset(
    _W + tag
    for tag in ("r", "hyperlink", "ins", "smartTag", "sdt", "sdtContent", "fldSimple",
                "customXml", "moveTo", "bdo", "dir", "ruby", "rubyBase")
)  # fmt: skip
_BLOCK_CONTAINERS = frozenset(_W + tag for tag in ("sdt", "sdtContent", "customXml"))


def _read_docx(data: bytes, max_unpacked_bytes: int) -> SourceText:
    if data.startswith(_OLE_MAGIC):
        # Word stores a password-protected .docx inside an OLE container too.
        if "EncryptedPackage".encode("utf-16-le") in data:
            raise ReadError("read.docx_encrypted")
        if "WordDocument".encode("utf-16-le") in data:  # an old .doc named .docx
            return _read_doc(data, ".doc", max_unpacked_bytes)
        raise ReadError("read.doc_format")
    _check_archive(data, max_unpacked_bytes)
    try:
        file_rules.check_elements(data)
    except file_rules.RuleBroken:
        raise
    except Exception:
        raise ReadError("read.docx_not_zip") from None
    import docx  # python-docx (a tenth of a second to import) loads with the first Word file

    try:
        document = docx.Document(io.BytesIO(data))
        numbering = Numbering(document)
        lines = list(_block_lines(document.element.body, numbering))
        title = _docx_title(document)
    except MemoryError:
        raise
    except Exception as exc:
        raise ReadError("read.docx_damaged", detail=short(exc)) from None
    return source_text("\n".join(lines), "docx", None, title)


def _read_doc(data: bytes, suffix: str, max_unpacked_bytes: int) -> SourceText:
    """An old Word or WPS file: converted to .docx by LibreOffice, then read as one (the
    same body and outline as its .docx twin)."""
    if not data.startswith(_OLE_MAGIC):
        raise ReadError(f"not an old Word {suffix} file (not an OLE document)")
    if "EncryptedPackage".encode("utf-16-le") in data:
        raise ReadError("read.docx_encrypted")
    if "WordDocument".encode("utf-16-le") not in data:
        raise ReadError(f"not an old Word {suffix} file (no WordDocument stream)")
    source = _read_docx(office.convert_to_docx(data, suffix), max_unpacked_bytes)
    return SourceText(source.text, suffix[1:], None, source.title_hint)


def _read_office(data: bytes, suffix: str, max_unpacked_bytes: int) -> SourceText:
    if suffix == ".rtf":
        return source_text(normalise_newlines(rtf.rtf_text(data)), "rtf", None, None)
    try:
        file_rules.check_zip(data, max_unpacked_bytes=max_unpacked_bytes)
        file_rules.check_elements(data)
    except ReadError:
        raise
    except Exception:
        raise ReadError(f"not a valid {suffix} file (not a zip archive)") from None
    text = office.odt_text(data) if suffix == ".odt" else office.epub_text(data)
    return source_text(text, suffix[1:], None, None)


def _check_archive(data: bytes, max_unpacked_bytes: int) -> None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
    except Exception:
        raise ReadError("read.docx_not_zip") from None
    # Declared sizes are safe to trust: zipfile stops reading a member at its declared size.
    bomb = sum(m.file_size for m in members) > max_unpacked_bytes or any(
        m.file_size > _RATIO_CHECK_FROM
        and m.file_size > _MAX_MEMBER_RATIO * max(m.compress_size, 1)
        for m in members
    )
    if bomb:
        limit = f"{max_unpacked_bytes / MB:g}"
        raise ReadError("read.zip_bomb", limit=limit)
    if "word/document.xml" not in {m.filename for m in members}:
        raise ReadError("read.docx_invalid")


def _docx_title(document: WordDocument) -> str | None:
    # python-docx invents a core part titled "Word Document" when none exists; avoid it.
    from docx.opc.constants import RELATIONSHIP_TYPE as RT

    try:
        document.part.package.part_related_by(RT.CORE_PROPERTIES)
    except KeyError:
        return None
    title = " ".join((document.core_properties.title or "").split())
    return title or None


def _block_lines(container: etree._Element, numbering: Numbering) -> Iterator[str]:
    for child in container:
        if child.tag == _W + "p":
            yield numbering.prefix(child) + _paragraph_text(child)
        elif child.tag == _W + "tbl":
            yield from _table_lines(child, numbering)
        elif child.tag in _BLOCK_CONTAINERS:
            yield from _block_lines(child, numbering)


def _paragraph_text(p: etree._Element) -> str:
    parts: list[str] = []
    _collect_run_text(p, parts)
    return "".join(parts)


def _collect_run_text(element: etree._Element, parts: list[str]) -> None:
    # Deleted revisions (w:del, w:moveFrom), field codes and text boxes in drawings are
    # not the reading text, so only known text-bearing containers are entered.
    for child in element:
        tag = child.tag
        if tag == _W + "t":
            parts.append(child.text or "")
        elif tag == _W + "tab":
            parts.append("\t")
        elif tag in (_W + "br", _W + "cr"):
            if child.get(_W + "type") in (None, "textWrapping"):
                parts.append("\n")
        elif tag == _W + "noBreakHyphen":
            parts.append("-")
        elif tag in _RUN_CONTAINERS:
            _collect_run_text(child, parts)


def _table_lines(table: etree._Element, numbering: Numbering) -> Iterator[str]:
    for row in table.iterchildren(_W + "tr"):
        cells = []
        for cell in row.iterchildren(_W + "tc"):
            # A horizontal merge is one w:tc already; a vertical one continues in the rows
            # below as empty placeholders, which stay empty rather than repeat the text.
            merge = cell.find(f"{_W}tcPr/{_W}vMerge")
            if merge is not None and merge.get(_W + "val") in (None, "continue"):
                cells.append("")
                continue
            lines = (line.strip() for line in _block_lines(cell, numbering))
            cells.append(" ".join(line.replace("\n", " ") for line in lines if line))
        yield "\t".join(cells).rstrip()


# What the package's other modules and the tests read from here (the PDF's text layer is
# pdf_text.py's, the error and the result source.py's).
__all__ = [
    "SUPPORTED_SUFFIXES",
    "ReadError",
    "SourceText",
    "decode_text",
    "pdf_first_pages",
    "pdf_pages",
    "pdf_paragraphs",
    "pdf_text",
    "read_bytes",
    "read_source",
]
