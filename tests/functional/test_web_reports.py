"""Resale reports through the site, the console and the API, on both databases: filing a
report with a file or pasted text, the receipt page, the editor's decision, and what the
reporter and the leaker see after it (issue 8's done-when flow, through HTTP)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

import wenxing.reports.cases  # noqa: F401  (registers the tracing job)
from tests.helpers import account, import_sample, signed_in
from wenxing import audit, jobs
from wenxing.db.base import utcnow
from wenxing.members.models import ActivationCode, Member
from wenxing.members.subscriptions import membership_end
from wenxing.reports.evidence import read_evidence_bytes
from wenxing.reports.intake import normalise_receipt
from wenxing.reports.models import Report
from wenxing.web.app import create_app
from wenxing.web.auth import CSRF_COOKIE
from wenxing.web.reporting import RECEIPT_COOKIE

MEMBERS = ("leaker1", "leaker2", "leaker3", "leaker4")


@pytest.fixture
def site(runtime):
    """The sample published, four members who will leak it, a free account that reports,
    an editor; the app."""
    import_sample(runtime)
    publisher = runtime.publisher_settings()
    numbers = {}
    with runtime.db.transaction() as session:
        for name in MEMBERS:
            numbers[name] = account(session, publisher, name, subscribed=True, username=name).number
        numbers["finder"] = account(
            session, publisher, "finder", subscribed=False, username="finder"
        ).number
        account(session, publisher, "editor", subscribed=False, username="editor").role = "editor"
    return create_app(runtime), numbers


def visitor(app, ip: str) -> TestClient:
    """A browser without an account, from its own address (report limits are per address)."""
    return TestClient(app, client=(ip, 50000))


def csrf(client: TestClient, path: str = "/report") -> str:
    client.get(path)
    return client.cookies[CSRF_COOKIE]


def file_report(client: TestClient, *, files=(), **fields):
    form = {"platform": "xianyu", "csrf_token": csrf(client), **fields}
    return client.post(
        "/report",
        data=form,
        files=[("files", f) for f in files] or None,
        follow_redirects=False,
    )


def receipt_path(response) -> str:
    assert response.status_code == 303, response.text[:2000]
    path = response.headers["location"]
    assert re.fullmatch(r"/report/JB-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{2}", path), path
    return path


def report_id(runtime, path: str) -> int:
    with runtime.db.reading() as session:
        receipt = normalise_receipt(path.rsplit("/", 1)[1])
        return session.scalar(select(Report.id).where(Report.receipt == receipt))


def traced(runtime) -> None:
    assert jobs.run_pending(runtime) >= 1


def decide(editor: TestClient, number: int, action: str, **fields):
    token = csrf(editor, f"/console/reports/{number}")
    return editor.post(
        f"/console/reports/{number}/{action}",
        data={"csrf_token": token, **fields},
        follow_redirects=False,
    )


def accused_ids(runtime, number: int) -> list[int]:
    from wenxing.reports.models import Accusation

    with runtime.db.reading() as session:
        return list(
            session.scalars(select(Accusation.member_id).where(Accusation.report_id == number))
        )


def reader_excerpt(client: TestClient) -> str:
    """400 characters of the member's reader page, as a reseller would copy them."""
    page = client.get("/materials/1/read")
    assert page.status_code == 200
    text = read_evidence_bytes(page.content, ".html").text
    start = text.index("同志们")
    return text[start + 200 : start + 600]


def gift_codes(runtime) -> int:
    with runtime.db.reading() as session:
        return session.scalar(
            select(func.count()).select_from(ActivationCode).where(ActivationCode.state == "issued")
        )


