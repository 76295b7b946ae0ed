"""Tracing v2 through the real `wenxing trace`, on both databases: marks scrambled,
homogenised or drowned in foreign invisible characters, traditional characters, two
materials in one file, a copy inside a longer unrelated document, and a copy issued before
tracing v2 with its format-1 plan.

The tests that only trace share one installation per database (a module world); the two
that add an older plan to the issuance log build their own."""

from __future__ import annotations

import random
import unicodedata
from pathlib import Path

import opencc
import pytest
from sqlalchemy import select

from tests.helpers import SAMPLE
from wenxing import fingerprint
from wenxing.delivery.marking import material_key, shipped_variants
from wenxing.delivery.models import IssuedCopy, MarkingPlan
from wenxing.fingerprint.plan import ZW_MARKS, is_vs
from wenxing.fingerprint.plan_v1 import build_plan_v1
from wenxing.materials.keywords import words
from wenxing.materials.models import MaterialVersion
from wenxing.members.models import Member

SECOND = Path(__file__).resolve().parents[1] / "fixtures" / "second_material.txt"


def _issue(cli, folder: Path) -> dict[tuple[str, str], str]:
    """The sample (material 1) and a second material (2) published, three members, the
    sample issued as .txt to members 1 and 2 and the second material to member 3."""
    assert cli("import", str(SAMPLE), str(SECOND), "--publish", "--json").code == 0
    for name in ("张三", "李四", "王五"):
        assert cli("members", "add", name, "--json").code == 0
    copies = {}
    for material, member in (("1", "1"), ("1", "2"), ("2", "3")):
        out = folder / f"m{material}-{member}.txt"
        assert (
            cli("copy", material, "--member", member, "--format", "txt", "--out", str(out)).code
            == 0
        )
        copies[(material, member)] = out.read_text("utf-8")
    return copies


@pytest.fixture(scope="module")
def library(module_cli, tmp_path_factory):
    """The issued copies on one installation per database, shared by the tests that only
    trace (``wenxing trace`` reads, it writes nothing)."""
    return _issue(module_cli, tmp_path_factory.mktemp("copies"))


@pytest.fixture
def own_library(cli, tmp_path):
    """The same copies on the test's own installation, for a test that adds to it."""
    return _issue(cli, tmp_path)


def trace(cli, tmp_path, text: str, name: str = "evidence.txt") -> dict:
    path = tmp_path / name
    path.write_text(text, "utf-8")
    result = cli("trace", str(path), "--json")
    assert result.code == 0, result.stderr
    return result.json()


def named(result: dict) -> list[tuple[int, str]]:
    return sorted((a["material"], a["member"]) for a in result["accused"])


def test_scrambled_and_homogenised_marks_still_name_the_member(module_cli, library, tmp_path):
    copy = library[("1", "1")]
    rng = random.Random(7)
    selectors = [chr(c) for c in range(0xFE00, 0xFE10)]
    scrambled = "".join(
        rng.choice(ZW_MARKS) if ch in ZW_MARKS else rng.choice(selectors) if is_vs(ch) else ch
        for ch in copy
    )
    homogenised = "".join(
        "\u200b" if ch in ZW_MARKS else "\ufe04" if is_vs(ch) else ch for ch in copy
    )
    for text in (scrambled, homogenised):
        result = trace(module_cli, tmp_path, text)
        assert named(result) == [(1, "WX-10001")]
        positions = result["layer_positions"]
        assert positions["zw-sparse"] > 500 and positions["vs-place"] > 100
        assert "zw-sparse" in result["accused"][0]["basis"]


@pytest.mark.parametrize("filler", ["\u2065", "\ufff0", "\U000e0080", "\u3164"])
def test_foreign_invisible_characters_every_few_characters_change_nothing(
    module_cli, library, tmp_path, filler
):
    copy = library[("1", "2")]
    rng = random.Random(filler)
    out, gap = [], rng.randint(3, 9)
    for ch in copy:
        out.append(ch)
        gap -= 1
        if gap == 0:
            out.append(filler)
            gap = rng.randint(3, 9)
    result = trace(module_cli, tmp_path, "".join(out))
    assert result["material"]["id"] == 1 and result["coverage"] > 0.99
    assert named(result) == [(1, "WX-10002")]


def test_traditional_characters_then_stripped_name_the_member(module_cli, library, tmp_path):
    converted = opencc.OpenCC("s2t").convert(library[("1", "1")])
    assert converted != library[("1", "1")]
    stripped = "".join(ch for ch in converted if unicodedata.category(ch) != "Cf" and not is_vs(ch))
    result = trace(module_cli, tmp_path, stripped)
    assert named(result) == [(1, "WX-10001")]
    assert result["accused"][0]["basis"] == ["wording"]


