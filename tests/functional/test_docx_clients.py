"""A real client opens the .docx copies: LibreOffice converts each to PDF, and the PDF keeps
the GB/T 9704-2012 page and still names its recipient.

All copies are converted by one LibreOffice run (a module fixture) with a private profile,
so the suite stays fast and parallel runs do not share LibreOffice's user directory.
"""

from __future__ import annotations

import html
import re
import shutil
import subprocess
import unicodedata
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from pypdf import PdfReader

from tests.helpers import FINGERPRINT_KEY, sample_body, sample_copy, trace_sample_text
from tests.unit.test_docx_format import (
    DOCUMENTS,
    INVISIBLE,
    RECIPIENTS,
    Material,
    document_copy,
    document_material,
    render,
    trace_document_text,
)
from wenxing.delivery.layout import CopyContent, Layout

# The module's tests share one expensive module fixture: one xdist worker runs them all.
pytestmark = pytest.mark.xdist_group("docx_clients")
MM = 72 / 25.4  # PDF points per millimetre
TYPE_TOP, TYPE_BOTTOM = 37 * MM, (297 - 35) * MM  # the type area, from the page's top
PAGE_CENTRE = 105 * MM
CONVERSION_TIMEOUT = 300  # seconds, for all copies together


@dataclass(frozen=True)
class Converted:
    content: CopyContent
    material: Material | None  # None for the sample, which helpers trace
    pdf: Path


@dataclass(frozen=True)
class Line:
    top: float
    bottom: float
    left: float
    right: float
    text: str

    @property
    def visible(self) -> str:
        return "".join(ch for ch in self.text if ch not in INVISIBLE and not ch.isspace())


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed; these tests need a real client", pytrace=False)
    return found


@pytest.fixture(scope="module")
def converted(tmp_path_factory) -> dict[str, Converted]:
    soffice = _tool("soffice")
    work = tmp_path_factory.mktemp("docx-clients")
    copies: dict[str, tuple[CopyContent, Material | None, bytes]] = {}
    content = sample_copy()[0]
    copies["sample"] = (content, None, render(content))
    # The same copy with the visual layer (raised stretches, docx_visual) for another member.
    lifted = replace(sample_copy("WX-10002")[0], visual_key=FINGERPRINT_KEY)
    copies["sample-visual"] = (lifted, None, render(lifted))
    for path in DOCUMENTS:
        material = document_material(path)
        content = document_copy(material)
        copies[path.stem] = (content, material, render(content, material.layout))
    for stem, (_content, _material, data) in copies.items():
        (work / f"{stem}.docx").write_bytes(data)
    result = subprocess.run(
        [
            soffice,
            f"-env:UserInstallation={(work / 'profile').as_uri()}",
            "--headless",
            "--norestore",
            "--convert-to",
            "pdf",
            "--outdir",
            str(work / "pdf"),
            *(str(work / f"{stem}.docx") for stem in copies),
        ],
        capture_output=True,
        text=True,
        timeout=CONVERSION_TIMEOUT,
        check=False,
    )
    assert result.returncode == 0, result
    assert "Error" not in result.stderr, result.stderr
    return {
        stem: Converted(content, material, work / "pdf" / f"{stem}.pdf")
        for stem, (content, material, _data) in copies.items()
    }


