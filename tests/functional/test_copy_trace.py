"""`wenxing members add`, `wenxing copy` and `wenxing trace` through the CLI, on both databases."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests.helpers import SAMPLE
from wenxing.db.engine import Database
from wenxing.delivery.models import IssuedCopy, MarkingPlan

MEMBERS = ["张三", "李四", "王五", "赵六"]


@pytest.fixture
def library(cli):
    assert cli("import", str(SAMPLE), "--publish", "--json").code == 0
    numbers = [cli("members", "add", name, "--json").json()["number"] for name in MEMBERS]
    assert numbers == ["WX-10001", "WX-10002", "WX-10003", "WX-10004"]
    return cli


def issued_rows(database_url: str) -> int:
    db = Database(database_url)
    try:
        with db.reading() as session:
            return session.scalar(select(func.count()).select_from(IssuedCopy))
    finally:
        db.dispose()


def test_members_add_validates(cli):
    ok = cli("members", "add", "张三", "--phone", "138 0013 8000", "--json")
    assert ok.code == 0 and ok.json() == {"id": 1, "number": "WX-10001"}
    for args, message in [
        (("  ",), "a member needs a name"),
        (("李四", "--phone", "12345"), "not a mainland mobile number"),
        (("王五", "--phone", "13800138000"), "already belongs to a member"),
    ]:
        result = cli("members", "add", *args, "--json")
        assert result.code == 1 and message in result.stderr and result.stdout == ""


@pytest.mark.parametrize("fmt", ["txt", "html", "docx", "pdf"])
def test_each_format_traces_to_its_member(library, tmp_path, fmt, database_url):
    out = tmp_path / f"copy.{fmt}"
    issued = library(
        "copy", "1", "--member", "WX-10002", "--format", fmt, "--out", str(out), "--json"
    )
    assert issued.code == 0, issued
    [copy] = issued.json()["copies"]
    assert copy["member"] == "WX-10002" and copy["path"] == str(out)
    assert 2**32 <= copy["copy_id"] < 2**63  # random, never the next row number
    assert issued_rows(database_url) == 1
    traced = library("trace", str(out), "--json")
    assert traced.code == 0, traced
    result = traced.json()
    assert result["material"] == {"id": 1, "title": "在全区重点工作推进会上的讲话", "version": 1}
    assert result["coverage"] > 0.99
    assert [a["member"] for a in result["accused"]] == ["WX-10002"]
    accused = result["accused"][0]
    assert accused["score"] > accused["threshold"] and accused["log10_bound"] < -6
    assert result["recipients_checked"] == 1 and result["total_bound"] == 1e-06
    if fmt in ("html", "docx", "pdf"):
        assert result["copy_ids"] == [copy["copy_id"]]  # the exact copy tag in its metadata
        [tag] = result["copy_tags"]
        assert tag["member"] == "WX-10002" and tag["issuance"] == "agrees"


def test_copies_for_several_members_and_excerpts(library, tmp_path):
    folder = tmp_path / "out"
    result = library(
        "copy",
        "1",
        *[arg for i in (1, 2, 3, 4) for arg in ("--member", str(i))],
        "--format",
        "txt",
        "--out",
        str(folder),
        "--json",
    )
    assert result.code == 0, result
    copies = result.json()["copies"]
    assert [c["member"] for c in copies] == ["WX-10001", "WX-10002", "WX-10003", "WX-10004"]
    texts = [Path(c["path"]).read_text("utf-8") for c in copies]
    assert len(set(texts)) == 4
    plain = [_visible(t) for t in texts]
    assert len({p.replace("强化", "加强") for p in plain}) >= 1  # only wording differs visibly
    body = texts[2][texts[2].index("同志们") :]
    excerpt = tmp_path / "excerpt.txt"
    excerpt.write_text(_visible_slice(body, 1200, 300), "utf-8")
    traced = library("trace", str(excerpt), "--json").json()
    assert [a["member"] for a in traced["accused"]] == ["WX-10003"]
    assert traced["recipients_checked"] == 4


def test_stripped_evidence_and_pasted_paragraphs(library, tmp_path):
    folder = tmp_path / "out"
    library("copy", "1", "--member", "1", "--member", "2", "--format", "txt", "--out", str(folder))
    a, b = (p.read_text("utf-8") for p in sorted(folder.iterdir()))
    cleaned = "".join(
        ch
        for ch in unicodedata.normalize("NFKC", a)
        if unicodedata.category(ch) != "Cf" and not ch.isspace()
    )
    (tmp_path / "cleaned.txt").write_text(cleaned, "utf-8")
    traced = library("trace", str(tmp_path / "cleaned.txt"), "--json").json()
    assert [x["member"] for x in traced["accused"]] == ["WX-10001"]
    # The zero-width marks are gone (their places read as stripped, not as absent); the
    # variation selectors' places are read (a format-3 copy's selectors are the same in
    # every copy: no vs-kind bits).
    positions = traced["layer_positions"]
    assert not {"zw-place", "zw-sparse", "zw-kind", "vs-kind"} & set(positions)
    assert positions["vs-place"] > 100
    assert traced["layers"]["zw-place"] == 0 and traced["layers"]["vs-place"] > 100
    mixed = [
        pa if i % 2 else pb
        for i, (pa, pb) in enumerate(zip(a.split("\n"), b.split("\n"), strict=True))
    ]
    (tmp_path / "mixed.txt").write_text("\n".join(mixed), "utf-8")
    accused = {
        x["member"]
        for x in library("trace", str(tmp_path / "mixed.txt"), "--json").json()["accused"]
    }
    assert accused and accused <= {"WX-10001", "WX-10002"}


def test_never_issued_and_unrelated_evidence(library, tmp_path):
    body = tmp_path / "body.txt"
    body.write_text(SAMPLE.read_text("utf-8"), "utf-8")
    result = library("trace", str(body), "--json").json()
    assert result["material"]["id"] == 1
    assert result["accused"] == [] and result["recipients_checked"] == 0
    library("copy", "1", "--member", "1", "--format", "txt", "--out", str(tmp_path / "x.txt"))
    result = library("trace", str(body), "--json").json()  # the unmarked text accuses no one
    assert result["recipients_checked"] == 1 and result["accused"] == []
    other = tmp_path / "other.txt"
    other.write_text(
        "今天天气晴朗，我们一起去公园散步，看到湖边开满了花，孩子们在草地上放风筝。" * 5, "utf-8"
    )
    result = library("trace", str(other), "--json").json()
    assert result["material"] is None and result["accused"] == []


def test_copy_and_trace_errors_leave_nothing(library, tmp_path, database_url):
    cases = [
        (
            (
                "copy",
                "1",
                "--member",
                "WX-99999",
                "--format",
                "txt",
                "--out",
                str(tmp_path / "a.txt"),
            ),
            "error: no member WX-99999",
        ),
        (
            ("copy", "9", "--member", "1", "--format", "txt", "--out", str(tmp_path / "b.txt")),
            "error: no material with id 9",
        ),
        (
            (
                "copy",
                "1",
                "--member",
                "1",
                "--format",
                "pdf",
                "--out",
                str(tmp_path / "missing" / "c.pdf"),
            ),
            f"error: folder {tmp_path / 'missing'} does not exist",
        ),
        (
            (
                "copy",
                "1",
                "--member",
                "1",
                "--member",
                "WX-4",
                "--format",
                "txt",
                "--out",
                str(tmp_path / "d"),
            ),
            "error: no member WX-4",
        ),
        (
            (
                "copy",
                "1",
                "--member",
                "1",
                "--format",
                "txt",
                "--out",
                str(tmp_path / "no" / "e.txt"),
            ),
            "does not exist",
        ),
    ]
    for args, message in cases:
        result = library(*args, "--json")
        assert result.code == 1 and message in result.stderr, (args, result)
        assert result.stdout == ""
    assert issued_rows(database_url) == 0
    assert not [
        p
        for p in tmp_path.iterdir()
        if p.name not in ("search",) and not p.name.startswith("wenxing.db")
    ]
    image = tmp_path / "shot.png"
    image.write_bytes(b"\x89PNG\r\n\x1a\n")  # a PNG signature and nothing after it
    result = library("trace", str(image), "--json")
    assert result.code == 1 and "damaged PNG image" in result.stderr


def test_plan_is_made_once_per_version_and_profile(library, tmp_path, database_url):
    for n in (1, 2, 3):
        library(
            "copy", "1", "--member", str(n), "--format", "txt", "--out", str(tmp_path / f"{n}.txt")
        )
    db = Database(database_url)
    try:
        with db.reading() as session:
            assert session.scalar(select(func.count()).select_from(MarkingPlan)) == 1
    finally:
        db.dispose()


def _visible(text: str) -> str:
    return "".join(ch for ch in text if unicodedata.category(ch) not in ("Cf", "Mn"))


def _visible_slice(text: str, start: int, length: int) -> str:
    out, seen = [], 0
    for ch in text:
        visible = unicodedata.category(ch) not in ("Cf", "Mn")
        if seen >= start and (seen < start + length or not visible):
            out.append(ch)
        seen += visible
        if seen >= start + length:
            break
    return "".join(out)
