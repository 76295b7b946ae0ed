"""The JSON API through the real app: sessions (tokens), the account, redeeming codes,
categories, CSRF on cookie calls, the OpenAPI document."""

from __future__ import annotations

import re

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.helpers import PASSWORD, account, import_sample
from wenxing import audit
from wenxing.delivery.docx import DocxFormat
from wenxing.delivery.issue import FORMATS
from wenxing.delivery.render import TxtFormat
from wenxing.materials.models import Material
from wenxing.members import accounts
from wenxing.members.codes import format_code
from wenxing.members.models import AccountSession
from wenxing.members.redemption import generate_batch
from wenxing.members.subscriptions import plans
from wenxing.settings import change as change_setting
from wenxing.web.app import create_app
from wenxing.web.auth import CSRF_COOKIE, SESSION_COOKIE


@pytest.fixture
def site(runtime):
    import_sample(runtime)
    publisher = runtime.publisher_settings()
    with runtime.db.transaction() as session:
        free = account(session, publisher, "李明", subscribed=False, username="liming")
        paid = account(session, publisher, "王芳", subscribed=True, phone="13800138000")
        session.get(Material, 1).category = "讲话"
        numbers = {"free": free.number, "paid": paid.number}
    return TestClient(create_app(runtime)), numbers


def token_for(client: TestClient, identifier: str, password: str = PASSWORD) -> str:
    response = client.post("/api/v1/session", json={"identifier": identifier, "password": password})
    assert response.status_code == 201, response.text
    return response.json()["token"]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def cookie_client(app, identifier: str) -> TestClient:
    client = TestClient(app)
    client.get("/signin")
    signed = client.post(
        "/signin",
        data={
            "identifier": identifier,
            "password": PASSWORD,
            "csrf_token": client.cookies[CSRF_COOKIE],
        },
        follow_redirects=False,
    )
    assert signed.status_code == 303
    return client


def test_a_token_by_member_number_phone_or_username(site):
    client, numbers = site
    made = client.post(
        "/api/v1/session", json={"identifier": numbers["paid"].lower(), "password": PASSWORD}
    )
    assert made.status_code == 201
    body = made.json()
    assert body["number"] == numbers["paid"] and body["token_type"] == "bearer"
    assert body["name"] == "王芳" and body["ended_devices"] == 0
    assert SESSION_COOKIE not in made.cookies  # a script's token, not a browser session
    for identifier, number in (("13800138000", "paid"), ("LiMing", "free")):
        token = token_for(client, identifier)
        me = client.get("/api/v1/account", headers=bearer(token))
        assert me.status_code == 200 and me.json()["number"] == numbers[number]
    # The site's form takes a member number too.
    assert cookie_client(client.app, numbers["free"]).get("/account").status_code == 200


def test_wrong_passwords_are_refused_in_chinese_and_share_the_sites_limit(runtime, site):
    client, _numbers = site
    wrong = client.post("/api/v1/session", json={"identifier": "liming", "password": "nope1234"})
    assert wrong.status_code == 401
    assert wrong.json() == {"error": "会员号、手机号、用户名或密码不正确"}
    unknown = client.post("/api/v1/session", json={"identifier": "WX-99999", "password": "x"})
    assert unknown.status_code == 401
    assert client.post("/api/v1/session", json={"identifier": "liming"}).json() == {
        "error": "请求参数有误"
    }
    # Nine more failures, on the site's form this time: ten from this address.
    site_form = TestClient(client.app)
    site_form.get("/signin")
    for attempt in range(8):
        refused = site_form.post(
            "/signin",
            data={
                "identifier": "liming",
                "password": f"guess{attempt}x",
                "csrf_token": site_form.cookies[CSRF_COOKIE],
            },
        )
        assert refused.status_code == 400
    with runtime.db.reading() as session:
        failures = session.scalar(
            select(func.count())
            .select_from(audit.AuditEvent)
            .where(audit.AuditEvent.type == audit.MEMBER_SIGN_IN_FAILED)
        )
    assert failures == 10
    stopped = client.post("/api/v1/session", json={"identifier": "liming", "password": PASSWORD})
    assert stopped.status_code == 429 and stopped.json() == {
        "error": "尝试次数过多，请 15 分钟后再试"
    }
    assert stopped.headers["retry-after"] == "900"
    # ... and the site's form is stopped by the API's failures alike.
    form = site_form.post(
        "/signin",
        data={
            "identifier": "liming",
            "password": PASSWORD,
            "csrf_token": site_form.cookies[CSRF_COOKIE],
        },
    )
    assert form.status_code == 429


