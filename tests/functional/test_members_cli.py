"""`wenxing members …` and `wenxing codes …` through the real command line, on both databases."""

from __future__ import annotations

import calendar
import csv
import io
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from tests.helpers import SAMPLE
from wenxing.audit import AuditEvent
from wenxing.db.engine import Database
from wenxing.members.codes import ALPHABET, generate_code
from wenxing.members.models import ActivationCode, CodeBatch, Member, Subscription

CODE_SHAPE = re.compile(r"^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}-[0-9A-HJKMNP-TV-Z]$")
CSV_HEADER = ["code", "plan", "channel", "state", "redeemed_by", "redeemed_at", "expires_at"]
SHANGHAI = ZoneInfo("Asia/Shanghai")


# --- helpers -----------------------------------------------------------------------------


def assert_error(result, message: str, *, stdout_empty: bool = True) -> None:
    """Exit 1, one line on stderr starting with "error: " and naming ``message``."""
    assert result.code == 1, result
    assert "Traceback" not in result.stderr + result.stdout, result
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1, result
    assert message in result.stderr, (message, result)
    if stdout_empty:
        assert result.stdout == "", result


def ok_json(result) -> dict:
    """Exit 0 and exactly one JSON document (one line) on stdout."""
    assert result.code == 0, result
    assert result.stdout.endswith("\n") and result.stdout.count("\n") == 1, result
    return result.json()


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def parse_z(text: str) -> datetime:
    assert text.endswith("Z"), text
    return datetime.fromisoformat(text[:-1])


def months_later(moment: datetime, months: int) -> datetime:
    index = moment.month - 1 + months
    year, month = moment.year + index // 12, index % 12 + 1
    return moment.replace(
        year=year, month=month, day=min(moment.day, calendar.monthrange(year, month)[1])
    )


def assert_one_month_from(ends_at: str, before: datetime, after: datetime, months: int = 1) -> None:
    end = parse_z(ends_at)
    assert months_later(before, months).replace(microsecond=0) <= end <= months_later(after, months)


def count(database_url: str, model, *where) -> int:
    db = Database(database_url)
    try:
        with db.reading() as session:
            return session.scalar(select(func.count()).select_from(model).where(*where))
    finally:
        db.dispose()


def audit_events(database_url: str, type_: str) -> list[tuple[str | None, str, dict]]:
    db = Database(database_url)
    try:
        with db.reading() as session:
            rows = session.scalars(
                select(AuditEvent).where(AuditEvent.type == type_).order_by(AuditEvent.id)
            ).all()
            return [(r.subject, r.actor, json.loads(r.details)) for r in rows]
    finally:
        db.dispose()


def write_roster(path: Path, lines: list[str], *, bom: bool = False) -> Path:
    path.write_text(("\ufeff" if bom else "") + "\r\n".join(lines) + "\r\n", encoding="utf-8")
    return path


def show(cli, ref: str) -> dict:
    return ok_json(cli("members", "show", ref, "--json"))


def generate(
    cli, tmp_path: Path, batch: str, plan: str = "month", n: int = 1, *extra: str
) -> list[str]:
    out = tmp_path / f"{batch}.csv"
    result = cli(
        "codes", "generate", "--plan", plan, "--count", str(n), "--batch", batch,
        "--out", str(out), *extra, "--json",
    )  # fmt: skip
    return ok_json(result)["codes"]


def export(cli, batch: str) -> list[dict[str, str]]:
    result = cli("codes", "export", "--batch", batch)
    assert result.code == 0, result
    rows = list(csv.reader(io.StringIO(result.stdout)))
    assert rows[0] == CSV_HEADER
    return [dict(zip(CSV_HEADER, row, strict=True)) for row in rows[1:]]


# --- members import ----------------------------------------------------------------------


