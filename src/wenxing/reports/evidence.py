"""Getting text (and any exact copy tag) out of an evidence file.

What a file is comes from its content, never its name: a PDF, an image (PNG, JPEG, GIF,
WebP, BMP, or a TIFF of one or more scanned pages), a Word .docx (a zip holding word/document.xml), an HTML page, or text in any
encoding ``decode_text`` knows. The name only tells HTML from text when both would fit.
Images, TIFF pages, and PDFs whose text layer is empty or nearly so, are read by OCR
(``ocr.py``). HEIC/HEIF photos are recognised and refused (reading them would take a
library wenxing does not carry).

Files from reports are read by :func:`read_sandboxed`: in a child process with memory,
CPU, wall-time and output limits (``sandbox.py``), after the shape rules of
``file_rules.py`` (zip bombs, expanding documents, PDF page and content caps). A PDF is
read to its first ``file_rules.PDF_MAX_PAGES`` pages; ``Evidence.note`` says so.

Every failure is an :class:`EvidenceError`: an English message for logs and the CLI, and a
``reason`` from this fixed set (``REASONS``) for pages to say in Chinese:

    empty            the file has no bytes
    too_large        more bytes than the caller allows
    unreadable       the file could not be opened (missing, not a regular file, permissions)
    unsupported      no format evidence is read from (binary data, a zip that is no .docx,
                     an old .doc, a HEIC photo)
    corrupt          a PDF, image or .docx too damaged to read (or its reader died)
    encrypted        a PDF that needs a password
    image_too_large  an image, or a TIFF page or all its pages, with more pixels than the
                     limit (refused before decoding)
    too_many_pages   a TIFF with more pages than the limit (refused before decoding)
    timeout          reading took longer than the sandbox allows (CPU or wall time)
    no_text          readable, but there is no text in it (nor any that OCR could find)
    ocr_failed       Tesseract failed, timed out or is not installed
"""

from __future__ import annotations

import io
import os
import re
import stat
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from wenxing import sandbox
from wenxing.materials import file_rules, office, rtf
from wenxing.materials.pdf_text import pdf_first_pages, pdf_paragraphs
from wenxing.materials.readers import ReadError, decode_text
from wenxing.reports import imagesize, ocr
from wenxing.reports.evidence_markup import COPY_TAG, TextOfPage, docx_asides
from wenxing.reports.ocr_lines import PageImage, parse_tsv

