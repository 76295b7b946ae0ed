"""Rules a file must pass before any parser sees it (evidence and imports alike).

Cheap checks on what a file declares, so a bomb is refused by its shape instead of being
run until a limit stops it (the sandbox, ``sandbox.py``, is the net under these rules):

* zip-based formats (.docx and the zips that are not): the central directory is read,
  nothing is unpacked: at most ``MAX_MEMBERS`` members, at most ``MAX_UNPACKED_BYTES``
  declared in all, no member over 1 MB unpacking more than ``MAX_RATIO`` times its packed
  size; then the document part is streamed (never held) to count its elements: at most
  ``MAX_ELEMENTS`` start tags (millions of empty paragraphs pack into a few KB), at most
  ``MAX_DEPTH`` levels deep, and no DTD (entity expansion, "billion laughs");
* PDF: evidence is read to its first ``PDF_MAX_PAGES`` pages (the reader says so), and a
  page whose content streams decode to more than ``PDF_MAX_PAGE_CONTENT`` bytes, or pages
  whose content decodes to more than ``PDF_MAX_CONTENT`` bytes together, are refused (an
  imported PDF: every page, up to ``PDF_IMPORT_MAX_CONTENT`` together);
* images: their header's dimensions (``ocr.py``: pixel limits per image and per TIFF).

A refusal is a :class:`RuleBroken` (a ``ReadError``): an English message and a reason
(``too_large``, ``too_many_pages``) evidence reading passes on.
"""

from __future__ import annotations

import io
import re
import zipfile
import zlib
from dataclasses import dataclass

from wenxing.materials.source import ReadError

MAX_MEMBERS = 1_000
MAX_UNPACKED_BYTES = 200 * 1024 * 1024
MAX_RATIO = 100  # unpacked / packed, for members over RATIO_FROM bytes
RATIO_FROM = 1024 * 1024
MAX_ELEMENTS = 500_000  # start tags in a document part
MAX_DEPTH = 200
PDF_MAX_PAGES = 50
PDF_MAX_PAGE_CONTENT = 2 * 1024 * 1024
PDF_MAX_CONTENT = 8 * 1024 * 1024
PDF_IMPORT_MAX_CONTENT = 64 * 1024 * 1024  # an imported material may be a long book
# The parts of a Word document whose elements are counted (the body, notes, headers).
_COUNTED = re.compile(
    r"^word/(document|footnotes|endnotes|header\d*|footer\d*|comments)\.xml$"
    r"|^(content|styles)\.xml$|\.x?html?$"
)
_TAG = re.compile(rb"<(/?)[A-Za-z_][^>]*?(/?)>")


class RuleBroken(ReadError):
    """A file refused by its shape; ``reason`` is too_large or too_many_pages."""

    def __init__(self, message: str, reason: str = "too_large") -> None:
        super().__init__(message)
        self.reason = reason

    def __reduce__(self):
        return (type(self), (str(self), self.reason))


@dataclass(frozen=True)
class ZipShape:
    members: int
    unpacked: int
    names: frozenset[str]