def test_import_good_roster(cli, tmp_path, database_url):
    roster = write_roster(
        tmp_path / "roster.csv",
        [
            "name,phone,paid_until",
            "张三,138 0013 8000,2027-06-30",
            "",
            "李四,+8613800138001,2027/06/30",
            "王五,,",
            "",
            "赵六,139-0013-9000,",
            "钱七,13700137000,2020-01-01",
        ],
        bom=True,
    )
    report = ok_json(cli("members", "import", str(roster), "--json"))
    assert report == {
        "created": [
            {"id": 1, "number": "WX-10001", "name": "张三"},
            {"id": 2, "number": "WX-10002", "name": "李四"},
            {"id": 3, "number": "WX-10003", "name": "王五"},
            {"id": 4, "number": "WX-10004", "name": "赵六"},
            {"id": 5, "number": "WX-10005", "name": "钱七"},
        ],
        "failed": [],
    }
    expected = {
        "WX-10001": ("13800138000", "member", "2027-06-30T16:00:00Z"),
        "WX-10002": ("13800138001", "member", "2027-06-30T16:00:00Z"),
        "WX-10003": (None, "free", None),
        "WX-10004": ("13900139000", "free", None),
        "WX-10005": ("13700137000", "free", None),  # paid_until in the past: nothing to keep
    }
    for number, (phone, role, until) in expected.items():
        doc = show(cli, number)
        assert (doc["phone"], doc["role"], doc["member_until"]) == (phone, role, until), doc
        assert doc["status"] == "active"
        if until:
            [period] = doc["subscriptions"]
            assert period["plan"] == "year" and period["ends_at"] == until
        else:
            assert doc["subscriptions"] == []
    assert count(database_url, Member) == 5
    assert [e[0] for e in audit_events(database_url, "member:import")] == list(expected)

    # A second file continues the numbering and records the chosen plan.
    more = write_roster(tmp_path / "more.csv", ["Name , Phone , Paid_Until", "孙八,,2027年1月31日"])
    report = ok_json(cli("members", "import", str(more), "--plan", "month", "--json"))
    assert report["created"] == [{"id": 6, "number": "WX-10006", "name": "孙八"}]
    doc = show(cli, "6")
    assert doc["role"] == "member" and doc["member_until"] == "2027-01-31T16:00:00Z"
    assert [p["plan"] for p in doc["subscriptions"]] == ["month"]


def test_import_with_bad_rows_creates_nobody(cli, tmp_path, database_url):
    ok_json(cli("members", "add", "已有", "--phone", "13900139000", "--json"))
    bad = write_roster(
        tmp_path / "bad.csv",
        [
            "name,phone,paid_until",  # 1
            "甲,13800138000,2027-06-30",  # 2 good
            "乙,13800138001",  # 3 two fields
            "丙,12345,",  # 4 bad phone
            "丁,13800138002,2027-13-01",  # 5 bad date
            "",  # 6
            "戊,138-0013-8000,",  # 7 same phone as line 2
            "己,+86 139 0013 9000,",  # 8 phone already in the database
            "庚,13800138003,2027-06-30,多余",  # 9 four fields
            "辛,13800138004,",  # 10 good
        ],
        bom=True,
    )
    result = cli("members", "import", str(bad), "--json")
    assert_error(result, "6 bad row(s); nothing was imported", stdout_empty=False)
    report = result.json()
    assert report["created"] == []
    assert [f["line"] for f in report["failed"]] == [3, 4, 5, 7, 8, 9]
    messages = [f["error"] for f in report["failed"]]
    for message, expected in zip(
        messages,
        [
            "expected 3 fields, found 2",
            "not a mainland mobile number",
            "is not a date",
            "also on line 2",
            "already belongs to a member",
            "expected 3 fields, found 4",
        ],
        strict=True,
    ):
        assert expected in message, messages
    assert count(database_url, Member) == 1
    assert count(database_url, Subscription) == 0
    assert audit_events(database_url, "member:import") == []
    assert_error(cli("members", "show", "2", "--json"), "no member 2")

    # No header (or a different one): line 1 is reported, nothing created.
    for first in ("甲,13800138000,2027-06-30", "姓名,电话,到期"):
        headless = write_roster(tmp_path / "headless.csv", [first, "乙,13800138004,"])
        result = cli("members", "import", str(headless), "--json")
        assert_error(result, "1 bad row(s)", stdout_empty=False)
        assert result.json()["created"] == []
        [failure] = result.json()["failed"]
        assert failure["line"] == 1 and "header" in failure["error"]
    assert count(database_url, Member) == 1

    # A good file with an unknown plan, a missing file, a file that is not UTF-8.
    good = write_roster(
        tmp_path / "good.csv", ["name,phone,paid_until", "甲,13800138000,2027-06-30"]
    )
    assert_error(
        cli("members", "import", str(good), "--plan", "lifetime", "--json"),
        "unknown plan 'lifetime'",
    )
    assert_error(cli("members", "import", str(tmp_path / "none.csv"), "--json"), "cannot read")
    gbk = tmp_path / "gbk.csv"
    gbk.write_bytes("name,phone,paid_until\n张三,13800138000,\n".encode("gbk"))
    assert_error(cli("members", "import", str(gbk), "--json"), "cannot read")
    assert count(database_url, Member) == 1

    # The corrected file goes in whole: nothing of the failed attempts is in the way.
    fixed = write_roster(
        tmp_path / "fixed.csv",
        ["name,phone,paid_until", "甲,13800138000,2027-06-30", "辛,13800138004,"],
    )
    report = ok_json(cli("members", "import", str(fixed), "--json"))
    assert [c["name"] for c in report["created"]] == ["甲", "辛"] and report["failed"] == []
    assert count(database_url, Member) == 3