def test_deleting_the_session_signs_out_only_that_token(runtime, site):
    client, _numbers = site
    first, second = token_for(client, "liming"), token_for(client, "liming")
    assert client.delete("/api/v1/session").status_code == 401
    ended = client.delete("/api/v1/session", headers=bearer(first))
    assert ended.status_code == 204 and ended.content == b""
    gone = client.get("/api/v1/account", headers=bearer(first))
    assert gone.status_code == 401 and gone.json() == {"error": "请先登录"}
    assert gone.headers["www-authenticate"] == "Bearer"
    assert client.get("/api/v1/account", headers=bearer(second)).status_code == 200
    with runtime.db.reading() as session:
        row = session.get(AccountSession, accounts.token_id(first))
        assert row.ended_at is not None
    assert client.delete("/api/v1/session", headers=bearer(first)).status_code == 401


def test_the_account_shows_membership_plan_devices_and_downloads(runtime, site):
    client, numbers = site
    token = token_for(client, "13800138000")
    phone = cookie_client(client.app, "13800138000")
    assert phone.get("/materials/1/download/docx").status_code == 200
    me = client.get("/api/v1/account", headers=bearer(token)).json()
    assert me["number"] == numbers["paid"] and me["role"] == "member"
    assert me["role_name"] == "会员" and me["suspended_reason"] is None
    membership = me["membership"]
    assert membership["state"] == "active"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", membership["ends_at"])
    assert membership["plan"] == {"code": "month", "name": "月卡", "months": 1, "daily_quota": 20}
    assert me["daily_quota"] == 20
    assert len(me["devices"]) == 2
    assert [d["this"] for d in me["devices"]].count(True) == 1
    this = next(d for d in me["devices"] if d["this"])
    assert this["id"] == accounts.token_id(token)
    assert [(d["material_id"], d["format"]) for d in me["downloads"]] == [(1, "docx")]
    assert me["downloads"][0]["title"] == "在全区重点工作推进会上的讲话"
    free = client.get("/api/v1/account", headers=bearer(token_for(client, "liming"))).json()
    assert free["role"] == "free" and free["membership"] == {
        "state": "none",
        "ends_at": None,
        "plan": None,
    }
    assert free["daily_quota"] == 0 and free["downloads"] == []


def _codes(runtime, count: int) -> list[str]:
    with runtime.db.transaction() as session:
        month = plans(runtime.publisher_settings())["month"]
        made = generate_batch(session, month, count, "api-test", "wechat", None, actor="test")
    return [format_code(code) for code in made]


def test_redeeming_with_a_token_uses_the_sites_rules_and_messages(runtime, site):
    client, _numbers = site
    fresh, other = _codes(runtime, 2)
    headers = bearer(token_for(client, "liming"))
    done = client.post("/api/v1/account/redeem", json={"code": fresh}, headers=headers)
    assert done.status_code == 200
    body = done.json()
    assert body["plan"] == "month" and body["plan_name"] == "月卡"
    assert re.fullmatch(r"兑换成功：月卡，会员有效期至 \d{4}年\d\d月\d\d日。", body["message"])
    me = client.get("/api/v1/account", headers=headers).json()
    assert me["role"] == "member" and me["membership"]["ends_at"] == body["ends_at"]
    again = client.post("/api/v1/account/redeem", json={"code": fresh}, headers=headers)
    # A retry by the member who redeemed it (an answer lost to a crash): the same period.
    assert again.status_code == 200 and again.json()["ends_at"] == body["ends_at"]
    typo = other[:-1] + next(c for c in "ABC" if c != other[-1].upper())  # no case-only change
    mistyped = client.post("/api/v1/account/redeem", json={"code": typo}, headers=headers)
    assert mistyped.json() == {"error": "卡密有误：请检查是否输错了某个字符"}
    malformed = client.post("/api/v1/account/redeem", json={"code": "hello"}, headers=headers)
    assert malformed.json() == {"error": "卡密格式不正确，请按 xxxx-xxxx-xxxx-xxxx-x 输入"}
    assert client.post("/api/v1/account/redeem", json={"code": other}).status_code == 401


