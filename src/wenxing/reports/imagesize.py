"""What an image is and how large, from its first bytes: no pixel is decoded.

An evidence image's size is read from its header before anything decodes it (for a TIFF,
every page's), so that one which would decompress to gigabytes is refused at once
(``reports/ocr.py`` reads the text of those that pass). A damaged header raises
:class:`OcrError` with the reason ``corrupt``.
"""

from __future__ import annotations

import struct

TIFF_MAX_PAGES = 30  # a TIFF with more pages is refused (each page at most ocr.MAX_PIXELS)
_TIFF_MAGIC = {b"II*\x00": "<", b"MM\x00*": ">"}  # byte order: Intel, Motorola
_TIFF_WIDTH, _TIFF_LENGTH = 256, 257
_TIFF_VALUE = {3: "H", 4: "I"}  # SHORT and LONG: the types a page's width and length take
_BMP_HEADERS = frozenset({12, 40, 52, 56, 64, 108, 124})  # DIB header sizes
_JPEG_FRAMES = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}  # SOFn (not DHT, JPG, DAC)


class OcrError(Exception):
    """Image or page text that could not be read; ``reason`` is a short machine code."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


def image_kind(data: bytes) -> str | None:
    """The image format the bytes start with (png, jpeg, gif, webp, bmp, tiff), or None."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    # "BM" alone also starts plenty of text; the DIB header size makes it a bitmap.
    if (
        data[:2] == b"BM"
        and len(data) >= 26
        and struct.unpack("<I", data[14:18])[0] in _BMP_HEADERS
    ):
        return "bmp"
    if data[:4] in _TIFF_MAGIC:
        return "tiff"
    return None


def image_size(data: bytes, kind: str) -> tuple[int, int]:
    """(width, height) as the header declares them, without decoding any pixels."""
    try:
        size = _HEADER_SIZE[kind](data)
    except (struct.error, IndexError):
        size = None
    if size is None or min(size) <= 0:
        raise OcrError(f"damaged {kind.upper()} image (no readable size in its header)", "corrupt")
    return size


def _png_size(data: bytes) -> tuple[int, int] | None:
    if data[12:16] != b"IHDR":
        return None
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def _gif_size(data: bytes) -> tuple[int, int]:
    width, height = struct.unpack("<HH", data[6:10])
    return width, height


def _bmp_size(data: bytes) -> tuple[int, int]:
    if struct.unpack("<I", data[14:18])[0] == 12:  # OS/2 header: 16-bit sizes
        width, height = struct.unpack("<HH", data[18:22])
    else:
        width, height = struct.unpack("<ii", data[18:26])
    return width, abs(height)  # a negative height is a top-down bitmap


def _webp_size(data: bytes) -> tuple[int, int] | None:
    chunk = data[12:16]
    if chunk == b"VP8X":
        return 1 + int.from_bytes(data[24:27], "little"), 1 + int.from_bytes(data[27:30], "little")
    if chunk == b"VP8L":
        bits = int.from_bytes(data[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8 ":
        width, height = struct.unpack("<HH", data[26:30])
        return width & 0x3FFF, height & 0x3FFF
    return None


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    """The largest frame declared before the first scan (a decoder takes one of them)."""
    largest: tuple[int, int] | None = None
    at = 2
    while at + 4 <= len(data):
        if data[at] != 0xFF:
            return None
        marker = data[at + 1]
        if marker == 0xFF:  # fill byte
            at += 1
            continue
        if marker == 0x01 or 0xD0 <= marker <= 0xD8:  # markers without a length
            at += 2
            continue
        if marker == 0xDA:  # start of scan: the header is over
            break
        (length,) = struct.unpack(">H", data[at + 2 : at + 4])
        if marker in _JPEG_FRAMES:
            height, width = struct.unpack(">HH", data[at + 5 : at + 9])
            if largest is None or width * height > largest[0] * largest[1]:
                largest = (width, height)
        at += 2 + length
    return largest


def tiff_sizes(data: bytes, *, max_pages: int = TIFF_MAX_PAGES) -> list[tuple[int, int]]:
    """(width, height) of each page of a TIFF as its directories declare them, without
    decoding any pixels; at most ``max_pages + 1`` pages are looked at (one more than
    that is enough to refuse)."""
    order = _TIFF_MAGIC.get(data[:4])
    if order is None:
        raise OcrError("not a TIFF image", "corrupt")
    sizes: list[tuple[int, int]] = []
    seen: set[int] = set()
    try:
        (at,) = struct.unpack(order + "I", data[4:8])
        while at and len(sizes) <= max_pages:
            if at in seen or at + 2 > len(data):
                raise OcrError("damaged TIFF image (its pages do not chain up)", "corrupt")
            seen.add(at)
            (count,) = struct.unpack(order + "H", data[at : at + 2])
            fields: dict[int, int] = {}
            for entry in range(at + 2, at + 2 + 12 * count, 12):
                tag, kind = struct.unpack(order + "HH", data[entry : entry + 4])
                if tag in (_TIFF_WIDTH, _TIFF_LENGTH) and kind in _TIFF_VALUE:
                    code = order + _TIFF_VALUE[kind]
                    (fields[tag],) = struct.unpack_from(code, data[entry + 8 : entry + 12])
            size = (fields.get(_TIFF_WIDTH, 0), fields.get(_TIFF_LENGTH, 0))
            if min(size) <= 0:
                raise OcrError(f"damaged TIFF image (page {len(sizes) + 1} has no size)", "corrupt")
            sizes.append(size)
            next_at = at + 2 + 12 * count
            (at,) = struct.unpack(order + "I", data[next_at : next_at + 4])
    except struct.error:
        raise OcrError("damaged TIFF image (its header is cut short)", "corrupt") from None
    if not sizes:
        raise OcrError("damaged TIFF image (no pages)", "corrupt")
    return sizes


_HEADER_SIZE = {
    "png": _png_size,
    "jpeg": _jpeg_size,
    "gif": _gif_size,
    "webp": _webp_size,
    "bmp": _bmp_size,
}
