"""The requests board: members post and support, editors fulfil or decline, requesters and
supporters are told; refusals in Chinese; the JSON API does the same."""

from __future__ import annotations

import json
import re
from datetime import date, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.helpers import PASSWORD, account, import_sample, in_threads, signed_in
from wenxing.audit import AuditEvent
from wenxing.db.base import utcnow
from wenxing.live.models import LiveEvent, Notification
from wenxing.members.models import Member
from wenxing.requests.models import MaterialRequest
from wenxing.settings import change as change_setting
from wenxing.web.app import create_app
from wenxing.web.auth import CSRF_COOKIE

HOSTILE = '<script>alert("需求")</script><img src=x onerror=alert(1)>'


@pytest.fixture
def site(runtime):
    import_sample(runtime)
    publisher = runtime.publisher_settings()
    with runtime.db.transaction() as session:
        for name in ("asker", "backer", "third"):
            account(session, publisher, name, subscribed=True, username=name)
        account(session, publisher, "free", subscribed=False, username="free")
        account(session, publisher, "editor", subscribed=False, username="editor").role = "editor"
    return create_app(runtime)


def _post(client, **fields):
    client.get("/requests")
    data = {"topic": "", "kind": "", "occasion": "", "deadline": "", **fields}
    return client.post(
        "/requests",
        data={**data, "csrf_token": client.cookies[CSRF_COOKIE]},
        follow_redirects=False,
    )


def _form(client, path: str, **fields):
    client.get("/requests")
    return client.post(
        path, data={**fields, "csrf_token": client.cookies[CSRF_COOKIE]}, follow_redirects=False
    )


def _requests(runtime) -> list[MaterialRequest]:
    with runtime.db.reading() as session:
        return list(session.scalars(select(MaterialRequest).order_by(MaterialRequest.id)))


def _notifications(runtime, username: str) -> list[Notification]:
    with runtime.db.reading() as session:
        member = session.scalar(select(Member).where(Member.username == username))
        return list(  # the requests board's, not the others an account gets (memberships)
            session.scalars(
                select(Notification).where(
                    Notification.member_id == member.id, Notification.kind.like("request.%")
                )
            )
        )


def test_a_member_posts_a_request_and_the_staff_hear_of_it(runtime, site):
    asker = signed_in(site, "asker")
    deadline = (date.today() + timedelta(days=3)).isoformat()
    posted = _post(asker, topic=HOSTILE, kind="讲话", occasion="年终总结会", deadline=deadline)
    assert posted.status_code == 303
    assert posted.headers["location"].startswith("/requests?tab=newest#request-1")
    [row] = _requests(runtime)
    assert (row.topic, row.kind, row.occasion, row.deadline.isoformat(), row.state) == (
        HOSTILE,
        "讲话",
        "年终总结会",
        deadline,
        "open",
    )
    board = TestClient(site).get("/requests?tab=newest")  # visitors read the board
    assert board.status_code == 200
    assert HOSTILE not in board.text and "&lt;script&gt;alert(" in board.text
    assert "年终总结会" in board.text and "会员登录后可以发布需求" in board.text
    assert "asker" not in board.text  # never who asked
    with runtime.db.reading() as session:
        [event] = session.scalars(select(LiveEvent).where(LiveEvent.type == "request.created"))
        assert event.audience == "staff" and json.loads(event.payload)["topic"] == HOSTILE


@pytest.mark.parametrize(
    ("fields", "status", "message"),
    [
        ({"topic": "   "}, 400, "请填写需要什么材料"),
        ({"topic": "讲" * 201}, 400, "需求不能超过 200 字"),
        ({"topic": "讲话稿", "kind": "小说"}, 400, "请从列表中选择材料类型"),
        ({"topic": "讲话稿", "occasion": "会" * 201}, 400, "使用场合不能超过 200 字"),
        ({"topic": "讲话稿", "deadline": "2020-01-01"}, 400, "截止日期不能早于今天"),
        ({"topic": "讲话稿", "deadline": "明天"}, 400, "截止日期格式不正确"),
    ],
)
def test_a_refused_request_says_why_in_chinese_and_keeps_the_form(
    runtime, site, fields, status, message
):
    asker = signed_in(site, "asker")
    refused = _post(asker, **fields)
    assert refused.status_code == status and message in refused.text
    if "occasion" in fields:
        assert 'value="' + fields["occasion"][:20] in refused.text  # what was typed stays
    assert _requests(runtime) == []