def test_redemption_failures_count_across_the_site_and_the_api(runtime, site):
    client, _numbers = site
    with runtime.db.transaction() as session:
        change_setting(session, "redeem_failures_per_hour", 3, actor="publisher:test")
    (good,) = _codes(runtime, 1)
    browser = cookie_client(client.app, "liming")
    for _ in range(2):
        page = browser.post(
            "/account/redeem",
            data={"code": "hello", "csrf_token": browser.cookies[CSRF_COOKIE]},
        )
        assert page.status_code == 400
    headers = bearer(token_for(client, "liming"))
    third = client.post("/api/v1/account/redeem", json={"code": "nope"}, headers=headers)
    assert third.status_code == 400
    stopped = client.post("/api/v1/account/redeem", json={"code": good}, headers=headers)
    assert stopped.status_code == 429 and stopped.json() == {
        "error": "尝试次数过多，请一小时后再试"
    }
    page = browser.post(
        "/account/redeem", data={"code": good, "csrf_token": browser.cookies[CSRF_COOKIE]}
    )
    assert "尝试次数过多" in page.text  # the site is stopped by the API's failure too


def test_cookie_calls_that_change_something_need_the_csrf_header(runtime, site):
    client, _numbers = site
    (code,) = _codes(runtime, 1)
    browser = cookie_client(client.app, "liming")
    token = browser.cookies[CSRF_COOKIE]
    assert browser.get("/api/v1/account").status_code == 200  # reading needs no header
    forged = browser.post("/api/v1/account/redeem", json={"code": code})
    assert forged.status_code == 403 and forged.json() == {"error": "页面已过期，请刷新后重试"}
    wrong = browser.post(
        "/api/v1/account/redeem", json={"code": code}, headers={"X-CSRF-Token": "guess"}
    )
    assert wrong.status_code == 403
    assert browser.delete("/api/v1/session").status_code == 403
    with runtime.db.reading() as session:  # nothing was redeemed
        assert "code:redeem" not in session.scalars(select(audit.AuditEvent.type)).all()
    done = browser.post(
        "/api/v1/account/redeem", json={"code": code}, headers={"X-CSRF-Token": token}
    )
    assert done.status_code == 200
    out = browser.delete("/api/v1/session", headers={"X-CSRF-Token": token})
    assert out.status_code == 204
    assert browser.get("/account", follow_redirects=False).status_code == 303  # signed out
    # A bearer token needs no CSRF header, even with a stale cookie beside it.
    script = TestClient(client.app, cookies={CSRF_COOKIE: "x"})
    headers = bearer(token_for(client, "liming"))
    assert script.delete("/api/v1/session", headers=headers).status_code == 204


def test_categories(runtime, site):
    client, _numbers = site
    assert client.get("/api/v1/categories").json() == {"categories": [{"name": "讲话", "count": 1}]}
    with runtime.db.transaction() as session:
        session.get(Material, 1).status = "draft"
    assert client.get("/api/v1/categories").json() == {"categories": []}


