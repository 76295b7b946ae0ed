"""Hostile files for the evidence sandbox's tests, built small in memory.

Each maker takes its size as a parameter, so tests choose their own (and differ from the
benchmark's, bench/evidence_sandbox.py, which reads normal evidence only).
"""

from __future__ import annotations

import io
import struct
import zipfile
import zlib

_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-'
    'officedocument.wordprocessingml.document.main+xml"/></Types>'
)
_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/officeDocument" Target="word/document.xml"/></Relationships>'
)
_W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"


def _docx(document_xml: bytes, extra: dict[str, bytes] | None = None) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("[Content_Types].xml", _CONTENT_TYPES)
        archive.writestr("_rels/.rels", _RELS)
        archive.writestr("word/document.xml", document_xml)
        for name, data in (extra or {}).items():
            archive.writestr(name, data)
    return out.getvalue()


def docx_of(paragraphs: list[str]) -> bytes:
    """A small, well-formed .docx holding these paragraphs."""
    from xml.sax.saxutils import escape

    body = "".join(f"<w:p><w:r><w:t>{escape(p)}</w:t></w:r></w:p>" for p in paragraphs)
    return _docx(
        f'<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="{_W}"><w:body>{body}'
        "</w:body></w:document>".encode()
    )


def empty_paragraphs_docx(count: int) -> bytes:
    """A .docx of ``count`` empty paragraphs: a few KB that a DOM parser turns into
    gigabytes (the 31 KB report file of issue 19)."""
    head = f'<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="{_W}"><w:body>'.encode()
    return _docx(head + b"<w:p/>" * count + b"</w:body></w:document>")


def nested_docx(depth: int) -> bytes:
    """A .docx whose body nests ``depth`` elements inside each other."""
    head = f'<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="{_W}"><w:body>'.encode()
    return _docx(head + b"<w:sdt>" * depth + b"</w:sdt>" * depth + b"</w:body></w:document>")


def billion_laughs_docx(levels: int = 10) -> bytes:
    """A .docx whose document declares entities that expand exponentially."""
    entities = ['<!ENTITY lol0 "lol">'] + [
        f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10}">' for i in range(1, levels)
    ]
    xml = (
        '<?xml version="1.0"?><!DOCTYPE w:document [' + "".join(entities) + "]>"
        f'<w:document xmlns:w="{_W}"><w:body><w:p><w:r><w:t>&lol{levels - 1};</w:t></w:r>'
        "</w:p></w:body></w:document>"
    )
    return _docx(xml.encode())


def zip_bomb(unpacked_mb: int) -> bytes:
    """A zip of one member of ``unpacked_mb`` MB of zeros (packs about 1000 to 1)."""
    out = io.BytesIO()
    with (
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive,
        archive.open("word/document.xml", "w", force_zip64=True) as member,
    ):
        block = b"\0" * (1 << 20)
        for _ in range(unpacked_mb):
            member.write(block)
    return out.getvalue()


def many_members_zip(count: int) -> bytes:
    """A .docx-looking zip of ``count`` members."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("word/document.xml", f'<w:document xmlns:w="{_W}"/>')
        for number in range(count):
            archive.writestr(f"word/media/{number}.bin", b"x")
    return out.getvalue()


def shared_stream_pdf(pages: int, ops: int = 20_000) -> bytes:
    """A PDF of ``pages`` pages that all draw one compressed content stream of ``ops``
    text operations (a few KB that cost a text extractor minutes)."""
    content = b"BT /F1 12 Tf 72 720 Td " + b"(AAAA) Tj 0 -1 Td " * ops + b"ET"
    packed = zlib.compress(content, 9)
    objects: list[bytes] = []
    kids = " ".join(f"{5 + i} 0 R" for i in range(pages))
    objects.append(b"<< /Type /Catalog /Pages 2 0 R >>")
    objects.append(f"<< /Type /Pages /Kids [{kids}] /Count {pages} >>".encode())
    objects.append(
        b"<< /Length "
        + str(len(packed)).encode()
        + b" /Filter /FlateDecode >>\nstream\n"
        + packed
        + b"\nendstream"
    )
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    page = (
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 3 0 R "
        b"/Resources << /Font << /F1 4 0 R >> >> >>"
    )
    objects.extend([page] * pages)
    return _pdf(objects)


def _pdf(objects: list[bytes]) -> bytes:
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(out.tell())
        out.write(f"{number} 0 obj\n".encode() + body + b"\nendobj\n")
    xref = out.tell()
    out.write(f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode())
    for offset in offsets:
        out.write(f"{offset:010d} 00000 n \n".encode())
    out.write(
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    )
    return out.getvalue()


def huge_png(width: int, height: int) -> bytes:
    """A real (decodable) greyscale PNG of width × height white pixels, streamed into a
    few hundred KB."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    packer = zlib.compressobj(9)
    row = b"\0" + b"\xff" * width
    parts = [packer.compress(row) for _ in range(height)]
    parts.append(packer.flush())
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", b"".join(parts))
        + chunk(b"IEND", b"")
    )


def many_pages_tiff(pages: int, size: int = 16) -> bytes:
    """A TIFF of ``pages`` small blank pages."""
    from PIL import Image

    frames = [Image.new("L", (size, size), 255) for _ in range(pages)]
    out = io.BytesIO()
    frames[0].save(out, format="TIFF", save_all=True, append_images=frames[1:])
    return out.getvalue()
