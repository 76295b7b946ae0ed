"""Evidence files: the format from the content, each refusal's reason, OCR's helpers."""

from __future__ import annotations

import contextlib
import io
import random
import struct
import time
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pypdf
import pytest
from docx import Document
from fpdf import FPDF
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageDraw, ImageFont

from wenxing.materials.readers import ReadError
from wenxing.reports import ocr
from wenxing.reports.evidence import (
    REASONS,
    Evidence,
    EvidenceError,
    detect_format,
    read_evidence,
    read_evidence_bytes,
    read_evidence_file,
)

FONT = Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")
LINES = [
    "会员 WX-10001 · 2026-11-26 · 本资料为会员个人专属副本",
    "坚持把项目建设作为扩大有效投资与拉动经济增长的主要抓手，",
    "强化对口衔接，科学谋划和精心包装一批重大项目。",
]
SPEECH = "同志们：\n今天我们召开全区重点工作推进会，主要任务是总结前一阶段工作。\n谢谢大家！"


def refusal(data: bytes, name: str, **options) -> EvidenceError:
    with pytest.raises(EvidenceError) as caught:
        read_evidence(data, name, **options)
    assert caught.value.reason in REASONS
    assert "\n" not in str(caught.value)
    return caught.value


def docx_bytes(text: str = SPEECH) -> bytes:
    document = Document()
    for line in text.split("\n"):
        document.add_paragraph(line)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def text_pdf() -> bytes:
    pdf = FPDF()
    pdf.add_font("cjk", fname=str(FONT))
    pdf.set_font("cjk", size=14)
    pdf.add_page()
    pdf.multi_cell(0, 8, "\n".join([SPEECH, *LINES]))
    return bytes(pdf.output())


def image_bytes(kind: str, size: tuple[int, int] = (40, 30)) -> bytes:
    buffer = io.BytesIO()
    Image.new("L", size, 255).save(buffer, {"jpeg": "JPEG", "webp": "WEBP"}.get(kind, kind))
    return buffer.getvalue()


def page_image(lines: list[str], text_px: int, *, ink: int = 0, paper: int = 255) -> Image.Image:
    """Lines of Chinese text about ``text_px`` high, as a screenshot would show them."""
    font = ImageFont.truetype(str(FONT), round(text_px * 1.15))
    image = Image.new("L", (round(text_px * 30), round(text_px * 2 * (len(lines) + 1))), paper)
    draw = ImageDraw.Draw(image)
    for number, line in enumerate(lines):
        draw.text((text_px, text_px * (1 + 2 * number)), line, font=font, fill=ink)
    return image


# --- the format comes from the content ----------------------------------------------------


@pytest.mark.parametrize("kind", ["png", "jpeg", "gif", "webp", "bmp"])
def test_images_are_known_by_their_first_bytes_and_header_size(kind):
    data = image_bytes(kind, (123, 45))
    assert detect_format(data) == kind
    assert ocr.image_size(data, kind) == (123, 45) == Image.open(io.BytesIO(data)).size


def test_a_bmp_needs_its_header_not_just_two_letters():
    assert detect_format(b"BMW and Audi sales rose 5% in 2024, the report said.") is None


def test_each_document_format_by_content_whatever_the_name():
    cases = [
        (docx_bytes(), "copy.pdf", "docx"),
        (docx_bytes(), "copy", "docx"),
        (text_pdf(), "scan.png", "pdf"),
        (f"<!doctype html><p>{SPEECH}</p>".encode(), "notes.txt", "html"),
        (f"\ufeff <html><body><p>{SPEECH}</p>".encode(), "page.docx", "html"),
        (SPEECH.encode("gb18030"), "copy.docx", "txt"),
        (SPEECH.encode("utf-16"), "copy.pdf", "txt"),
    ]
    for data, name, detected in cases:
        evidence = read_evidence(data, name)
        assert evidence.detected == detected, name
        assert "全区重点工作推进会" in evidence.text and evidence.ocr_pages == 0


