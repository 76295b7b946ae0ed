"""Evidence that needs OCR, traced through the CLI on both databases: a phone screenshot of
one page of a member's .pdf copy, a two-page TIFF scan and a scanned PDF; and whom the visible recipient line
names. Tesseract takes a few seconds a page, so these stay few."""

from __future__ import annotations

import io
import subprocess
import time
from pathlib import Path

import pytest
from PIL import Image

from tests.helpers import SAMPLE, sample_copy
from tests.unit.test_evidence import huge_png
from wenxing.delivery import pdf
from wenxing.delivery.layout import Layout
from wenxing.reports.evidence import read_evidence_file

MEMBERS = ["张三", "李四", "王五"]


@pytest.fixture
def library(cli):
    assert cli("import", str(SAMPLE), "--publish", "--json").code == 0
    numbers = [cli("members", "add", name, "--json").json()["number"] for name in MEMBERS]
    assert numbers == ["WX-10001", "WX-10002", "WX-10003"]
    return cli


def issue(cli, member: str, fmt: str, out: Path) -> Path:
    result = cli("copy", "1", "--member", member, "--format", fmt, "--out", str(out), "--json")
    assert result.code == 0, result
    return out


def screenshot(pdf: Path, page: int, out: Path, width: int = 1080) -> Path:
    """One page as a phone shows it: the page fitted to a 1080-pixel-wide screen."""
    number = str(page)
    command = ["pdftoppm", "-f", number, "-l", number, "-singlefile", "-png"]
    command += ["-scale-to-x", str(width), "-scale-to-y", "-1", str(pdf), str(out.with_suffix(""))]
    subprocess.run(command, check=True, capture_output=True)
    return out.with_suffix(".png")


def traced_to(cli, evidence: Path, member: str, issued: int) -> dict:
    """``wenxing trace --json`` of ``evidence``: material 1, its visible line naming
    ``member`` (issued ``issued`` copies of it), and nobody else accused."""
    traced = cli("trace", str(evidence), "--json")
    assert traced.code == 0, traced
    result = traced.json()
    assert result["material"]["id"] == 1 and result["coverage"] > 0.05
    assert result["visible_recipients"] == [
        {"member": member, "exists": True, "issued_copies": issued}
    ]
    assert {a["member"] for a in result["accused"]} <= {member}
    return result


def test_the_visible_line_names_members_and_their_copies(library, tmp_path):
    own = issue(library, "WX-10002", "txt", tmp_path / "a.txt")
    issue(library, "WX-10002", "html", tmp_path / "b.html")
    issue(library, "WX-10001", "txt", tmp_path / "c.txt")
    evidence = tmp_path / "forwarded.txt"
    evidence.write_text(own.read_text("utf-8") + "\n转自 WX一99999 的群\n", "utf-8")
    result = library("trace", str(evidence), "--json").json()
    assert result["material"]["id"] == 1
    assert result["visible_numbers"] == ["WX-10002", "WX-99999"]
    assert result["visible_recipients"] == [
        {"member": "WX-10002", "exists": True, "issued_copies": 2},
        {"member": "WX-99999", "exists": False, "issued_copies": 0},
    ]
    note = tmp_path / "note.txt"
    note.write_text("与本库无关的一段话，提到了会员 WX-10003。", "utf-8")
    unknown = library("trace", str(note), "--json").json()
    assert unknown["material"] is None
    assert unknown["visible_recipients"] == [
        {"member": "WX-10003", "exists": True, "issued_copies": None}
    ]


@pytest.mark.ocr
def test_a_screenshot_of_one_pdf_page_names_its_member(library, tmp_path):
    copy = issue(library, "WX-10002", "pdf", tmp_path / "copy.pdf")
    issue(library, "WX-10002", "txt", tmp_path / "copy.txt")
    issue(library, "WX-10001", "pdf", tmp_path / "other.pdf")
    shot = screenshot(copy, 2, tmp_path / "shot.png")
    with Image.open(shot) as image:
        assert image.width == 1080
    started = time.perf_counter()
    # One page carries few wording variants: whether they alone accuse anyone is measured,
    # not required; they never accuse anyone else.
    traced_to(library, shot, "WX-10002", 2)
    took = time.perf_counter() - started
    assert took < 60  # about 3 s here; far more means OCR went wrong (threads, scaling)