def test_reports_name_their_leakers_and_confirming_rewards_once(runtime, site):
    app, numbers = site
    editor = signed_in(app, "editor")

    # A member downloads a .docx; a visitor reports it with the file.
    leaker1 = signed_in(app, "leaker1")
    docx = leaker1.get("/materials/1/download/docx")
    assert docx.status_code == 200
    first = visitor(app, "203.0.113.10")
    receipt1 = receipt_path(
        file_report(
            first,
            contact="13900139001",
            link="https://example.invalid/item/1",
            note="闲鱼上 9.9 元一份",
            files=[("讲话.docx", docx.content, "application/octet-stream")],
        )
    )
    assert first.cookies.get(RECEIPT_COOKIE)
    waiting = first.get(receipt1)
    assert waiting.status_code == 200 and "已收到，正在核对" in waiting.text
    assert '<meta http-equiv="refresh"' in waiting.text

    # A second visitor pastes 400 characters of another member's reader page.
    excerpt = reader_excerpt(signed_in(app, "leaker2"))
    assert len(excerpt) == 400
    second = visitor(app, "198.51.100.20")
    receipt2 = receipt_path(
        file_report(second, platform="group", contact="wxid_finder2", text=excerpt)
    )

    traced(runtime)
    one, two = report_id(runtime, receipt1), report_id(runtime, receipt2)

    # The console lists both, pending, and names the right member on each case.
    listing = editor.get("/console/reports")
    assert listing.status_code == 200 and "举报（2）" in listing.text
    assert receipt1.rsplit("/", 1)[1] in listing.text and receipt2.rsplit("/", 1)[1] in listing.text
    assert "待处理举报</a> <strong>2</strong>" in editor.get("/console").text
    for number, leaker, other in ((one, "leaker1", "leaker2"), (two, "leaker2", "leaker1")):
        case = editor.get(f"/console/reports/{number}")
        assert case.status_code == 200
        accused = case.text[case.text.index("被举报的会员") :]
        assert f'/console/members/{numbers[leaker]}"' in accused
        assert numbers[other] not in accused
        assert "指纹标记" in accused and "误判概率上限" in accused
    case = editor.get(f"/console/reports/{one}").text
    assert "闲鱼上 9.9 元一份" in case and "已读取，找到了对应的资料" in case
    assert 'href="https://example.invalid/item/1"' in case

    # The reporter sees the state and each file's outcome, never whom it named or the text.
    pending = first.get(receipt1).text
    assert "待编辑审核" in pending and "已读取，找到了对应的资料" in pending
    assert numbers["leaker1"] not in pending and "refresh" not in pending
    assert excerpt[:40] not in second.get(receipt2).text

    # Confirmed with suspension: the leaker is suspended and signed out; the visitor gets a
    # gift code on the receipt page.
    confirmed = decide(
        editor,
        one,
        "confirm",
        sanction="suspend",
        reason="闲鱼链接属实",
        members=[str(i) for i in accused_ids(runtime, one)],
    )
    assert confirmed.status_code == 303
    with runtime.db.reading() as session:
        assert session.scalar(select(Member.status).where(Member.number == numbers["leaker1"])) == (
            "suspended"
        )
        report = session.get(Report, one)
        code = report.reward_code
    assert code and report.reward == "gift_code"
    assert leaker1.get("/account", follow_redirects=False).headers["location"].startswith("/signin")
    rewarded = first.get(receipt1).text
    assert "举报成立" in rewarded and code in rewarded and "/signup?next=/account" in rewarded
    assert numbers["leaker1"] not in rewarded and "闲鱼链接属实" not in rewarded
    assert gift_codes(runtime) == 1

    # Warned instead: the member stays active and reads the warning on their account page.
    assert (
        decide(
            editor,
            two,
            "confirm",
            sanction="warn",
            reason="群里转发会员资料",
            members=[str(i) for i in accused_ids(runtime, two)],
        ).status_code
        == 303
    )
    warned = signed_in(app, "leaker2").get("/account").text
    assert "警告" in warned and "群里转发会员资料" in warned
    assert "举报成立" in second.get(receipt2).text and gift_codes(runtime) == 2

    # The same leak reported again: confirmed, no second reward.
    third = visitor(app, "192.0.2.30")
    receipt3 = receipt_path(
        file_report(
            third,
            contact="13900139003",
            files=[("copy.docx", docx.content, "application/octet-stream")],
        )
    )
    traced(runtime)
    three = report_id(runtime, receipt3)
    assert (
        decide(
            editor,
            three,
            "confirm",
            sanction="suspend",
            reason="同一份",
            members=[str(i) for i in accused_ids(runtime, three)],
        ).status_code
        == 303
    )
    again = third.get(receipt3).text
    assert "举报成立" in again and "每起倒卖只奖励第一位举报人" in again
    assert gift_codes(runtime) == 2
    with runtime.db.reading() as session:
        types = [t for (t,) in session.execute(select(audit.AuditEvent.type))]
    assert types.count(audit.REPORT_REWARD) == 2 and types.count(audit.REPORT_CONFIRM) == 3

    # A signed-in reporter: the report is theirs, the reward is membership on the account.
    leaker4 = signed_in(app, "leaker4")
    txt = leaker4.get("/materials/1/download/txt")
    finder = signed_in(app, "finder")
    form = finder.get("/report").text
    assert "联系方式：手机号或微信号（选填）" in form and numbers["finder"] in form
    receipt4 = receipt_path(
        file_report(finder, platform="pan", files=[("分享.txt", txt.content, "text/plain")])
    )
    traced(runtime)
    four = report_id(runtime, receipt4)
    before = utcnow()
    assert (
        decide(
            editor,
            four,
            "confirm",
            sanction="suspend",
            reason="网盘分享",
            members=[str(i) for i in accused_ids(runtime, four)],
        ).status_code
        == 303
    )
    mine = finder.get("/account").text
    assert "我的举报" in mine and receipt4.rsplit("/", 1)[1] in mine
    assert "会员已加到你的账户" in mine
    assert "会员已加到你的账户" in finder.get(receipt4).text
    with runtime.db.reading() as session:
        finder_id = session.scalar(select(Member.id).where(Member.number == numbers["finder"]))
        ends = membership_end(session, finder_id, before)
    assert ends is not None and ends - before > timedelta(days=360)
    assert gift_codes(runtime) == 2  # membership, not a code

    # The suspended leaker signs in again and reads why.
    suspended = signed_in(app, "leaker1").get("/account").text
    assert "账号已暂停：闲鱼链接属实" in suspended
