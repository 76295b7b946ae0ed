"""Coded errors reach people through the real app in their language, with the sentences
the site showed before the codes (when it matched English exception text), while the
English of the same errors stays what the CLI prints; on SQLite and PostgreSQL."""

from __future__ import annotations

import html

import pytest
from fastapi.testclient import TestClient

from tests.helpers import SAMPLE, account, signed_in
from wenxing.errors import DomainError
from wenxing.web.app import create_app
from wenxing.web.auth import CSRF_COOKIE
from wenxing.web.error_messages import user_message


@pytest.fixture
def site(runtime):
    publisher = runtime.publisher_settings()
    with runtime.db.transaction() as session:
        for username, role in (("boss", "admin"), ("writer", "editor")):
            account(session, publisher, username, subscribed=False, username=username).role = role
    app = create_app(runtime)
    return app, {u: signed_in(app, u) for u in ("boss", "writer")}


def _post(client: TestClient, path: str, data: dict, **kwargs):
    return client.post(path, data={**data, "csrf_token": client.cookies[CSRF_COOKIE]}, **kwargs)


@pytest.mark.parametrize(
    ("name", "value", "before"),
    [
        ("timezone", "Mars/Base", "没有这个时区，请填写如 Asia/Shanghai 的时区名。"),
        ("max_sessions", "two", "请填写整数。"),
        ("max_sessions", "0", "至少为 1。"),
        ("marking_strength", "loud", "只能是 off、light、strong 之一。"),
        ("extra_promo_patterns", '["(a"]', "'(a' 不是正确的正则表达式（"),
        ("plans", '[{"code": "x"}]', "第 1 个套餐缺少 archive_months, daily_quota, months, name。"),
        ("wording_variants", "甲乙 | 丙丁\n甲乙 | 戊己", "第 2 行：“甲乙”已经在第 1 行的组里了。"),
        ("masthead", '["{oops}"]', "第 1 行：花括号里只能是 {member_group} 或 {free_group}。"),
    ],
)
def test_a_refused_setting_is_explained_as_before(site, name, value, before):
    _app, clients = site
    refused = _post(clients["boss"], f"/console/settings/{name}", {"value": value})
    assert refused.status_code == 400
    assert before in html.unescape(refused.text)


@pytest.mark.parametrize(
    ("fields", "before"),
    [
        ({"password": "short", "password_again": "short"}, "密码至少 8 位"),
        ({"username": "", "phone": ""}, "请填写手机号或用户名"),
        ({"phone": "12345", "username": ""}, "手机号格式不正确"),
        ({"name": ""}, "请填写称呼"),
    ],
)
def test_a_refused_sign_up_is_explained_as_before(runtime, fields, before):
    client = TestClient(create_app(runtime))
    client.get("/signup")
    form = {
        "name": "李明",
        "phone": "",
        "username": "liming",
        "password": "a-long-password",
        "password_again": "a-long-password",
        "agree": "1",
        **fields,
    }
    refused = _post(client, "/signup", form, follow_redirects=False)
    assert refused.status_code == 400
    assert before in refused.text


def test_import_reasons_and_redemption_refusals_read_as_before(runtime, site):
    _app, clients = site
    editor = clients["writer"]
    files = [
        ("files", ("讲话.txt", SAMPLE.read_bytes(), "text/plain")),
        ("files", ("again.txt", SAMPLE.read_bytes(), "text/plain")),
        ("files", ("空.txt", b"", "text/plain")),
        ("files", ("图.xyz", b"\x00" * 64, "application/octet-stream")),
    ]
    done = _post(editor, "/console/materials/upload", {"category": "讲话"}, files=files)
    assert done.status_code == 200
    page = html.unescape(done.text)
    assert "已导入过：材料 1 第 1 版" in page
    assert "文件是空的" in page
    assert "不支持 .xyz 文件" in page
    assert "empty file" not in page and "already imported" not in page

    member = TestClient(editor.app)
    member.get("/signup")
    form = {"name": "王芳", "username": "wangfang", "password": "a-long-password", "agree": "1"}
    _post(member, "/signup", {**form, "password_again": form["password"]})
    redeemed = _post(member, "/account/redeem", {"code": "2RMB-WN0P-6Y41-79VK-W"})
    assert "没有这个卡密" in redeemed.text


def test_a_suspension_without_a_reason_is_explained(site):
    _app, clients = site
    refused = _post(clients["boss"], "/console/members/WX-10002/suspend", {})
    assert refused.status_code == 400 and "请填写暂停原因" in refused.text


def test_the_cli_keeps_the_english_and_the_site_the_chinese_of_one_error():
    error = DomainError("import.same_bytes", id=3, version=2)
    assert str(error) == "already imported as material 3 version 2"
    assert user_message(error) == "已导入过：材料 3 第 2 版"
