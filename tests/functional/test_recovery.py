"""Accounts that can always be recovered (issue 22): an SMS code through 阿里云短信 or
腾讯云短信 (a loopback receiver that checks signatures), a one-time console link, imported
members claiming their accounts; limits on sending and guessing; a reset ends the other
sessions; the signed-in header on error pages."""

from __future__ import annotations

import csv
import io

import pytest
from fastapi.testclient import TestClient

from tests.helpers import PASSWORD, signed_in
from tests.sms_receiver import Receiver
from wenxing import settings
from wenxing.audit import MEMBER_RESET_LINK, AuditEvent
from wenxing.members import recovery
from wenxing.members.accounts import sign_up
from wenxing.members.service import add_member
from wenxing.web.app import create_app
from wenxing.web.auth import CSRF_COOKIE

NEW_PASSWORD = "换一个新密码123"


@pytest.fixture(scope="module")
def receiver():
    server = Receiver()
    yield server
    server.close()


def _with_sender(runtime, receiver, provider: str) -> None:
    with runtime.db.transaction() as session:
        settings.change(session, "sms", actor="test", value=receiver.config(provider))


def _imported(runtime, phone: str) -> str:
    """A member as ``members import`` leaves them: a phone, no password."""
    with runtime.db.transaction() as session:
        member = add_member(session, "王芳", phone)
        session.flush()
        return member.number


def _admin_and_imported(runtime, phone: str):
    """The app, an admin signed in to it (WX-10001) and an imported member's number."""
    with runtime.db.transaction() as session:
        admin = sign_up(session, name="管理员", password=PASSWORD, username="boss")
        admin.role = "admin"
    number = _imported(runtime, phone)
    app = create_app(runtime)
    return app, signed_in(app, "boss"), number


def _form(client: TestClient, path: str) -> str:
    client.get(path)
    return client.cookies[CSRF_COOKIE]


def _ask_code(client: TestClient, phone: str):
    return client.post("/forgot", data={"phone": phone, "csrf_token": _form(client, "/forgot")})


def _reset(client: TestClient, phone: str, code: str, password: str = NEW_PASSWORD):
    data = {
        "phone": phone,
        "code": code,
        "password": password,
        "password_again": password,
        "csrf_token": _form(client, "/reset"),
    }
    return client.post("/reset", data=data, follow_redirects=False)


@pytest.mark.parametrize("provider", ["aliyun", "tencent"])
def test_an_imported_member_claims_the_account_by_sms(runtime, receiver, provider):
    _with_sender(runtime, receiver, provider)
    phone = "13800138000"
    number = _imported(runtime, phone)
    client = TestClient(create_app(runtime))
    asked = _ask_code(client, phone)
    assert asked.status_code == 200 and "验证码已发送" in asked.text
    code = receiver.last_code(phone)
    wrong = "000000" if code != "000000" else "111111"
    refused = _reset(client, phone, wrong)
    assert refused.status_code == 400 and "验证码不正确" in refused.text
    done = _reset(client, phone, code)
    assert done.status_code == 303 and done.headers["location"].startswith("/account")
    assert number in client.get("/account").text
    assert _reset(TestClient(create_app(runtime)), phone, code).status_code == 400  # used once
    signed_in(create_app(runtime), phone, NEW_PASSWORD)


def test_a_reset_ends_the_other_sessions(runtime, receiver):
    _with_sender(runtime, receiver, "aliyun")
    with runtime.db.transaction() as session:
        sign_up(session, name="李明", password=PASSWORD, phone="13900139000")
    app = create_app(runtime)
    elsewhere = signed_in(app, "13900139000")
    assert elsewhere.get("/account", follow_redirects=False).status_code == 200
    client = TestClient(app)
    _ask_code(client, "13900139000")
    assert _reset(client, "13900139000", receiver.last_code("13900139000")).status_code == 303
    assert elsewhere.get("/account", follow_redirects=False).status_code == 303
    assert client.get("/account", follow_redirects=False).status_code == 200


