"""The materials the tests import, parse, deliver and search, and the optional public corpus.

``tests/fixtures/materials/`` holds a small library written for wenxing's tests (no text in
it comes from elsewhere; names and places are ``×``). Between them its files have every
structure the parser knows:

* ``reports/``: work reports with a dateline, a byline, a salutation (各位代表：), heading
  lines on three ranks (一、 （一） 1.) and a closing; a party congress report whose （一）
  headings run into their text; only ``city_2021.txt`` speaks of 5G.
* ``notices/rural_roads.txt``: a notice with an address line, four heading ranks (一、 （一）
  1. （1）) run into their text, and an issuer-and-date signature;
  ``notices/flood_duty.md``: Markdown with a table and a signature.
* ``rules/archive_measures.txt``: chapters and articles (第一章, 第一条).
* ``summaries/study_notes.txt``: inline items 首先…其次…最后, 第一，…第二，… and 一是…二是….
* ``found/study_notes_web.txt``: the same notes as another site serves them: its masthead,
  ads, page chrome, ours, indentation, zero-width characters, CRLF line ends and a
  related-articles tail, all of which import strips.

:func:`build_library` adds what is better made than kept: twins of some texts in GBK,
GB18030, UTF-16 (with and without a byte-order mark) and UTF-8 with a BOM, and a Word file
holding the flood-duty notice with a real table. Each twin reads to exactly the body of its
original, so importing the folder skips every twin as the same text.

The public corpus of real official writing (``../shared/corpus`` beside a CI checkout) is
optional: ``WENXING_CORPUS=PATH`` or ``pytest --corpus PATH`` turns on the tests that need it.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
MATERIALS = REPO / "tests" / "fixtures" / "materials"

COUNTY_2017 = MATERIALS / "reports" / "county_2017.txt"
CITY_2018 = MATERIALS / "reports" / "city_2018.txt"
CITY_2021 = MATERIALS / "reports" / "city_2021.txt"
PROVINCE_2026 = MATERIALS / "reports" / "province_2026.txt"
CONGRESS_2022 = MATERIALS / "reports" / "congress_2022.txt"
RURAL_ROADS = MATERIALS / "notices" / "rural_roads.txt"
FLOOD_DUTY = MATERIALS / "notices" / "flood_duty.md"
ARCHIVE_MEASURES = MATERIALS / "rules" / "archive_measures.txt"
STUDY_NOTES = MATERIALS / "summaries" / "study_notes.txt"
STUDY_NOTES_WEB = MATERIALS / "found" / "study_notes_web.txt"

REPORTS = [COUNTY_2017, CITY_2018, CITY_2021, PROVINCE_2026]

# name in encoded/ -> (original, how its bytes are made, the encoding the reader names)
ENCODED_TWINS: dict[str, tuple[Path, Callable[[str], bytes], str]] = {
    "county_2017.gbk.txt": (COUNTY_2017, lambda t: t.encode("gbk"), "gb18030"),
    "congress_2022.gb18030.txt": (CONGRESS_2022, lambda t: t.encode("gb18030"), "gb18030"),
    "city_2018.utf16le-bom.txt": (
        CITY_2018,
        lambda t: b"\xff\xfe" + t.replace("\n", "\r\n").encode("utf-16-le"),
        "utf-16-le",
    ),
    "rural_roads.utf16be.txt": (RURAL_ROADS, lambda t: t.encode("utf-16-be"), "utf-16-be"),
    "study_notes.utf8-bom.txt": (STUDY_NOTES, lambda t: t.encode("utf-8-sig"), "utf-8-sig"),
}
FLOOD_DUTY_DOCX = "docx/flood_duty.docx"


def fixture_files() -> list[Path]:
    """Every material kept in the repository (texts and Markdown), sorted."""
    return sorted(p for p in MATERIALS.rglob("*") if p.suffix in (".txt", ".md"))


def build_library(folder: Path) -> Path:
    """Write the fixture library with its encoded and Word twins into ``folder/materials``."""
    root = folder / "materials"
    shutil.copytree(MATERIALS, root)
    (root / "encoded").mkdir()
    for name, (original, encode, _encoding) in ENCODED_TWINS.items():
        (root / "encoded" / name).write_bytes(encode(original.read_text("utf-8")))
    (root / "docx").mkdir()
    write_flood_duty_docx(root / FLOOD_DUTY_DOCX)
    return root


def write_flood_duty_docx(path: Path) -> None:
    """The flood-duty notice as Word keeps it: paragraphs, and the roster as a table."""
    from docx import Document

    document = Document()
    document.core_properties.title = "关于做好2025年汛期值班工作的通知"
    rows: list[list[str]] = []
    for line in FLOOD_DUTY.read_text("utf-8").splitlines():
        line = line.strip()
        if line.startswith("|"):
            if not set(line) <= set("|- "):
                rows.append([cell.strip() for cell in line.strip("|").split("|")])
            continue
        if rows:
            table = document.add_table(rows=len(rows), cols=len(rows[0]))
            for r, cells in enumerate(rows):
                for c, text in enumerate(cells):
                    table.cell(r, c).text = text
            rows = []
        if line:
            document.add_paragraph(line.lstrip("# ").replace("**", ""))
    document.save(path)


# --- the public corpus (optional) ---------------------------------------------------------

CORPUS_HINT = (
    "corpus tests are off: set WENXING_CORPUS=PATH (or pytest --corpus PATH) to the public "
    "corpus, e.g. ../shared/corpus"
)


def corpus_root() -> Path | None:
    """The public corpus when it was asked for, else None."""
    value = os.environ.get("WENXING_CORPUS", "").strip()
    return Path(value).resolve() if value else None


def corpus_files() -> list[Path]:
    """The corpus's UTF-8 texts (its GBK copies in raw_gbk/ left out); [] without it."""
    root = corpus_root()
    if root is None:
        return []
    return sorted(p for p in root.glob("*/*.txt") if p.parent.name != "raw_gbk")


def corpus_params(paths: list[Path]) -> list:
    """Parameters for a test over corpus files: one per file, or one placeholder (which the
    ``corpus`` fixture skips) when the corpus is off, so the skip is reported."""
    if corpus_root() is None:
        return [pytest.param(None, id="no-corpus")]
    return [pytest.param(path, id=path.name) for path in paths]