def test_five_requests_a_day_then_429(runtime, site):
    asker = signed_in(site, "asker")
    for n in range(5):
        assert _post(asker, topic=f"需求 {n}").status_code == 303
    refused = _post(asker, topic="第六条")
    assert refused.status_code == 429 and "每人每天最多发布 5 条需求" in refused.text
    assert len(_requests(runtime)) == 5
    assert _post(signed_in(site, "backer"), topic="别人的").status_code == 303


def test_who_may_post_and_the_csrf_token(runtime, site):
    visitor = TestClient(site)
    assert _post(visitor, topic="x").headers["location"] == "/signin?next=/requests"
    free = signed_in(site, "free")
    refused = _post(free, topic="x")
    assert refused.status_code == 403 and "开通会员后才能发布需求" in refused.text
    assert "开通会员后可以发布需求" in free.get("/requests").text  # no form, a hint
    editor = signed_in(site, "editor")
    assert _post(editor, topic="编辑也可以").status_code == 303
    asker = signed_in(site, "asker")
    forged = asker.post("/requests", data={"topic": "x", "csrf_token": "nope"})
    assert forged.status_code == 403
    assert [r.topic for r in _requests(runtime)] == ["编辑也可以"]


def test_support_once_not_ones_own_and_withdraw(runtime, site):
    asker, backer, third = (signed_in(site, n) for n in ("asker", "backer", "third"))
    _post(asker, topic="河湖长制讲话")
    _post(backer, topic="营商环境汇报")
    for _ in range(2):  # supporting twice counts once
        assert _form(backer, "/requests/1/support").status_code == 303
    assert _form(third, "/requests/1/support").status_code == 303
    own = _form(asker, "/requests/1/support")
    assert own.status_code == 400 and "不能支持自己发布的需求" in own.text
    assert [r.supporters for r in _requests(runtime)] == [2, 0]
    page = backer.get("/requests?tab=popular").text
    assert page.index("河湖长制讲话") < page.index("营商环境汇报")  # most supported first
    assert "取消支持" in page and "2 人支持" in page
    assert _form(third, "/requests/1/unsupport").status_code == 303
    assert _requests(runtime)[0].supporters == 1
    free = signed_in(site, "free")
    assert _form(free, "/requests/1/support").status_code == 403
    assert _form(backer, "/requests/99/support").status_code == 404
    assert backer.post("/requests/1/support", data={"csrf_token": "x"}).status_code == 403
    assert TestClient(site).post("/requests/1/support").status_code == 403  # no CSRF cookie


def test_an_editor_fulfils_and_requester_and_supporters_are_told(runtime, site):
    asker, backer, third = (signed_in(site, n) for n in ("asker", "backer", "third"))
    _post(asker, topic="全区重点工作推进会讲话")
    _form(backer, "/requests/1/support")
    _form(third, "/requests/1/support")
    _form(third, "/requests/1/unsupport")  # took it back: not told
    editor = signed_in(site, "editor")
    listed = editor.get("/console/requests")
    assert listed.status_code == 200 and "全区重点工作推进会讲话" in listed.text
    found = editor.get("/console/requests/1?q=推进会")
    assert 'value="1"' in found.text and "在全区重点工作推进会上的讲话" in found.text
    assert _form(editor, "/console/requests/1/fulfil", material_id="999").status_code == 400
    assert _form(editor, "/console/requests/1/fulfil", material_id="").status_code == 400
    assert _form(asker, "/console/requests/1/fulfil", material_id="1").status_code == 403
    done = _form(editor, "/console/requests/1/fulfil", material_id="1", answer="请查收")
    assert done.status_code == 303
    [row] = _requests(runtime)
    assert (row.state, row.material_id, row.answer) == ("fulfilled", 1, "请查收")
    for username in ("asker", "backer"):
        [note] = _notifications(runtime, username)
        assert note.kind == "request.fulfilled" and note.link == "/materials/1"
        assert "全区重点工作推进会讲话" in note.title and note.body == "请查收"
    assert _notifications(runtime, "third") == []
    board = asker.get("/requests?tab=fulfilled").text
    assert 'href="/materials/1"' in board and "在全区重点工作推进会上的讲话" in board
    assert _form(editor, "/console/requests/1/fulfil", material_id="1").status_code == 400
    assert _form(backer, "/requests/1/support").status_code == 400  # answered: closed
    with runtime.db.reading() as session:
        [audit] = session.scalars(select(AuditEvent).where(AuditEvent.type == "request:fulfil"))
        assert audit.subject == "request:1"
        assert session.scalar(select(LiveEvent).where(LiveEvent.type == "request.fulfilled"))


