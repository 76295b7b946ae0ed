"""Text out of evidence images and scanned PDF pages, with Tesseract's chi_sim model.

Everything runs on this machine: Tesseract and poppler's pdftoppm as subprocesses with
timeouts, never a network call. An image's pixel size is read from its header before any
decoding (for a TIFF, every page's), so an image that would decompress to gigabytes is
refused at once. Each recognition runs one Tesseract thread (OpenMP threads spinning on two
cores made a page three times slower), and at most one recognition per core runs in this
process at a time. A scanned PDF's pages and a TIFF's are read alike (``_read_pages``).
The headers are read by :mod:`wenxing.reports.imagesize`.

Failures raise :class:`OcrError` with a ``reason`` from ``image_too_large``,
``too_many_pages``, ``corrupt``, ``no_text`` and ``ocr_failed`` (see
``wenxing.reports.evidence`` for the full set).
"""

from __future__ import annotations

import io
import os
import re
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from wenxing.reports.imagesize import (
    TIFF_MAX_PAGES,
    OcrError,
    image_kind,
    image_size,
    tiff_sizes,
)

MAX_PIXELS = 40_000_000  # an image with more pixels is refused before it is decoded
PDF_MAX_PAGES = 30  # pages of a PDF without a text layer that are read
TIFF_MAX_PIXELS = 300_000_000  # and one with more pixels in all: 30 A4 pages at 300 dpi fit
PDF_PAGE_PIXELS = 2339  # long side of a rendered page: A4 at 200 dpi
TESSERACT_TIMEOUT = 60.0  # seconds for one image or page
PDF_TIMEOUT = 300.0  # seconds for all the pages of one PDF or TIFF
TEXT_HEIGHT = 34  # pixels: the height of a line of Chinese text Tesseract reads best
LANGUAGE = "chi_sim"

_SMALLEST_SIDE = 8  # pixels; Tesseract refuses anything smaller than a character
_MAX_UPSCALE = 4.0
_MAX_SCALED_PIXELS = 30_000_000  # upscaling stops here whatever the text height
_FORMATS = {
    "png": "PNG",
    "jpeg": "JPEG",
    "gif": "GIF",
    "webp": "WEBP",
    "bmp": "BMP",
    "tiff": "TIFF",
}


def _cores() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


_SLOTS = threading.BoundedSemaphore(_cores())
_ENV = {**os.environ, "OMP_THREAD_LIMIT": "1"}


# --- reading images -----------------------------------------------------------------------


def read_image(
    data: bytes, *, max_pixels: int = MAX_PIXELS, timeout: float = TESSERACT_TIMEOUT
) -> str:
    """The text of an image (PNG, JPEG, GIF, WebP or BMP); OcrError when it has none."""
    kind = image_kind(data)
    if kind is None or kind == "tiff":  # a TIFF's pages: read_tiff_pages
        raise OcrError("not an image this reader knows (PNG, JPEG, GIF, WebP, BMP)", "corrupt")
    width, height = image_size(data, kind)
    limit = _pixel_limit(max_pixels)
    if width * height > limit:
        raise OcrError(
            f"image is {width}×{height} pixels, more than the {limit / 1e6:g} megapixel limit",
            "image_too_large",
        )
    deadline = time.monotonic() + timeout
    with _slot(deadline):
        image = _decoded(data, kind, limit)
        return _recognise(prepare(image), deadline)


def read_image_page(
    data: bytes, *, max_pixels: int = MAX_PIXELS, timeout: float = TESSERACT_TIMEOUT
) -> tuple[str, np.ndarray, str]:
    """As :func:`read_image`, and also the image as Tesseract saw it (grayscale pixels) and
    its word boxes (Tesseract's TSV), from the same single recognition: what the page's
    visual layer is read from (``wenxing.reports.visual``)."""
    kind = image_kind(data)
    if kind is None or kind == "tiff":
        raise OcrError("not an image this reader knows (PNG, JPEG, GIF, WebP, BMP)", "corrupt")
    width, height = image_size(data, kind)
    limit = _pixel_limit(max_pixels)
    if width * height > limit:
        raise OcrError(
            f"image is {width}×{height} pixels, more than the {limit / 1e6:g} megapixel limit",
            "image_too_large",
        )
    deadline = time.monotonic() + timeout
    with _slot(deadline):
        image = prepare(_decoded(data, kind, limit))
        text, tsv = _recognise_with_boxes(image, deadline)
        return text, np.asarray(image), tsv


