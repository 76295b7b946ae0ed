"""Imported once in the sandbox's fork server: reads a small file of each kind, so the
readers' lazily built tables (pypdf's font maps, python-docx's templates, the text
decoders) are in memory before any child is forked, and every child starts warm instead of
building them again for each file. Importing it has that side effect only; any failure is
ignored (a cold child is slower, not wrong)."""

from __future__ import annotations

import contextlib
import io
import zlib


def _pdf() -> bytes:
    content = b"BT /F1 12 Tf 72 720 Td (wenxing warm up) Tj ET"
    packed = zlib.compress(content)
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [5 0 R] /Count 1 >>",
        b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(packed) + packed + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 3 0 R "
        b"/Resources << /Font << /F1 4 0 R >> >> >>",
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(
        b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    )
    return out.getvalue()


def _docx() -> bytes:
    import docx

    document = docx.Document()
    document.add_paragraph("文行预热")
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def warm() -> None:
    # Importing the readers is what warming does (in the sandbox's parent, before it
    # forks), not a circle.
    from wenxing.reports.evidence import read_evidence

    samples = [
        ("关于加强基层治理工作的通知。".encode(), "a.txt"),
        ("关于加强基层治理工作的通知。".encode("gbk"), "a.txt"),
        ("<html><body><p>通知</p></body></html>".encode(), "a.html"),
    ]
    # Any failure is ignored: a cold child is slower, not wrong.
    for make, name in ((_docx, "a.docx"), (_pdf, "a.pdf")):
        with contextlib.suppress(Exception):
            samples.append((make(), name))
    for data, name in samples:
        with contextlib.suppress(Exception):
            read_evidence(data, name)


warm()