def test_an_editor_declines_with_a_reason(runtime, site):
    asker, backer = signed_in(site, "asker"), signed_in(site, "backer")
    _post(asker, topic="某某公司年会主持词")
    _form(backer, "/requests/1/support")
    editor = signed_in(site, "editor")
    refused = _form(editor, "/console/requests/1/decline", reason="  ")
    assert refused.status_code == 400 and "请填写不采纳的理由" in refused.text
    assert _form(editor, "/console/requests/1/decline", reason="不属于公文材料").status_code == 303
    for username in ("asker", "backer"):
        [note] = _notifications(runtime, username)
        assert note.kind == "request.declined" and "不属于公文材料" in note.body
        assert note.link == "/requests/1"
    where = TestClient(site).get("/requests/1", follow_redirects=False)
    assert where.headers["location"] == "/requests?tab=declined&page=1#request-1"
    assert "不属于公文材料" in TestClient(site).get("/requests?tab=declined").text
    with runtime.db.reading() as session:
        assert session.scalar(select(AuditEvent).where(AuditEvent.type == "request:decline"))


def _token(site, username: str) -> dict[str, str]:
    opened = TestClient(site).post(
        "/api/v1/session", json={"identifier": username, "password": PASSWORD}
    )
    return {"Authorization": f"Bearer {opened.json()['token']}"}


def test_the_api_posts_lists_and_supports(runtime, site):
    api = TestClient(site)
    asker, backer, free = (_token(site, n) for n in ("asker", "backer", "free"))
    made = api.post(
        "/api/v1/requests", json={"topic": "乡村振兴调研报告", "kind": "调研报告"}, headers=asker
    )
    assert made.status_code == 201, made.text
    assert made.json()["mine"] is True and made.json()["state"] == "open"
    past = api.post(
        "/api/v1/requests", json={"topic": "x", "deadline": "2020-01-01"}, headers=asker
    )
    assert past.status_code == 400 and past.json() == {"error": "截止日期不能早于今天"}
    refused = api.post("/api/v1/requests", json={"topic": "x"}, headers=free)
    assert refused.status_code == 403 and "开通会员" in refused.json()["error"]
    assert api.post("/api/v1/requests", json={"topic": "x"}).status_code == 401
    supported = api.post("/api/v1/requests/1/support", headers=backer)
    assert supported.json() == {"request": 1, "supported": True, "supporters": 1}
    assert api.post("/api/v1/requests/1/support", headers=backer).json()["supporters"] == 1
    assert api.post("/api/v1/requests/1/support", headers=asker).status_code == 400
    assert api.post("/api/v1/requests/9/support", headers=backer).status_code == 404
    listed = api.get("/api/v1/requests", headers=backer).json()["requests"]
    assert [(r["topic"], r["supported"], r["mine"]) for r in listed] == [
        ("乡村振兴调研报告", True, False)
    ]
    assert api.get("/api/v1/requests?tab=fulfilled").json() == {
        "requests": [],
        "page": 1,
        "per_page": 20,
        "pages": 1,
        "total": 0,
    }
    assert api.get("/api/v1/requests?tab=nope").status_code == 400
    withdrawn = api.delete("/api/v1/requests/1/support", headers=backer)
    assert withdrawn.json() == {"request": 1, "supported": False, "supporters": 0}
    # The site's cookie needs the CSRF header on calls that change something.
    cookie = signed_in(site, "backer")
    assert cookie.post("/api/v1/requests/1/support").status_code == 403
    headers = {"X-CSRF-Token": cookie.cookies[CSRF_COOKIE]}
    assert cookie.post("/api/v1/requests/1/support", headers=headers).status_code == 200


def _many(runtime, count: int, state: str = "open") -> list[int]:
    """``count`` requests of asker's posted two days ago (outside the daily limit), the
    first with the most supporters and the oldest answer; their ids in order of posting."""
    long_ago = utcnow() - timedelta(days=2)
    with runtime.db.transaction() as session:
        asker = session.scalar(select(Member).where(Member.username == "asker"))
        rows = [
            MaterialRequest(
                member_id=asker.id,
                topic=f"第{n:03d}号需求",
                state=state,
                supporters=count - n,
                created_at=long_ago + timedelta(minutes=n),
                answer="答复" if state != "open" else None,
                answered_at=long_ago + timedelta(hours=1, minutes=n) if state != "open" else None,
            )
            for n in range(count)
        ]
        session.add_all(rows)
        session.flush()
        return [r.id for r in rows]