def test_two_materials_in_one_file_name_both_members(module_cli, library, tmp_path):
    text = library[("1", "2")] + "\n" + library[("2", "3")]
    result = trace(module_cli, tmp_path, text)
    assert named(result) == [(1, "WX-10002"), (2, "WX-10003")]
    assert sorted(m["material"]["id"] for m in result["materials"]) == [1, 2]
    # The bound is split between the two materials.
    assert all(m["total_bound"] == pytest.approx(0.5e-6) for m in result["materials"])


def test_a_copy_inside_a_longer_unrelated_document_names_its_member(module_cli, library, tmp_path):
    rng = random.Random(3)
    common = [chr(c) for c in range(0x4E00, 0x4E00 + 3000)]
    unrelated = []
    while len("".join(unrelated)) < 3 * len(library[("1", "1")]):
        unrelated.append("".join(rng.choice(common) for _ in range(rng.randint(40, 160))) + "。")
    half = len(unrelated) // 2
    text = "\n".join([*unrelated[:half], library[("1", "1")], *unrelated[half:]])
    result = trace(module_cli, tmp_path, text)
    assert [m["material"]["id"] for m in result["materials"]] == [1]
    assert named(result) == [(1, "WX-10001")]
    assert result["coverage"] > 0.99


def test_a_copy_issued_before_tracing_v2_traces_with_its_own_plan(
    cli, own_library, runtime, tmp_path
):
    """An issuance-log row pointing at a stored format-1 plan: its copy is read with that
    plan, whatever the plans made now look like."""
    with runtime.db.transaction() as session:
        version = session.scalar(select(MaterialVersion).where(MaterialVersion.material_id == 1))
        key = material_key(runtime.secret, version.id)
        old = build_plan_v1(
            version.body, key, words(version.body), shipped_variants(), fingerprint.Profile("light")
        )
        row = MarkingPlan(version_id=version.id, profile="v1:light:old:old", plan=old.to_json())
        session.add(row)
        session.flush()
        member = session.scalar(select(Member).where(Member.number == "WX-10002"))
        session.add(
            IssuedCopy(
                member_id=member.id,
                material_id=1,
                version_id=version.id,
                plan_id=row.id,
                format="txt",
                actor="publisher:test",
            )
        )
        body = version.body
    copy = fingerprint.mark(body, old, key, "WX-10002")
    assert "\ufe08" not in copy and copy.count("\u200b") > 200  # format 1's dense marks
    result = trace(cli, tmp_path, copy)
    assert named(result) == [(1, "WX-10002")]
    assert "zero-width" in result["layer_positions"]


def test_a_copy_issued_with_a_stored_format_2_plan_is_read_with_it(
    cli, own_library, runtime, tmp_path
):
    """Copies issued before plan format 3 (member-chosen selectors, zw-place) keep their
    plan: read with it, named, its vs-kind bits counted; new copies get a format-3 plan."""
    with runtime.db.transaction() as session:
        version = session.scalar(select(MaterialVersion).where(MaterialVersion.material_id == 1))
        key = material_key(runtime.secret, version.id)
        old = fingerprint.build_plan(
            version.body,
            key,
            words(version.body),
            shipped_variants(),
            fingerprint.Profile("light"),
            plan_format=2,
        )
        row = MarkingPlan(version_id=version.id, profile="v2:light:old:old:old", plan=old.to_json())
        session.add(row)
        session.flush()
        member = session.scalar(select(Member).where(Member.number == "WX-10002"))
        session.add(
            IssuedCopy(
                member_id=member.id,
                material_id=1,
                version_id=version.id,
                plan_id=row.id,
                format="txt",
                actor="publisher:test",
            )
        )
        body = version.body
        newest = session.scalars(
            select(MarkingPlan).where(MarkingPlan.profile.like("v3:%"))
        ).first()
    assert newest is not None and fingerprint.Plan.from_json(newest.plan).format == 3
    copy = fingerprint.mark(body, old, key, "WX-10002")
    result = trace(cli, tmp_path, copy)
    # The member also holds a format-3 copy of the same version, whose plan shares the
    # wording positions: they may be named under both plans, and nobody else is.
    assert set(named(result)) == {(1, "WX-10002")}
    assert {"zw-place", "vs-kind"} <= set(result["layer_positions"])