def test_codes_are_limited_in_sending_and_guessing(runtime, receiver):
    _with_sender(runtime, receiver, "tencent")
    phone = "13700137000"
    _imported(runtime, phone)
    client = TestClient(create_app(runtime))
    assert _ask_code(client, phone).status_code == 200
    again = _ask_code(client, phone)
    assert again.status_code == 429 and "秒后再获取" in again.text
    code = receiver.last_code(phone)
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(recovery.GUESSES_PER_CODE):
        assert _reset(client, phone, wrong).status_code == 400
    blocked = _reset(client, phone, code)  # the right code, too late
    assert blocked.status_code == 400 and "错误次数过多" in blocked.text


def test_an_unknown_phone_is_answered_the_same_and_sent_nothing(runtime, receiver):
    _with_sender(runtime, receiver, "aliyun")
    client = TestClient(create_app(runtime))
    sent = len(receiver.codes)
    asked = _ask_code(client, "13600136000")
    assert asked.status_code == 200 and "验证码已发送" in asked.text
    assert len(receiver.codes) == sent


def test_without_a_sender_the_page_says_whom_to_ask(runtime):
    page = TestClient(create_app(runtime)).get("/forgot")
    assert "暂未开通短信验证" in page.text and "重置链接" in page.text
    assert "忘记密码" in TestClient(create_app(runtime)).get("/signin").text


def test_a_console_link_is_shown_once_audited_and_used_once(runtime):
    app, staff, number = _admin_and_imported(runtime, "13500135000")
    csrf = staff.cookies[CSRF_COOKIE]
    made = staff.post(f"/console/members/{number}/reset-link", data={"csrf_token": csrf})
    assert made.status_code == 200
    link = made.text.split('id="reset-link" readonly value="')[1].split('"')[0]
    path = link[link.index("/reset/") :]
    with runtime.db.reading() as session:
        events = session.query(AuditEvent).filter_by(type=MEMBER_RESET_LINK, subject=number).all()
    assert [e.actor for e in events] == ["WX-10001"]
    assert path.split("/")[-1] not in events[0].details  # only its digest is kept
    member = TestClient(app)
    shown = member.get(path)
    assert shown.status_code == 200 and number in shown.text
    data = {"password": NEW_PASSWORD, "password_again": NEW_PASSWORD}
    done = member.post(
        path, data={**data, "csrf_token": member.cookies[CSRF_COOKIE]}, follow_redirects=False
    )
    assert done.status_code == 303
    again = TestClient(app)
    assert again.get(path).status_code == 404
    signed_in(app, number, NEW_PASSWORD)


def test_error_pages_show_the_signed_in_header(runtime):
    with runtime.db.transaction() as session:
        sign_up(session, name="李明", password=PASSWORD, username="liming")
    client = signed_in(create_app(runtime), "liming")
    missing = client.get("/materials/999999")
    assert missing.status_code == 404
    assert "WX-10001" in missing.text and 'href="/signin' not in missing.text


def test_the_roster_export_carries_invitations_that_claim_imported_accounts(runtime):
    app, staff, number = _admin_and_imported(runtime, "13400134000")
    exported = staff.post(
        "/console/members/roster.csv", data={"csrf_token": staff.cookies[CSRF_COOKIE]}
    )
    assert exported.status_code == 200
    rows = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert rows[0][-1] == "invitation_expires (Asia/Shanghai)"
    by_number = {row[3]: row for row in rows[1:]}
    assert by_number["WX-10001"][4:6] == ["yes", ""]  # the admin has a password: no link
    link = by_number[number][5]
    path = link[link.index("/reset/") :]
    member = TestClient(app)
    shown = member.get(path)
    assert shown.status_code == 200 and "领取账号" in shown.text
    data = {"password": NEW_PASSWORD, "password_again": NEW_PASSWORD}
    claimed = member.post(
        path, data={**data, "csrf_token": member.cookies[CSRF_COOKIE]}, follow_redirects=False
    )
    assert claimed.status_code == 303
    signed_in(app, "13400134000", NEW_PASSWORD)
