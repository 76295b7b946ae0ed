"""`wenxing backup` and `wenxing restore` on both databases: every copy stays traceable.

Copies issued before the backup trace to their members by tag and marks; a copy issued
after it and lost with the restore accuses nobody by its tag, and is traced by its marks
when its member's account survived the restore, or reported as untraceable when it did
not; new copies never reuse an id and new members never reuse a number.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.conftest import TEST_SECRET
from tests.helpers import SAMPLE
from wenxing.config import Settings
from wenxing.delivery.issue import record_copy
from wenxing.delivery.models import FIRST_RANDOM_COPY_ID, IssuedCopy, random_copy_id
from wenxing.materials import catalog
from wenxing.members.service import find_member
from wenxing.runtime import open_runtime


@pytest.fixture
def library(cli):
    assert cli("import", str(SAMPLE), "--publish", "--json").code == 0
    for name in ("张三", "李四", "王五"):
        assert cli("members", "add", name, "--json").code == 0
    return cli


def _copy(cli, member: str, out: Path) -> int:
    done = cli("copy", "1", "--member", member, "--format", "docx", "--out", str(out), "--json")
    assert done.code == 0, done
    return done.json()["copies"][0]["copy_id"]


def _trace(cli, path: Path) -> dict:
    done = cli("trace", str(path), "--json")
    assert done.code == 0, done
    return done.json()


def test_restore_keeps_every_copy_traceable(library, tmp_path, database_url):
    cli = library
    before = _copy(cli, "WX-10001", tmp_path / "before.docx")
    made = cli("backup", str(tmp_path / "backup"), "--json")
    assert made.code == 0, made
    manifest = json.loads((tmp_path / "backup" / "manifest.json").read_text())
    assert manifest["counts"]["issued_copies"] == 1 and manifest["counts"]["members"] == 3
    assert manifest["revision"] == made.json()["revision"]
    assert (tmp_path / "backup" / "settings.json").is_file()
    assert "secret" not in json.dumps(manifest).replace("secret_check", "")

    # After the backup: a copy for a member the backup knows, a member and their copy.
    lost = _copy(cli, "WX-10002", tmp_path / "lost.docx")
    assert cli("members", "add", "赵六", "--json").json()["number"] == "WX-10004"
    gone = _copy(cli, "WX-10004", tmp_path / "gone.docx")

    restored = cli("restore", str(tmp_path / "backup"), "--yes", "--json")
    assert restored.code == 0, restored
    assert restored.json()["epoch"] == 2

    traced = _trace(cli, tmp_path / "before.docx")
    assert [a["member"] for a in traced["accused"]] == ["WX-10001"]
    assert traced["copy_ids"] == [before]
    assert traced["copy_tags"][0]["issuance"] == "agrees"

    # Lost with the restore, its member still here: the tag accuses no one, the marks do.
    traced = _trace(cli, tmp_path / "lost.docx")
    [tag] = traced["copy_tags"]
    assert (tag["copy_id"], tag["member"], tag["issuance"]) == (lost, "WX-10002", "missing")
    assert traced["copy_ids"] == []
    assert [a["member"] for a in traced["accused"]] == ["WX-10002"]

    # Lost with its member: nobody is accused, and the trace says why.
    traced = _trace(cli, tmp_path / "gone.docx")
    [tag] = traced["copy_tags"]
    assert tag["issuance"] == "missing" and not tag["scored_by_marks"]
    assert traced["accused"] == [] and traced["copy_ids"] == []
    text = cli("trace", str(tmp_path / "gone.docx"))
    assert "no such copy" in text.stdout and "cannot be traced" in text.stdout

    # A new member never gets the lost member's number.
    number = cli("members", "add", "钱七", "--json").json()["number"]
    assert int(number[3:]) > 10004

    # New copies never reuse an id: 1,000 issued after the restore through the issuing
    # path (a row-number scheme would hand out the lost copies' ids at the first ones),
    # and 10,000 drawn from the same generator (a narrow range would repeat among them).
    drawn = [random_copy_id() for _ in range(10_000)]
    assert len(set(drawn)) == 10_000
    assert all(FIRST_RANDOM_COPY_ID <= i < 2**63 for i in drawn)
    settings = Settings(database_url=database_url, secret=TEST_SECRET)
    runtime = open_runtime(settings)
    try:
        with runtime.db.transaction() as session:
            material = catalog.get_material(session, 1)
            member = find_member(session, number)
            publisher = runtime.publisher_settings()
            ids = [
                record_copy(
                    session,
                    runtime.secret,
                    publisher,
                    member,
                    material,
                    "txt",
                    actor="publisher:test",
                ).copy_id
                for _ in range(1_000)
            ]
        with runtime.db.reading() as session:
            stored = session.scalars(select(IssuedCopy.id)).all()
    finally:
        runtime.close()
    assert len(set(ids)) == 1_000
    assert not {before, lost, gone} & set(ids)
    assert len(stored) == len(set(stored)) == 1_001


def test_restore_refuses_another_secret(library, tmp_path, database_url):
    assert library("backup", str(tmp_path / "backup"), "--json").code == 0
    other = library.env | {"WENXING_SECRET": "another-secret-" + "x" * 40}
    from tests.conftest import Cli

    refused = Cli(database_url, other)("restore", str(tmp_path / "backup"), "--yes")
    assert refused.code == 1
    assert "another server secret" in refused.stderr
    # Nothing changed: the library still opens with its own secret and has its material.
    assert library("materials", "show", "1", "--json").code == 0


def test_a_damaged_backup_is_refused(library, tmp_path):
    assert library("backup", str(tmp_path / "backup"), "--json").code == 0
    data = next(p for p in (tmp_path / "backup").iterdir() if p.name.startswith("database."))
    raw = bytearray(data.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    data.write_bytes(bytes(raw))
    refused = library("restore", str(tmp_path / "backup"), "--yes")
    assert refused.code == 1 and "damaged" in refused.stderr
    assert library("backup", str(tmp_path / "backup"), "--json").code == 1  # not empty
