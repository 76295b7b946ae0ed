"""Publisher settings and the editor's review of wording variants, through the CLI."""

from __future__ import annotations

import pytest

from tests.helpers import SAMPLE


@pytest.fixture
def library(cli):
    assert cli("import", str(SAMPLE), "--publish").code == 0
    cli("members", "add", "张三")
    return cli


def test_settings_are_checked_before_they_are_stored(cli, tmp_path):
    assert cli("settings", "set", "marking_strength", "strong", "--json").json() == {
        "marking_strength": "strong"
    }
    for args, message in [
        (("marking_strength", "bold"), "must be one of off, light, strong"),
        (("accusation_bound", "0.5"), "at most 0.001"),
        (("accusation_bound", "abc"), "expects a number"),
        (("no_such_setting", "1"), "unknown setting"),
    ]:
        result = cli("settings", "set", *args)
        assert result.code == 1 and message in result.stderr
    bad_list = tmp_path / "variants.txt"
    bad_list.write_text("加强 | 强化\n和 | 与谐\n", "utf-8")
    result = cli("settings", "set", "wording_variants", "--file", str(bad_list))
    assert (
        result.code == 1 and "line 2: forms of a group must have the same length" in result.stderr
    )
    assert cli("settings", "list", "--json").json()["marking_strength"] == "strong"


def test_variant_places_respect_context_rules(library):
    places = library("materials", "variants", "1", "--json").json()["places"]
    assert len(places) > 100
    assert all("推进】会" not in p["context"] for p in places)  # 推进会 is a meeting's name
    assert all(p["form"] in p["alternatives"] for p in places)
    assert not any(p["vetoed"] for p in places)


def test_vetoed_places_keep_their_base_form_in_every_copy(library, tmp_path):
    places = library("materials", "variants", "1", "--json").json()["places"]
    offsets = [str(p["offset"]) for p in places]
    library("settings", "set", "marking_strength", "strong")
    result = library("materials", "veto", "1", *offsets, "--json")
    assert result.code == 0 and len(result.json()["vetoed"]) == len(offsets)
    library("copy", "1", "--member", "1", "--format", "txt", "--out", str(tmp_path / "a.txt"))
    copy = tmp_path / "a.txt"
    visible = "".join(
        ch
        for ch in copy.read_text("utf-8")
        if ch.isprintable() and ord(ch) not in range(0xFE00, 0xFE10)
    )
    assert SAMPLE.read_text("utf-8").split("同志们：")[1][:200].replace(
        "\n", ""
    ) in visible.replace("\n", "")
    undo = library("materials", "veto", "1", offsets[0], "--undo", "--json")
    assert len(undo.json()["vetoed"]) == len(offsets) - 1
    wrong = library("materials", "veto", "1", "3")
    assert wrong.code == 1 and "no wording place at offset(s) [3]" in wrong.stderr


def test_a_setting_changed_on_the_command_line_is_in_the_audit_log(cli, database_url):
    import json

    from sqlalchemy import select

    from wenxing.audit import AuditEvent
    from wenxing.db.engine import Database

    assert cli("settings", "set", "search_per_minute", "45", "--json").code == 0
    assert cli("settings", "set", "search_per_minute", "45", "--json").code == 0  # no change
    assert cli("settings", "set", "search_per_minute", "x", "--json").code != 0  # refused
    db = Database(database_url)
    try:
        with db.reading() as session:
            events = session.scalars(
                select(AuditEvent).where(AuditEvent.type == "setting:change")
            ).all()
            assert [(e.actor, e.subject) for e in events] == [
                ("publisher:cli", "search_per_minute")
            ]
            details = json.loads(events[0].details)
            assert details["after"] == 45 and details["before"] != 45
    finally:
        db.dispose()
