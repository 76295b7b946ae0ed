"""Signing up, the account page (redeeming codes, devices, download history) and search."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from tests.helpers import PASSWORD, import_sample
from wenxing.members.codes import format_code
from wenxing.members.redemption import generate_batch
from wenxing.members.subscriptions import plans
from wenxing.web.app import create_app
from wenxing.web.auth import CSRF_COOKIE


@pytest.fixture
def client(runtime):
    import_sample(runtime)
    return TestClient(create_app(runtime))


def _csrf(client: TestClient, path: str = "/signup") -> str:
    client.get(path)
    return client.cookies[CSRF_COOKIE]


def sign_up(client: TestClient, **fields):
    form = {
        "name": "李明",
        "phone": "",
        "username": "liming",
        "password": PASSWORD,
        "password_again": PASSWORD,
        "agree": "1",
        "next": "/account",
        **fields,
    }
    form["csrf_token"] = _csrf(client)
    return client.post("/signup", data=form, follow_redirects=False)


def test_sign_up_signs_in_and_shows_the_account(client):
    response = sign_up(client)
    assert response.status_code == 303 and response.headers["location"] == "/account"
    page = client.get("/account")
    assert page.status_code == 200
    assert "WX-10001" in page.text and "身份：免费用户" in page.text
    assert "还没有下载记录" in page.text and "（本机）" in page.text


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"username": "", "phone": ""}, "请填写手机号或用户名"),
        ({"username": "1abc"}, "用户名为 3–40 位字母、数字或下划线"),
        ({"password": "short", "password_again": "short"}, "密码至少 8 位"),
        ({"password_again": "something else"}, "两次输入的密码不一致"),
        ({"username": "", "phone": "12345"}, "手机号格式不正确"),
        ({"name": " "}, "请填写称呼"),
    ],
)
def test_sign_up_mistakes_are_explained_in_chinese(client, fields, message):
    response = sign_up(client, **fields)
    assert response.status_code == 400 and message in response.text
    assert 'value="李明"' in response.text or fields.get("name") == " "  # the form is kept


def test_the_sign_up_form_states_the_password_rule_it_enforces(client):
    from wenxing.members.accounts import MIN_PASSWORD

    form = client.get("/signup").text
    assert f"密码（至少 {MIN_PASSWORD} 位）" in form and f'minlength="{MIN_PASSWORD}"' in form


def test_a_taken_username_and_a_forged_form(client):
    assert sign_up(client).status_code == 303
    other = TestClient(client.app)
    assert "这个用户名或手机号不能用来注册" in sign_up(other).text
    forged = TestClient(client.app).post("/signup", data={"name": "x", "csrf_token": "nope"})
    assert forged.status_code == 403 and "页面已过期" in forged.text


def test_sign_up_answers_the_same_whether_the_username_or_phone_exists(client, monkeypatch):
    """Issue 17: a taken username and a taken phone number get one sentence (the page is the
    same but for the form's values), only after the checks that do not look at accounts,
    and after the same work as a new account (the password is hashed either way); every
    refusal counts against the address's sign-ups."""
    from argon2 import PasswordHasher

    hashed: list[str] = []
    real_hash = PasswordHasher.hash

    def counting(self, password, *args, **kwargs):
        hashed.append(password)
        return real_hash(self, password, *args, **kwargs)

    monkeypatch.setattr(PasswordHasher, "hash", counting)
    assert sign_up(client, phone="13800138000").status_code == 303
    assert len(hashed) == 1  # a new account: one hash
    answers = {}
    for what, fields in {
        "username": {"username": "LiMing", "phone": ""},
        "phone": {"username": "", "phone": "138-0013-8000"},
        "both": {"username": "liming", "phone": "13800138000"},
    }.items():
        hashed.clear()
        answer = sign_up(TestClient(client.app), **fields)
        assert answer.status_code == 400, what
        assert len(hashed) == 1, what  # the same work as a new account
        error = re.search(r'<p class="error"[^>]*>(.*?)</p>', answer.text, re.S)
        assert error, answer.text
        answers[what] = error.group(1).strip()
        assert "已被使用" not in answer.text and "注册过了" not in answer.text
    assert len(set(answers.values())) == 1, answers
    assert "这个用户名或手机号不能用来注册" in answers["username"]
    # checks that do not look at accounts still come first, with their own sentences
    short = sign_up(TestClient(client.app), password="short", password_again="short")
    assert "密码至少 8 位" in short.text
    # 1 sign-up and 4 refusals from this address: the next attempt is throttled
    assert sign_up(TestClient(client.app), username="another_one").status_code == 429


def test_redeeming_codes_on_the_account_page(runtime, client):
    with runtime.db.transaction() as session:
        month = plans(runtime.publisher_settings())["month"]
        fresh, used = generate_batch(session, month, 2, "web-test", "wechat", None, actor="test")
    sign_up(client)
    csrf = client.cookies[CSRF_COOKIE]

    def redeem(code: str, next: str = ""):
        form = {"code": code, "csrf_token": csrf, "next": next}
        return client.post("/account/redeem", data=form, follow_redirects=False)

    done = redeem(format_code(fresh))
    # Back where the member came from (the account page by default), told it worked.
    assert done.status_code == 303 and done.headers["location"] == "/account?redeemed=1"
    page = client.get(done.headers["location"]).text
    # It says what was redeemed: the plan and the new end on the publisher's date.
    assert f"兑换成功：{month.name}，会员有效期至" in page and "身份：会员" in page
    assert re.search(r"会员有效期至 \d{4}-\d\d-\d\d", page)
    # The member's own retry (the first answer lost to a crash) is told the same success.
    again = redeem(format_code(fresh), next="/materials/1")
    assert again.status_code == 303 and again.headers["location"] == "/materials/1?redeemed=1"
    assert (
        redeem(format_code(fresh), next="https://evil.example/").headers["location"].startswith("/")
    )
    typo = format_code(used)
    # Another check character (codes are read case-insensitively: "a" for "A" is no typo).
    typo = typo[:-1] + next(c for c in "ABC" if c != typo[-1].upper())
    refused = redeem(typo, next="/materials/1")
    # Refused in place: the box again, the code as typed, the way back kept.
    assert refused.status_code == 400 and "卡密有误" in refused.text
    assert f'value="{typo}"' in refused.text and 'value="/materials/1"' in refused.text
    assert "卡密格式不正确" in redeem("hello").text
    assert redeem(format_code(used)).status_code == 303  # a mistake costs nothing


def test_devices_can_be_signed_out_and_downloads_are_listed(runtime, client):
    sign_up(client)
    with runtime.db.transaction() as session:
        from datetime import timedelta

        from wenxing.db.base import utcnow
        from wenxing.members.models import Member
        from wenxing.members.subscriptions import grant

        member = session.query(Member).filter_by(username="liming").one()
        grant(
            session,
            member.id,
            plans(runtime.publisher_settings())["month"],
            actor="test",
            reason="test",
            now=utcnow() - timedelta(minutes=1),
        )
    phone = TestClient(client.app)
    phone.get("/signin")
    phone.post(
        "/signin",
        data={
            "identifier": "liming",
            "password": PASSWORD,
            "csrf_token": phone.cookies[CSRF_COOKIE],
        },
        headers={"user-agent": "Mozilla/5.0 (iPhone) MicroMessenger/8.0"},
    )
    assert client.get("/materials/1/download/docx").status_code == 200
    page = client.get("/account")
    assert "在全区重点工作推进会上的讲话" in page.text and "docx" in page.text
    device = re.search(r"/account/devices/([0-9a-f]{64})/signout", page.text).group(1)
    ended = client.post(
        f"/account/devices/{device}/signout",
        data={"csrf_token": client.cookies[CSRF_COOKIE]},
        follow_redirects=False,
    )
    assert ended.status_code == 303
    assert "已让这台设备退出登录" in client.get("/account?notice=device").text
    assert phone.get("/account", follow_redirects=False).status_code == 303  # signed out


def test_the_search_page(client):
    page = client.get("/search", params={"q": "乡村振兴"})
    assert page.status_code == 200
    assert "在全区重点工作推进会上的讲话" in page.text
    # A visitor is told where the words are (the material, its sections' headings), and
    # given none of the body around them (issue 17).
    assert "<mark>" not in page.text and "开通会员后可查看匹配处的原文" in page.text
    assert client.get("/search").status_code == 200
    refused = client.get("/search", params={"q": "-旅游"})
    assert refused.status_code == 400 and "请至少输入一个要查找的词" in refused.text
    hostile = client.get("/search", params={"q": "<script>alert(1)</script>"})
    assert hostile.status_code == 200 and "<script>alert(1)</script>" not in hostile.text


def test_guessing_passwords_and_mass_sign_ups_are_slowed_down(client):
    sign_up(client)
    guesser = TestClient(client.app)
    token = _csrf(guesser, "/signin")
    for attempt in range(10):
        wrong = guesser.post(
            "/signin",
            data={"identifier": "liming", "password": f"guess{attempt}x", "csrf_token": token},
        )
        assert wrong.status_code == 400
    stopped = guesser.post(
        "/signin", data={"identifier": "liming", "password": PASSWORD, "csrf_token": token}
    )
    assert stopped.status_code == 429 and "尝试次数过多" in stopped.text
    for n in range(4):  # five sign-ups an hour from one address (one was made above)
        assert sign_up(TestClient(client.app), username=f"user{n}x").status_code == 303
    refused = sign_up(TestClient(client.app), username="onemore")
    assert refused.status_code == 429 and "注册太频繁" in refused.text