def check_zip(data: bytes, *, max_unpacked_bytes: int = MAX_UNPACKED_BYTES) -> ZipShape:
    """Refuse a zip archive whose central directory declares a bomb; its shape otherwise.
    A zip that cannot be opened raises zipfile.BadZipFile (the caller words it)."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        members = archive.infolist()
    if len(members) > MAX_MEMBERS:
        raise RuleBroken(f"archive has {len(members)} members, more than the {MAX_MEMBERS} limit")
    unpacked = sum(m.file_size for m in members)
    if unpacked > max_unpacked_bytes:
        raise RuleBroken(
            f"archive expands beyond the {max_unpacked_bytes / 1048576:g} MB limit (zip bomb?)"
        )
    for member in members:
        if member.file_size > RATIO_FROM and member.file_size > MAX_RATIO * max(
            member.compress_size, 1
        ):
            raise RuleBroken(
                f"archive member {member.filename[:80]} unpacks {member.file_size // member.compress_size or 0}"
                f" times its size, more than the {MAX_RATIO}× limit (zip bomb?)"
            )
    return ZipShape(len(members), unpacked, frozenset(m.filename for m in members))


def check_docx(data: bytes, *, max_unpacked_bytes: int = MAX_UNPACKED_BYTES) -> ZipShape:
    """:func:`check_zip`, then :func:`check_elements`."""
    shape = check_zip(data, max_unpacked_bytes=max_unpacked_bytes)
    check_elements(data)
    return shape


def check_elements(data: bytes) -> None:
    """Stream a Word document's text parts to count their elements and depth, and refuse
    a DTD; nothing is held but one chunk (the importer runs this after its own archive
    rules, evidence after :func:`check_zip`)."""
    elements = 0
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for name in sorted(archive.namelist()):
            if _COUNTED.match(name):
                elements = _count_elements(archive, name, elements)


def _count_elements(archive: zipfile.ZipFile, name: str, elements: int) -> int:
    """Stream one XML part in chunks, counting start tags and depth; never holds it all."""
    depth = 0
    tail = b""
    with archive.open(name) as part:
        while True:
            chunk = part.read(1 << 20)
            if not chunk:
                break
            block = tail + chunk
            if b"<!DOCTYPE" in block or b"<!ENTITY" in block:
                raise RuleBroken(f"{name} declares a DTD (entity expansion is refused)")
            end = 0
            for found in _TAG.finditer(block):
                end = found.end()
                closing, empty = found.group(1), found.group(2)
                if closing:
                    depth -= 1
                    continue
                if found.group(0).startswith((b"<?", b"<!")):
                    continue
                elements += 1
                if not empty:
                    depth += 1
                    if depth > MAX_DEPTH:
                        raise RuleBroken(f"{name} nests elements more than {MAX_DEPTH} levels deep")
            if elements > MAX_ELEMENTS:
                raise RuleBroken(
                    f"document has more than {MAX_ELEMENTS} elements (an expanding document?)"
                )
            tail = block[end:][-65536:]
    return elements


def pdf_content_size(page) -> int:
    """The decoded size of one pypdf page's content streams, without parsing them."""
    contents = page.get("/Contents")
    if contents is None:
        return 0
    contents = contents.get_object()
    streams = contents if isinstance(contents, list) else [contents]
    total = 0
    for stream in streams:
        stream = stream.get_object()
        raw = getattr(stream, "_data", b"") or b""
        filters = stream.get("/Filter")
        if filters in ("/FlateDecode", ["/FlateDecode"]) and raw:
            total += _inflated_size(raw, PDF_MAX_PAGE_CONTENT + 1)
        else:
            total += len(raw)
    return total


def _inflated_size(raw: bytes, most: int) -> int:
    """How many bytes a zlib stream inflates to, counting at most ``most`` (never more
    held in memory than one chunk)."""
    inflater = zlib.decompressobj()
    size = 0
    try:
        pending = raw
        while pending and size < most:
            out = inflater.decompress(pending, 1 << 20)
            size += len(out)
            pending = inflater.unconsumed_tail
    except zlib.error:
        return size
    return size


def check_pdf_pages(pages: list, max_content: int = PDF_MAX_CONTENT) -> None:
    """Refuse PDF pages (pypdf page objects) whose content streams decode to more than
    PDF_MAX_PAGE_CONTENT each or ``max_content`` together."""
    total = 0
    seen: dict[object, int] = {}
    for number, page in enumerate(pages, 1):
        reference = page.get("/Contents")
        key = (getattr(reference, "idnum", None), getattr(reference, "generation", None))
        size = seen.get(key) if key[0] is not None else None
        if size is None:
            size = seen[key] = pdf_content_size(page)
        if size > PDF_MAX_PAGE_CONTENT:
            raise RuleBroken(
                f"PDF page {number} draws more than {PDF_MAX_PAGE_CONTENT >> 20} MB of content"
            )
        total += size
        if total > max_content:
            raise RuleBroken(f"PDF pages draw more than {max_content >> 20} MB of content in all")