def test_the_openapi_document_describes_the_api(site):
    client, _numbers = site
    document = client.get("/api/v1/openapi.json").json()
    paths = document["paths"]
    for path, method, model in (
        ("/api/v1/session", "post", "SessionOut"),
        ("/api/v1/account", "get", "AccountOut"),
        ("/api/v1/account/redeem", "post", "RedeemOut"),
        ("/api/v1/categories", "get", "CategoriesOut"),
    ):
        operation = paths[path][method]
        assert operation["summary"] and operation["description"]
        ok = next(v for k, v in operation["responses"].items() if k.startswith("2"))
        assert ok["content"]["application/json"]["schema"]["$ref"].endswith("/" + model)
        assert "422" not in operation["responses"]
    assert paths["/api/v1/session"]["delete"]["responses"]["204"]
    redeem = paths["/api/v1/account/redeem"]["post"]
    for status in ("400", "401", "403", "429"):
        schema = redeem["responses"][status]["content"]["application/json"]["schema"]
        assert schema["$ref"].endswith("/ErrorBody")
    assert {"token", "cookie"} <= set(document["components"]["securitySchemes"])
    assert {"token": []} in redeem["security"]
    assert any(p["name"] == "X-CSRF-Token" for p in redeem["parameters"])
    assert "/categories" not in paths and "/console/settings" not in paths  # pages, not API


HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")

# Every operation the API has, with its success status and the model (or media types) of
# what it returns. The OpenAPI document must describe exactly these and nothing else.
API_OPERATIONS = {
    ("post", "/api/v1/session"): ("201", "SessionOut"),
    ("delete", "/api/v1/session"): ("204", None),
    ("get", "/api/v1/account"): ("200", "AccountOut"),
    ("post", "/api/v1/account/redeem"): ("200", "RedeemOut"),
    ("get", "/api/v1/categories"): ("200", "CategoriesOut"),
    ("get", "/api/v1/materials"): ("200", "MaterialsOut"),
    ("get", "/api/v1/materials/{material_id}"): ("200", "MaterialOut"),
    ("get", "/api/v1/materials/{material_id}/copy"): ("200", FORMATS),
    ("get", "/api/v1/search"): ("200", "SearchOut"),
    ("post", "/api/v1/reports"): ("201", "ReportCreatedOut"),
    ("post", "/api/v1/reports/{receipt}/status"): ("200", "ReportStatusOut"),
    ("get", "/api/v1/notifications"): ("200", "NotificationsOut"),
    ("post", "/api/v1/notifications/read"): ("200", "MarkReadOut"),
    ("get", "/api/v1/requests"): ("200", "RequestsOut"),
    ("post", "/api/v1/requests"): ("201", "RequestOut"),
    ("post", "/api/v1/requests/{request_id}/support"): ("200", "SupportOut"),
    ("delete", "/api/v1/requests/{request_id}/support"): ("200", "SupportOut"),
    ("get", "/api/v1/basket"): ("200", "BasketOut"),
    ("post", "/api/v1/basket"): ("200", "BasketOut"),
    ("delete", "/api/v1/basket/{piece_id}"): ("200", "BasketOut"),
    ("get", "/api/v1/drafts"): ("200", "DraftsOut"),
    ("post", "/api/v1/drafts"): ("201", "DraftOut"),
    ("post", "/api/v1/drafts/{draft_id}/export"): (
        "200",
        {"docx": DocxFormat(), "txt": TxtFormat()},
    ),
}
SIGNED_IN = {  # operations that need an account: a bearer token or the cookie
    ("delete", "/api/v1/session"),
    ("get", "/api/v1/account"),
    ("post", "/api/v1/account/redeem"),
    ("get", "/api/v1/materials/{material_id}/copy"),
    ("get", "/api/v1/notifications"),
    ("post", "/api/v1/notifications/read"),
    ("post", "/api/v1/requests"),
    ("post", "/api/v1/requests/{request_id}/support"),
    ("delete", "/api/v1/requests/{request_id}/support"),
    ("get", "/api/v1/basket"),
    ("post", "/api/v1/basket"),
    ("delete", "/api/v1/basket/{piece_id}"),
    ("get", "/api/v1/drafts"),
    ("post", "/api/v1/drafts"),
    ("post", "/api/v1/drafts/{draft_id}/export"),
}