def test_import_reports_an_overlong_name_as_a_failed_row(cli, tmp_path, database_url):
    roster = write_roster(
        tmp_path / "long.csv", ["name,phone,paid_until", "甲,,", "长" * 101 + ",,"]
    )
    result = cli("members", "import", str(roster), "--json")
    assert_error(result, "1 bad row(s)", stdout_empty=False)
    [failure] = result.json()["failed"]
    assert failure["line"] == 3 and "longer than 100 characters" in failure["error"]
    assert count(database_url, Member) == 0


# --- codes generate / export -------------------------------------------------------------


def test_generate_writes_a_csv_of_codes(cli, tmp_path, monkeypatch, database_url):
    out = tmp_path / "sale.csv"
    result = cli(
        "codes", "generate", "--plan", "month", "--count", "5", "--batch", "2026-11-wechat",
        "--channel", "wechat", "--out", str(out), "--json",
    )  # fmt: skip
    doc = ok_json(result)
    assert set(doc) == {"codes", "batch", "csv"}
    assert doc["batch"] == "2026-11-wechat" and doc["csv"] == str(out)
    codes = doc["codes"]
    assert len(codes) == len(set(codes)) == 5 and all(CODE_SHAPE.match(c) for c in codes)
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0] == CSV_HEADER and len(rows) == 6
    assert sorted(r[0] for r in rows[1:]) == sorted(codes)
    assert {tuple(r[1:]) for r in rows[1:]} == {("month", "wechat", "issued", "", "", "")}
    assert count(database_url, ActivationCode) == 5

    # The channel defaults to the label, --expires is the last day, --out defaults to BATCH.csv.
    monkeypatch.chdir(tmp_path)
    doc = ok_json(
        cli("codes", "generate", "--plan", "year", "--count", "2", "--batch", "b2",
            "--expires", "2030-01-31", "--json")
    )  # fmt: skip
    assert doc["csv"] == "b2.csv"
    rows = list(csv.DictReader(io.StringIO((tmp_path / "b2.csv").read_text("utf-8-sig"))))
    assert [(r["plan"], r["channel"], r["state"], r["expires_at"]) for r in rows] == [
        ("year", "b2", "issued", "2030-01-31")
    ] * 2

    # Errors: nothing written, no batch made.
    cases = [
        (("--plan", "lifetime", "--count", "3", "--batch", "b3", "--out", "b3.csv"), "unknown plan 'lifetime'"),
        (("--plan", "month", "--count", "3", "--batch", "2026-11-wechat", "--out", "b4.csv"), "already exists"),
        (("--plan", "month", "--count", "3", "--batch", "b5", "--out", "sale.csv"), "exists; choose another --out"),
        (("--plan", "month", "--count", "3", "--batch", "b6", "--out", "no/such/dir.csv"), "No such file"),
    ]  # fmt: skip
    for args, message in cases:
        assert_error(cli("codes", "generate", *args, "--json"), message)
    assert not (tmp_path / "b3.csv").exists() and not (tmp_path / "b4.csv").exists()
    assert out.read_bytes() == raw
    assert count(database_url, CodeBatch) == 2 and count(database_url, ActivationCode) == 7
    for batch in ("b3", "b6"):
        assert_error(cli("codes", "export", "--batch", batch), f"no batch '{batch}'")
    # The batch whose file could not be written was rolled back: its label is free.
    assert len(generate(cli, tmp_path, "b6", "month", 1)) == 1


