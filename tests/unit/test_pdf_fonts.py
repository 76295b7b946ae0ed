"""A PDF's text is read with each of its fonts read once (materials/pdf_fonts.py): the same
text pypdf reads page by page, in a third of the time on our ten-page copies."""

from __future__ import annotations

import io
import json

import pypdf

from tests.helpers import SAMPLE, parse_text, sample_copy
from wenxing.delivery.layout import layout_of
from wenxing.delivery.pdf.render import PdfFormat
from wenxing.materials import pdf_fonts
from wenxing.materials.readers import pdf_first_pages


def _copy_pdf() -> bytes:
    """A marked .pdf copy of the sample: pages set in several embedded CJK fonts."""
    content, _plan, _body = sample_copy()
    structure = parse_text(SAMPLE.read_text("utf-8"))
    layout = layout_of(structure.title, structure.body, json.dumps(structure.outline_dicts()))
    pdf = PdfFormat()
    return pdf.render(pdf.prepare(layout, content.masthead), content)


def test_each_font_is_read_once_per_document_and_the_text_is_pypdfs(monkeypatch):
    data = _copy_pdf()
    reads: list[int] = []
    read_font = pdf_fonts._read_font

    def counted(cls, font_dict):
        reads.append(id(font_dict))
        return read_font(cls, font_dict)

    monkeypatch.setattr(pdf_fonts, "_read_font", counted)
    pages = pypdf.PdfReader(io.BytesIO(data)).pages
    plain = [page.extract_text() or "" for page in pages]  # pypdf's own way: every page
    assert len(pages) >= 5 and len(reads) > len(set(reads))
    reads.clear()
    pages = pypdf.PdfReader(io.BytesIO(data)).pages
    assert pdf_fonts.page_texts(pages) == plain
    assert len(reads) == len(set(reads)) >= 2  # each font once
    assert pdf_first_pages(data, None)[0] == plain  # the readers' path takes it
    reads.clear()
    assert [page.extract_text() or "" for page in pages] == plain
    assert len(reads) > len(set(reads))  # outside page_texts, pypdf reads as it did