def _recognise_with_boxes(image: Image.Image, deadline: float) -> tuple[str, str]:
    """The text (as :func:`_recognise` gives it) and the TSV of one Tesseract run."""
    if min(image.size) < _SMALLEST_SIDE:
        return "", ""
    frame = io.BytesIO()
    image.save(frame, "PPM")
    with tempfile.TemporaryDirectory(prefix="wenxing-ocr-") as folder:
        base = str(Path(folder) / "out")
        command = ["tesseract", "stdin", base, "-l", LANGUAGE, "--dpi", "300", "--psm", "3"]
        _run([*command, "txt", "tsv"], frame.getvalue(), deadline, "tesseract")
        text = Path(base + ".txt").read_text("utf-8", errors="replace")
        tsv = Path(base + ".tsv").read_text("utf-8", errors="replace")
    return tidy(text), tsv


def _pixel_limit(max_pixels: int) -> int:
    # Pillow warns above its own limit (89 M pixels) and refuses above twice that.
    return min(max_pixels, Image.MAX_IMAGE_PIXELS or max_pixels)


def _decoded(data: bytes, kind: str, limit: int, page: int | None = None) -> Image.Image:
    """The image decoded; ``page`` (from 1) picks one page of a multi-page TIFF, each page
    from its own reader (pages are read on several threads)."""
    where = "" if page is None else f"page {page}: "
    try:
        # Only the plugin the header named: no guessing among Pillow's other formats.
        image = Image.open(io.BytesIO(data), formats=[_FORMATS[kind]])
        if page is not None:
            image.seek(page - 1)
        if image.width * image.height > limit:
            raise OcrError(
                f"image {where}is {image.width}×{image.height} pixels", "image_too_large"
            )
        image.load()
    except Image.DecompressionBombError:
        raise OcrError(f"image {where}has too many pixels to decode", "image_too_large") from None
    except OcrError:
        raise
    except Exception as exc:  # Pillow raises many types on damaged input
        raise OcrError(
            f"damaged {kind.upper()} image ({where}{type(exc).__name__})", "corrupt"
        ) from None
    try:
        # A phone photo stores its rotation aside; damaged rotation data leaves it as it is.
        return ImageOps.exif_transpose(image)
    except Exception:
        return image


def prepare(image: Image.Image) -> Image.Image:
    """Grayscale, dark text on a light ground, lines of text about TEXT_HEIGHT pixels high."""
    gray = _grayscale(image)
    pixels = np.asarray(gray)
    if np.median(pixels[::8, ::8]) < 128:  # dark mode: light text on a dark ground
        gray = ImageOps.invert(gray)
        pixels = np.asarray(gray)
    factor = _scale(text_height(pixels), gray.width * gray.height)
    if factor == 1.0:
        return gray
    size = (max(1, round(gray.width * factor)), max(1, round(gray.height * factor)))
    return gray.resize(size, Image.Resampling.BICUBIC if factor > 1 else Image.Resampling.LANCZOS)


def _grayscale(image: Image.Image) -> Image.Image:
    if image.mode in ("I", "I;16", "I;16L", "I;16B", "I;16N"):  # 16-bit PNG
        wide = np.asarray(image, dtype=np.float64)
        return Image.fromarray(np.clip(wide / 256, 0, 255).astype(np.uint8), "L")
    if image.mode == "F":
        return Image.fromarray(np.clip(np.asarray(image), 0, 255).astype(np.uint8), "L")
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        # Transparent pixels are often black underneath: lay the image on white paper.
        paper = Image.new("RGBA", image.size, "white")
        paper.alpha_composite(image.convert("RGBA"))
        image = paper
    return image.convert("L")