def _topics(text: str) -> list[str]:
    return re.findall(r'<strong class="topic">(第\d{3}号需求)</strong>', text)


def test_every_tab_is_paged_with_links_and_a_page_count(runtime, site):
    _many(runtime, 45)
    _many(runtime, 3, state="declined")
    board = TestClient(site)
    seen: list[str] = []
    for number in (1, 2, 3):
        shown = board.get(f"/requests?tab=newest&page={number}")
        assert shown.status_code == 200
        assert f"第 {number} 页，共 3 页" in shown.text
        seen += _topics(shown.text)
        if number < 3:
            assert f'href="/requests?tab=newest&amp;page={number + 1}"' in shown.text
        else:
            assert "page=4" not in shown.text
    assert seen == [f"第{n:03d}号需求" for n in range(44, -1, -1)]  # each once, newest first
    first = board.get("/requests?tab=newest").text
    assert _topics(first) == seen[:20] and 'rel="next"' in first and 'rel="prev"' not in first
    popular = [
        t for n in (1, 2, 3) for t in _topics(board.get(f"/requests?tab=popular&page={n}").text)
    ]
    assert popular == [f"第{n:03d}号需求" for n in range(45)]  # most supported first
    declined = board.get("/requests?tab=declined").text
    assert len(_topics(declined)) == 3 and "共 1 页" not in declined  # one page: no pager
    past = board.get("/requests?tab=newest&page=4")
    assert past.status_code == 404 and "没有这一页" in past.text
    for bad in ("0", "-1", "x", "1000000"):
        refused = board.get(f"/requests?tab=newest&page={bad}")
        assert refused.status_code == 400 and "请求参数有误" in refused.text
    assert board.get("/requests?tab=fulfilled").status_code == 200  # empty: page 1 of 1


def test_many_pages_link_the_first_the_last_and_the_pages_around(runtime, site):
    _many(runtime, 20 * 12)
    middle = TestClient(site).get("/requests?tab=newest&page=6").text
    links = re.findall(r'href="/requests\?tab=newest&amp;page=(\d+)"', middle)
    assert {"1", "4", "5", "7", "8", "12"} <= set(links) and "10" not in links
    assert 'aria-current="page">6<' in middle and "第 6 页，共 12 页" in middle


def test_supporting_on_a_later_page_comes_back_to_it(runtime, site):
    ids = _many(runtime, 25)
    backer = signed_in(site, "backer")
    page = backer.get("/requests?tab=newest&page=2").text
    assert f'action="/requests/{ids[0]}/support?tab=newest&amp;page=2"' in page
    done = _form(backer, f"/requests/{ids[0]}/support?tab=newest&page=2")
    assert done.headers["location"] == f"/requests?tab=newest&page=2#request-{ids[0]}"


def test_a_requests_address_leads_to_the_tab_and_page_that_show_it(runtime, site):
    """Notifications link to /requests/N, which stays right as the board grows."""
    declined = _many(runtime, 45, state="declined")
    opened = _many(runtime, 30)
    board = TestClient(site)
    for request_id in (declined[0], declined[-1], opened[0], opened[-1]):
        moved = board.get(f"/requests/{request_id}", follow_redirects=False)
        assert moved.status_code == 303
        target = moved.headers["location"]
        assert target.endswith(f"#request-{request_id}")
        assert f'id="request-{request_id}"' in board.get(target).text, target
    # The oldest answer is on the last page of its tab; the newest open request on page 1.
    assert (
        board.get(f"/requests/{declined[0]}", follow_redirects=False).headers["location"]
        == f"/requests?tab=declined&page=3#request-{declined[0]}"
    )
    assert (
        board.get(f"/requests/{opened[-1]}", follow_redirects=False).headers["location"]
        == f"/requests?tab=newest&page=1#request-{opened[-1]}"
    )
    missing = board.get("/requests/99999")
    assert missing.status_code == 404 and "没有这条需求" in missing.text


def test_the_console_list_is_paged(runtime, site):
    _many(runtime, 35)
    editor = signed_in(site, "editor")
    first = editor.get("/console/requests?state=open").text
    assert "第 1 页，共 2 页" in first and "第000号需求" in first and "第034号需求" not in first
    second = editor.get("/console/requests?state=open&page=2").text
    assert "第034号需求" in second and "第000号需求" not in second
    assert editor.get("/console/requests?state=open&page=3").status_code == 404