def test_export_shows_every_state_and_who_redeemed(cli, tmp_path):
    ok_json(cli("members", "add", "张三", "--json"))
    a, b, c = generate(cli, tmp_path, "shop", "month", 3)
    [old] = generate(cli, tmp_path, "old", "month", 1, "--expires", "2020-01-01")
    before = utcnow()
    ok_json(cli("codes", "redeem", a, "--member", "WX-10001", "--json"))
    revoked = ok_json(cli("codes", "revoke", b.lower(), "--json"))
    assert revoked == {"code": b, "state": "revoked"}
    assert_error(cli("codes", "redeem", b, "--member", "1", "--json"), "this code has been revoked")
    assert_error(
        cli("codes", "redeem", old, "--member", "1", "--json"), "this code expired on 2020-01-01"
    )
    assert_error(
        cli("codes", "revoke", a, "--json"),
        "only an unused code can be revoked; this one is redeemed",
    )
    assert_error(cli("codes", "revoke", b, "--json"), "this one is revoked")
    rows = {r["code"]: r for r in export(cli, "shop")}
    assert [rows[x]["state"] for x in (a, b, c)] == ["redeemed", "revoked", "issued"]
    assert [rows[x]["redeemed_by"] for x in (a, b, c)] == ["WX-10001", "", ""]
    # the publisher's local time, its offset named (+08:00), compared here in UTC
    local = datetime.fromisoformat(rows[a]["redeemed_at"])
    assert local.utcoffset() == timedelta(hours=8)
    redeemed_at = local.astimezone(UTC).replace(tzinfo=None)
    assert before.replace(microsecond=0) <= redeemed_at <= utcnow()
    assert rows[b]["redeemed_at"] == rows[c]["redeemed_at"] == ""
    [row] = export(cli, "old")
    assert (row["code"], row["state"], row["expires_at"]) == (old, "expired", "2020-01-01")
    out = tmp_path / "shop-export.csv"
    result = cli("codes", "export", "--batch", "shop", "--out", str(out))
    assert result.code == 0 and result.stdout == "", result
    exported = csv.DictReader(io.StringIO(out.read_text("utf-8-sig")))
    assert [r["state"] for r in exported] == ["redeemed", "revoked", "issued"]
    member = show(cli, "WX-10001")
    assert len(member["subscriptions"]) == 1  # the failed attempts gave nothing


# --- codes redeem ------------------------------------------------------------------------


