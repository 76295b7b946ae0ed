"""Resale reports through the site, the console and the API, on both databases: filing a
report with a file or pasted text, the receipt page, the editor's decision, and what the
reporter and the leaker see after it (issue 8's done-when flow, through HTTP)."""

from __future__ import annotations

import json
import re
import subprocess
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

import wenxing.reports.cases  # noqa: F401  (registers the tracing job)
from tests.helpers import PASSWORD, account, import_sample, signed_in
from wenxing import audit, jobs
from wenxing.db.base import utcnow
from wenxing.members.models import ActivationCode, Member
from wenxing.members.subscriptions import membership_end
from wenxing.reports.evidence import read_evidence_bytes
from wenxing.reports.intake import normalise_receipt
from wenxing.reports.models import Report
from wenxing.settings import change as change_setting
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


def confirm_all(runtime, editor: TestClient, number: int, sanction: str, reason: str):
    """Confirm a report against every member its trace names (the form ticks them all)."""
    members = [str(i) for i in accused_ids(runtime, number)]
    return decide(editor, number, "confirm", sanction=sanction, reason=reason, members=members)


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
        assert numbers[leaker] in accused
        assert "/console/members/" not in accused  # member pages are admins' only
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
    confirmed = confirm_all(runtime, editor, one, "suspend", "闲鱼链接属实")
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
    assert confirm_all(runtime, editor, two, "warn", "群里转发会员资料").status_code == 303
    warned = signed_in(app, "leaker2").get("/account").text
    assert "警告" in warned and "群里转发会员资料" in warned
    # A warning is no sanction to reward (issue 19): the reporter is thanked, no code.
    thanked = second.get(receipt2).text
    assert "举报成立" in thanked and "只有封禁倒卖账户时才发放奖励" in thanked
    assert gift_codes(runtime) == 1

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
    assert confirm_all(runtime, editor, three, "suspend", "同一份").status_code == 303
    again = third.get(receipt3).text
    assert "举报成立" in again and "每起倒卖只奖励第一位举报人" in again
    assert gift_codes(runtime) == 1
    with runtime.db.reading() as session:
        types = [t for (t,) in session.execute(select(audit.AuditEvent.type))]
    assert types.count(audit.REPORT_REWARD) == 1 and types.count(audit.REPORT_CONFIRM) == 3

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
    assert confirm_all(runtime, editor, four, "suspend", "网盘分享").status_code == 303
    mine = finder.get("/account").text
    assert "我的举报" in mine and receipt4.rsplit("/", 1)[1] in mine
    assert "会员已加到你的账户" in mine
    assert "会员已加到你的账户" in finder.get(receipt4).text
    with runtime.db.reading() as session:
        finder_id = session.scalar(select(Member.id).where(Member.number == numbers["finder"]))
        ends = membership_end(session, finder_id, before)
    assert ends is not None and ends - before > timedelta(days=360)
    assert gift_codes(runtime) == 1  # membership, not a code

    # The suspended leaker signs in again and reads why.
    suspended = signed_in(app, "leaker1").get("/account").text
    assert "账号已暂停：闲鱼链接属实" in suspended


@pytest.mark.ocr
def test_a_png_screenshot_of_a_pdf_page_names_its_member(runtime, site, tmp_path):
    """One page, OCR'd: its wording variants are enough to name the member."""
    app, numbers = site
    pdf = signed_in(app, "leaker3").get("/materials/1/download/pdf")
    assert pdf.status_code == 200
    (tmp_path / "copy.pdf").write_bytes(pdf.content)
    command = ["pdftoppm", "-f", "2", "-l", "2", "-singlefile", "-png"]
    command += ["-scale-to-x", "1080", "-scale-to-y", "-1", str(tmp_path / "copy.pdf")]
    subprocess.run([*command, str(tmp_path / "page")], check=True, capture_output=True)
    png = (tmp_path / "page.png").read_bytes()
    reporter = visitor(app, "203.0.113.40")
    receipt = receipt_path(
        file_report(reporter, contact="13900139004", files=[("截图.png", png, "image/png")])
    )
    traced(runtime)
    number = report_id(runtime, receipt)
    case = signed_in(app, "editor").get(f"/console/reports/{number}").text
    accused = case[case.index("被举报的会员") :]
    # The page's wording names the leaker through the marks; the printed recipient line is
    # a lead shown with the trace (and agrees), never the basis of an accusation.
    assert f"<p>{numbers['leaker3']} · leaker3</p>" in accused
    assert numbers["leaker1"] not in accused and numbers["leaker2"] not in accused
    assert "依据：指纹标记" in accused and "页面上印的会员号" not in accused and "png" in case
    assert f"{numbers['leaker3']}（与隐藏标识一致）" in case
    assert "可能是栽赃" not in case
    seen = reporter.get(receipt).text
    assert "已读取，找到了对应的资料" in seen and numbers["leaker3"] not in seen


