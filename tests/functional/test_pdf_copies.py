"""Real .pdf copies: what poppler, pypdf and OCR get out of them, and whom that names."""

from __future__ import annotations

import dataclasses
import os
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from fontTools import ttLib
from pypdf import PdfReader

from tests.helpers import FINGERPRINT_KEY, sample_copy, trace_sample_text
from wenxing import fingerprint
from wenxing.delivery import pdf
from wenxing.delivery.layout import CopyContent, Layout
from wenxing.fingerprint.copytag import read_copy_tag
from wenxing.fingerprint.plan import VS_MARKS, ZW_MARKS
from wenxing.reports.evidence import read_evidence_bytes
from wenxing.reports.trace import visible_numbers

RECIPIENTS = [f"WX-{10000 + n}" for n in range(1, 301)]
MEMBER, OTHER = "WX-10001", "WX-10002"
# The type area in points (pdftotext's default 72 dpi): title and body, no header or folio.
BODY_BOX = ("-x", "70", "-y", "100", "-W", "460", "-H", "645")


def _layout(content: CopyContent) -> Layout:
    return Layout(content.title, tuple(b.block for b in content.blocks), content.toc)


@pytest.fixture(scope="module")
def copies(tmp_path_factory) -> dict[str, tuple[CopyContent, Path]]:
    """Two members' copies of the sample, written to files."""
    fmt = pdf.PdfFormat()
    folder = tmp_path_factory.mktemp("pdf")
    made = {}
    for member, copy_id in ((MEMBER, 11), (OTHER, 12)):
        content, _plan, _body = sample_copy(member, "strong", copy_id)
        path = folder / f"{member}.pdf"
        path.write_bytes(fmt.render(fmt.prepare(_layout(content), content.masthead), content))
        made[member] = (content, path)
    return made


