"""Copy tags issued under the first scheme (``WX1``: a row number under the version's key)
are still read, with the caution a restore calls for; ``WX2`` tags name their member and
version and accuse only when the issuance row agrees."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from tests.helpers import SAMPLE
from wenxing import fingerprint
from wenxing.delivery.issue import copy_tag_key, issue_copy
from wenxing.delivery.marking import material_key
from wenxing.materials import catalog
from wenxing.materials.importer import ImportOptions, MaterialImporter
from wenxing.members.service import add_member
from wenxing.reports.evidence import Evidence
from wenxing.reports.trace import trace


@pytest.fixture
def copies(runtime):
    importer = MaterialImporter(runtime.db, runtime.settings, runtime.publisher_settings())
    assert not importer.run([SAMPLE], ImportOptions(publish=True)).failed
    made = {}
    with runtime.db.transaction() as session:
        material = catalog.get_material(session, 1)
        for name in ("张三", "李四"):
            member = add_member(session, name)
            made[member.number] = issue_copy(
                session,
                runtime.secret,
                runtime.publisher_settings(),
                member,
                material,
                "txt",
                actor="publisher:test",
            )
    return made


def _trace(runtime, body: str, tags: tuple[str, ...]) -> dict:
    with runtime.db.reading() as session:
        return trace(session, runtime.secret, Evidence(body, tags), 1e-6).as_dict()


def _as_legacy(runtime, copy, legacy_id: int) -> str:
    """Make the copy's row one of the first scheme's (a row number) and its WX1 tag."""
    with runtime.db.transaction() as session:
        session.execute(
            text("UPDATE issued_copies SET id = :new WHERE id = :old"),
            {"new": legacy_id, "old": copy.copy_id},
        )
        session.execute(
            text("UPDATE server_meta SET value = :v WHERE key = 'legacy_copy_id_max'"),
            {"v": "10"},
        )
        version_id = session.execute(text("SELECT id FROM material_versions")).scalar()
    return fingerprint.make_copy_tag(material_key(runtime.secret, version_id), legacy_id)


def test_a_first_scheme_tag_agrees_when_its_row_and_the_marks_do(runtime, copies):
    first = copies["WX-10001"]
    tag = _as_legacy(runtime, first, 3)
    result = _trace(runtime, first.data.decode(), (tag,))
    assert [a["member"] for a in result["accused"]] == ["WX-10001"]
    [read] = result["copy_tags"]
    assert (read["scheme"], read["issuance"], read["member"]) == (1, "agrees", "WX-10001")
    assert result["copy_ids"] == [3]


def test_a_first_scheme_tag_the_marks_contradict_is_set_aside(runtime, copies):
    """A restore under the first scheme could hand a row number out again: the text of
    WX-10002's copy carrying a tag whose row now names WX-10001 accuses WX-10002 only."""
    tag = _as_legacy(runtime, copies["WX-10001"], 3)
    result = _trace(runtime, copies["WX-10002"].data.decode(), (tag,))
    assert [a["member"] for a in result["accused"]] == ["WX-10002"]
    [read] = result["copy_tags"]
    assert read["issuance"] == "contradicted" and result["copy_ids"] == []


def test_a_second_scheme_tag_whose_row_disagrees_accuses_no_one(runtime, copies):
    first, second = copies["WX-10001"], copies["WX-10002"]
    with runtime.db.reading() as session:
        version_id = session.execute(text("SELECT id FROM material_versions")).scalar()
    # A tag naming WX-10002 with the id of WX-10001's copy (only a key holder makes one).
    forged = fingerprint.sign_copy(
        copy_tag_key(runtime.secret), first.copy_id, "WX-10002", version_id
    )
    result = _trace(runtime, second.data.decode(), (forged,))
    [read] = result["copy_tags"]
    assert read["issuance"] == "disagrees" and read["row_member"] == "WX-10001"
    assert result["copy_ids"] == []


def test_a_tag_made_under_another_secret_is_not_read(runtime, copies):
    other = fingerprint.sign_copy(b"another-installation-key" * 2, 5, "WX-10001", 1)
    result = _trace(runtime, copies["WX-10001"].data.decode(), (other,))
    assert result["copy_tags"] == [] and result["copy_ids"] == []