def pdf_text(pdf: Path, page: int | None = None) -> str:
    pages = ["-f", str(page), "-l", str(page)] if page else []
    return subprocess.run(
        [_tool("pdftotext"), *pages, str(pdf), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def pdf_lines(pdf: Path) -> list[list[Line]]:
    """The text lines of every page with their boxes (points from the top-left corner)."""
    layout = subprocess.run(
        [_tool("pdftotext"), "-bbox-layout", str(pdf), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    number = r'"([\d.]+)"'
    line = re.compile(
        rf"<line xMin={number} yMin={number} xMax={number} yMax={number}>(.*?)</line>", re.S
    )
    return [
        [
            Line(float(top), float(bottom), float(left), float(right), _words(body))
            for left, top, right, bottom, body in line.findall(page)
        ]
        for page in layout.split("<page ")[1:]
    ]


def _words(line: str) -> str:
    return "".join(html.unescape(word) for word in re.findall(r">([^<]*)</word>", line))


def body_lines(page: list[Line]) -> dict[int, str]:
    """The text on each line of the type area, keyed by the line's top (LibreOffice splits a
    line with hanging punctuation into two boxes at the same height, and the raised
    stretches of the visual layer sit half a point higher)."""
    rows: dict[int, str] = {}
    for line in sorted(page, key=lambda line: line.left):
        if TYPE_TOP <= (line.top + line.bottom) / 2 <= TYPE_BOTTOM:
            top = next((t for t in rows if abs(t - line.top) < 2), round(line.top))
            rows[top] = rows.get(top, "") + line.visible
    return rows


def width(text: str) -> float:
    """Width in characters of the body font: Latin letters and digits are half as wide."""
    return sum(
        1 if unicodedata.east_asian_width(ch) in "WF" else 0.5
        for ch in text
        if unicodedata.category(ch) not in ("Mn", "Cf")  # invisible marks take no width
    )


def test_every_copy_converts_to_a4_pages(converted):
    for stem, copy in converted.items():
        assert copy.pdf.is_file(), stem
        reader = PdfReader(copy.pdf)
        assert len(reader.pages) >= 1
        for page in reader.pages:
            width, height = float(page.mediabox.width), float(page.mediabox.height)
            assert width == pytest.approx(210 * MM, abs=1), stem
            assert height == pytest.approx(297 * MM, abs=1), stem


def test_pdf_text_traces_to_the_recipient(converted):
    for stem, copy in converted.items():
        text = pdf_text(copy.pdf)
        if copy.material is None:
            accused = trace_sample_text(text, RECIPIENTS)
        else:
            accused = trace_document_text(copy.material, text, RECIPIENTS)
        assert accused == [copy.content.member_number], stem


def test_pages_hold_22_lines_of_28_characters(converted):
    """Counted from the line boxes of ``pdftotext -bbox-layout``: lines whose middle lies in
    the 37 mm … 262 mm band of the page, and the visible characters on each."""
    full_pages = 0
    for stem, copy in converted.items():
        pages = [body_lines(page) for page in pdf_lines(copy.pdf)]
        assert 0 < len(pages[0]) <= 22, stem
        for rows in pages:
            assert len(rows) <= 22, stem
            full_pages += len(rows) == 22
            # 28 characters, and one more only for punctuation hanging past the margin.
            for text in rows.values():
                assert width(text) <= 28 or (width(text) <= 29 and not text[-1].isalnum()), text
        assert max(width(text) for rows in pages for text in rows.values()) >= 28, stem
    assert full_pages > 0


def test_headers_and_page_numbers(converted):
    copy = converted["sample"]
    content = copy.content
    squeeze = lambda text: re.sub(r"\s+", "", text)  # noqa: E731 - the header wraps lines
    first, second = squeeze(pdf_text(copy.pdf, 1)), squeeze(pdf_text(copy.pdf, 2))
    for line in content.masthead:
        assert squeeze(line) in first
    assert squeeze(content.recipient_line) in first
    assert squeeze(content.masthead[0]) in second
    assert squeeze(content.recipient_line) in second
    assert squeeze(content.masthead[6]) not in second
    # — N — under the type area: odd pages on the right, even pages on the left.
    for number, page in enumerate(pdf_lines(copy.pdf)[:4], start=1):
        (footer,) = [line for line in page if line.top > TYPE_BOTTOM]
        assert footer.visible == f"—{number}—"
        assert footer.top - TYPE_BOTTOM == pytest.approx(7 * MM, abs=2 * MM)
        centre = (footer.left + footer.right) / 2
        assert (centre > PAGE_CENTRE) == (number % 2 == 1), number


def test_a_page_image_of_the_raised_copy_names_its_member(converted):
    """Page 3 of the copy with the visual layer, as LibreOffice sets it, rendered at 150 dpi
    with the header and footer cut off, read by OCR: the heights of its stretches agree with
    the member's code, and they name the member (with the wording) and no one else."""
    import numpy as np
    from PIL import Image

    from wenxing import fingerprint
    from wenxing.reports import visual_lines as page_visual
    from wenxing.reports.evidence import read_evidence_bytes

    copy = converted["sample-visual"]
    folder = copy.pdf.parent
    subprocess.run(
        [_tool("pdftoppm"), "-f", "3", "-l", "3", "-r", "150", "-gray", "-png", "-singlefile",
         str(copy.pdf), str(folder / "page3")],
        check=True,
    )  # fmt: skip
    image = Image.open(folder / "page3.png")
    per_mm = image.width / 210
    image.crop((0, round(36 * per_mm), image.width, round(image.height - 33 * per_mm))).save(
        folder / "page3-body.png"
    )
    evidence = read_evidence_bytes((folder / "page3-body.png").read_bytes(), ".png")
    body = sample_body()
    member = copy.content.member_number
    readings = [
        page_visual.read_docx_pages(list(evidence.pages), body, FINGERPRINT_KEY, face)
        for face in page_visual.DOCX_FACES
    ]
    best = max(readings, key=lambda reading: reading.positions)
    assert best.positions >= 30
    bits = fingerprint.member_bits(FINGERPRINT_KEY, member, best.position_ids)
    assert float(np.mean(bits == best.symbols)) >= 0.85
    alone = fingerprint.accuse(best, FINGERPRINT_KEY, RECIPIENTS)
    assert {s.member for s in alone.accused} <= {member}
    # The tracer tries every way of reading a page: read as a .pdf page, the raised
    # stretches pass more (chance) positions, yet the .docx reading is the one it keeps.
    content = copy.content
    layout = Layout(content.title, tuple(b.block for b in content.blocks), content.toc)
    chosen = page_visual.read_pages(list(evidence.pages), layout, body, FINGERPRINT_KEY)
    assert any(np.array_equal(chosen.position_ids, r.position_ids) for r in readings)
