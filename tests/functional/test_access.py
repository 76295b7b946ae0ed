"""Who gets what: every route, every role, the documented status code (docs/web.md).

Roles: a visitor, a free user, a member, a member whose plan has ended, a suspended member,
an editor and an admin. Forms are posted with a valid CSRF token and empty fields, so the
answer shows whether the role got past the gate (400: the form was read and refused) or
not (303 to sign in, 403); API calls carry the token in the X-CSRF-Token header too. A
route missing from the table fails the test.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from tests.functional.test_route_walk import _routes
from tests.helpers import PASSWORD, account, import_sample
from wenxing.db.base import utcnow
from wenxing.live.models import DigestItem, LiveEvent
from wenxing.materials.models import Material
from wenxing.members.models import Member
from wenxing.members.subscriptions import grant, plans
from wenxing.reports import intake
from wenxing.web.app import create_app
from wenxing.web.auth import CSRF_COOKIE
from wenxing.web.console import admin

ROLES = ("visitor", "free", "member", "expired", "suspended", "editor", "admin")
ALL = dict.fromkeys(ROLES, 200)


def row(visitor, free, member, expired, suspended, editor, admin) -> dict[str, int]:
    return dict(zip(ROLES, (visitor, free, member, expired, suspended, editor, admin), strict=True))


READERS = row(303, 403, 200, 403, 403, 200, 200)
STAFF = row(303, 403, 403, 403, 403, 200, 200)
ADMIN = row(303, 403, 403, 403, 403, 403, 200)
SIGNED_IN = row(303, 200, 200, 200, 200, 200, 200)
# (method, path as requested, route template): status per role
TABLE = {
    ("GET", "/", "/"): ALL,
    ("GET", "/healthz", "/healthz"): ALL,
    ("GET", "/readyz", "/readyz"): ALL,
    # Only a scraper on the machine itself (the test client is not one): 404 for everyone.
    ("GET", "/metrics", "/metrics"): dict.fromkeys(ROLES, 404),
    ("GET", "/api/v1/openapi.json", "/api/v1/openapi.json"): ALL,
    ("GET", "/materials/1", "/materials/{material_id}"): ALL,
    ("GET", "/materials/1/read", "/materials/{material_id}/read"): READERS,
    ("GET", "/materials/1/download/docx", "/materials/{material_id}/download/{fmt}"): READERS,
    # The material page's buttons: POST with the CSRF token (read: then the reader page).
    ("POST", "/materials/1/read", "/materials/{material_id}/read"): dict.fromkeys(ROLES, 303),
    ("POST", "/materials/1/download/docx", "/materials/{material_id}/download/{fmt}"): READERS,
    # WeChat's single-use download links: made for readers (303 to the link), refused as
    # the paywall otherwise; an unknown link is gone (410) for everyone.
    ("POST", "/materials/1/link/docx", "/materials/{material_id}/link/{fmt}"): row(
        303, 403, 303, 403, 403, 303, 303
    ),
    ("GET", "/d/unknown", "/d/{token}"): dict.fromkeys(ROLES, 410),
    ("GET", "/pay/qr/" + "0" * 64, "/pay/qr/{digest}"): dict.fromkeys(ROLES, 404),
    ("GET", "/signin", "/signin"): ALL,
    ("GET", "/signup", "/signup"): ALL,
    ("GET", "/search?q=乡村振兴", "/search"): ALL,
    ("GET", "/account", "/account"): SIGNED_IN,
    # The reader's comforts (web/reading.py): 收藏, 最近阅读 and the remembered place. JSON
    # reports without the page's token are refused (403) before the caller is looked up.
    ("GET", "/account/favourites", "/account/favourites"): SIGNED_IN,
    ("GET", "/account/recent", "/account/recent"): SIGNED_IN,
    ("GET", "/reading/1", "/reading/{material_id}"): row(401, 200, 200, 200, 200, 200, 200),
    ("POST", "/reading/1/position", "/reading/{material_id}/position"): dict.fromkeys(ROLES, 403),
    ("POST", "/reading/1/favourite", "/reading/{material_id}/favourite"): dict.fromkeys(ROLES, 403),
    ("POST", "/materials/1/favourite", "/materials/{material_id}/favourite"): dict.fromkeys(
        ROLES, 303
    ),
    ("GET", "/terms", "/terms"): ALL,
    ("GET", "/privacy", "/privacy"): ALL,
    ("GET", "/favicon.ico", "/favicon.ico"): ALL,
    ("GET", "/apple-touch-icon.png", "/apple-touch-icon.png"): ALL,
    ("GET", "/apple-touch-icon-precomposed.png", "/apple-touch-icon-precomposed.png"): ALL,
    ("GET", "/api/v1/materials", "/api/v1/materials"): ALL,
    ("GET", "/api/v1/materials/1", "/api/v1/materials/{material_id}"): ALL,
    # By cookie without the page's X-CSRF-Token header: refused (tests/functional/test_egress.py
    # takes a copy with it, and test_web_delivery.py with a bearer token).
    ("GET", "/api/v1/materials/1/copy", "/api/v1/materials/{material_id}/copy"): row(
        401, 403, 403, 403, 403, 403, 403
    ),
    ("GET", "/api/v1/search?q=乡村振兴", "/api/v1/search"): ALL,
    ("GET", "/api/v1/categories", "/api/v1/categories"): ALL,
    ("GET", "/api/v1/account", "/api/v1/account"): row(401, 200, 200, 200, 200, 200, 200),
    ("GET", "/categories", "/categories"): ALL,
    ("GET", "/categories/讲话?page=1", "/categories/{name:path}"): ALL,
    ("GET", "/tags/两会", "/tags/{name:path}"): ALL,
    ("GET", "/published/1", "/published/{digest_id}"): ALL,
    ("GET", "/console/settings", "/console/settings"): ADMIN,
    ("GET", "/console/plans", "/console/plans"): ADMIN,
    ("POST", "/console/plans/nothing", "/console/plans/{code}"): row(
        303, 403, 403, 403, 403, 403, 404
    ),
    ("GET", "/console", "/console"): STAFF,
    ("GET", "/console/materials", "/console/materials"): STAFF,
    ("GET", "/console/materials/1", "/console/materials/{material_id}"): STAFF,
    ("GET", "/console/codes", "/console/codes"): ADMIN,
    ("GET", "/console/codes/none.csv", "/console/codes/{label}.csv"): row(
        303, 403, 403, 403, 403, 403, 404
    ),
    ("GET", "/console/members?q=WX", "/console/members"): ADMIN,
    ("GET", "/console/members/WX-10001", "/console/members/{number}"): ADMIN,
    ("GET", "/console/audit", "/console/audit"): ADMIN,
    ("GET", "/console/audit.csv", "/console/audit.csv"): ADMIN,
    ("GET", "/console/members.csv", "/console/members.csv"): ADMIN,
    ("GET", "/console/charts/signups.csv", "/console/charts/{key}.csv"): STAFF,
    # Bulk actions and revocations: an empty form is refused (400) once the role may act.
    ("POST", "/console/materials/bulk", "/console/materials/bulk"): row(
        303, 403, 403, 403, 403, 400, 400
    ),
    ("POST", "/console/members/bulk", "/console/members/bulk"): row(
        303, 403, 403, 403, 403, 403, 400
    ),
    ("POST", "/console/codes/revoke", "/console/codes/revoke"): row(
        303, 403, 403, 403, 403, 403, 400
    ),
    ("POST", "/console/codes/expiry", "/console/codes/expiry"): row(
        303, 403, 403, 403, 403, 403, 400
    ),
    ("POST", "/console/members/WX-10001/nothing", "/console/members/{number}/{action}"): row(
        303, 403, 403, 403, 403, 403, 404
    ),
    # Recovery (issue 22): the forms answer everyone; an empty form is refused (400), an
    # unknown link is gone; the console's reset link and roster export are for admins.
    ("GET", "/forgot", "/forgot"): ALL,
    ("POST", "/forgot", "/forgot"): ALL,  # the same answer whether or not the phone is known
    ("GET", "/reset", "/reset"): ALL,
    ("GET", "/claim", "/claim"): ALL,
    # 获取验证码 on the sign-up form: refused (400) when no SMS sender is set up
    ("POST", "/signup/code", "/signup/code"): dict.fromkeys(ROLES, 400),
    ("POST", "/reset", "/reset"): dict.fromkeys(ROLES, 400),
    ("GET", "/reset/" + "x" * 32, "/reset/{secret}"): dict.fromkeys(ROLES, 404),
    ("POST", "/reset/" + "x" * 32, "/reset/{secret}"): dict.fromkeys(ROLES, 404),
    ("POST", "/console/members/roster.csv", "/console/members/roster.csv"): row(
        303, 403, 403, 403, 403, 403, 200
    ),
    ("POST", "/console/members/WX-10001/reset-link", "/console/members/{number}/reset-link"): row(
        303, 403, 403, 403, 403, 403, 200
    ),
    ("POST", "/signin", "/signin"): dict.fromkeys(ROLES, 400),
    ("POST", "/signup", "/signup"): dict.fromkeys(ROLES, 400),
    ("POST", "/signout", "/signout"): dict.fromkeys(ROLES, 303),
    ("POST", "/account/redeem", "/account/redeem"): row(303, 400, 400, 400, 400, 400, 400),
    ("POST", "/account/devices/" + "0" * 64 + "/signout", "/account/devices/{device}/signout"): row(
        303, 404, 404, 404, 404, 404, 404
    ),
    (
        "POST",
        "/console/materials/1/versions/new",
        "/console/materials/{material_id}/versions/new",
    ): row(303, 403, 403, 403, 403, 400, 400),
    ("POST", "/console/materials/upload", "/console/materials/upload"): row(
        303, 403, 403, 403, 403, 400, 400
    ),
    ("POST", "/console/materials/1", "/console/materials/{material_id}"): row(
        303, 403, 403, 403, 403, 400, 400
    ),
    ("POST", "/console/materials/1/nothing", "/console/materials/{material_id}/{action}"): row(
        303, 403, 403, 403, 403, 404, 404
    ),
    ("POST", "/console/codes", "/console/codes"): row(303, 403, 403, 403, 403, 403, 400),
    ("POST", "/console/settings/max_sessions", "/console/settings/{name}"): row(
        303, 403, 403, 403, 403, 403, 400
    ),
    # Group robots: admins only; an empty form is refused (400), an unknown action is 404.
    ("GET", "/console/robots", "/console/robots"): ADMIN,
    ("POST", "/console/robots", "/console/robots"): row(303, 403, 403, 403, 403, 403, 400),
    ("POST", "/console/robots/1/nothing", "/console/robots/{robot_id}/{action}"): row(
        303, 403, 403, 403, 403, 403, 404
    ),
    # The API reads JSON: a form is refused (400) once the caller is known.
    ("POST", "/api/v1/session", "/api/v1/session"): dict.fromkeys(ROLES, 400),
    ("POST", "/api/v1/account/redeem", "/api/v1/account/redeem"): row(
        401, 400, 400, 400, 400, 400, 400
    ),
    ("DELETE", "/api/v1/session", "/api/v1/session"): row(401, 204, 204, 204, 204, 204, 204),
    # Reports: anyone may file one and open a receipt with its contact (an unknown receipt
    # asks for the contact like a real one); the console's reports are for staff.
    ("GET", "/report", "/report"): ALL,
    ("POST", "/report", "/report"): dict.fromkeys(ROLES, 400),
    ("POST", "/report/check", "/report/check"): dict.fromkeys(ROLES, 400),
    ("GET", "/report/JB-2222-2222-22", "/report/{receipt}"): ALL,
    ("POST", "/report/JB-2222-2222-22", "/report/{receipt}"): dict.fromkeys(ROLES, 400),
    ("POST", "/api/v1/reports", "/api/v1/reports"): dict.fromkeys(ROLES, 400),
    (
        "POST",
        "/api/v1/reports/JB-2222-2222-22/status",
        "/api/v1/reports/{receipt}/status",
    ): dict.fromkeys(ROLES, 400),
    # Feeds: the public one for everyone; a personal one by its secret URL alone (an unknown
    # secret is a 404 for everyone); any signed-in account may make (200, the page showing
    # the URL once) or stop (303 back to the account page) its own.
    ("GET", "/feeds/public.atom", "/feeds/public.atom"): ALL,
    ("GET", "/feeds/" + "A" * 43 + ".atom", "/feeds/{token}.atom"): dict.fromkeys(ROLES, 404),
    ("POST", "/account/feed", "/account/feed"): SIGNED_IN,
    ("POST", "/account/feed/stop", "/account/feed/stop"): dict.fromkeys(ROLES, 303),
    # The requests board: anyone reads it; members, editors and admins post and support
    # (request 999 does not exist: 404 once past the gate); editors answer in the console.
    ("GET", "/requests?tab=newest", "/requests"): ALL,
    ("GET", "/requests/999", "/requests/{request_id}"): row(404, 404, 404, 404, 404, 404, 404),
    ("POST", "/requests", "/requests"): row(303, 403, 400, 403, 403, 400, 400),
    ("POST", "/requests/999/support", "/requests/{request_id}/support"): row(
        303, 403, 404, 403, 403, 404, 404
    ),
    ("POST", "/requests/999/unsupport", "/requests/{request_id}/unsupport"): row(
        303, 403, 404, 403, 403, 404, 404
    ),
    ("GET", "/console/requests", "/console/requests"): STAFF,
    ("GET", "/console/requests/999", "/console/requests/{request_id}"): row(
        303, 403, 403, 403, 403, 404, 404
    ),
    ("POST", "/console/requests/999/fulfil", "/console/requests/{request_id}/fulfil"): row(
        303, 403, 403, 403, 403, 404, 404
    ),
    ("POST", "/console/requests/999/decline", "/console/requests/{request_id}/decline"): row(
        303, 403, 403, 403, 403, 404, 404
    ),
    ("GET", "/api/v1/requests", "/api/v1/requests"): ALL,
    ("POST", "/api/v1/requests", "/api/v1/requests"): row(401, 400, 400, 400, 400, 400, 400),
    ("POST", "/api/v1/requests/999/support", "/api/v1/requests/{request_id}/support"): row(
        401, 403, 404, 403, 403, 404, 404
    ),
    ("DELETE", "/api/v1/requests/999/support", "/api/v1/requests/{request_id}/support"): row(
        401, 403, 404, 403, 403, 404, 404
    ),
    ("GET", "/console/wording", "/console/wording"): STAFF,
    ("POST", "/console/wording/0/nothing", "/console/wording/{group}/{decision}"): row(
        303, 403, 403, 403, 403, 404, 404
    ),
    ("GET", "/console/wording/materials/1", "/console/wording/materials/{material_id}"): STAFF,
    ("POST", "/console/wording/materials/999", "/console/wording/materials/{material_id}"): row(
        303, 403, 403, 403, 403, 404, 404
    ),
    ("GET", "/console/reports", "/console/reports"): STAFF,
    ("GET", "/console/reports/1", "/console/reports/{report_id}"): STAFF,
    (
        "GET",
        "/console/reports/1/evidence/1",
        "/console/reports/{report_id}/evidence/{evidence_id}",
    ): STAFF,
    ("POST", "/console/reports/1/confirm", "/console/reports/{report_id}/confirm"): row(
        303, 403, 403, 403, 403, 400, 400
    ),
    ("POST", "/console/reports/1/reject", "/console/reports/{report_id}/reject"): row(
        303, 403, 403, 403, 403, 400, 400
    ),
    # Live: the event stream is open to everyone (visitors get public events); without the
    # app's hub (no lifespan here) it sends what was missed and ends.
    ("GET", "/events", "/events"): ALL,
    ("GET", "/account/notifications", "/account/notifications"): SIGNED_IN,
    ("POST", "/account/notifications/read", "/account/notifications/read"): dict.fromkeys(
        ROLES, 303
    ),
    (
        "POST",
        "/account/notifications/1/read",
        "/account/notifications/{notification_id}/read",
    ): dict.fromkeys(ROLES, 303),
    ("GET", "/api/v1/notifications", "/api/v1/notifications"): row(
        401, 200, 200, 200, 200, 200, 200
    ),
    ("POST", "/api/v1/notifications/read", "/api/v1/notifications/read"): row(
        401, 400, 400, 400, 400, 400, 400
    ),
    # 组稿: the basket and drafts are the account's own (an unknown draft or piece: 404 or
    # the empty form refused, 400; visitors are sent to sign in first). 相似段落 answers
    # everyone (visitors: headings only, no basket).
    ("GET", "/basket", "/basket"): SIGNED_IN,
    ("POST", "/basket", "/basket"): row(303, 400, 400, 400, 400, 400, 400),
    ("POST", "/basket/999/remove", "/basket/{piece_id}/remove"): (
        row(303, 400, 400, 400, 400, 400, 400)
    ),
    ("POST", "/basket/999/move", "/basket/{piece_id}/move"): (
        row(303, 400, 400, 400, 400, 400, 400)
    ),
    ("POST", "/drafts", "/drafts"): row(303, 400, 400, 400, 400, 400, 400),
    ("GET", "/drafts/999", "/drafts/{draft_id}"): row(303, 404, 404, 404, 404, 404, 404),
    ("POST", "/drafts/999/title", "/drafts/{draft_id}/title"): (
        row(303, 400, 400, 400, 400, 400, 400)
    ),
    ("POST", "/drafts/999/text", "/drafts/{draft_id}/text"): (
        row(303, 400, 400, 400, 400, 400, 400)
    ),
    ("POST", "/drafts/999/delete", "/drafts/{draft_id}/delete"): (
        row(303, 400, 400, 400, 400, 400, 400)
    ),
    ("POST", "/drafts/999/duplicate", "/drafts/{draft_id}/duplicate"): (
        row(303, 400, 400, 400, 400, 400, 400)
    ),
    ("POST", "/drafts/999/export/docx", "/drafts/{draft_id}/export/{fmt}"): (
        row(303, 400, 400, 400, 400, 400, 400)
    ),
    ("POST", "/drafts/999/parts/999/move", "/drafts/{draft_id}/parts/{part_id}/move"): (
        row(303, 400, 400, 400, 400, 400, 400)
    ),
    ("POST", "/drafts/999/parts/999/remove", "/drafts/{draft_id}/parts/{part_id}/remove"): (
        row(303, 400, 400, 400, 400, 400, 400)
    ),
    ("POST", "/drafts/999/parts/999/heading", "/drafts/{draft_id}/parts/{part_id}/heading"): (
        row(303, 400, 400, 400, 400, 400, 400)
    ),
    ("POST", "/drafts/999/parts/999/text", "/drafts/{draft_id}/parts/{part_id}/text"): (
        row(303, 400, 400, 400, 400, 400, 400)
    ),
    ("GET", "/account/drafts", "/account/drafts"): SIGNED_IN,
    ("GET", "/api/v1/basket", "/api/v1/basket"): row(401, 200, 200, 200, 200, 200, 200),
    ("POST", "/api/v1/basket", "/api/v1/basket"): row(401, 400, 400, 400, 400, 400, 400),
    ("DELETE", "/api/v1/basket/999", "/api/v1/basket/{piece_id}"): (
        row(401, 400, 400, 400, 400, 400, 400)
    ),
    ("GET", "/api/v1/drafts", "/api/v1/drafts"): row(401, 200, 200, 200, 200, 200, 200),
    ("POST", "/api/v1/drafts", "/api/v1/drafts"): row(401, 400, 400, 400, 400, 400, 400),
    ("POST", "/api/v1/drafts/999/export", "/api/v1/drafts/{draft_id}/export"): (
        row(401, 400, 400, 400, 400, 400, 400)
    ),
    ("GET", "/materials/1/similar?at=s1", "/materials/{material_id}/similar"): (
        dict.fromkeys(ROLES, 200)
    ),
    # QQ numbers: signed-in accounts link and unlink; the framework's event reports name a
    # robot (999: none, 404 for everyone, before any signature is looked at).
    ("POST", "/account/qq", "/account/qq"): row(303, 400, 400, 400, 400, 400, 400),
    ("POST", "/account/qq/unlink", "/account/qq/unlink"): dict.fromkeys(ROLES, 303),
    ("POST", "/qq/onebot/999/events", "/qq/onebot/{robot_id}/events"): dict.fromkeys(ROLES, 404),
    ("GET", "/console/robots/999/door", "/console/robots/{robot_id}/door"): (
        row(303, 403, 403, 403, 403, 403, 404)
    ),
}
SIGN_OUTS = {("POST", "/signout"), ("DELETE", "/api/v1/session")}


@pytest.fixture
def clients(runtime):
    import_sample(runtime)
    with runtime.db.transaction() as session:
        sample = session.get(Material, 1)
        sample.category, sample.tags = "讲话", "两会"
        # An import run's digest holding the sample (its page, /published/1, is public).
        published = session.scalars(
            select(LiveEvent.id).where(LiveEvent.type == "material.published")
        ).first()
        session.add(
            DigestItem(run="access", material_id=1, event_id=published, announced_at=utcnow())
        )
        session.flush()
        session.execute(update(DigestItem).values(digest=DigestItem.id))
    publisher = runtime.publisher_settings()
    month = plans(publisher)["month"]
    with runtime.db.transaction() as session:
        for role in ROLES[1:]:
            member = account(
                session, publisher, role, subscribed=role in ("member", "suspended"), username=role
            )
            if role == "expired":
                grant(
                    session,
                    member.id,
                    month,
                    actor="test",
                    reason="test",
                    now=utcnow() - timedelta(days=70),
                )
            if role in ("editor", "admin"):
                member.role = role
    with runtime.db.transaction() as session:  # report 1, still being traced
        intake.submit(
            session,
            intake.Submission(platform="other", contact="13900139000", text="一段文字"),
            reporter=None,
            ip="203.0.113.9",
            user_agent=None,
            limits=intake.Limits(1 << 20, 5, 3),
            now=utcnow(),
        )
    app = create_app(runtime)
    made = {"visitor": TestClient(app)}
    for role in ROLES[1:]:
        client = TestClient(app)
        client.get("/signin")
        signed = client.post(
            "/signin",
            data={
                "identifier": role,
                "password": PASSWORD,
                "csrf_token": client.cookies[CSRF_COOKIE],
            },
            follow_redirects=False,
        )
        assert signed.status_code == 303
        made[role] = client
    with runtime.db.transaction() as session:
        session.scalar(select(Member).where(Member.username == "suspended")).status = "suspended"
    return app, made


def test_every_route_answers_every_role_as_documented(clients):
    app, made = clients
    documented = {(method, template) for method, _path, template in TABLE}
    present = {
        (method, prefix + route.path)
        for prefix, route in _routes(app.routes)
        for method in getattr(route, "methods", {"GET"}) - {"HEAD"}
    }
    assert present == documented, (
        f"undocumented: {present - documented}, gone: {documented - present}"
    )
    wrong = []
    for (method, path, _template), expected in TABLE.items():
        for role in ROLES:
            client = made[role]
            if not client.cookies.get(CSRF_COOKIE):  # a CSRF cookie for every client
                client.get("/signin")
            if method == "GET":
                response = client.get(path, follow_redirects=False)
            else:
                token = client.cookies.get(CSRF_COOKIE, "")
                response = client.request(
                    method,
                    path,
                    data={"csrf_token": token},
                    headers={"X-CSRF-Token": token},  # the API's double submit
                    follow_redirects=False,
                )
                if (method, path) in SIGN_OUTS and role != "visitor":
                    client.cookies.clear()  # signed out: sign in again for the rest
                    client.get("/signin")
                    client.post(
                        "/signin",
                        data={
                            "identifier": role,
                            "password": PASSWORD,
                            "csrf_token": client.cookies[CSRF_COOKIE],
                        },
                    )
            if response.status_code != expected[role]:
                wrong.append((method, path, role, response.status_code, expected[role]))
    assert not wrong, wrong


def _gates(dependant) -> set:
    """Every dependency a route's handler waits for, those of its dependencies too."""
    found = set()
    for inner in dependant.dependencies if dependant is not None else ():
        found |= {inner.call, *_gates(inner)}
    return found


def test_admin_pages_have_the_one_admin_gate(runtime):
    """A route the table keeps from editors (and lets admins past) depends on
    ``console.admin``, the one check of the role; no other route does."""
    admin_only = {
        (method, template)
        for (method, _path, template), expected in TABLE.items()
        if expected["editor"] == 403 and expected["admin"] != 403
    }
    gated = {
        (method, prefix + route.path)
        for prefix, route in _routes(create_app(runtime).routes)
        for method in getattr(route, "methods", {"GET"}) - {"HEAD"}
        if admin in _gates(getattr(route, "dependant", None))
    }
    assert admin_only and gated == admin_only, (gated - admin_only, admin_only - gated)