def test_a_forged_recipient_line_is_flagged_and_accuses_no_one_by_it(runtime, site):
    """A leaker edits their copy's recipient line to another member's number and files the
    copy as a resale report: the case page warns of a forgery, the innocent member is not
    accused, and the marks name the leaker."""
    app, numbers = site
    copy = signed_in(app, "leaker1").get("/materials/1/download/txt")
    assert copy.status_code == 200
    text = copy.content.decode("utf-8")
    assert numbers["leaker1"] in text
    forged = text.replace(numbers["leaker1"], numbers["leaker2"])
    reporter = visitor(app, "203.0.113.41")
    receipt = receipt_path(
        file_report(
            reporter,
            contact="13900139005",
            files=[("资料.txt", forged.encode("utf-8"), "text/plain")],
        )
    )
    traced(runtime)
    number = report_id(runtime, receipt)
    case = signed_in(app, "editor").get(f"/console/reports/{number}").text
    accused = case[case.index("被举报的会员") :]
    assert f"<p>{numbers['leaker1']} · leaker1</p>" in accused
    assert numbers["leaker2"] not in accused
    assert "可见编号与隐藏标识不符，可能是栽赃" in case
    assert f"{numbers['leaker2']}（隐藏标识指向其他会员）" in case


def test_forms_and_cookie_calls_need_the_csrf_token(runtime, site):
    app, _numbers = site
    stranger = visitor(app, "203.0.113.50")
    stranger.get("/report")
    fields = {"platform": "other", "contact": "13900139005", "text": "一段文字"}
    for path, data in (
        ("/report", fields),
        ("/report/check", {"receipt": "JB-2222-2222-22", "contact": "13900139005"}),
        ("/report/JB-2222-2222-22", {"contact": "13900139005"}),
    ):
        refused = stranger.post(path, data={**data, "csrf_token": "forged"})
        assert refused.status_code == 403 and "页面已过期" in refused.text, path
    editor = signed_in(app, "editor")
    editor.get("/console/reports")
    for action in ("confirm", "reject"):
        refused = editor.post(f"/console/reports/1/{action}", data={"reason": "x"})
        assert refused.status_code == 403
    with runtime.db.reading() as session:
        assert session.scalar(select(func.count()).select_from(Report)) == 0

    # The API: a cookie call needs X-CSRF-Token; a visitor without a session or a script
    # with a bearer token needs none.
    member = signed_in(app, "leaker1")
    assert member.post("/api/v1/reports", data=fields).status_code == 403
    token = member.cookies[CSRF_COOKIE]
    made = member.post("/api/v1/reports", data=fields, headers={"X-CSRF-Token": token})
    assert made.status_code == 201
    anonymous = visitor(app, "203.0.113.51")
    made = anonymous.post("/api/v1/reports", data={**fields, "contact": "wxid_someone"})
    assert made.status_code == 201


