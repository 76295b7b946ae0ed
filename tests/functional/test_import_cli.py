"""`wenxing import` and `wenxing materials` through the real command line, on both databases."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import pytest
from docx import Document

from tests.helpers import SAMPLE
from tests.materials import (
    ENCODED_TWINS,
    FLOOD_DUTY,
    FLOOD_DUTY_DOCX,
    MATERIALS,
    STUDY_NOTES,
    STUDY_NOTES_WEB,
    corpus_params,
    corpus_root,
    fixture_files,
)
from wenxing.config import Settings
from wenxing.db.engine import Database
from wenxing.materials.models import Material, MaterialVersion, ShingleBand


def count_rows(database_url: str) -> dict[str, int]:
    from sqlalchemy import func, select

    db = Database(database_url)
    try:
        with db.reading() as session:
            return {
                model.__tablename__: session.scalar(select(func.count()).select_from(model))
                for model in (Material, MaterialVersion, ShingleBand)
            }
    finally:
        db.dispose()


def test_sample_import_and_show(cli):
    result = cli("import", str(SAMPLE), "--json")
    assert result.code == 0, result
    report = result.json()
    assert report["skipped"] == [] and report["failed"] == []
    [imported] = report["imported"]
    assert imported["title"] == "在全区重点工作推进会上的讲话"
    assert imported["path"] == str(SAMPLE)

    shown = cli("materials", "show", str(imported["id"]), "--json")
    assert shown.code == 0, shown
    doc = shown.json()
    assert doc["title"] == "在全区重点工作推进会上的讲话"
    assert doc["kind"] == "讲话"
    assert doc["version"] == 1
    assert doc["chars"] == len(doc["body"])
    for fragment in ("酷乐文行", "仅供学习", "会员群"):
        assert fragment not in doc["body"]
    outline = doc["outline"]
    assert outline[0]["type"] == "salutation" and outline[0]["heading"] == "同志们："
    sections = [n for n in outline if n["type"] == "section" and n["level"] == 1]
    assert len(sections) == 5
    assert [len(s["children"]) for s in sections] == [4, 4, 3, 3, 5]
    assert sections[0]["children"][0]["heading"] == "着力构建良好发展环境"
    assert sections[0]["heading"] == "坚定不移贯彻新发展理念，着力夯实高质量发展基础"
    assert outline[-1]["type"] == "closing"
    body = doc["body"]
    for node in sections:
        assert body[node["start"] : node["end"]].startswith(node["marker"] + node["heading"])
        assert set(node) >= {"level", "marker", "heading", "start", "end", "children"}
    assert "乡村振兴" in doc["keywords"]


def test_reimport_is_skipped_and_changed_file_becomes_a_version(cli, tmp_path, database_url):
    source = tmp_path / "讲话.txt"
    shutil.copy(SAMPLE, source)
    first = cli("import", str(source), "--json").json()
    material_id = first["imported"][0]["id"]

    again = cli("import", str(source), "--json").json()
    assert again["imported"] == []
    assert "already imported as material" in again["skipped"][0]["reason"]

    text = source.read_text("utf-8").replace("127天", "120天")
    source.write_text(text, "utf-8")
    changed = cli("import", str(source), "--json").json()
    assert changed["imported"] == [
        {
            "id": material_id,
            "title": "在全区重点工作推进会上的讲话",
            "path": str(source),
            "version": 2,
        }
    ]
    doc = cli("materials", "show", str(material_id), "--json").json()
    assert doc["version"] == 2 and "距离年底仅有120天" in doc["body"]
    assert count_rows(database_url)["material_versions"] == 2  # the old version is kept


def test_same_text_in_another_encoding_and_near_duplicates_are_skipped(cli, tmp_path):
    text = SAMPLE.read_text("utf-8")
    original = tmp_path / "a.txt"
    original.write_text(text, "utf-8")
    gbk = tmp_path / "b.txt"
    gbk.write_bytes(text.encode("gb18030"))
    near = tmp_path / "c.txt"
    near.write_text(
        text.replace("同志们，真抓才能攻坚克难", "同志们，只有真抓才能攻坚克难"), "utf-8"
    )
    report = cli("import", str(original), str(gbk), str(near), "--json").json()
    assert len(report["imported"]) == 1
    reasons = {Path(s["path"]).name: s["reason"] for s in report["skipped"]}
    assert reasons["b.txt"].startswith("same text as material")
    assert reasons["c.txt"].startswith(
        "near-duplicate of material 1 《在全区重点工作推进会上的讲话》"
    )


def test_folder_import_with_category_and_publish(cli, tmp_path):
    folder = tmp_path / "library"
    (folder / "sub").mkdir(parents=True)
    shutil.copy(SAMPLE, folder / "sub" / "sample.txt")
    doc = Document()
    for line in [
        "关于乡村振兴工作的调研报告",
        "一、基本情况",
        "全县共有行政村120个。",
        "二、存在问题",
        "一是人才不足；二是资金短缺。",
    ]:
        doc.add_paragraph(line)
    doc.save(folder / "report.docx")
    (folder / "notes.xlsx").write_bytes(b"PK")
    (folder / ".hidden.txt").write_text("hidden", "utf-8")
    (folder / "~$report.docx").write_bytes(b"lock")
    report = cli("import", str(folder), "--category", "精选", "--publish", "--json").json()
    assert sorted(i["title"] for i in report["imported"]) == [
        "关于乡村振兴工作的调研报告",
        "在全区重点工作推进会上的讲话",
    ]
    assert report["skipped"] == [
        {"path": str(folder / "notes.xlsx"), "reason": "unsupported file type .xlsx"}
    ]
    listed = cli("materials", "list", "--published", "--json").json()
    assert listed["total"] == 2
    assert {m["category"] for m in listed["materials"]} == {"精选"}
    kinds = {m["title"]: m["kind"] for m in listed["materials"]}
    assert kinds["关于乡村振兴工作的调研报告"] == "调研报告"


def test_publish_and_unpublish(cli):
    cli("import", str(SAMPLE), "--json")
    assert cli("materials", "list", "--published", "--json").json()["total"] == 0
    published = cli("materials", "publish", "1", "--json")
    assert published.code == 0 and published.json()["status"] == "published"
    assert published.json()["published_at"].endswith("Z")
    assert cli("materials", "list", "--published", "--json").json()["total"] == 1
    assert cli("materials", "unpublish", "1", "--json").json()["status"] == "draft"


def _zip_bomb(path: Path) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        with archive.open("word/document.xml", "w", force_zip64=True) as member:
            chunk = b"\0" * (1 << 20)
            for _ in range(260):
                member.write(chunk)


def _encrypted_pdf(path: Path) -> None:
    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(200, 200)
    writer.encrypt(user_password="secret", owner_password="owner")
    with path.open("wb") as handle:
        writer.write(handle)


BAD_INPUTS = {
    "empty.txt": (lambda p: p.write_bytes(b""), "empty file"),
    "blank.txt": (lambda p: p.write_text(" \n\u3000\n", "utf-8"), "no text"),
    "garbage.txt": (lambda p: p.write_bytes(bytes(range(256)) * 40), "binary data"),
    "bomb.docx": (_zip_bomb, "zip bomb"),
    "broken.docx": (lambda p: p.write_bytes(b"not a zip at all"), "not a valid .docx"),
    "old.doc": (
        lambda p: p.write_bytes(bytes.fromhex("d0cf11e0a1b11ae1") + b"\0" * 600),
        "old Word .doc",
    ),
    "locked.pdf": (_encrypted_pdf, "encrypted PDF"),
    "scan.pdf": (lambda p: _blank_pdf(p), "no text layer"),
    "big.txt": (lambda p: p.write_bytes("大".encode() * 400_000), "larger than"),
    "masthead-only.txt": (
        lambda p: p.write_text("仅供学习 禁止外传\n酷乐文行\n", "utf-8"),
        "no material text",
    ),
}


def _blank_pdf(path: Path) -> None:
    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(200, 200)
    with path.open("wb") as handle:
        writer.write(handle)


@pytest.mark.parametrize("name", sorted(BAD_INPUTS))
def test_bad_input_fails_with_a_reason_and_leaves_nothing(cli, tmp_path, name, database_url):
    make, expected = BAD_INPUTS[name]
    path = tmp_path / name
    make(path)
    cli.env["WENXING_MAX_FILE_MB"] = "1"
    result = cli("import", str(path), str(SAMPLE), "--json")
    assert result.code == 1
    assert result.stderr.strip() == "error: 1 file failed to import"
    assert "Traceback" not in result.stdout + result.stderr
    report = result.json()
    [failure] = report["failed"]
    assert failure["path"] == str(path)
    assert expected in failure["error"] and "\n" not in failure["error"]
    assert [i["title"] for i in report["imported"]] == ["在全区重点工作推进会上的讲话"]
    assert count_rows(database_url)["materials"] == 1


def test_unknown_extension_and_missing_path_fail(cli, tmp_path):
    odd = tmp_path / "slides.pptx"
    odd.write_bytes(b"PK")
    result = cli("import", str(odd), str(tmp_path / "nowhere.txt"), "--json")
    assert result.code == 1
    errors = {Path(f["path"]).name: f["error"] for f in result.json()["failed"]}
    assert errors == {
        "slides.pptx": "unsupported file type .pptx",
        "nowhere.txt": "no such file or folder",
    }


def test_unreadable_file_fails(cli, tmp_path, monkeypatch):
    path = tmp_path / "secret.txt"
    path.write_text("标题\n正文。", "utf-8")
    real_open = Path.open

    def deny(self, *args, **kwargs):
        if self == path:
            raise PermissionError(13, "Permission denied", str(self))
        return real_open(self, *args, **kwargs)

    # Tests run as root, who can read a chmod 000 file, so the refusal is simulated.
    monkeypatch.setattr(Path, "open", deny)
    monkeypatch.setattr(Path, "read_bytes", lambda self: deny(self).read())
    result = cli("import", str(path), "--json")
    assert result.code == 1
    assert "permission denied" in result.json()["failed"][0]["error"].lower()


def test_failure_while_storing_rolls_back_that_file_only(cli, tmp_path, monkeypatch, database_url):
    import wenxing.materials.importer as importer

    first, second = tmp_path / "a.txt", tmp_path / "b.txt"
    shutil.copy(SAMPLE, first)
    second.write_text(
        "关于河湖长制工作的报告\n一、总体情况\n全县河湖长制工作扎实推进。" * 3, "utf-8"
    )
    real = importer._add_version
    calls = []

    def fail_on_second(session, material, item, number):
        calls.append(item.path)
        real(session, material, item, number)
        if item.path == str(second):
            session.flush()
            raise importer.SQLAlchemyError("disk full")

    monkeypatch.setattr(importer, "_add_version", fail_on_second)
    result = cli("import", str(first), str(second), "--json")
    assert result.code == 1
    assert result.json()["failed"] == [
        {"path": str(second), "error": "database error: SQLAlchemyError"}
    ]
    assert count_rows(database_url) == {
        "materials": 1,
        "material_versions": 1,
        "material_shingle_bands": 16,
    }


def test_the_fixture_library_imports_each_text_once(cli, fixture_library):
    """Every material is imported once; its twins (other encodings, a Word copy with a table,
    a copy from another site with its masthead and ads) are skipped as the same text."""
    result = cli("import", str(fixture_library), "--json")
    assert result.code == 0, result
    report = result.json()
    assert report["failed"] == []
    twins = {
        fixture_library / "encoded" / name: original
        for name, (original, *_rest) in ENCODED_TWINS.items()
    }
    twins[fixture_library / FLOOD_DUTY_DOCX] = FLOOD_DUTY
    twins[fixture_library / STUDY_NOTES_WEB.relative_to(MATERIALS)] = STUDY_NOTES
    groups: dict[Path, set[Path]] = {}
    for original in fixture_files():
        if original != STUDY_NOTES_WEB:
            groups[original] = {fixture_library / original.relative_to(MATERIALS)}
    for twin, original in twins.items():
        groups[original].add(twin)
    ids = {Path(i["path"]): i["id"] for i in report["imported"]}
    skipped = {Path(s["path"]): s["reason"] for s in report["skipped"]}
    assert len(ids) == len(groups) and len(ids) + len(skipped) == sum(map(len, groups.values()))
    for files in groups.values():
        [kept] = files & ids.keys()  # whichever of the group came first
        for other in files - {kept}:
            assert skipped[other] == f"same text as material {ids[kept]}", other
    titles = {i["title"] for i in report["imported"]}
    assert {"学习基层治理专题培训心得体会", "关于做好2025年汛期值班工作的通知"} <= titles


@pytest.mark.parametrize("twin", sorted(ENCODED_TWINS))
def test_encoded_twins_yield_the_body_of_their_utf8_original(twin, fixture_library):
    from wenxing.config import DEFAULT_MASTHEAD
    from wenxing.materials.cleaning import Cleaner
    from wenxing.materials.pipeline import Limits, prepare_file

    original, _encode, encoding = ENCODED_TWINS[twin]
    limits = Limits(Settings().max_file_bytes, Settings().max_unpacked_bytes)
    a = prepare_file(fixture_library / "encoded" / twin, limits, Cleaner(DEFAULT_MASTHEAD))
    b = prepare_file(original, limits, Cleaner(DEFAULT_MASTHEAD))
    assert a.source_encoding == encoding and b.source_encoding == "utf-8"
    assert a.body == b.body and a.outline_json == b.outline_json and a.kind == b.kind


def test_whole_corpus_imports_without_failures(cli, corpus):
    result = cli("import", str(corpus), "--json")
    assert result.code == 0, result
    report = result.json()
    assert report["failed"] == []
    utf8 = [p for p in corpus.rglob("*.txt") if p.parent.name != "raw_gbk"]
    everything = [*corpus.rglob("*.txt"), *corpus.rglob("*.md")]
    assert len(report["imported"]) + len(report["skipped"]) == len(everything)
    imported = {i["path"] for i in report["imported"]}
    assert imported == {str(p) for p in utf8} | {str(corpus / "SOURCES.md")}
    gbk_skips = [s for s in report["skipped"] if "raw_gbk" in s["path"]]
    assert len(gbk_skips) == 8 and all(s["reason"].startswith("same text") for s in gbk_skips)


def _corpus_gbk_files() -> list[Path]:
    root = corpus_root()
    return sorted((root / "raw_gbk").glob("*.txt")) if root else []


@pytest.mark.parametrize("gbk", corpus_params(_corpus_gbk_files()))
def test_gbk_files_yield_the_body_of_their_utf8_twins(gbk, corpus):
    from wenxing.config import DEFAULT_MASTHEAD
    from wenxing.materials.cleaning import Cleaner
    from wenxing.materials.pipeline import Limits, prepare_file

    twin = corpus / "gwr_district_hailar" / gbk.name.replace(".gbk", "")
    limits = Limits(Settings().max_file_bytes, Settings().max_unpacked_bytes)
    a = prepare_file(gbk, limits, Cleaner(DEFAULT_MASTHEAD))
    b = prepare_file(twin, limits, Cleaner(DEFAULT_MASTHEAD))
    assert a.source_encoding == "gb18030" and b.source_encoding == "utf-8"
    assert a.body == b.body and a.outline_json == b.outline_json and a.kind == b.kind


def test_show_errors_are_one_line(cli):
    missing = cli("materials", "show", "99", "--json")
    assert (missing.code, missing.stdout, missing.stderr) == (
        1,
        "",
        "error: no material with id 99\n",
    )
    bad = cli("materials", "show", "abc", "--json")
    assert bad.code == 1 and bad.stderr == "error: material id must be a number, got 'abc'\n"
