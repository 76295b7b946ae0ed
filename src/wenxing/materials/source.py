"""What every reader of a source file shares: ``ReadError`` (a ``read.*`` code, or for
now an English reason), ``SourceText`` (what a reader returns) and the last steps of every
reader (newlines made one kind, a text without any refused). Its own module, under the
readers of each format (``readers``, ``office``, ``file_rules``, ``pdf_text``), so they
import it and not each other."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from wenxing.errors import ENGLISH, DomainError

MB = 1024 * 1024
_OBJECT_REPR = re.compile(r"'?<[\w.]+ object at 0x[0-9a-f]+>'?")


class ReadError(DomainError):
    """A file that cannot be read as a material: a ``read.*`` code of ``wenxing.errors``;
    str(err) is a one-line English reason.

    Transitional: a reason not given a code yet (the office formats', the sandbox's and the
    file rules' English) is accepted as it is, as ``read.uncoded``, and worded for the
    console by ``web/import_messages.py``; new reasons should get codes."""

    def __init__(self, code: str, /, **params: Any) -> None:
        if code not in ENGLISH:
            code, params = "read.uncoded", {"detail": code}
        super().__init__(code, **params)

    sandbox_passes = True  # raised on purpose: passed back from the sandbox whole


@dataclass(frozen=True)
class SourceText:
    text: str
    format: str
    encoding: str | None
    title_hint: str | None


def source_text(text: str, fmt: str, encoding: str | None, title: str | None) -> SourceText:
    text = normalise_newlines(text)
    if not text.strip():
        raise ReadError("read.no_text")
    return SourceText(text=text, format=fmt, encoding=encoding, title_hint=title)


def normalise_newlines(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    # Text copied out of Word carries \v for manual line breaks; U+2028/9 are line breaks too.
    return text.replace("\v", "\n").replace("\u2028", "\n").replace("\u2029", "\n")


def short(exc: BaseException) -> str:
    """An exception's first line, short, without Python's object addresses."""
    lines = _OBJECT_REPR.sub("the file", str(exc)).strip().splitlines()
    return (lines[0] if lines else type(exc).__name__)[:120]