def test_redeem_extends_and_stacks(cli, tmp_path):
    ok_json(cli("members", "add", "张三", "--json"))
    ok_json(cli("members", "add", "李四", "--json"))
    first, second = generate(cli, tmp_path, "m", "month", 2)
    entered = " ".join(first.replace("-", "")[i : i + 3] for i in range(0, 17, 3)).lower()
    before = utcnow()
    done = ok_json(cli("codes", "redeem", entered, "--member", "WX-10001", "--json"))
    after = utcnow()
    assert set(done) == {"member", "plan", "ends_at"}
    assert (done["member"], done["plan"]) == ("WX-10001", "month")
    assert_one_month_from(done["ends_at"], before, after)
    doc = show(cli, "WX-10001")
    assert doc["role"] == "member" and doc["member_until"] == done["ends_at"]

    # While active, a second month starts where the first ends.
    stacked = ok_json(cli("codes", "redeem", second, "--member", "1", "--json"))
    assert stacked["ends_at"] == months_later(parse_z(done["ends_at"]), 1).isoformat() + "Z"
    assert_one_month_from(stacked["ends_at"], before, utcnow(), months=2)
    doc = show(cli, "1")
    assert doc["member_until"] == stacked["ends_at"]
    assert [p["starts_at"] for p in doc["subscriptions"]][1] == done["ends_at"]

    # Once only: again, by anyone, fails and changes nothing.
    for who in ("WX-10001", "WX-10002"):
        assert_error(
            cli("codes", "redeem", first, "--member", who, "--json"),
            "this code has already been redeemed",
        )
    assert show(cli, "1")["member_until"] == stacked["ends_at"]
    assert show(cli, "2")["role"] == "free"
    assert_error(
        cli("codes", "redeem", first, "--member", "WX-99999", "--json"), "no member WX-99999"
    )


def test_redeem_rejects_typos_and_unknown_codes(cli, tmp_path, database_url):
    ok_json(cli("members", "add", "张三", "--json"))
    [code] = generate(cli, tmp_path, "t", "month", 1)
    for position in (6, len(code) - 1):  # a payload character, the check character
        wrong = next(ch for ch in ALPHABET if ch != code[position])
        typo = code[:position] + wrong + code[position + 1 :]
        result = cli("codes", "redeem", typo, "--member", "WX-10001", "--json")
        assert_error(result, "typo")
    assert_error(cli("codes", "redeem", code[:-2], "--member", "1", "--json"), "17 characters")
    assert_error(
        cli("codes", "redeem", generate_code(), "--member", "1", "--json"),
        "no such activation code",
    )
    assert_error(cli("codes", "revoke", generate_code(), "--json"), "no such activation code")
    doc = show(cli, "1")
    assert doc["role"] == "free" and doc["subscriptions"] == []
    assert [r["state"] for r in export(cli, "t")] == ["issued"]
    assert count(database_url, Subscription) == 0
    assert len(audit_events(database_url, "code:redeem-failed")) == 4
    # The code itself was not touched by the typos.
    assert ok_json(cli("codes", "redeem", code, "--member", "1", "--json"))["plan"] == "month"


def test_expiry_is_the_end_of_the_last_day_in_the_publisher_zone(cli, tmp_path):
    ok_json(cli("members", "add", "张三", "--json"))
    today = datetime.now(SHANGHAI).date()
    [today_code] = generate(cli, tmp_path, "today", "month", 1, "--expires", today.isoformat())
    [gone] = generate(
        cli, tmp_path, "yesterday", "month", 1, "--expires", (today - timedelta(days=1)).isoformat()
    )
    assert_error(cli("codes", "redeem", gone, "--member", "1", "--json"), "expired")
    assert ok_json(cli("codes", "redeem", today_code, "--member", "1", "--json"))["plan"] == "month"
    assert [r["state"] for r in export(cli, "yesterday")] == ["expired"]
    assert [r["expires_at"] for r in export(cli, "today")] == [today.isoformat()]


# --- suspend / reinstate / grant ---------------------------------------------------------