def test_the_api_pages_the_board(runtime, site):
    _many(runtime, 45)
    api = TestClient(site)
    first = api.get("/api/v1/requests?tab=newest").json()
    assert (first["page"], first["per_page"], first["pages"], first["total"]) == (1, 20, 3, 45)
    assert [r["topic"] for r in first["requests"]] == [
        f"第{n:03d}号需求" for n in range(44, 24, -1)
    ]
    third = api.get("/api/v1/requests", params={"tab": "newest", "page": 3, "per_page": 20}).json()
    assert [r["topic"] for r in third["requests"]] == [f"第{n:03d}号需求" for n in range(4, -1, -1)]
    whole = api.get("/api/v1/requests", params={"tab": "popular", "per_page": 100}).json()
    assert (whole["pages"], len(whole["requests"])) == (1, 45)
    past = api.get("/api/v1/requests", params={"page": 9}).json()
    assert past["requests"] == [] and past["pages"] == 3 and past["total"] == 45
    for bad in ({"per_page": 0}, {"per_page": 101}, {"page": 0}, {"page": "x"}):
        refused = api.get("/api/v1/requests", params=bad)
        assert refused.status_code == 400 and refused.json() == {"error": "请求参数有误"}
    document = api.get("/api/v1/openapi.json").json()
    listing = document["paths"]["/api/v1/requests"]["get"]
    named = {p["name"]: p for p in listing["parameters"]}
    assert named["page"]["schema"]["minimum"] == 1 and named["page"].get("description")
    assert named["per_page"]["schema"]["maximum"] == 100 and named["per_page"].get("description")
    shape = document["components"]["schemas"]["RequestsOut"]["properties"]
    assert {"requests", "page", "per_page", "pages", "total"} <= set(shape)


def test_the_daily_limit_is_a_publisher_setting(runtime, site):
    with runtime.db.transaction() as session:
        change_setting(session, "requests_per_day", 2, actor="publisher:test")
        for bad in (0, -3, 2.5, "2"):
            with pytest.raises(ValueError):
                change_setting(session, "requests_per_day", bad, actor="publisher:test")
    asker = signed_in(site, "asker")
    assert "每人每天最多发布 2 条。" in asker.get("/requests").text
    for n in range(2):
        assert _post(asker, topic=f"需求 {n}").status_code == 303
    refused = _post(asker, topic="第三条")
    assert refused.status_code == 429 and "每人每天最多发布 2 条需求" in refused.text
    api = TestClient(site).post(
        "/api/v1/requests", json={"topic": "第三条"}, headers=_token(site, "asker")
    )
    assert api.status_code == 429 and api.json() == {
        "error": "每人每天最多发布 2 条需求，请明天再来"
    }
    assert len(_requests(runtime)) == 2


def test_the_console_settings_page_shows_and_checks_the_daily_limit(runtime, site):
    publisher = runtime.publisher_settings()
    with runtime.db.transaction() as session:
        account(session, publisher, "boss", subscribed=False, username="boss").role = "admin"
    admin = signed_in(site, "boss")
    page = admin.get("/console/settings").text
    assert 'id="setting-requests_per_day"' in page and "每天发布需求条数" in page
    token = admin.cookies[CSRF_COOKIE]
    refused = admin.post(
        "/console/settings/requests_per_day", data={"value": "0", "csrf_token": token}
    )
    assert refused.status_code == 400 and "至少为 1。" in refused.text
    saved = admin.post(
        "/console/settings/requests_per_day",
        data={"value": "8", "csrf_token": token},
        follow_redirects=False,
    )
    assert saved.status_code == 303 and runtime.publisher_settings().requests_per_day == 8


def test_posts_at_the_same_instant_cannot_pass_the_daily_limit(runtime, site):
    """Threads post for one account at once, each through the API in its own transaction:
    exactly the limit are accepted, on SQLite and on PostgreSQL alike."""
    limit, threads = 3, 10
    with runtime.db.transaction() as session:
        change_setting(session, "requests_per_day", limit, actor="publisher:test")
    headers = _token(site, "asker")
    answers: list[int] = []

    def post(number: int) -> None:
        made = TestClient(site).post(
            "/api/v1/requests", json={"topic": f"同时 {number}"}, headers=headers
        )
        answers.append(made.status_code)

    errors = in_threads(threads, post)
    assert not errors, errors[:3]
    assert sorted(answers) == [201] * limit + [429] * (threads - limit)
    assert len(_requests(runtime)) == limit