def test_rate_limits_refuse_with_429(runtime, site):
    app, _numbers = site
    with runtime.db.transaction() as session:
        change_setting(session, "reports_per_hour", 2, actor="publisher:test")
    busy = visitor(app, "203.0.113.60")
    for n in range(2):
        receipt_path(file_report(busy, contact=f"1390013906{n}", text="一段文字"))
    refused = file_report(busy, contact="13900139069", text="一段文字", link="https://x.invalid/")
    assert refused.status_code == 429 and "举报太频繁了" in refused.text
    # Refused before its body is read (issue 19): what was typed never reached the server.
    assert 'value="13900139069"' not in refused.text

    for n in range(3):  # reports_per_day_contact (3) from three addresses
        receipt_path(file_report(visitor(app, f"198.51.100.{n}"), contact="wxid_same1", text="文"))
    refused = file_report(visitor(app, "198.51.100.9"), contact="wxid_same1", text="文")
    assert refused.status_code == 429 and "这个联系方式今天的举报次数已达上限" in refused.text
    api = visitor(app, "198.51.100.10").post(
        "/api/v1/reports", data={"platform": "other", "contact": "wxid_same1", "text": "文"}
    )
    assert api.status_code == 429 and "已达上限" in api.json()["error"]

    # Wrong contacts: ten per address in 15 minutes, then 429 even for the right one.
    first = file_report(visitor(app, "192.0.2.70"), contact="13900139070", text="一段文字")
    receipt = receipt_path(first).rsplit("/", 1)[1]
    guesser = visitor(app, "192.0.2.71")
    token = csrf(guesser)
    for n in range(10):
        wrong = guesser.post(
            "/report/check",
            data={"receipt": receipt, "contact": f"1390000{n:04d}", "csrf_token": token},
        )
        assert wrong.status_code == 400 and "回执号或联系方式不正确" in wrong.text
    right = {"receipt": receipt, "contact": "13900139070", "csrf_token": token}
    locked = guesser.post("/report/check", data=right)
    assert locked.status_code == 429 and "尝试次数过多" in locked.text
    status = guesser.post(f"/api/v1/reports/{receipt}/status", json={"contact": "13900139070"})
    assert status.status_code == 429 and status.headers["retry-after"] == "900"
    # Entries that are not a receipt and a contact at all do not count.
    other = visitor(app, "192.0.2.72")
    token = csrf(other)
    for _ in range(12):
        assert (
            other.post(
                "/report/check", data={"receipt": "nope", "contact": "x", "csrf_token": token}
            ).status_code
            == 400
        )
    opened = other.post(
        "/report/check", data={**right, "csrf_token": token}, follow_redirects=False
    )
    assert opened.status_code == 303


def test_a_receipt_opens_only_with_its_contact(runtime, site):
    app, _numbers = site
    filer = visitor(app, "203.0.113.80")
    path = receipt_path(file_report(filer, contact="13900139080", text="一段文字"))
    receipt = path.rsplit("/", 1)[1]
    assert "已收到，正在核对" in filer.get(path).text

    other = visitor(app, "203.0.113.81")
    asked = other.get(path)
    assert asked.status_code == 200 and "已收到" not in asked.text
    assert "输入举报时留下的手机号或微信号" in asked.text
    token = csrf(other, path)
    wrong = other.post(path, data={"contact": "13900139081", "csrf_token": token})
    assert wrong.status_code == 400 and "回执号或联系方式不正确" in wrong.text
    assert "已收到" not in wrong.text
    # Another browser's cookie, or one signed for another receipt, opens nothing.
    forged = visitor(app, "203.0.113.82")
    forged.cookies.set(
        RECEIPT_COOKIE, filer.cookies[RECEIPT_COOKIE][:12] + "0" * 32, path="/report"
    )
    assert "已收到" not in forged.get(path).text
    assert "已收到" not in signed_in(app, "leaker1").get(path).text
    assert other.get("/report/JB-0000").status_code == 404

    opened = other.post(
        path, data={"contact": "+86 139 0013 9080", "csrf_token": token}, follow_redirects=False
    )
    assert opened.status_code == 303 and opened.headers["location"] == path
    assert "已收到，正在核对" in other.get(path).text
    checker = visitor(app, "203.0.113.83")
    typed = receipt.replace("-", "").lower()
    checked = checker.post(
        "/report/check",
        data={"receipt": typed, "contact": "13900139080", "csrf_token": csrf(checker)},
        follow_redirects=False,
    )
    assert checked.status_code == 303 and checked.headers["location"] == path
    assert "已收到，正在核对" in checker.get(path).text


