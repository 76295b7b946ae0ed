"""The visual layer end to end: a .pdf copy from `wenxing copy`, one page of it as an image
with the recipient line, folio and watermark gone, traced by `wenxing trace`."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.helpers import SAMPLE


def _pdftotext(path: Path) -> str:
    return subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout


def _body_image(pdf: Path, page: int, folder: Path, dpi: int = 100) -> Path:
    """Page ``page`` at ``dpi``, header and footer cut off, the pale watermark erased."""
    stem = folder / f"page{page}"
    command = ["pdftoppm", "-f", str(page), "-l", str(page), "-r", str(dpi), "-gray", "-png"]
    subprocess.run([*command, "-singlefile", str(pdf), str(stem)], check=True)
    image = Image.open(stem.with_suffix(".png")).convert("L")
    per_mm = image.width / 210
    image = image.crop((0, round(36 * per_mm), image.width, round(image.height - 33 * per_mm)))
    pixels = np.asarray(image)
    out = folder / f"evidence{page}.png"
    Image.fromarray(np.where(pixels > 200, 255, pixels).astype(np.uint8)).save(out)
    return out


@pytest.fixture(scope="module")
def issued(module_cli, tmp_path_factory):
    """Two members' .pdf copies of the sample, on one installation per database shared by
    this module's tests (they read the copies and trace, nothing more)."""
    cli, folder = module_cli, tmp_path_factory.mktemp("copies")
    assert cli("import", str(SAMPLE), "--publish", "--json").code == 0
    numbers = []
    for name in ("张三", "李四", "王五", "赵六"):
        added = cli("members", "add", name, "--json")
        assert added.code == 0
        numbers.append(added.json()["number"])
    copies = {}
    for member, number in enumerate(numbers[:2], start=1):
        out = folder / f"{number}.pdf"
        assert (
            cli("copy", "1", "--member", str(member), "--format", "pdf", "--out", str(out)).code
            == 0
        )
        copies[number] = out
    return copies


def test_the_shifts_leave_the_text_as_it_was(issued):
    """Characters drawn off their places still extract in order, marks and all: two
    members' copies differ in marks and wording only, never in the order of the text."""
    first, second = (_pdftotext(path) for path in issued.values())
    from wenxing.fingerprint import strip_marks

    assert first != second
    assert len(strip_marks(first)) == len(strip_marks(second))


@pytest.mark.ocr
def test_one_page_image_without_recipient_line_names_the_member(module_cli, issued, tmp_path):
    (number, pdf), _second = list(issued.items())
    evidence = _body_image(pdf, 3, tmp_path)
    result = module_cli("trace", str(evidence), "--json")
    assert result.code == 0, result.stderr
    traced = result.json()
    assert number not in traced["visible_numbers"]
    assert traced["layer_positions"].get("visual", 0) >= 60
    accused = [a["member"] for a in traced["accused"]]
    assert accused == [number]
    assert "visual" in traced["accused"][0]["layers"]