def test_the_name_tells_html_from_text_only_when_the_content_leaves_it_open():
    fragment = "<p>同志们：</p><p>今天我们召开会议。</p>".encode()
    assert read_evidence(fragment, "page.html").detected == "html"
    assert read_evidence(fragment, "page.html").text.split() == ["同志们：", "今天我们召开会议。"]
    assert read_evidence(fragment, "page.txt").detected == "txt"
    assert read_evidence("同志们：a < b".encode(), "page.htm").detected == "txt"


def test_existing_callers_still_pass_a_suffix():
    assert read_evidence_bytes(docx_bytes(), ".pdf").detected == "docx"
    assert read_evidence_bytes(SPEECH.encode(), "txt") == Evidence(SPEECH, (), "txt")


def test_copy_tags_still_come_from_metadata_and_text():
    tag = "WX1-" + "A" * 26
    page = f'<html><head><meta name="wenxing-copy" content="{tag}"></head><p>{SPEECH}</p>'
    assert read_evidence(page.encode(), "x.html").copy_tags == (tag,)
    assert read_evidence(f"{SPEECH}\n{tag}".encode(), "x.txt").copy_tags == (tag,)


# --- and every refusal says why -----------------------------------------------------------


def zip_bytes(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_refusals_carry_their_reason():
    rng = random.Random(7)
    junk = bytes(rng.randrange(256) for _ in range(4096))
    broken_pdf = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer <<>>\n%%EOF"
    docx = docx_bytes()
    cases = [
        (b"", "empty.txt", "empty"),
        (b" \n\t\n", "blank.txt", "no_text"),
        (junk, "shot.png", "unsupported"),
        (junk, "copy.txt", "unsupported"),
        (zip_bytes({"a.txt": b"hello"}), "copy.docx", "unsupported"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + junk, "copy.doc", "unsupported"),
        (broken_pdf, "copy.pdf", "corrupt"),
        (docx[: len(docx) // 2], "copy.docx", "unsupported"),  # a cut zip is no .docx
        (image_bytes("png")[:60], "shot.png", "corrupt"),
        (image_bytes("jpeg")[:200], "shot.jpg", "corrupt"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 30, "shot.png", "corrupt"),
    ]
    for data, name, reason in cases:
        error = refusal(data, name)
        assert error.reason == reason, (name, reason, str(error))
        assert isinstance(error, ReadError)
    assert refusal(broken_pdf, "x.pdf").detected == "pdf"
    assert refusal(SPEECH.encode(), "x.txt", max_bytes=10).reason == "too_large"


def test_a_pdf_needing_a_password_is_encrypted():
    writer = pypdf.PdfWriter(clone_from=pypdf.PdfReader(io.BytesIO(text_pdf())))
    writer.encrypt(user_password="user-secret", owner_password="owner-secret")
    buffer = io.BytesIO()
    writer.write(buffer)
    assert refusal(buffer.getvalue(), "x.pdf").reason == "encrypted"


def test_a_docx_that_would_expand_beyond_the_limit_is_refused(monkeypatch):
    from wenxing.reports import evidence

    monkeypatch.setattr(evidence, "MAX_UNPACKED_BYTES", 1000)
    bomb = zip_bytes({"word/document.xml": b"<w/>" * 1000})
    assert refusal(bomb, "x.docx").reason == "corrupt"


def test_reading_files_from_disk(tmp_path):
    (tmp_path / "copy.pdf").write_bytes(docx_bytes())
    assert read_evidence_file(tmp_path / "copy.pdf", 1 << 20).detected == "docx"
    with pytest.raises(EvidenceError) as missing:
        read_evidence_file(tmp_path / "gone.txt", 1 << 20)
    assert missing.value.reason == "unreadable"
    with pytest.raises(EvidenceError) as folder:
        read_evidence_file(tmp_path, 1 << 20)
    assert folder.value.reason == "unreadable"
    with pytest.raises(EvidenceError) as large:
        read_evidence_file(tmp_path / "copy.pdf", 100)
    assert large.value.reason == "too_large"


def huge_png(width: int, height: int) -> bytes:
    """A valid one-colour 1-bit PNG of any size: a few kilobytes on disk."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    squeeze = zlib.compressobj(9)
    row = b"\x00" + b"\xff" * ((width + 7) // 8)
    pixels = b"".join(squeeze.compress(row) for _ in range(height)) + squeeze.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def test_a_200_megapixel_image_is_refused_from_its_header_at_once():
    data = huge_png(20_000, 10_000)
    assert len(data) < 100_000
    started = time.perf_counter()
    error = refusal(data, "shot.png")
    assert time.perf_counter() - started < 1.0
    assert error.reason == "image_too_large" and "20000×10000" in str(error)
    assert error.detected == "png"
    # A lower limit given by the caller holds as well.
    assert refusal(image_bytes("png", (300, 300)), "x.png", max_pixels=50_000).reason == (
        "image_too_large"
    )


MAGIC = [b"", b"%PDF-1.7\n", b"PK\x03\x04", b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF89a"]
MAGIC += [b"RIFF\x00\x00\x00\x00WEBPVP8 ", b"BM" + b"\x00" * 12 + b"\x28\x00\x00\x00"]
MAGIC += [b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", b"<!doctype html>", b"\xef\xbb\xbf", b"\xff\xfe"]
MAGIC += [b"II*\x00", b"MM\x00*", b"II*\x00\x08\x00\x00\x00", b"MM\x00*\x00\x00\x00\x08"]
NAMES = ["", "x.txt", "x.html", "x.docx", "x.pdf", "x.png", "x.jpg", "x.zip", "x.PDF"]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(MAGIC), st.binary(max_size=600), st.sampled_from(NAMES))
def test_any_bytes_give_evidence_or_an_evidence_error(magic, tail, name):
    try:
        evidence = read_evidence(magic + tail, name)
    except EvidenceError as error:
        assert error.reason in REASONS and str(error)
    else:
        assert isinstance(evidence, Evidence) and isinstance(evidence.text, str)


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=300), st.sampled_from(NAMES))
def test_the_old_entry_point_never_raises_anything_else(data, name):
    with contextlib.suppress(EvidenceError):
        assert isinstance(read_evidence_bytes(data, Path(name).suffix), Evidence)


# --- OCR's helpers ------------------------------------------------------------------------


def test_spaces_between_chinese_characters_are_removed_but_not_line_breaks():
    assert ocr.join_cjk("政 府 工 作  报告") == "政府工作报告"
    assert ocr.join_cjk("同志们 ： 今天\u3000我们") == "同志们：今天我们"
    assert ocr.join_cjk("“十四五” 规划 …… 完成") == "“十四五”规划……完成"
    assert ocr.join_cjk("会员 WX-10001 · 2026 年") == "会员 WX-10001 · 2026 年"
    assert ocr.join_cjk("GDP 增长 5.2%") == "GDP 增长 5.2%"
    assert ocr.join_cjk("第一行 \n 第二行") == "第一行 \n 第二行"
    assert ocr.tidy(" 第 一 行 \r\n\n\n\n第 二 行\f") == "第一行\n\n第二行"


def test_text_height_is_measured_from_the_lines():
    for px in (12, 20, 34, 60):
        height = ocr.text_height(np.asarray(page_image(LINES, px)))
        assert height is not None and 0.8 * px <= height <= 1.3 * px, (px, height)


@pytest.mark.parametrize("degrees", [-3.0, -1.5, 1.5, 3.0])
def test_text_height_of_a_tilted_photograph_is_a_lines_not_the_pages(degrees):
    """Across a photographed page a tilt of a few degrees runs the lines' rows together;
    the height is still a line's, so the page is not shrunk to nothing before recognition."""
    page = page_image(LINES * 6, 34)
    tilted = page.rotate(degrees, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=200)
    height = ocr.text_height(np.asarray(tilted))
    assert height is not None and 0.8 * 34 <= height <= 1.6 * 34, height
    assert ocr.prepare(tilted).size == tilted.size  # near the ideal: left as it is


def test_small_text_is_scaled_up_and_large_text_down():
    small = ocr.prepare(page_image(LINES, 14))
    assert small.mode == "L" and small.width > 2 * 14 * 30
    assert 28 <= ocr.text_height(np.asarray(small)) <= 42
    right = page_image(LINES, 32)
    assert ocr.prepare(right).size == right.size  # near the ideal: left as it is
    large = ocr.prepare(page_image(LINES, 120))
    assert large.width < 120 * 30 and 28 <= ocr.text_height(np.asarray(large)) <= 50


def test_dark_mode_and_transparent_screenshots_become_dark_text_on_white():
    dark = ocr.prepare(page_image(LINES, 32, ink=230, paper=20).convert("RGB"))
    clear = Image.new("RGBA", (400, 100), (0, 0, 0, 0))
    ImageDraw.Draw(clear).text(
        (10, 30), "会员 WX-10001", font=ImageFont.truetype(str(FONT), 36), fill=(0, 0, 0, 255)
    )
    transparent = ocr.prepare(clear)
    for image in (dark, transparent):
        pixels = np.asarray(image)
        assert pixels[0, 0] > 200 and pixels.min() < 80


@pytest.mark.ocr
def test_a_small_screenshot_is_read_in_chinese_without_spaces():
    buffer = io.BytesIO()
    page_image(LINES, 16).convert("RGB").save(buffer, "PNG")
    evidence = read_evidence(buffer.getvalue(), "shot.pdf")  # the name is wrong on purpose
    assert evidence.detected == "png" and evidence.ocr_pages == 1
    assert "WX-10001" in evidence.text
    assert "扩大有效投资" in evidence.text and "科学谋划" in evidence.text


# --- TIFF scans: every page's size from the header, then each page read by OCR ------------


def tiff_bytes(sizes: list[tuple[int, int]], order: str = "<", strip: bytes = b"") -> bytes:
    """A TIFF written by hand: one 8-bit grayscale page of each size, every page's single
    strip holding ``strip`` (far less than the size declares, unless given in full)."""
    head = (b"II*\x00" if order == "<" else b"MM\x00*") + struct.pack(order + "I", 8)
    out = bytearray(head)
    for number, (width, height) in enumerate(sizes):
        entries = [
            (256, 4, width),  # ImageWidth
            (257, 4, height),  # ImageLength
            (258, 3, 8),  # BitsPerSample
            (259, 3, 1),  # Compression: none
            (262, 3, 1),  # PhotometricInterpretation: black is zero
            (273, 4, 0),  # StripOffsets (filled in below)
            (277, 3, 1),  # SamplesPerPixel
            (278, 4, height),  # RowsPerStrip
            (279, 4, len(strip)),  # StripByteCounts
        ]
        at = len(out)
        data_at = at + 2 + 12 * len(entries) + 4
        out += struct.pack(order + "H", len(entries))
        for tag, kind, value in entries:
            value = data_at if tag == 273 else value
            # A SHORT fills the first two of the four value bytes, a LONG all four.
            packed = (
                struct.pack(order + "HH", value, 0)
                if kind == 3
                else struct.pack(order + "I", value)
            )
            out += struct.pack(order + "HHI", tag, kind, 1) + packed
        last = number == len(sizes) - 1
        out += struct.pack(order + "I", 0 if last else data_at + len(strip))
        out += strip
    return bytes(out)


def saved_tiff(pages: list[Image.Image], **options) -> bytes:
    buffer = io.BytesIO()
    pages[0].save(buffer, "TIFF", save_all=True, append_images=pages[1:], **options)
    return buffer.getvalue()


@pytest.mark.parametrize("order", ["<", ">"])
def test_tiffs_are_known_by_their_first_bytes_and_every_page_size(order):
    data = tiff_bytes([(120, 40), (33, 77), (5, 6)], order, strip=b"\xff" * 30)
    assert data[:4] == (b"II*\x00" if order == "<" else b"MM\x00*")
    assert detect_format(data) == "tiff"
    assert ocr.tiff_sizes(data) == [(120, 40), (33, 77), (5, 6)]
    with Image.open(io.BytesIO(data)) as image:
        assert image.n_frames == 3 and image.size == (120, 40)
        image.seek(1)
        assert image.size == (33, 77)
    saved = saved_tiff([Image.new("L", (90, 30), 255), Image.new("1", (20, 10), 1)])
    assert detect_format(saved) == "tiff" and ocr.tiff_sizes(saved) == [(90, 30), (20, 10)]
    assert detect_format(b"II* is how the memo began") is None


def test_an_oversized_tiff_page_is_refused_from_its_header_before_decoding(monkeypatch):
    # The second page claims 20000×10000 8-bit pixels: 200 MB once Pillow decoded it.
    data = tiff_bytes([(100, 100), (20_000, 10_000)], strip=b"\xff" * 64)
    assert len(data) < 1000

    def no_decoding(*_args, **_kwargs):
        raise AssertionError("a refused TIFF must not reach Pillow")

    monkeypatch.setattr(ocr.Image, "open", no_decoding)
    started = time.perf_counter()
    error = refusal(data, "scan.tif")
    assert time.perf_counter() - started < 1.0
    assert error.reason == "image_too_large" and error.detected == "tiff"
    assert "page 2" in str(error) and "20000×10000" in str(error)
    assert "more than the 40 megapixel limit" in str(error)


def test_a_tiff_with_too_many_pages_or_pixels_in_all_is_refused(monkeypatch):
    monkeypatch.setattr(ocr.Image, "open", None)  # refused before anything is decoded
    many = tiff_bytes([(10, 10)] * (ocr.TIFF_MAX_PAGES + 1))
    error = refusal(many, "scan.tiff")
    assert error.reason == "too_many_pages" and error.detected == "tiff"
    assert f"more pages than the {ocr.TIFF_MAX_PAGES}-page limit" in str(error)
    # Each page under the per-page limit, together over the limit for the whole file.
    pages = ocr.TIFF_MAX_PIXELS // 39_000_000 + 1
    heavy = tiff_bytes([(6_000, 6_500)] * pages)
    error = refusal(heavy, "scan.tiff")
    assert error.reason == "image_too_large" and "in all" in str(error)
    # A page chain that loops back on itself is damaged, not endless.
    looped = bytearray(tiff_bytes([(10, 10), (10, 10)]))
    looped[-4:] = struct.pack("<I", 8)
    assert refusal(bytes(looped), "scan.tif").reason == "corrupt"


def test_a_damaged_tiff_is_corrupt_and_says_it_is_a_tiff():
    good = saved_tiff([page_image(LINES, 20), page_image(LINES[:1], 20)])
    cases = [
        b"II*\x00" + b"\x00" * 4,  # no first page
        b"MM\x00*" + struct.pack(">I", 1 << 30),  # the first page past the end
        good[: len(good) // 2],  # cut in the first page's pixels
        tiff_bytes([(0, 40)]),  # a page with no width
        tiff_bytes([(200, 100)], strip=b"\x00" * 10),  # far fewer pixels than declared
    ]
    for number, data in enumerate(cases):
        error = refusal(data, "scan.tif")
        assert error.reason == "corrupt", (number, str(error))
        assert error.detected == "tiff" and "TIFF" in str(error), number


def test_heic_photos_are_still_refused_as_unsupported():
    heic = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 200
    error = refusal(heic, "photo.jpg")
    assert error.reason == "unsupported" and error.detected == "heic"
    assert "HEIC" in str(error)


@pytest.mark.ocr
def test_a_renamed_two_page_tiff_is_read_page_by_page():
    pages = [page_image(LINES[:2], 20), page_image(LINES[2:], 20)]
    data = saved_tiff(pages, compression="tiff_lzw")
    evidence = read_evidence(data, "scan.jpg")  # the name is wrong on purpose
    assert evidence.detected == "tiff" and evidence.ocr_pages == 2
    assert "WX-10001" in evidence.text and "科学谋划" in evidence.text
    assert evidence.text.index("扩大有效投资") < evidence.text.index("科学谋划")


@pytest.mark.ocr
def test_an_image_without_text_has_no_text():
    assert refusal(image_bytes("png", (200, 100)), "blank.png").reason == "no_text"
    assert refusal(image_bytes("png", (3, 3)), "dot.png").reason == "no_text"