def test_over_large_uploads_are_refused_with_413(runtime, site):
    app, _numbers = site
    with runtime.db.transaction() as session:
        change_setting(
            session, "report_file_mb", 0.05, actor="publisher:test"
        )  # 52,428 bytes a file
    sender = visitor(app, "203.0.113.90")
    big = ("big.txt", b"x" * 60_000, "text/plain")
    refused = file_report(sender, platform="taobao", contact="13900139090", files=[big])
    assert refused.status_code == 413
    assert "文件“big.txt”超过了 0.05 MB 的上限" in refused.text
    assert '<option value="taobao" selected>' in refused.text and "13900139090" in refused.text

    # Larger than ten files at the limit together: refused before the form is read, by
    # its Content-Length, or by counting when it comes without one.
    huge = ("huge.txt", b"x" * 1_300_000, "text/plain")
    early = file_report(sender, contact="13900139090", files=[huge])
    assert early.status_code == 413 and "提交的内容太大了" in early.text
    assert "big.txt" not in early.text

    def chunks():
        yield b'--b\r\nContent-Disposition: form-data; name="text"\r\n\r\n'
        for _ in range(40):
            yield b"x" * 65536

    streamed = sender.post(
        "/report", content=chunks(), headers={"content-type": "multipart/form-data; boundary=b"}
    )
    assert streamed.status_code == 413 and "提交的内容太大了" in streamed.text
    api = sender.post(
        "/api/v1/reports",
        data={"platform": "other", "contact": "13900139090"},
        files=[("files", big)],
    )
    assert api.status_code == 413 and "big.txt" in api.json()["error"]
    api = sender.post("/api/v1/reports", data={"platform": "other"}, files=[("files", huge)])
    assert api.status_code == 413 and "提交的内容太大了" in api.json()["error"]
    with runtime.db.reading() as session:
        assert session.scalar(select(func.count()).select_from(Report)) == 0


HOSTILE = '<script>alert("x")</script>'
HOSTILE_NAME = "<img src=x onerror=alert(1)>.html"  # no slash: names lose folder parts


def test_hostile_input_is_escaped_and_evidence_is_downloaded_never_rendered(runtime, site):
    app, _numbers = site
    page = f"<html><body>{HOSTILE}<p>同志们：今天我们开会。</p></body></html>".encode()
    sender = visitor(app, "203.0.113.100")
    path = receipt_path(
        file_report(
            sender,
            contact="13900139100",
            note=HOSTILE,
            link="javascript:alert(1)",
            files=[(HOSTILE_NAME, page, "text/html")],
        )
    )
    other = receipt_path(
        file_report(
            visitor(app, "203.0.113.101"),
            contact="13900139101",
            link='https://example.invalid/a"><script>x()</script>',
            text="文字",
        )
    )
    traced(runtime)
    receipt = sender.get(path).text
    assert "<img" not in receipt and "&lt;img src=x onerror=alert(1)&gt;.html" in receipt

    editor = signed_in(app, "editor")
    case = editor.get(f"/console/reports/{report_id(runtime, path)}")
    assert "<script>" not in case.text and "&lt;script&gt;alert(" in case.text
    assert "<img" not in case.text and "&lt;img src=x onerror=alert(1)&gt;.html" in case.text
    assert 'href="javascript:' not in case.text and "javascript:alert(1)" in case.text
    second = editor.get(f"/console/reports/{report_id(runtime, other)}").text
    assert 'href="https://example.invalid/a&#34;&gt;&lt;script&gt;' in second
    assert "<script>" not in second

    evidence = re.search(r'href="(/console/reports/\d+/evidence/\d+)"', case.text).group(1)
    download = editor.get(evidence)
    assert download.status_code == 200 and download.content == page
    assert download.headers["content-type"] == "application/octet-stream"
    assert download.headers["x-content-type-options"] == "nosniff"
    assert download.headers["content-disposition"].startswith("attachment;")
    assert 'filename="evidence-' in download.headers["content-disposition"]
    assert "sandbox" in download.headers["content-security-policy"]
    from sqlalchemy import select

    from wenxing import audit

    with runtime.db.reading() as session:
        looked = session.scalars(
            select(audit.AuditEvent).where(audit.AuditEvent.type == audit.REPORT_EVIDENCE_DOWNLOAD)
        ).all()
    assert len(looked) == 1 and looked[0].actor != "system"  # who looked is on record
    member = signed_in(app, "leaker1")
    assert member.get(evidence, follow_redirects=False).status_code == 403
    assert visitor(app, "203.0.113.102").get(evidence, follow_redirects=False).status_code == 303


