"""Sign-up verifies the phone by an SMS code when a sender is set up (issue 22): the code
goes through ``members.sms`` to a loopback receiver that checks signatures; codes expire,
die after a few wrong tries and are limited per phone and per address; without a sender
the ``signup_without_sms`` setting keeps phone sign-up open (unverified) or closes it; an
imported member's phone is sent to 领取账号 instead of a refusal."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from tests.helpers import PASSWORD, signed_in
from tests.sms_receiver import Receiver
from wenxing import settings
from wenxing.db.base import utcnow
from wenxing.members import recovery
from wenxing.members.models import Member
from wenxing.members.service import MemberError, add_member
from wenxing.web.app import create_app
from wenxing.web.auth import CSRF_COOKIE, SESSION_COOKIE


@pytest.fixture(scope="module")
def receiver():
    server = Receiver()
    yield server
    server.close()


def _setting(runtime, name: str, value) -> None:
    with runtime.db.transaction() as session:
        settings.change(session, name, actor="test", value=value)


def _csrf(client: TestClient) -> str:
    client.get("/signup")
    return client.cookies[CSRF_COOKIE]


def _ask(client: TestClient, phone: str):
    data = {"name": "新会员", "phone": phone, "agree": "1", "csrf_token": _csrf(client)}
    return client.post("/signup/code", data=data)


def _sign_up(client: TestClient, phone: str, code: str = "", username: str = ""):
    data = {
        "name": "新会员",
        "phone": phone,
        "username": username,
        "code": code,
        "password": PASSWORD,
        "password_again": PASSWORD,
        "agree": "1",
        "next": "/",
        "csrf_token": _csrf(client),
    }
    return client.post("/signup", data=data, follow_redirects=False)


def _wrong(code: str) -> str:
    return "000000" if code != "000000" else "111111"


@pytest.mark.parametrize("provider", ["aliyun", "tencent"])
def test_sign_up_with_a_phone_needs_the_code_sent_to_it(runtime, receiver, provider):
    _setting(runtime, "sms", receiver.config(provider))
    phone = "13812345678"
    client = TestClient(create_app(runtime))
    form = client.get("/signup").text
    assert "获取验证码" in form and 'name="code"' in form
    refused = _sign_up(client, phone)  # no code
    assert refused.status_code == 400 and "验证码" in refused.text
    asked = _ask(client, phone)
    assert asked.status_code == 200 and "验证码已发送" in asked.text
    assert 'value="新会员"' in asked.text  # the form is kept as typed
    code = receiver.last_code(phone)
    wrong = _sign_up(client, phone, _wrong(code))
    assert wrong.status_code == 400 and "验证码不正确" in wrong.text
    done = _sign_up(client, phone, code)
    assert done.status_code == 303 and client.cookies.get(SESSION_COOKIE)
    with runtime.db.reading() as session:
        assert session.query(Member).filter_by(phone=phone).count() == 1
    again = _sign_up(TestClient(create_app(runtime)), phone, code)  # used once
    assert again.status_code == 400


def test_a_username_sign_up_needs_no_code(runtime, receiver):
    _setting(runtime, "sms", receiver.config("aliyun"))
    client = TestClient(create_app(runtime))
    assert _sign_up(client, "", username="reader_one").status_code == 303


def test_codes_expire_die_after_wrong_tries_and_are_limited(runtime, receiver):
    now = utcnow()
    phone, ip = "13912345678", "203.0.113.9"
    with runtime.db.transaction() as session:
        first = recovery.request_code(session, phone, ip=ip, now=now, kind="signup")
    assert first is not None
    # a second code within the minute
    with runtime.db.transaction() as session, pytest.raises(MemberError) as soon:
        recovery.request_code(session, phone, ip=ip, now=now, kind="signup")
    assert soon.value.code == "recovery.too_soon"
    later = now + timedelta(minutes=recovery.CODE_MINUTES, seconds=1)
    with runtime.db.transaction() as session, pytest.raises(MemberError) as expired:
        recovery.check_signup_code(session, phone, first.code, ip=ip, now=later)
    assert expired.value.code == "recovery.wrong_code"
    with runtime.db.transaction() as session:
        fresh = recovery.request_code(session, phone, ip=ip, now=later, kind="signup")
    assert fresh is not None
    for _ in range(recovery.GUESSES_PER_CODE):
        # each wrong try is kept (the transaction commits after the refusal)
        with runtime.db.transaction() as session, pytest.raises(MemberError):
            recovery.check_signup_code(session, phone, _wrong(fresh.code), ip=None, now=later)
    with runtime.db.transaction() as session, pytest.raises(MemberError) as dead:
        recovery.check_signup_code(session, phone, fresh.code, ip=None, now=later)
    assert dead.value.code == "recovery.too_many_guesses"


def test_sends_are_limited_per_phone_and_per_address(runtime):
    now = utcnow()
    phone = "13712345678"
    for n in range(recovery.SENDS_PER_HOUR):
        with runtime.db.transaction() as session:
            at = now + timedelta(minutes=2 * n)
            recovery.request_code(session, phone, ip=f"198.51.100.{n}", now=at, kind="signup")
    with runtime.db.transaction() as session, pytest.raises(MemberError) as per_phone:
        at = now + timedelta(minutes=20)
        recovery.request_code(session, phone, ip="198.51.100.99", now=at, kind="signup")
    assert per_phone.value.code == "recovery.too_many_sends"
    ip = "192.0.2.7"
    for n in range(recovery.SENDS_PER_HOUR_PER_IP):
        with runtime.db.transaction() as session:
            recovery.request_code(session, f"1360000{n:04d}", ip=ip, now=now, kind="signup")
    with runtime.db.transaction() as session, pytest.raises(MemberError) as per_ip:
        recovery.request_code(session, "13611112222", ip=ip, now=now, kind="signup")
    assert per_ip.value.code == "recovery.too_many_sends"
    with runtime.db.transaction() as session:  # an hour later the address may ask again
        at = now + timedelta(hours=1, seconds=1)
        assert recovery.request_code(session, "13611112222", ip=ip, now=at, kind="signup")


def test_without_a_sender_phone_sign_up_is_open_or_closed_by_the_setting(runtime):
    client = TestClient(create_app(runtime))
    assert "获取验证码" not in client.get("/signup").text
    assert _sign_up(client, "13512345678").status_code == 303  # open: unverified
    _setting(runtime, "signup_without_sms", "closed")
    closed = TestClient(create_app(runtime))
    assert 'name="phone"' not in closed.get("/signup").text
    refused = _sign_up(closed, "13512345679")
    assert refused.status_code == 400 and "请用用户名注册" in refused.text
    assert _sign_up(closed, "", username="only_name").status_code == 303


def _imported(runtime, phone: str) -> str:
    with runtime.db.transaction() as session:
        member = add_member(session, "王芳", phone)
        session.flush()
        return member.number


def test_an_imported_phone_is_sent_to_claim_the_account_with_the_same_code(runtime, receiver):
    _setting(runtime, "sms", receiver.config("tencent"))
    phone = "13312345678"
    number = _imported(runtime, phone)
    client = TestClient(create_app(runtime))
    _ask(client, phone)
    code = receiver.last_code(phone)
    claim = _sign_up(client, phone, code)
    assert claim.status_code == 409 and "领取账号" in claim.text
    assert "已在本站的会员名单中" in claim.text and f'value="{code}"' in claim.text
    data = {
        "phone": phone,
        "code": code,
        "password": "领取后的密码123",
        "password_again": "领取后的密码123",
        "csrf_token": client.cookies[CSRF_COOKIE],
    }
    done = client.post("/reset", data=data, follow_redirects=False)
    assert done.status_code == 303
    assert number in client.get("/account").text
    signed_in(create_app(runtime), phone, "领取后的密码123")
    with runtime.db.reading() as session:
        assert session.query(Member).filter_by(phone=phone).count() == 1


def test_an_imported_phone_without_a_sender_is_pointed_to_claim(runtime):
    phone = "13212345678"
    _imported(runtime, phone)
    client = TestClient(create_app(runtime))
    claim = _sign_up(client, phone)
    assert claim.status_code == 409
    assert "领取账号" in claim.text and "邀请链接" in claim.text
    assert "这个手机号已经注册过了" not in claim.text
    page = client.get(f"/claim?phone={phone}")
    assert page.status_code == 200 and "领取账号" in page.text