def text_height(pixels: np.ndarray) -> float | None:
    """The median height in pixels of the bands of rows holding dark ink (lines of text),
    or None when there are too few such bands to say."""
    background = float(np.median(pixels[::8, ::8]))
    dark = pixels < background - 60
    across = _band_height([dark])
    # Across a whole photographed page a tilt of a few percent runs the lines' bands into
    # one another (one band the page high, and the page shrunk to nothing before
    # recognition); across an eighth of it the tilt is a few pixels. The upright strips'
    # height is taken only when clearly lower, so an upright page is measured as before.
    strips = max(1, min(_HEIGHT_STRIPS, pixels.shape[1] // _HEIGHT_STRIP_MIN))
    upright = _band_height(np.array_split(dark, strips, axis=1))
    if upright is not None and (across is None or upright < _TILTED * across):
        return upright
    return across


def _band_height(parts: list[np.ndarray]) -> float | None:
    """The median height of the bands of rows with ink in each part (columns of a page)."""
    found = []
    for part in parts:
        ink = part.sum(axis=1)
        rows = np.concatenate(([0], (ink >= max(2, part.shape[1] // 250)).astype(np.int8), [0]))
        edges = np.flatnonzero(np.diff(rows))
        found.append(edges[1::2] - edges[0::2])
    heights = np.concatenate(found)
    heights = heights[heights >= 3]  # rules and specks are not lines
    if len(heights) < 2:
        return None
    return float(np.median(heights))


_HEIGHT_STRIPS = 8  # upright strips a page's text height is measured in
_HEIGHT_STRIP_MIN = 160  # pixels: no narrower (a strip holds a few characters of a line)
_TILTED = 0.8  # strips' height below this share of the whole width's: the page is tilted


def _scale(height: float | None, pixels: int) -> float:
    if height is None:
        return 1.0
    factor = TEXT_HEIGHT / height
    # Text a little off the ideal reads as well; resampling it would only cost time.
    if 0.5 <= factor <= 1.25:
        return 1.0
    if factor > 1:
        factor = min(factor, _MAX_UPSCALE, (_MAX_SCALED_PIXELS / pixels) ** 0.5)
        return max(factor, 1.0)
    return factor


def _recognise(image: Image.Image, deadline: float) -> str:
    if min(image.size) < _SMALLEST_SIDE:
        return ""
    frame = io.BytesIO()
    image.save(frame, "PPM")  # uncompressed: the quickest to hand over
    # Tesseract guesses the resolution otherwise, and guesses near 400 dpi lost half of
    # a page's text in trials; 300 reads text of any pixel height here as well.
    command = ["tesseract", "stdin", "stdout", "-l", LANGUAGE, "--dpi", "300", "--psm", "3"]
    done = _run(command, frame.getvalue(), deadline, "tesseract")
    return tidy(done.decode("utf-8", errors="replace"))


def _run(command: list[str], given: bytes | None, deadline: float, name: str) -> bytes:
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise OcrError("OCR ran out of time", "ocr_failed")
    try:
        done = subprocess.run(
            command, input=given, capture_output=True, timeout=remaining, env=_ENV, check=False
        )
    except FileNotFoundError:
        raise OcrError(
            f"{name} is not installed (see deploy/debian-packages.txt)", "ocr_failed"
        ) from None
    except subprocess.TimeoutExpired:
        raise OcrError(f"{name} did not finish in time", "ocr_failed") from None
    if done.returncode != 0:
        lines = done.stderr.decode("utf-8", errors="replace").strip().splitlines()
        detail = lines[-1][:200] if lines else f"exit status {done.returncode}"
        raise OcrError(
            f"{name} failed: {detail}", "corrupt" if name == "pdftoppm" else "ocr_failed"
        )
    return done.stdout


class _slot:
    """One of this process's recognition slots (one per core), waited for until the deadline."""

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline

    def __enter__(self) -> None:
        if not _SLOTS.acquire(timeout=max(0.0, self.deadline - time.monotonic())):
            raise OcrError(
                "OCR ran out of time waiting for other evidence to be read", "ocr_failed"
            )

    def __exit__(self, *_exc: object) -> None:
        _SLOTS.release()


# --- pages: scanned PDFs and multi-page TIFFs ----------------------------------------------


def _read_pages(
    count: int, page_image: Callable[[int, float], Image.Image], timeout: float
) -> list[str]:
    """The text of pages 1 to ``count``, each given by ``page_image(number, deadline)`` and
    read by OCR, one page per core at a time, all of them within ``timeout`` seconds."""
    if count <= 0:
        return []
    deadline = time.monotonic() + timeout

    def read(number: int) -> str:
        with _slot(deadline):
            return _recognise(prepare(page_image(number, deadline)), deadline)

    with ThreadPoolExecutor(max_workers=min(_cores(), count)) as pool:
        jobs = [pool.submit(read, number) for number in range(1, count + 1)]
        try:
            return [job.result() for job in jobs]
        except BaseException:
            for job in jobs:
                job.cancel()
            raise


def read_pdf_pages(
    data: bytes, pages: int, *, max_pages: int = PDF_MAX_PAGES, timeout: float = PDF_TIMEOUT
) -> list[str]:
    """The text of each of a PDF's first ``max_pages`` pages, rendered and read by OCR, one
    page per core at a time."""
    count = min(pages, max_pages)
    if count <= 0:
        return []
    with tempfile.TemporaryDirectory(prefix="wenxing-ocr-") as folder:
        path = Path(folder) / "evidence.pdf"
        path.write_bytes(data)
        return _read_pages(
            count, lambda number, deadline: _pdf_page(path, number, deadline), timeout
        )


def read_tiff_pages(
    data: bytes,
    *,
    max_pixels: int = MAX_PIXELS,
    max_pages: int = TIFF_MAX_PAGES,
    max_total_pixels: int = TIFF_MAX_PIXELS,
    timeout: float = PDF_TIMEOUT,
) -> list[str]:
    """The text of each page of a TIFF (a scan, often several pages), read by OCR as a
    scanned PDF's pages are. Every page's size is checked from the header first: a page
    over ``max_pixels``, more than ``max_pages`` pages or more than ``max_total_pixels``
    in all is refused before any page is decoded."""
    sizes = tiff_sizes(data, max_pages=max_pages)
    if len(sizes) > max_pages:
        raise OcrError(f"TIFF has more pages than the {max_pages}-page limit", "too_many_pages")
    limit = _pixel_limit(max_pixels)
    for number, (width, height) in enumerate(sizes, start=1):
        if width * height > limit:
            raise OcrError(
                f"TIFF page {number} is {width}×{height} pixels, "
                f"more than the {limit / 1e6:g} megapixel limit",
                "image_too_large",
            )
    total = sum(width * height for width, height in sizes)
    if total > max_total_pixels:
        raise OcrError(
            f"TIFF pages hold {total / 1e6:.0f} megapixels in all, "
            f"more than the {max_total_pixels / 1e6:g} megapixel limit",
            "image_too_large",
        )
    return _read_pages(
        len(sizes), lambda number, _deadline: _decoded(data, "tiff", limit, number), timeout
    )


def _pdf_page(path: Path, number: int, deadline: float) -> Image.Image:
    """Page ``number`` of the PDF at ``path``, rendered in grayscale by pdftoppm."""
    page = str(number)
    # -scale-to bounds every page whatever size its box claims; PGM on stdout.
    command = [
        "pdftoppm",
        "-f",
        page,
        "-l",
        page,
        "-gray",
        "-scale-to",
        str(PDF_PAGE_PIXELS),
        str(path),
    ]
    rendered = _run(command, None, deadline, "pdftoppm")
    try:
        image = Image.open(io.BytesIO(rendered), formats=["PPM"])
        image.load()
    except Exception as exc:
        raise OcrError(f"page {number} did not render ({type(exc).__name__})", "corrupt") from None
    return image


# --- Tesseract's output -------------------------------------------------------------------

_CJK = (
    "\u2e80-\u2fdf\u3001-\u303f\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
    "\ufe30-\ufe4f\uff01-\uffee\U00020000-\U0003134f"
    "\u2014\u2026\u2018\u2019\u201c\u201d\u00b7"  # dashes, ellipses, quotes and dots of Chinese text
)
_SPACE_IN_CJK = re.compile(rf"(?<=[{_CJK}])[^\S\n]+(?=[{_CJK}])")
_BLANK_LINES = re.compile(r"\n{3,}")


def join_cjk(text: str) -> str:
    """Remove the spaces (not the line breaks) Tesseract puts between Chinese characters and
    punctuation; spaces next to Latin letters or digits stay."""
    return _SPACE_IN_CJK.sub("", text)


def tidy(text: str) -> str:
    """Tesseract's page text: CJK spaces joined, lines trimmed, at most one blank line."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\f", "\n")
    lines = (join_cjk(line).strip() for line in text.split("\n"))
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()