def test_the_api_files_a_report_and_tells_its_status_without_the_evidence(runtime, site):
    app, numbers = site
    leaker = signed_in(app, "leaker2")
    excerpt = reader_excerpt(leaker)
    api = visitor(app, "203.0.113.110")
    made = api.post(
        "/api/v1/reports",
        data={"platform": "group", "contact": "wxid_api_user", "text": excerpt},
        files=[("files", ("empty.txt", b"", "text/plain"))],
    )
    assert made.status_code == 201, made.text
    receipt = made.json()["receipt"]
    assert made.json()["state"] == "received" and made.json()["state_name"] == "已收到，正在核对"
    traced(runtime)

    status = api.post(f"/api/v1/reports/{receipt}/status", json={"contact": "wxid_API_user"})
    assert status.status_code == 200, status.text
    body = status.json()
    assert body["state"] == "traced" and body["decision"] is None and body["reward"] is None
    outcomes = {(e["kind"], e["outcome"], e["reason"]) for e in body["evidence"]}
    assert outcomes == {("file", "unreadable", "empty"), ("text", "read", None)}
    assert "无法读取：文件是空的" in status.text
    assert excerpt[:30] not in status.text and numbers["leaker2"] not in status.text

    wrong = api.post(f"/api/v1/reports/{receipt}/status", json={"contact": "wxid_other"})
    assert wrong.status_code == 400 and wrong.json() == {"error": "回执号或联系方式不正确"}
    assert api.post(f"/api/v1/reports/{receipt}/status").status_code == 400
    assert api.post("/api/v1/reports/nope/status", json={"contact": "x"}).status_code == 404
    refused = api.post("/api/v1/reports", data={"platform": "other", "contact": "wxid_api_user"})
    assert refused.status_code == 400
    assert refused.json() == {"error": "请上传文件或粘贴文字作为证据"}
    bad = api.post(
        "/api/v1/reports", data={"platform": "x"}, headers={"Authorization": "Bearer no"}
    )
    assert bad.status_code == 401

    # A script with a token: the report is its account's, and the token opens the status.
    session = api.post("/api/v1/session", json={"identifier": "finder", "password": PASSWORD})
    bearer = {"Authorization": f"Bearer {session.json()['token']}"}
    mine = api.post("/api/v1/reports", data={"platform": "pan", "text": excerpt}, headers=bearer)
    assert mine.status_code == 201
    own = api.post(f"/api/v1/reports/{mine.json()['receipt']}/status", headers=bearer)
    assert own.status_code == 200 and own.json()["state"] in ("received", "traced")

    editor = signed_in(app, "editor")
    number = report_id(runtime, "/report/" + receipt)
    confirmed = confirm_all(runtime, editor, number, "suspend", "群聊截图属实")
    assert confirmed.status_code == 303
    body = api.post(f"/api/v1/reports/{receipt}/status", json={"contact": "wxid_api_user"}).json()
    assert body["state"] == "confirmed" and body["decision"]["reason"] is None
    assert body["reward"]["kind"] == "gift_code" and body["reward"]["code"]
    assert "群聊截图属实" not in json.dumps(body, ensure_ascii=False)


def test_a_rejected_report_tells_the_reporter_why(runtime, site):
    app, _numbers = site
    sender = visitor(app, "203.0.113.120")
    path = receipt_path(
        file_report(sender, contact="13900139120", text="与本站无关的一段话。" * 10)
    )
    traced(runtime)
    number = report_id(runtime, path)
    editor = signed_in(app, "editor")
    case = editor.get(f"/console/reports/{number}").text
    assert "已读取，但没有找到对应的资料" in case and "证据中没有找到已发布的资料" in case
    nobody = decide(editor, number, "confirm", sanction="suspend", reason="x")
    assert nobody.status_code == 400 and "请至少选择一个被举报的会员" in nobody.text
    assert decide(editor, number, "reject", reason="").status_code == 400
    assert decide(editor, number, "reject", reason="不是本站的资料").status_code == 303
    again = decide(editor, number, "reject", reason="再来一次")
    assert again.status_code == 409 and "这条举报已经处理过了" in again.text
    seen = sender.get(path).text
    assert "未予采纳" in seen and "编辑的说明：不是本站的资料" in seen
    assert "已读取，但没有找到对应的资料" in seen
    listing = editor.get("/console/reports?state=rejected").text
    assert path.rsplit("/", 1)[1] in listing
    assert path.rsplit("/", 1)[1] not in editor.get("/console/reports?state=pending").text