EVIDENCE_SUFFIXES = (
    ".txt",
    ".html",
    ".htm",
    ".docx",
    ".doc",
    ".wps",
    ".rtf",
    ".odt",
    ".epub",
    ".pdf",
    ".png",
    ".jpg",
    ".jpeg",
    ".tif",
    ".tiff",
)
REASONS = frozenset(
    {
        "empty",
        "too_large",
        "unreadable",
        "unsupported",
        "corrupt",
        "encrypted",
        "image_too_large",
        "too_many_pages",
        "no_text",
        "ocr_failed",
        "timeout",
    }
)
MAX_UNPACKED_BYTES = file_rules.MAX_UNPACKED_BYTES  # a .docx expanding to more is refused
# A PDF text layer with fewer visible characters than this per page is a scan (perhaps
# with a stamped line or two); its pages are read by OCR.
SCANNED_PDF_CHARS_PER_PAGE = 50

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
# An ISO media file's major brand (bytes 8-12, after "ftyp") naming a HEIC/HEIF image.
_HEIF_BRANDS = frozenset({b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1"})
_HTML_START = re.compile(
    r"\s*(?:<\?xml[^>]*>\s*)?(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html|head|body)\b",
    re.IGNORECASE | re.DOTALL,
)
_ANY_TAG = re.compile(r"<[a-zA-Z!/]")


class EvidenceError(ReadError):
    """Evidence that cannot be read; str(err) is English, ``reason`` one of REASONS."""

    def __init__(self, message: str, reason: str, detected: str | None = None) -> None:
        assert reason in REASONS, reason
        super().__init__("read.evidence", detail=message)
        self.reason = reason
        self.detected = detected  # the format the content was taken for, when known

    def __reduce__(self):  # (it travels back from the sandbox whole)
        return (type(self), (str(self), self.reason, self.detected))


@dataclass(frozen=True)
class Evidence:
    text: str
    copy_tags: tuple[str, ...] = ()
    detected: str = "txt"  # what the content is: txt html docx pdf png jpeg gif webp bmp tiff
    ocr_pages: int = 0  # images, TIFF pages and PDF pages whose text came from OCR
    note: str | None = None  # what was left unread, in English ("read the first 50 of 5000 pages")
    # Images of pages, as OCR saw them, for the visual layer (wenxing.reports.visual)
    pages: tuple[PageImage, ...] = field(default=(), compare=False, repr=False)

    @property
    def can_carry_invisible(self) -> bool:
        """False when the text came from OCR: an image shows no zero-width mark or
        variation selector, so their absence there says nothing."""
        return self.ocr_pages == 0


def read_evidence_file(
    path: Path, max_bytes: int, limits: sandbox.Limits | None = None
) -> Evidence:
    """Read an evidence file from disk (at most ``max_bytes``); in the sandbox when
    ``limits`` are given."""
    try:
        # A FIFO or a device would block or stream forever: regular files only.
        with path.open("rb") as handle:
            if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                raise EvidenceError("not a regular file", "unreadable")
            data = handle.read(max_bytes + 1)
    except FileNotFoundError:
        raise EvidenceError("file not found", "unreadable") from None
    except IsADirectoryError:
        raise EvidenceError("not a regular file", "unreadable") from None
    except OSError as exc:
        raise EvidenceError(f"cannot read file: {exc.strerror or exc}", "unreadable") from None
    if limits is not None:
        if len(data) > max_bytes:
            raise EvidenceError(
                f"file is larger than the {max_bytes / 1048576:.1f} MB limit", "too_large"
            )
        return read_sandboxed(data, path.name, limits)
    return read_evidence(data, path.name, max_bytes=max_bytes)


# The fork server imports the readers, and reads a small file of each kind once.
sandbox.preload("wenxing.reports.evidence", "wenxing.reports.sandbox_warm")
_SANDBOX_REASONS = {"too_large": "too_large", "timeout": "timeout", "crashed": "corrupt"}


def read_sandboxed(data: bytes, filename: str, limits: sandbox.Limits) -> Evidence:
    """:func:`read_evidence` in the sandbox: an EvidenceError for every failure, hostile
    files included (a reader that ran out of memory or time, or died)."""
    if not data:
        raise EvidenceError("empty file", "empty")
    try:
        found = sandbox.call(
            "wenxing.reports.evidence:read_evidence",
            bytes(data),
            filename,
            limits=limits,
            label=f"evidence {filename or '(text)'}",
        )
    except sandbox.SandboxError as exc:
        raise EvidenceError(str(exc), _SANDBOX_REASONS[exc.reason], detect_format(data)) from None
    except EvidenceError:
        raise
    except ReadError as exc:
        raise EvidenceError(str(exc), "corrupt", detect_format(data)) from None
    assert isinstance(found, Evidence)
    return found


def read_evidence_bytes(data: bytes, suffix: str) -> Evidence:
    """Read evidence already in memory whose name ended in ``suffix`` (".html")."""
    if suffix and not suffix.startswith("."):
        suffix = "." + suffix
    return read_evidence(data, "evidence" + suffix)


def read_evidence(
    data: bytes,
    filename: str = "",
    *,
    max_bytes: int | None = None,
    max_pixels: int = ocr.MAX_PIXELS,
) -> Evidence:
    """Read evidence from its bytes and the name it came with (an upload's filename)."""
    data = bytes(data)
    if not data:
        raise EvidenceError("empty file", "empty")
    if max_bytes is not None and len(data) > max_bytes:
        raise EvidenceError(
            f"file is larger than the {max_bytes / 1048576:.1f} MB limit", "too_large"
        )
    kind = detect_format(data)
    try:
        if kind == "pdf":
            return _pdf(data)
        if kind == "docx":
            return _docx(data)
        if kind in ("odt", "epub"):
            file_rules.check_zip(data)
            file_rules.check_elements(data)
            reader = office.odt_text if kind == "odt" else office.epub_text
            return _found(_converted(reader, data, kind), kind)
        if kind == "rtf":
            return _found(_converted(rtf.rtf_text, data, kind), kind)
        if kind == "doc":
            converted = _converted(lambda d: office.convert_to_docx(d, ".doc"), data, kind)
            found = _docx(converted)
            return Evidence(found.text, found.copy_tags, "doc")
        if kind in _UNSUPPORTED:
            raise EvidenceError(_UNSUPPORTED[kind], "unsupported")
        if kind == "tiff":
            return _tiff(data, max_pixels)
        if kind is not None:
            return _image(data, kind, max_pixels)
        return _text(data, Path(filename).suffix.lower())
    except ocr.OcrError as exc:
        raise EvidenceError(str(exc), exc.reason, kind) from None
    except file_rules.RuleBroken as exc:
        raise EvidenceError(str(exc), exc.reason, kind) from None
    except EvidenceError as exc:
        exc.detected = exc.detected or kind
        raise


_UNSUPPORTED = {
    "zip": "a zip archive that is not a Word, OpenDocument or EPUB document",
    "pages": "an Apple Pages document, which is not read; export it as .docx or PDF",
    "images": "a zip of images; send the images themselves (PNG, JPEG, TIFF)",
    "ole": "an old Office file that is not a Word document; save it as .docx",
    "heic": "a HEIC/HEIF photo, which is not read; save it as JPEG or PNG",
}


def _converted(reader, data: bytes, kind: str):
    try:
        return reader(data)
    except EvidenceError:
        raise
    except ReadError as exc:
        message = str(exc)
        reason = "too_large" if "levels deep" in message else "corrupt"
        if "took longer" in message:
            reason = "timeout"
        if "needs LibreOffice" in message:
            reason = "unsupported"
        raise EvidenceError(message, reason, kind) from None


def _found(text: str, kind: str) -> Evidence:
    if not text.strip():
        raise EvidenceError(f".{kind} file has no text", "no_text")
    return Evidence(text, tuple(COPY_TAG.findall(text)), kind)


def detect_format(data: bytes) -> str | None:
    """The format the bytes' signature names: pdf, docx, png, jpeg, gif, webp, bmp, tiff,
    or zip / ole / heic for formats evidence is not read from; None when no signature
    matches (the content may still be text or HTML)."""
    if b"%PDF-" in data[:1024]:  # as pdf_text.pdf_text: some writers put junk first
        return "pdf"
    if data.startswith(b"PK\x03\x04"):
        if _zip_holds(data, "word/document.xml"):
            return "docx"
        return office.zip_kind(data) or "zip"
    if data.startswith(_OLE_MAGIC):
        # Word 97–2003 and WPS documents hold a "WordDocument" stream; LibreOffice reads them.
        return "doc" if "WordDocument".encode("utf-16-le") in data else "ole"
    if data.lstrip()[:5] == b"{\\rtf":
        return "rtf"
    if data[4:8] == b"ftyp" and data[8:12] in _HEIF_BRANDS:
        return "heic"
    return imagesize.image_kind(data)


def _zip_holds(data: bytes, name: str) -> bool:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return name in archive.namelist()
    except Exception:
        return False  # a damaged zip is no .docx either


def _text(data: bytes, suffix: str) -> Evidence:
    try:
        text, _encoding = decode_text(data)
    except ReadError as exc:
        if "no text" in str(exc):
            raise EvidenceError("file has no text", "no_text") from None
        raise EvidenceError(
            "not a document, image or text file (binary data of an unknown kind)",
            "unsupported",
        ) from None
    named_html = suffix in (".html", ".htm") and _ANY_TAG.search(text)
    if _HTML_START.match(text[:4096]) or named_html:
        page = TextOfPage()
        page.feed(text)
        page.close()
        return Evidence("".join(page.parts), tuple(page.tags), "html")
    return Evidence(text, tuple(COPY_TAG.findall(text)), "txt")


def _pdf(data: bytes) -> Evidence:
    try:
        pages, info, total = pdf_first_pages(data, file_rules.PDF_MAX_PAGES)
    except file_rules.RuleBroken:
        raise
    except ReadError as exc:
        reason = "encrypted" if "encrypted" in str(exc) else "corrupt"
        raise EvidenceError(str(exc), reason) from None
    if not pages:
        raise EvidenceError("damaged PDF file: no pages", "corrupt")
    tags = tuple(COPY_TAG.findall(info))
    note = f"read the first {len(pages)} of {total} pages" if total > len(pages) else None
    layer = "\n".join(pdf_paragraphs(pages))
    if len(re.sub(r"\s", "", layer)) >= SCANNED_PDF_CHARS_PER_PAGE * len(pages):
        return Evidence(layer, tags, "pdf", note=note)
    read = ocr.read_pdf_pages(data, len(pages))
    # A scan's few text-layer lines (a stamp, a viewer's annotation) are kept as well.
    text = "\n".join(part for part in (_paragraphs(read), layer.strip()) if part)
    if not text.strip():
        raise EvidenceError("PDF has no text layer and OCR found no text in it", "no_text")
    return Evidence(text, tags, "pdf", ocr_pages=len(read), note=note)


def _image(data: bytes, kind: str, max_pixels: int) -> Evidence:
    read, pixels, tsv = ocr.read_image_page(data, max_pixels=max_pixels)
    text = _paragraphs([read])
    if not text.strip():
        raise EvidenceError(f"OCR found no text in the {kind.upper()} image", "no_text")
    page = PageImage(pixels, parse_tsv(tsv))
    return Evidence(text, tuple(COPY_TAG.findall(text)), kind, ocr_pages=1, pages=(page,))


def _tiff(data: bytes, max_pixels: int) -> Evidence:
    """A TIFF's pages read by OCR one by one, as a scanned PDF's are."""
    read = ocr.read_tiff_pages(data, max_pixels=max_pixels)
    text = _paragraphs(read)
    if not text.strip():
        raise EvidenceError("OCR found no text in the TIFF image", "no_text")
    return Evidence(text, tuple(COPY_TAG.findall(text)), "tiff", ocr_pages=len(read))


def _paragraphs(pages: list[str]) -> str:
    """OCR'd lines rejoined into paragraphs as a PDF's text layer is (folios dropped)."""
    return "\n".join(pdf_paragraphs(pages))


def _docx(data: bytes) -> Evidence:
    try:
        file_rules.check_docx(data)
    except file_rules.RuleBroken:
        raise
    except Exception:
        raise EvidenceError("damaged .docx file (not a readable zip archive)", "corrupt") from None
    from docx import Document  # loaded by the first Word file, as in materials.readers

    try:
        document = Document(io.BytesIO(data))
        lines = [p.text for p in document.paragraphs]
        for table in document.tables:
            for row in table.rows:
                lines.append("\t".join(cell.text for cell in row.cells))
        lines.extend(docx_asides(document, data))
        properties = document.core_properties
        meta = " ".join(filter(None, [properties.identifier, properties.comments]))
    except MemoryError:
        raise
    except Exception as exc:  # python-docx and lxml raise many types on damaged parts
        raise EvidenceError(f"damaged .docx file ({type(exc).__name__})", "corrupt") from None
    text = "\n".join(lines)
    if not text.strip():
        raise EvidenceError(".docx file has no text", "no_text")
    return Evidence(text, tuple(COPY_TAG.findall(meta)), "docx")