def _app_routes(routes, prefix: str = ""):
    """(path, route) of every route, through routers included with ``include_router``."""
    for route in routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:
            yield from _app_routes(inner.routes, prefix + route.include_context.prefix)
        elif isinstance(route, APIRoute):
            yield prefix + route.path, route


def test_the_openapi_document_holds_the_api_and_no_page(site):
    client, _numbers = site
    document = client.get("/api/v1/openapi.json").json()
    documented = {(m, path) for path, ops in document["paths"].items() for m in ops}
    assert documented == set(API_OPERATIONS)
    # The app's routes agree: every /api/v1 route is documented, every page is hidden.
    routes = list(_app_routes(client.app.routes))
    assert {(m.lower(), path) for path, r in routes if r.include_in_schema for m in r.methods} == (
        documented
    )
    pages = {path for path, _route in routes if not path.startswith("/api/v1/")}
    assert {"/", "/materials/{material_id}", "/signin", "/account", "/search"} <= pages
    assert {"/console", "/console/materials", "/console/settings", "/categories"} <= pages
    assert not pages & set(document["paths"])
    assert not [p for p in document["paths"] if not p.startswith("/api/v1/")]

    schemes = document["components"]["securitySchemes"]
    assert schemes["token"] == {
        "type": "http",
        "scheme": "bearer",
        "description": schemes["token"]["description"],
    }
    assert (schemes["cookie"]["in"], schemes["cookie"]["name"]) == ("cookie", SESSION_COOKIE)
    models = document["components"]["schemas"]
    for (method, path), (status, returns) in API_OPERATIONS.items():
        operation = document["paths"][path][method]
        where = f"{method.upper()} {path}"
        assert operation["summary"] and operation["description"], where
        assert not HAN.search(operation["summary"]), where  # English (descriptions may gloss)
        assert "422" not in operation["responses"], where
        ok = operation["responses"][status]
        if returns is None:
            assert "content" not in ok, where
        elif isinstance(returns, str):
            ref = ok["content"]["application/json"]["schema"]["$ref"]
            assert ref == f"#/components/schemas/{returns}", where
            assert models[returns]["properties"], where
        else:  # a file: one media type per format
            media = {form.media_type.split(";")[0] for form in returns.values()}
            assert set(ok["content"]) == media, where
            assert all(c["schema"]["format"] == "binary" for c in ok["content"].values())
        for code, response in operation["responses"].items():
            if code.startswith("4"):
                schema = response["content"]["application/json"]["schema"]
                assert schema["$ref"].endswith("/ErrorBody"), f"{where} {code}"
        security = operation.get("security", [])
        if (method, path) in SIGNED_IN:
            assert security == [{"token": []}, {"cookie": []}], where
            assert "401" in operation["responses"], where
        elif path == "/api/v1/search" or path.startswith("/api/v1/reports"):
            assert security == [{"token": []}, {"cookie": []}, {}], where  # optional
    # The fields the routes answer with are the ones documented.
    listing = client.get("/api/v1/materials").json()
    assert set(listing) == set(models["MaterialsOut"]["properties"])
    assert set(listing["materials"][0]) == set(models["MaterialSummaryOut"]["properties"])
    material = client.get("/api/v1/materials/1").json()
    assert set(material) == set(models["MaterialOut"]["properties"])
    assert set(material["outline"][0]) == set(models["OutlineNodeOut"]["properties"])
    found = client.get("/api/v1/search", params={"q": "乡村振兴"}).json()
    assert set(found) == set(models["SearchOut"]["properties"])
    assert set(found["hits"][0]) == set(models["SearchHitOut"]["properties"])
    copy = document["paths"]["/api/v1/materials/{material_id}/copy"]["get"]
    assert {"400", "401", "403", "404"} <= set(copy["responses"])
    assert {"400", "429"} <= set(document["paths"]["/api/v1/search"]["get"]["responses"])