def test_suspend_and_reinstate(cli, tmp_path, database_url):
    assert cli("import", str(SAMPLE), "--publish", "--json").code == 0
    ok_json(cli("members", "add", "张三", "--json"))
    ok_json(cli("members", "grant", "WX-10001", "--plan", "month", "--json"))

    assert_error(
        cli("members", "suspend", "WX-10001", "--reason", "  ", "--json"), "needs a reason"
    )
    missing = cli("members", "suspend", "WX-10001", "--json")
    assert missing.code == 1 and missing.stdout == ""
    assert missing.stderr == "error: Missing option '--reason'. (see --help)\n"
    assert show(cli, "WX-10001")["status"] == "active"

    done = ok_json(cli("members", "suspend", "WX-10001", "--reason", "在闲鱼转卖", "--json"))
    assert done == {"number": "WX-10001", "status": "suspended"}
    doc = show(cli, "WX-10001")
    assert (doc["role"], doc["status"], doc["suspended_reason"]) == (
        "suspended",
        "suspended",
        "在闲鱼转卖",
    )
    assert doc["member_until"] is not None  # the membership is kept, only unusable
    assert_error(cli("members", "suspend", "1", "--reason", "again", "--json"), "already suspended")
    copy = tmp_path / "copy.txt"
    args = ("copy", "1", "--member", "WX-10001", "--format", "txt", "--out", str(copy), "--json")
    assert_error(cli(*args), "WX-10001 is suspended")
    assert not copy.exists()

    assert ok_json(cli("members", "reinstate", "WX-10001", "--json")) == {
        "number": "WX-10001",
        "status": "active",
    }
    doc = show(cli, "WX-10001")
    assert (doc["role"], doc["status"], doc["suspended_reason"]) == ("member", "active", None)
    assert_error(cli("members", "reinstate", "WX-10001", "--json"), "is not suspended")
    assert ok_json(cli(*args))["copies"][0]["member"] == "WX-10001"
    assert copy.exists()
    assert [e[0] for e in audit_events(database_url, "member:suspend")] == ["WX-10001"]
    assert [e[0] for e in audit_events(database_url, "member:reinstate")] == ["WX-10001"]
    for command in ("suspend", "reinstate"):
        extra = ("--reason", "x") if command == "suspend" else ()
        assert_error(cli("members", command, "WX-99999", *extra, "--json"), "no member WX-99999")
    assert_error(cli("members", "show", "张三", "--json"), "not a member id or number")


def test_grant_extends_and_is_audited(cli, tmp_path, database_url):
    roster = write_roster(
        tmp_path / "r.csv", ["name,phone,paid_until", "张三,,2027-06-30", "李四,,"]
    )
    ok_json(cli("members", "import", str(roster), "--json"))
    granted = ok_json(cli("members", "grant", "WX-10001", "--plan", "year", "--json"))
    assert granted == {"member": "WX-10001", "plan": "year", "ends_at": "2028-06-30T16:00:00Z"}
    doc = show(cli, "WX-10001")
    assert doc["member_until"] == "2028-06-30T16:00:00Z"
    assert [p["ends_at"] for p in doc["subscriptions"]] == [
        "2027-06-30T16:00:00Z",
        "2028-06-30T16:00:00Z",
    ]
    before = utcnow()
    free = ok_json(
        cli("members", "grant", "2", "--plan", "month", "--reason", "举报奖励", "--json")
    )
    assert_one_month_from(free["ends_at"], before, utcnow())
    assert show(cli, "WX-10002")["role"] == "member"

    events = audit_events(database_url, "subscription:grant")
    assert [(subject, actor) for subject, actor, _ in events] == [
        ("WX-10001", "publisher:cli"),
        ("WX-10002", "publisher:cli"),
    ]
    assert events[0][2]["plan"] == "year" and events[0][2]["reason"] == "granted by the publisher"
    assert events[1][2]["plan"] == "month" and events[1][2]["reason"] == "举报奖励"

    assert_error(
        cli("members", "grant", "1", "--plan", "lifetime", "--json"), "unknown plan 'lifetime'"
    )
    assert_error(
        cli("members", "grant", "WX-99999", "--plan", "year", "--json"), "no member WX-99999"
    )
    assert len(audit_events(database_url, "subscription:grant")) == 2
    assert show(cli, "1")["member_until"] == "2028-06-30T16:00:00Z"