def pdftotext(path: Path, *args: str) -> str:
    return subprocess.run(
        ["pdftotext", "-enc", "UTF-8", *args, str(path), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def test_pages_are_a4_with_folios(copies):
    _content, path = copies[MEMBER]
    reader = PdfReader(path)
    assert 9 <= len(reader.pages) <= 13  # ~5,800 characters at 22 × 28 a page
    for number, page in enumerate(reader.pages, start=1):
        assert (round(float(page.mediabox.width), 1), round(float(page.mediabox.height), 1)) == (
            595.3,
            841.9,
        )
        lines = pdftotext(path, "-f", str(number), "-l", str(number)).splitlines()
        assert f"— {number} —" in lines
        # The watermark stamp is an image on every page.
        assert page["/Resources"]["/XObject"]


def test_fonts_are_embedded_subsets_with_unicode_maps(copies):
    listing = subprocess.run(
        ["pdffonts", str(copies[MEMBER][1])], capture_output=True, text=True, check=True
    ).stdout.splitlines()[2:]
    assert len(listing) >= 2  # Song and the heading Hei
    for row in listing:
        assert row.split()[-5:-2] == ["yes", "yes", "yes"], row  # embedded, subset, ToUnicode


def test_document_info_names_the_copy(copies):
    content, path = copies[MEMBER]
    reader = PdfReader(path)
    info = reader.metadata
    assert info.title == content.title
    assert content.copy_tag in info.subject and content.copy_tag in info.keywords
    assert info.creator == "wenxing"
    file_id = reader.trailer["/ID"][0].original_bytes.decode("ascii")
    assert read_copy_tag(FINGERPRINT_KEY, file_id) == content.copy_id
    evidence = read_evidence_bytes(path.read_bytes(), ".pdf")
    assert content.copy_tag in evidence.copy_tags


def test_body_text_comes_back_paragraph_by_paragraph(copies):
    content, path = copies[MEMBER]
    _content, plan, body = sample_copy(MEMBER, "strong", 11)
    lines = [line for line in pdftotext(path, *BODY_BOX).splitlines() if line.strip("\f")]
    lines = [line.strip("\f") for line in lines]
    assert lines[0] == content.title
    lines = lines[1:]
    paragraphs = []
    for block in content.blocks:
        joined = ""
        while len(joined) < len(block.whole):
            joined += lines.pop(0)
        paragraphs.append(joined)
    assert lines == []
    # Lines of a paragraph join up to exactly its marked text, marks and all …
    assert paragraphs == [block.whole for block in content.blocks]
    # … and with marks removed and variants mapped back, to the material's body.
    assert fingerprint.restore("\n".join(paragraphs), plan) == body


def test_watermark_stays_out_of_the_text(copies):
    content, path = copies[MEMBER]
    text = pdftotext(path)
    pages = text.count("\f")
    holding = [line for line in text.splitlines() if content.member_number in line]
    assert len(holding) == pages  # the recipient line in every page's header, nowhere else
    assert all(line.startswith(f"会员 {content.member_number} · ") for line in holding)
    assert "WX-" not in pdftotext(path, *BODY_BOX)


@pytest.mark.parametrize("member", [MEMBER, OTHER])
def test_extracted_text_names_the_recipient(copies, member):
    _content, path = copies[member]
    whole = pdftotext(path)
    assert trace_sample_text(whole, RECIPIENTS) == [member]
    assert trace_sample_text(pdftotext(path, "-f", "2", "-l", "2"), RECIPIENTS) == [member]
    # The wording alone, with every invisible mark stripped, still names the member.
    bare = fingerprint.strip_marks(whole)
    assert not any(ch in bare for ch in ZW_MARKS + VS_MARKS)
    assert trace_sample_text(bare, RECIPIENTS) == [member]
    # So does the text the project's own evidence reader (pypdf) gets out of the file.
    evidence = read_evidence_bytes(path.read_bytes(), ".pdf")
    assert trace_sample_text(evidence.text, RECIPIENTS) == [member]


@pytest.mark.ocr
@pytest.mark.parametrize("member", [MEMBER, OTHER])
def test_a_narrow_phone_screenshot_of_page_2_names_the_recipient(copies, member, tmp_path):
    """A page as a phone shows it, 720 pixels wide: the recipient line alone names the
    member (one page carries too few marks). In the Song's thin Latin at 9 pt the number
    was read as YX-…, MX-… or not at all in 4 of 10 such screenshots."""
    _content, path = copies[member]
    command = ["pdftoppm", "-f", "2", "-l", "2", "-singlefile", "-png"]
    command += ["-scale-to-x", "720", "-scale-to-y", "-1", str(path), str(tmp_path / "shot")]
    subprocess.run(command, check=True)
    evidence = read_evidence_bytes((tmp_path / "shot.png").read_bytes(), ".png")
    assert evidence.ocr_pages == 1
    assert visible_numbers(evidence.text) == [member]


def test_a_copy_rendered_again_is_the_same_file(copies):
    content, path = copies[MEMBER]
    fmt = pdf.PdfFormat()
    assert fmt.render(fmt.prepare(_layout(content), content.masthead), content) == path.read_bytes()


def test_copies_of_two_members_differ(copies):
    (mine, mine_path), (theirs, theirs_path) = copies[MEMBER], copies[OTHER]
    assert mine_path.read_bytes() != theirs_path.read_bytes()
    mine_text, theirs_text = pdftotext(mine_path, *BODY_BOX), pdftotext(theirs_path, *BODY_BOX)
    assert mine_text != theirs_text
    assert mine_text.count("\f") == theirs_text.count("\f")  # same lines, same pages
    assert mine.copy_tag != theirs.copy_tag


def test_ocr_of_the_printed_pages_names_the_recipient(copies, tmp_path):
    """Print, scan, OCR: only the wording survives, and over the whole copy it is enough.

    The slow one of this module (about 15 s): 150 dpi and one tesseract per core.
    """
    _content, path = copies[MEMBER]
    command = ["pdftoppm", "-r", "150", "-gray", "-png", str(path), str(tmp_path / "p")]
    subprocess.run(command, check=True)
    images = sorted(tmp_path.glob("p-*.png"))
    env = dict(os.environ, OMP_THREAD_LIMIT="1")

    def ocr(image: Path) -> str:
        command = ["tesseract", str(image), "-", "-l", "chi_sim"]
        return subprocess.run(command, capture_output=True, text=True, env=env, check=True).stdout

    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        pages = list(pool.map(ocr, images))
    assert len(pages) == len(PdfReader(path).pages)
    assert trace_sample_text("\n".join(pages), RECIPIENTS) == [MEMBER]
    # A single page carries too few wording variants to accuse anyone, but never anyone else.
    for text in pages:
        assert set(trace_sample_text(text, RECIPIENTS)) <= {MEMBER}


def test_a_missing_font_names_its_debian_package(monkeypatch, tmp_path):
    gone = dataclasses.replace(pdf.FACES[pdf.KAI], path=tmp_path / "gkai00mp.ttf")
    monkeypatch.setitem(pdf.FACES, pdf.KAI, gone)
    content, _plan, _body = sample_copy()
    with pytest.raises(pdf.FontMissing) as raised:
        pdf.PdfFormat().prepare(_layout(content), content.masthead)
    message = str(raised.value)
    assert "\n" not in message
    assert str(gone.path) in message and "fonts-arphic-gkai00mp" in message


def test_prepared_fonts_carry_the_marks_and_are_cached(monkeypatch, tmp_path):
    monkeypatch.setenv("WENXING_CACHE_DIR", str(tmp_path))
    face = pdf.FACES[pdf.KAI]
    path = pdf.prepared_font(face)
    assert path.parent == tmp_path / "fonts"
    made = path.stat().st_mtime_ns
    assert pdf.prepared_font(face) == path and path.stat().st_mtime_ns == made
    assert not list(path.parent.glob("*.part"))
    with ttLib.TTFont(path) as font:
        cmap, metrics, glyphs = font.getBestCmap(), font["hmtx"].metrics, font["glyf"]
        names = {cmap[ord(mark)] for mark in ZW_MARKS + VS_MARKS}
        assert len(names) == len(ZW_MARKS + VS_MARKS) == 12  # a glyph of its own for every mark …
        assert all(metrics[name][0] == 0 for name in names)  # … without advance
        assert all(glyphs[name].numberOfContours == 0 for name in names)  # … or ink
    # Kai lacks the look-alikes of the dash; each gets a copy of the dash under its code point.
    assert ord("\u2015") in cmap and cmap[ord("\u2015")] != cmap[ord("\u2014")]
    assert metrics[cmap[ord("\u2015")]] == metrics[cmap[ord("\u2014")]]
