"""Issue 17's session rules and edges, through the real app on both databases: a new password
and a suspension sign the account out everywhere (cookies and API tokens), sessions expire
on the server, ids no row can have answer 404 on every route, HSTS over https, and
republishing keeps the first publication date."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from tests.functional.test_route_walk import _routes
from tests.helpers import PASSWORD, account, import_sample, signed_in
from wenxing.db.base import utcnow
from wenxing.materials import catalog
from wenxing.materials.models import Material
from wenxing.members import accounts, roster
from wenxing.members.models import AccountSession, Member
from wenxing.runtime import open_runtime
from wenxing.web.app import create_app
from wenxing.web.auth import CSRF_COOKIE

TOO_BIG = str(2**63 + 1)


@pytest.fixture
def site(runtime):
    import_sample(runtime)
    with runtime.db.transaction() as session:
        member_id = account(
            session, runtime.publisher_settings(), "会员", subscribed=True, username="paid"
        ).id
    return create_app(runtime), member_id


def browser(app) -> TestClient:
    client = TestClient(app)
    client.get("/signin")
    signed = client.post(
        "/signin",
        data={
            "identifier": "paid",
            "password": PASSWORD,
            "csrf_token": client.cookies[CSRF_COOKIE],
        },
        follow_redirects=False,
    )
    assert signed.status_code == 303
    return client


def api_token(app) -> str:
    answer = TestClient(app).post(
        "/api/v1/session", json={"identifier": "paid", "password": PASSWORD}
    )
    assert answer.status_code == 201, answer.text
    return answer.json()["token"]


def signed_in_everywhere(app, client: TestClient, token: str) -> tuple[bool, bool]:
    by_cookie = client.get("/api/v1/account").status_code == 200
    by_token = (
        TestClient(app)
        .get("/api/v1/account", headers={"Authorization": f"Bearer {token}"})
        .status_code
        == 200
    )
    return by_cookie, by_token


def test_a_new_password_ends_every_session_and_token(runtime, site):
    app, member_id = site
    client, token = browser(app), api_token(app)
    assert signed_in_everywhere(app, client, token) == (True, True)
    with runtime.db.transaction() as session:
        member = session.get(Member, member_id)
        accounts.set_password(session, member, "a new password 1", now=utcnow())
    assert signed_in_everywhere(app, client, token) == (False, False)


def test_a_suspension_from_the_command_line_signs_out_everywhere(runtime, site, cli):
    app, member_id = site
    client, token = browser(app), api_token(app)
    with runtime.db.reading() as session:
        number = session.get(Member, member_id).number
    done = cli("members", "suspend", number, "--reason", "转卖材料", "--json")
    assert done.code == 0, done
    assert signed_in_everywhere(app, client, token) == (False, False)


def test_the_same_suspension_by_any_caller_ends_the_sessions(runtime, site):
    app, member_id = site
    client = browser(app)
    with runtime.db.transaction() as session:
        roster.suspend(session, session.get(Member, member_id), "举报成立", actor="t", now=utcnow())
    assert client.get("/api/v1/account").status_code == 401


@pytest.mark.parametrize(
    "column, age",
    [("last_seen_at", timedelta(days=30)), ("created_at", timedelta(days=180))],
)
def test_sessions_expire_on_the_server(runtime, site, column, age):
    app, member_id = site
    client = browser(app)
    assert client.get("/api/v1/account").status_code == 200
    with runtime.db.transaction() as session:
        session.execute(
            update(AccountSession)
            .where(AccountSession.member_id == member_id)
            .values({column: utcnow() - age - timedelta(minutes=1)})
        )
    assert client.get("/api/v1/account").status_code == 401


def test_session_lifetimes_are_publisher_settings_changed_in_the_console(runtime, site):
    """The idle and absolute periods are the settings ``session_idle_days`` and
    ``session_lifetime_days`` (defaults 30 and 180): changed on the console's settings page,
    checked there (at least 1, lifetime not below idle), and followed by the next request."""
    app, member_id = site
    with runtime.db.transaction() as session:
        account(
            session, runtime.publisher_settings(), "管理员", subscribed=False, username="boss"
        ).role = "admin"
    admin = signed_in(app, "boss")
    assert runtime.publisher_settings().session_idle_days == 30
    assert runtime.publisher_settings().session_lifetime_days == 180

    def save(name: str, value: str):
        data = {"value": value, "csrf_token": admin.cookies[CSRF_COOKIE]}
        return admin.post(f"/console/settings/{name}", data=data, follow_redirects=False)

    page = admin.get("/console/settings").text
    assert "闲置退出天数" in page and "登录最长有效天数" in page
    assert save("session_idle_days", "0").status_code == 400
    refused = save("session_lifetime_days", "10")  # below the idle 30
    assert refused.status_code == 400 and "不能少于闲置退出天数" in refused.text
    assert runtime.publisher_settings().session_lifetime_days == 180
    assert save("session_idle_days", "2").status_code == 303
    assert save("session_lifetime_days", "5").status_code == 303

    client = browser(app)

    def age(column: str, days: float) -> None:
        with runtime.db.transaction() as session:
            session.execute(
                update(AccountSession)
                .where(AccountSession.member_id == member_id)
                .values({column: utcnow() - timedelta(days=days)})
            )

    age("last_seen_at", 1)
    assert client.get("/api/v1/account").status_code == 200
    age("last_seen_at", 3)  # beyond 2 idle days (well within the default 30)
    assert client.get("/api/v1/account").status_code == 401
    client = browser(app)
    age("created_at", 4)
    assert client.get("/api/v1/account").status_code == 200
    age("created_at", 6)  # beyond the 5-day lifetime, though used a moment ago
    assert client.get("/api/v1/account").status_code == 401
    assert "/signin" in client.get("/account", follow_redirects=False).headers["location"]


def page_token(client: TestClient, path: str = "/account") -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).text)
    assert found, path
    return found.group(1)


def test_the_csrf_token_is_the_sessions_and_changes_at_sign_in(runtime, site):
    """Issue 17: a signed-in browser's CSRF token is derived from its session (HMAC of the
    session id under the server secret), so it changes at every sign-in, a token from
    before signing in or from another session is refused, and a cookie the attacker set
    (double submit with a planted ``wx_csrf``) is not enough; forms keep working."""
    app, _member_id = site
    client = TestClient(app)
    before = page_token(client, "/signin")
    assert before == client.cookies[CSRF_COOKIE]  # visitors: the double-submit cookie
    signed = client.post(
        "/signin",
        data={"identifier": "paid", "password": PASSWORD, "csrf_token": before},
        follow_redirects=False,
    )
    assert signed.status_code == 303
    mine = page_token(client)
    assert mine != before and client.cookies[CSRF_COOKIE] == mine
    other = browser(app)
    theirs = page_token(other)
    assert theirs != mine  # each session its own token
    # a token from before signing in, another session's, or a planted cookie: refused
    for token in (before, theirs):
        refused = client.post("/account/notifications/read", data={"csrf_token": token})
        assert refused.status_code == 403, token
    client.cookies.set(CSRF_COOKIE, "planted")
    planted = client.post("/account/notifications/read", data={"csrf_token": "planted"})
    assert planted.status_code == 403
    done = client.post(
        "/account/notifications/read", data={"csrf_token": mine}, follow_redirects=False
    )
    assert done.status_code == 303  # the page's own token works whatever the cookie says
    # signing out and in again: a new token
    assert client.post("/signout", data={"csrf_token": mine}).status_code == 200
    again = browser_of(client)
    assert page_token(again) not in (mine, before)


def browser_of(client: TestClient) -> TestClient:
    client.get("/signin")
    signed = client.post(
        "/signin",
        data={
            "identifier": "paid",
            "password": PASSWORD,
            "csrf_token": client.cookies[CSRF_COOKIE],
        },
        follow_redirects=False,
    )
    assert signed.status_code == 303
    return client


def test_ids_no_row_can_have_answer_404_on_every_route(site):
    app, _member_id = site
    client = browser(app)
    token = client.cookies[CSRF_COOKIE]
    walked = 0
    for prefix, route in _routes(app.routes):
        path = prefix + route.path
        dependant = getattr(route, "dependant", None)
        params = dependant.path_params if dependant is not None else []
        ids = {p.name for p in params if p.field_info.annotation is int}
        if not ids:
            continue
        big = re.sub(
            r"\{([^}:]+)(:[^}]*)?\}", lambda m, ids=ids: TOO_BIG if m.group(1) in ids else "x", path
        )
        for method in sorted(route.methods - {"HEAD"}):
            answer = client.request(
                method,
                big,
                data={"csrf_token": token},
                headers={"X-CSRF-Token": token},
                follow_redirects=False,
            )
            walked += 1
            assert answer.status_code == 404, (method, path, answer.status_code)
    assert walked > 20
    assert TestClient(app).get(f"/api/v1/materials/{TOO_BIG}").json() == {"error": "没有找到"}
    # Just past an INTEGER key, and the largest one a row may have (an ordinary miss).
    assert client.get(f"/materials/{2**31}").status_code == 404
    assert client.get(f"/api/v1/materials/{2**31 - 1}").status_code == 404


def test_hsts_when_the_site_is_served_over_https(settings, site):
    app, _member_id = site
    assert "strict-transport-security" not in TestClient(app).get("/").headers
    secure = settings.model_copy(update={"public_url": "https://wenxing.example.cn"})
    runtime = open_runtime(secure)
    try:
        answer = TestClient(create_app(runtime)).get("/")
    finally:
        runtime.close()
    assert answer.headers["strict-transport-security"].startswith("max-age=31536000")


def test_republishing_keeps_the_first_publication_date(runtime, site):
    with runtime.db.transaction() as session:
        first = catalog.get_material(session, 1).published_at
        session.execute(
            update(Material)
            .where(Material.id == 1)
            .values(published_at=first - timedelta(days=900))
        )
    with runtime.db.transaction() as session:
        catalog.set_published(session, 1, False)
    with runtime.db.transaction() as session:
        catalog.set_published(session, 1, True)
    with runtime.db.reading() as session:
        again = session.scalar(select(Material.published_at).where(Material.id == 1))
    assert again == first - timedelta(days=900)


def test_refused_sign_ups_count_against_the_address(site):
    """Trying usernames on the sign-up form (是否已被注册) is limited like signing up."""
    app, _member_id = site
    client = TestClient(app)

    def sign_up(username: str) -> int:
        client.get("/signup")
        return client.post(
            "/signup",
            data={
                "name": "试探",
                "username": username,
                "password": PASSWORD,
                "password_again": PASSWORD,
                "agree": "1",
                "csrf_token": client.cookies[CSRF_COOKIE],
            },
            follow_redirects=False,
        ).status_code

    assert [sign_up("paid") for _ in range(accounts.SIGN_UPS_PER_HOUR)] == [400] * 5
    assert sign_up("paid") == 429
    assert sign_up("brandnew") == 429  # the address's hour is used up


def test_an_open_event_stream_closes_when_its_session_ends_or_its_role_changes(runtime, site):
    import asyncio

    from wenxing.live.hub import ROLE_SECONDS, Hub
    from wenxing.web.live import _role_of

    app, member_id = site
    tokens = [api_token(app) for _ in range(2)]
    assert ROLE_SECONDS <= 30
    hub = Hub(runtime.db, role_of=_role_of)

    async def scenario() -> tuple[bool, bool, bool]:
        ended = hub.subscribe(member_id, "member", tokens[0])
        changed = hub.subscribe(member_id, "member", tokens[1])
        kept = hub.subscribe(member_id, "member", tokens[1])
        with runtime.db.transaction() as session:
            accounts.end_session(session, member_id, accounts.token_id(tokens[0]), utcnow())
        kept.role = "member"
        changed.role = "free"  # as if it opened before the membership began
        await asyncio.to_thread(hub.refresh_roles)
        await asyncio.sleep(0)
        return ended.closed, changed.closed, kept.closed

    assert asyncio.run(scenario()) == (True, True, False)


def test_feed_links_come_from_the_public_url_never_the_host_header(site):
    from wenxing.web.feed_pages import PUBLIC_PATH

    app, _member_id = site
    feed = TestClient(app).get(PUBLIC_PATH, headers={"Host": "evil.example"})
    assert feed.status_code == 200
    assert "evil.example" not in feed.text and "http://127.0.0.1:8000/materials/1" in feed.text
