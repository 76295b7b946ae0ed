"""A small RTF reader: groups, the destinations that hold no text skipped, ``\\'hh`` bytes
decoded in the document's code page (``\\ansicpg936``: GBK), ``\\uN`` characters with their
``\\ucN`` fallbacks skipped and surrogate pairs joined, so every character the writer put
in (invisible marks included) comes out; page headers and footers after the body.

Every failure is a ``ReadError`` with a one-line English reason."""

from __future__ import annotations

import re

from wenxing.materials.source import ReadError

RTF_MAX_DEPTH = 1000
_RTF_TOKEN = re.compile(
    rb"\\([a-zA-Z]+)(-?\d+)? ?|\\'([0-9a-fA-F]{2})|\\([^a-zA-Z])|([{}])|([\r\n]+)|([^\\{}\r\n]+)"
)
# Destinations whose text is not the document's (fonts, colours, styles, metadata, pictures).
_SKIP = frozenset(
    b"fonttbl colortbl stylesheet info pict object themedata colorschememapping "
    b"latentstyles datastore xmlnstbl rsidtbl generator listtable listoverridetable "
    b"filetbl revtbl pgptbl mmathPr header headerl headerr headerf footer footerl footerr "
    b"footerf bkmkstart bkmkend fldinst".split()
)
_CODEPAGES = {936: "gbk", 950: "big5", 932: "cp932", 949: "cp949", 65001: "utf-8"}
_SYMBOLS = {b"~": "\u00a0", b"_": "\u2011", b"-": "\u00ad"}
_BREAKS = {b"par": "\n", b"line": "\n", b"sect": "\n", b"page": "\n", b"row": "\n",
           b"tab": "\t", b"cell": "\t"}  # fmt: skip
_NAMED = {b"emdash": "—", b"endash": "–", b"bullet": "•", b"lquote": "‘", b"rquote": "’",
          b"ldblquote": "“", b"rdblquote": "”"}  # fmt: skip


def rtf_text(data: bytes) -> str:
    """The text of an RTF document (headers and footers included, after the body)."""
    if not data.lstrip().startswith(b"{\\rtf"):
        raise ReadError("not an RTF file")
    reader = _Reader(_encoding(data))
    for match in _RTF_TOKEN.finditer(data):
        reader.token(*match.groups())
    reader.flush()
    text = "".join(reader.out)
    if reader.extra:
        text += "\n" + "".join(reader.extra)
    return text


def _encoding(data: bytes) -> str:
    """The document's code page (``\\ansicpgN``) as a Python codec; cp1252 when unknown."""
    encoding = "cp1252"
    found = re.search(rb"\\ansicpg(\d+)", data[:4096])
    if found:
        encoding = _CODEPAGES.get(int(found.group(1)), f"cp{int(found.group(1))}")
    try:
        "".encode(encoding)
    except LookupError:
        encoding = "cp1252"
    return encoding


class _Reader:
    """The state of one document's reading, fed token by token."""

    def __init__(self, encoding: str) -> None:
        self.encoding = encoding
        self.out: list[str] = []
        self.extra: list[str] = []  # headers and footers
        self.pending = bytearray()  # \'hh bytes of a multi-byte character
        self.stack: list[tuple[bool, int, bool]] = []
        self.skip, self.uc, self.aside = False, 1, False
        self.to_skip = 0  # fallback characters after \uN still to skip
        self.high: int | None = None  # a high surrogate waiting for its pair
        self.first_in_group = False

    def flush(self) -> None:
        if self.pending:
            text = bytes(self.pending).decode(self.encoding, "replace")
            (self.extra if self.aside else self.out).append(text)
            self.pending.clear()

    def emit(self, text: str) -> None:
        if not self.skip:
            (self.extra if self.aside else self.out).append(text)

    def token(self, word, number, hexbyte, symbol, brace, newline, plain) -> None:
        if self.to_skip and (hexbyte or plain or (symbol and symbol not in b"{}\\")):
            if hexbyte or symbol:
                self.to_skip -= 1
                return
            if plain:
                taken = min(self.to_skip, len(plain))
                plain = plain[taken:]
                self.to_skip -= taken
                if not plain:
                    return
        if hexbyte:
            if not self.skip:
                self.pending.append(int(hexbyte, 16))
            self.first_in_group = False
            return
        self.flush()
        if brace:
            self.brace(brace)
        elif newline:
            return
        elif symbol:
            self.symbol(symbol)
        elif word:
            self.word(word, number)
        elif plain:
            self.first_in_group = False
            self.emit(plain.decode(self.encoding, "replace"))

    def brace(self, brace: bytes) -> None:
        if brace == b"{":
            if len(self.stack) >= RTF_MAX_DEPTH:
                raise ReadError(f"RTF nests groups more than {RTF_MAX_DEPTH} levels deep")
            self.stack.append((self.skip, self.uc, self.aside))
            self.first_in_group = True
        else:
            self.skip, self.uc, self.aside = self.stack.pop() if self.stack else (False, 1, False)
            self.first_in_group = False

    def symbol(self, symbol: bytes) -> None:
        if symbol == b"*" and self.first_in_group:
            self.skip = True
        elif symbol in (b"\\", b"{", b"}"):
            self.emit(symbol.decode())
        elif symbol in _SYMBOLS:
            self.emit(_SYMBOLS[symbol])
        self.first_in_group = False

    def word(self, word: bytes, number: bytes | None) -> None:
        if self.first_in_group and word in _SKIP:
            if word.startswith((b"header", b"footer")):
                self.aside = True
            else:
                self.skip = True
        self.first_in_group = False
        if word in _BREAKS:
            self.emit(_BREAKS[word])
        elif word == b"uc":
            self.uc = int(number or 1)
        elif word == b"u":
            self.unicode(int(number or 0))
        elif word in _NAMED:
            self.emit(_NAMED[word])

    def unicode(self, code: int) -> None:
        if code < 0:
            code += 65536
        if 0xD800 <= code < 0xDC00:
            self.high = code
        elif 0xDC00 <= code < 0xE000:
            if self.high is not None:  # (a lone half of a pair is dropped)
                self.emit(chr(0x10000 + ((self.high - 0xD800) << 10) + (code - 0xDC00)))
            self.high = None
        elif 0 <= code <= 0xFFFF:  # (\\u takes a signed 16-bit number)
            self.emit(chr(code))
            self.high = None
        self.to_skip = self.uc
