"""The publisher's console: who may enter, uploading, editing, publishing, codes, dashboard."""

from __future__ import annotations

import csv
import io

import pytest
from fastapi.testclient import TestClient

from tests.helpers import SAMPLE, account, signed_in
from wenxing.web.app import create_app
from wenxing.web.auth import CSRF_COOKIE


@pytest.fixture
def site(runtime):
    publisher = runtime.publisher_settings()
    with runtime.db.transaction() as session:
        for username, role in (("boss", "admin"), ("writer", "editor"), ("reader", "user")):
            account(
                session, publisher, username, subscribed=role == "user", username=username
            ).role = role
    app = create_app(runtime)
    return app, {u: signed_in(app, u) for u in ("boss", "writer", "reader")}


def test_only_staff_enter_and_only_admins_make_codes(site):
    app, clients = site
    visitor = TestClient(app).get("/console", follow_redirects=False)
    assert visitor.status_code == 303 and visitor.headers["location"] == "/signin?next=/console"
    assert clients["reader"].get("/console").status_code == 403
    assert "没有权限" in clients["reader"].get("/console/materials").text
    assert clients["writer"].get("/console").status_code == 200
    assert clients["writer"].get("/console/codes").status_code == 403
    assert clients["boss"].get("/console/codes").status_code == 200


def test_upload_a_folder_publish_and_edit(runtime, site):
    _app, clients = site
    editor = clients["writer"]
    csrf = editor.cookies[CSRF_COOKIE]
    files = [
        ("files", ("2024/讲话.txt", SAMPLE.read_bytes(), "text/plain")),
        ("files", ("2024/图片.txt", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "text/plain")),
    ]
    done = editor.post(
        "/console/materials/upload", data={"csrf_token": csrf, "category": "讲话"}, files=files
    )
    assert done.status_code == 200
    assert "导入 1 份" in done.text and "失败 1 份" in done.text and "图片.txt" in done.text
    listing = editor.get("/console/materials").text
    assert "在全区重点工作推进会上的讲话" in listing and "草稿" in listing
    assert editor.post("/console/materials/1/publish", data={"csrf_token": csrf}).status_code == 200
    assert "已发布" in editor.get("/console/materials").text
    assert "在全区重点工作推进会上的讲话" in TestClient(editor.app).get("/").text
    edited = editor.post(
        "/console/materials/1",
        data={
            "csrf_token": csrf,
            "title": "在全区重点工作推进会上的讲话（定稿）",
            "kind": "讲话",
            "category": "讲话",
            "tags": "推进会，年中",
        },
    )
    assert edited.status_code == 200 and "（定稿）" in edited.text
    found = TestClient(editor.app).get("/api/v1/search", params={"q": "tag:年中"}).json()
    assert found["hits"][0]["title"] == "在全区重点工作推进会上的讲话（定稿）"
    bad = editor.post(
        "/console/materials/1", data={"csrf_token": csrf, "title": "", "kind": "讲话"}
    )
    assert bad.status_code == 400 and "标题不能为空" in bad.text
    forged = editor.post("/console/materials/1/unpublish", data={"csrf_token": "x"})
    assert forged.status_code == 403


def test_generate_and_export_codes_then_see_the_dashboard(runtime, site):
    _app, clients = site
    admin = clients["boss"]
    csrf = admin.cookies[CSRF_COOKIE]
    made = admin.post(
        "/console/codes",
        data={
            "csrf_token": csrf,
            "plan": "year",
            "count": "5",
            "label": "2026-11 微信",
            "channel": "微信",
        },
    )
    assert made.status_code == 200 and "批次“2026-11 微信”已生成" in made.text
    again = admin.post(
        "/console/codes",
        data={"csrf_token": csrf, "plan": "year", "count": "5", "label": "2026-11 微信"},
    )
    assert again.status_code == 400 and "已经用过了" in again.text
    exported = admin.get("/console/codes/2026-11%20微信.csv")
    assert exported.status_code == 200 and exported.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert len(rows) == 6  # a header and five codes
    dashboard = admin.get("/console").text
    assert "会员账户 <strong>3</strong>" in dashboard and "<svg" in dashboard


def test_admins_find_members_grant_suspend_reinstate_and_read_the_audit_log(runtime, site):
    _app, clients = site
    admin = clients["boss"]
    csrf = admin.cookies[CSRF_COOKIE]
    listing = admin.get("/console/members", params={"q": "reader"}).text
    assert "/console/members/WX-10003" in listing and "/console/members/WX-10001" not in listing
    page = admin.get("/console/members/WX-10003").text
    assert "身份：会员" in page
    granted = admin.post(
        "/console/members/WX-10003/grant",
        data={"csrf_token": csrf, "plan": "year", "reason": "举报奖励"},
    )
    assert granted.status_code == 200 and "会员有效期至" in granted.text
    assert (
        admin.post("/console/members/WX-10003/suspend", data={"csrf_token": csrf}).status_code
        == 400
    )
    suspended = admin.post(
        "/console/members/WX-10003/suspend", data={"csrf_token": csrf, "reason": "倒卖资料"}
    )
    assert "已暂停：倒卖资料" in suspended.text
    # The reader's devices were signed out with the suspension.
    assert clients["reader"].get("/account", follow_redirects=False).status_code == 303
    assert "恢复账号" in suspended.text
    admin.post("/console/members/WX-10003/reinstate", data={"csrf_token": csrf})
    log = admin.get("/console/audit", params={"subject": "WX-10003"}).text
    for event in ("subscription:grant", "member:suspend", "member:reinstate"):
        assert event in log
    assert clients["writer"].get("/console/members").status_code == 403


# Every form of the console, its settings and plans pages, with what it would change.
CONSOLE_FORMS = {
    "/console/materials/bulk": {"action": "publish", "ids": "1", "confirmed": "1"},
    "/console/materials/1": {"title": "改过的标题", "kind": "讲话"},
    "/console/materials/1/publish": {},
    "/console/members/bulk": {"action": "suspend", "numbers": "1", "confirmed": "1"},
    "/console/members/roster.csv": {},
    "/console/members/writer/reset-link": {},
    "/console/members/writer/suspend": {"reason": "测试"},
    "/console/codes": {"plan": "year", "count": "3", "label": "伪造的批次"},
    "/console/codes/revoke": {"batch": "伪造的批次", "confirmed": "1"},
    "/console/codes/expiry": {"batch": "伪造的批次", "day": "2030-01-01"},
    "/console/settings/brand": {"value": "伪造的品牌"},
    "/console/plans/year": {"price": "1"},
}


@pytest.mark.parametrize("path", sorted(CONSOLE_FORMS))
def test_a_console_form_without_its_token_is_refused_before_anything_is_done(runtime, site, path):
    app, clients = site
    before = clients["boss"].get("/console/audit").text.count("<tr")
    for token in ("", "forged"):
        data = {**CONSOLE_FORMS[path], "csrf_token": token}
        refused = clients["boss"].post(path, data=data, follow_redirects=False)
        assert refused.status_code == 403 and "页面已过期" in refused.text
    assert clients["boss"].get("/console/audit").text.count("<tr") == before
    assert runtime.publisher_settings().brand != "伪造的品牌"
    # Who may enter is decided first: a visitor is sent to sign in, a member is refused.
    visitor = TestClient(app).post(path, data=CONSOLE_FORMS[path], follow_redirects=False)
    assert visitor.status_code == 303 and visitor.headers["location"].startswith("/signin")
    member = clients["reader"].post(path, data=CONSOLE_FORMS[path])
    assert member.status_code == 403 and "没有权限" in member.text
