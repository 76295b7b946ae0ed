"""The text of a PDF's pages, each font of the document read once.

pypdf reads a font's dictionary (its ToUnicode map above all) again for every page that
uses the font. Our copies embed three CJK fonts with maps of ~2,400 glyphs each, so on a
ten-page copy that was two thirds of the time to read its text (a leaked copy filed as
evidence, a PDF imported). Inside :func:`page_texts` a font dictionary already read gives
back the font read then; everywhere else (other threads, other callers) pypdf reads as it
always did.
"""

from __future__ import annotations

from collections.abc import Iterable
from contextvars import ContextVar
from typing import Any

from pypdf import PageObject
from pypdf.generic import _font

# id of a font dictionary -> (the dictionary, kept so the id cannot be reused; its font)
_READ: ContextVar[dict[int, tuple[Any, Any]] | None] = ContextVar("pdf_fonts", default=None)
_read_font = _font.Font.__dict__["from_font_resource"].__func__  # the classmethod's function


def _from_font_resource(cls: type, pdf_font_dict: Any) -> Any:
    read = _READ.get()
    if read is None:
        return _read_font(cls, pdf_font_dict)
    known = read.get(id(pdf_font_dict))
    if known is None or known[0] is not pdf_font_dict:
        known = read[id(pdf_font_dict)] = (pdf_font_dict, _read_font(cls, pdf_font_dict))
    return known[1]


setattr(_font.Font, "from_font_resource", classmethod(_from_font_resource))  # noqa: B010


def page_texts(pages: Iterable[PageObject]) -> list[str]:
    """Each page's text layer (``""`` for none), as ``page.extract_text()`` reads it."""
    token = _READ.set({})
    try:
        return [page.extract_text() or "" for page in pages]
    finally:
        _READ.reset(token)