@pytest.mark.ocr
def test_a_two_page_tiff_scan_of_a_pdf_copy_names_its_member(library, tmp_path):
    copy = issue(library, "WX-10001", "pdf", tmp_path / "copy.pdf")
    issue(library, "WX-10003", "pdf", tmp_path / "other.pdf")
    command = ["pdftoppm", "-f", "2", "-l", "3", "-r", "150", "-gray", "-png"]
    subprocess.run([*command, str(copy), str(tmp_path / "page")], check=True)
    pages = [Image.open(path) for path in sorted(tmp_path.glob("page-*.png"))]
    assert len(pages) == 2
    scan = tmp_path / "scan.tif"
    pages[0].save(scan, "TIFF", save_all=True, append_images=pages[1:], compression="tiff_lzw")
    for page in pages:
        page.close()
    evidence = read_evidence_file(scan, 1 << 24)
    assert evidence.detected == "tiff" and evidence.ocr_pages == 2
    assert "WX-10001" in evidence.text and "  " not in evidence.text
    traced_to(library, scan, "WX-10001", 1)


@pytest.fixture(scope="module")
def scanned_pdf(tmp_path_factory) -> Path:
    """A .pdf copy printed and scanned: page 3 as a 150 dpi grayscale image in a PDF."""
    folder = tmp_path_factory.mktemp("scan")
    content, _plan, _body = sample_copy("WX-10003", "strong", 3)
    fmt = pdf.PdfFormat()
    printed = folder / "printed.pdf"
    layout = Layout(content.title, tuple(b.block for b in content.blocks), content.toc)
    printed.write_bytes(fmt.render(fmt.prepare(layout, content.masthead), content))
    command = ["pdftoppm", "-f", "3", "-l", "3", "-r", "150", "-gray", "-png", "-singlefile"]
    subprocess.run([*command, str(printed), str(folder / "page")], check=True)
    buffer = io.BytesIO()
    with Image.open(folder / "page.png") as page:
        page.save(buffer, "PDF", resolution=150)
    scanned = folder / "scanned.pdf"
    scanned.write_bytes(buffer.getvalue())
    return scanned


@pytest.fixture(scope="module")
def scanned_evidence(scanned_pdf):
    return read_evidence_file(scanned_pdf, 1 << 24)  # once for both databases


@pytest.mark.ocr
def test_a_scanned_pdf_is_read_by_ocr_and_identified(library, scanned_pdf, scanned_evidence):
    evidence = scanned_evidence
    assert evidence.detected == "pdf" and evidence.ocr_pages == 1
    assert "WX-10003" in evidence.text and "  " not in evidence.text
    result = library("trace", str(scanned_pdf), "--json").json()
    assert result["material"]["id"] == 1
    # The member exists but the copy was made outside this library's issuance log.
    assert result["visible_recipients"] == [
        {"member": "WX-10003", "exists": True, "issued_copies": 0}
    ]


def test_refused_evidence_is_one_line_with_its_reason(library, tmp_path):
    docx = issue(library, "WX-10001", "docx", tmp_path / "copy.docx")
    renamed = tmp_path / "renamed.pdf"
    renamed.write_bytes(docx.read_bytes())
    result = library("trace", str(renamed), "--json")
    assert result.code == 0 and [a["member"] for a in result.json()["accused"]] == ["WX-10001"]
    cases = {
        "empty.txt": (b"", "empty file"),
        "broken.pdf": (
            b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer <<>>\n%%EOF",
            "damaged PDF file",
        ),
        "noise.png": (bytes(range(256)) * 16, "not a document, image or text file"),
    }
    for name, (data, message) in cases.items():
        (tmp_path / name).write_bytes(data)
        refused = library("trace", str(tmp_path / name), "--json")
        assert refused.code == 1 and refused.stdout == "", (name, refused)
        assert message in refused.stderr and refused.stderr.count("\n") == 1, (name, refused)


def test_a_200_megapixel_png_is_refused_through_the_cli_at_once(library, tmp_path):
    big = tmp_path / "big.png"
    big.write_bytes(huge_png(20_000, 10_000))
    started = time.perf_counter()
    refused = library("trace", str(big), "--json")
    # The header's sentence proves the pixels were never decoded (decoding 200 megapixels
    # would meet the sandbox's memory limit and say so instead); the clock only catches a
    # hang, with room for a busy machine starting the sandbox.
    assert time.perf_counter() - started < 10.0
    assert refused.code == 1 and "more than the 40 megapixel limit" in refused.stderr
    assert refused.stdout == ""
