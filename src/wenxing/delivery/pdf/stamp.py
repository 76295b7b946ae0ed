"""The member number stamped across every page as a pale watermark image."""

from __future__ import annotations

import threading
import zlib
from collections import OrderedDict
from functools import cache

from PIL import Image, ImageDraw, ImageFont

from wenxing.delivery.pdf.fonts import FONTS
from wenxing.delivery.pdf.geometry import HEI
from wenxing.delivery.pdf.objects import Pdf

# --- Rendering ---------------------------------------------------------------------------

_STAMP_EM, _STAMP_DPI = 13.0, 150  # type size (mm) and resolution of the watermark
_STAMP_INK, _STAMP_ANGLE = 219, 30  # gray level (255 white), degrees anticlockwise
STAMPS = ((0.32, 0.26), (0.7, 0.44), (0.3, 0.62), (0.68, 0.8))  # centres, in page widths/heights
_STAMP_LOCK = threading.Lock()


_STAMPS_KEPT = 256
_stamps: OrderedDict[str, tuple[bytes, int, int]] = OrderedDict()


def _stamp_image(member_number: str) -> tuple[bytes, int, int]:
    """The member's watermark, compressed, and its size in pixels (cached per member)."""
    with _STAMP_LOCK:
        found = _stamps.get(member_number)
        if found is not None:
            _stamps.move_to_end(member_number)
            return found
    image = _stamp(member_number)
    found = (zlib.compress(image.tobytes(), 6), image.width, image.height)
    with _STAMP_LOCK:
        _stamps[member_number] = found
        while len(_stamps) > _STAMPS_KEPT:
            _stamps.popitem(last=False)
    return found


def stamp_size(member_number: str) -> tuple[float, float]:
    _data, width, height = _stamp_image(member_number)
    return width / _STAMP_DPI * 25.4, height / _STAMP_DPI * 25.4


def write_stamp(pdf: Pdf, member_number: str) -> int:
    """The watermark as an image drawn on every page by reference (as vector outlines it
    would be written out, and compressed, on every page)."""
    data, width, height = _stamp_image(member_number)
    number = pdf.reserve()
    pdf.stream(
        number,
        f" /Type /XObject /Subtype /Image /Width {width} /Height {height} "
        "/ColorSpace /DeviceGray /BitsPerComponent 8 /Filter /FlateDecode",
        data,
    )
    return number


def _stamp(text: str) -> Image.Image:
    """The watermark: ``text`` pale grey at an angle, as a grayscale image on white."""
    font = _stamp_font()
    with _STAMP_LOCK:  # a FreeType face is not to be used by two threads at once
        left, top, right, bottom = font.getbbox(text)
        margin = font.size // 8
        image = Image.new(
            "L", (int(right - left + 2 * margin), int(bottom - top + 2 * margin)), 255
        )
        ImageDraw.Draw(image).text((margin - left, margin - top), text, font=font, fill=_STAMP_INK)
    return image.rotate(_STAMP_ANGLE, expand=True, fillcolor=255, resample=Image.Resampling.BICUBIC)


@cache
def _stamp_font() -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(FONTS.face(HEI).path), round(_STAMP_EM / 25.4 * _STAMP_DPI))
