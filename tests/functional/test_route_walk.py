"""Rule 1, checked on every route: material text leaves only fingerprinted and logged.

Every route of the app is requested by every kind of account (visitor, free user, member,
suspended member, editor, admin) with every value its parameters take here. A response that
carries a run of body text beyond the public preview (more than about 80 characters, below
the rule's 100) must trace to the requesting account and only to it, and must have added
one issuance-log row for that account. A route whose parameters this test does not know
fails the test, so a new route cannot slip past it.
"""

from __future__ import annotations

import json
import re
from functools import cache

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import func, select

import wenxing.reports.cases  # noqa: F401  (registers the tracing job)
from tests.helpers import SAMPLE, account, signed_in
from wenxing import jobs
from wenxing.delivery.issue import FORMATS
from wenxing.delivery.models import IssuedCopy
from wenxing.live.feeds import token_hash
from wenxing.live.models import FeedToken
from wenxing.materials import catalog
from wenxing.materials.identify import reduce_text
from wenxing.materials.importer import ImportOptions, MaterialImporter
from wenxing.members.models import Member
from wenxing.reports.evidence import read_evidence_bytes
from wenxing.reports.models import Report
from wenxing.reports.trace import trace
from wenxing.requests.models import MaterialRequest
from wenxing.web.app import create_app
from wenxing.web.auth import CSRF_COOKIE
from wenxing.web.reading import TOUCH_ICON

ROLES = ("visitor", "free", "member", "suspended", "editor", "admin")
WALK_FEED = "walk-feed-secret-of-the-member-0123456789ab"  # 43 URL-safe characters
WINDOW = 70  # reduced characters (no punctuation or spaces): well under 100 raw characters
PARAMETERS = {
    "material_id": ["1", "2", "999"],  # published, draft, missing
    "fmt": [*FORMATS, "exe"],
    "format": [*FORMATS, "exe"],
    "next": ["/materials/1"],
    "q": [
        "乡村振兴",
        "一是着力构建良好发展环境 持续推进放管服改革",
        '"一企一策" 营商环境',
        "kind:讲话",
        "",
        "-旅游",
        "'; DROP TABLE materials; -- (.*) [a-z]+ \\",
        "乡" * 2_000,  # beyond the 200-character limit (the CLI and service get 10,000)
    ],
    "limit": ["10", "50", "0", "many"],
    "notice": ["device", "x"],
    "redeemed": ["1", ""],
    "digest": ["0" * 64],
    "code": ["month", "nope"],
    "label": ["web", "nope"],
    "action": ["unpublish", "publish", "x"],  # ends published, as the walk needs
    "number": ["WX-10001", "WX-99999"],
    "type": ["", "member:sign-in"],
    "subject": ["", "WX-10001"],
    "actor": [""],
    "device": ["0" * 64],
    "name": ["讲话", "两会", "max_sessions", "nope"],  # a category, a tag, a setting, none
    "page": ["1", "2", "0", "x"],
    "per_page": ["20", "0", "many"],
    "saved": ["brand", ""],
    "receipt": ["JB-2345-6789-AB", "JB-2222-2222-22", "nope"],  # the member's report, none
    "report_id": ["1", "999"],
    "evidence_id": ["1", "999"],
    "state": ["", "pending", "nope"],
    "robot_id": ["1", "999"],  # no robot exists in the walk: both are 404
    "token": [WALK_FEED, "A" * 43, "x"],  # the member's feed, none, malformed
    "request_id": ["1", "999"],  # the member's request (open), none
    "digest_id": ["1", "999"],  # the walk's import runs publish one file: no digest, none
    "tab": ["popular", "fulfilled", "nope"],
    "last": ["0", "x", ""],  # /events: from the first event, malformed, none
    "notification_id": ["1", "999"],
    "phone": ["13800138000", ""],  # /reset?phone=: the code form, prefilled or empty
    "secret": ["not-a-reset-link-0123456789abcdef"],  # /reset/{secret}: no such link
    "offset": ["0", "-1"],
    "group": ["0", "999", "x"],  # a wording group, none, not a number
    "decision": ["approved", "vetoed", "reset", "nope"],
    "unread": ["false", "true"],
    # the search page's chips, order and pages (issue 24): one value each keeps the walk's
    # product small; tests/functional/test_search_ranking.py covers their combinations
    "kind": ["讲话"],
    "year": ["2026"],
    "category": ["nope"],
    "sort": ["newest"],
    "page_number": ["2"],
    "key": ["downloads", "nope"],  # /console/charts/{key}.csv: a chart, none
    "at": ["s1", "s9999", "x"],  # 相似段落 of a section: one, none, malformed
    # the console's filters (issue 23), one value each (test_console_library covers them)
    "tag": ["两会"],
    "reported": ["1"],
    "order": ["oldest"],
    "after": ["5"],
    "since": ["2026-01-01"],
    "until": ["x"],
    "plan": ["month"],
    "expiring": ["7"],
    "expired": ["1"],
    "suspended": ["1"],
    "flagged": ["1"],
    "topic": ["乡村振兴"],  # /requests?topic=: the request form filled from a search
    # 组稿 (issue 25): a basket piece, a draft and a part of it, or none (the walk's forms
    # are empty, so it makes none: every one is 404 or refused)
    "piece_id": ["1", "999"],
    "draft_id": ["1", "999"],
    "part_id": ["1", "999"],
}
# A report's console pages show its evidence to staff (the read text's first 1,000
# characters, the file as received): a copy issued to the leaker and logged then, shown to
# the people who trace it (a refused decision shows the page again). Everyone else gets
# none of it (receipt pages, the API).
EVIDENCE_FOR_STAFF = re.compile(r"^/console/reports/\d+(/evidence/\d+|/confirm|/reject)?$")
SUFFIX = {
    "text/html": ".html",
    "text/plain": ".txt",
    "application/json": ".txt",
    "text/event-stream": ".txt",  # /events: titles and links of events, read as text
    "application/atom+xml": ".txt",
    "text/csv": ".txt",  # the roster export: names, phones, links, read as text
    "image/svg+xml": ".txt",  # the favicon: a drawing, read as text
    "application/pdf": ".pdf",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx",
}
DOWNLOAD_NAME = re.compile(r'filename="[^"]*?(\.[a-z0-9]+)"')


@pytest.fixture
def site(runtime, tmp_path):
    importer = MaterialImporter(runtime.db, runtime.settings, runtime.publisher_settings())
    importer.run([SAMPLE], ImportOptions(publish=True, category="讲话", tags=("两会",)))
    draft = tmp_path / "draft.txt"
    draft.write_text(
        SAMPLE.read_text("utf-8").replace("在全区重点工作推进会上的讲话", "关于草稿的报告")[:3000]
        + "\n草稿另有一段新内容，尚未发布。" * 20,
        "utf-8",
    )
    importer.run([draft], ImportOptions(publish=False))
    numbers = {}
    publisher = runtime.publisher_settings()
    with runtime.db.transaction() as session:
        for n, role in enumerate(ROLES[1:]):
            subscribed = role in ("member", "suspended")
            member = account(
                session, publisher, f"用户{n}", subscribed=subscribed, username=f"user{n}"
            )
            if role in ("editor", "admin"):
                member.role = role
            numbers[role] = (member.number, f"user{n}")
            if role == "member":  # the member's personal feed, walked by everyone
                session.add(FeedToken(member_id=member.id, token_hash=token_hash(WALK_FEED)))
                session.add(MaterialRequest(member_id=member.id, topic="乡村振兴讲话稿"))
    app = create_app(runtime)
    clients = {"visitor": TestClient(app)}
    for role, (_number, username) in numbers.items():
        clients[role] = signed_in(app, username)
    _report_of_a_copy(runtime, app, clients["member"])
    with runtime.db.transaction() as session:
        suspended = session.scalar(select(Member).where(Member.username == numbers["suspended"][1]))
        suspended.status = "suspended"
    with runtime.db.reading() as session:
        body = catalog.material_document(session, 1)["body"]
    return app, clients, {role: number for role, (number, _u) in numbers.items()}, body


def _report_of_a_copy(runtime, app, member) -> None:
    """The member reports a .txt copy of theirs (report 1, evidence 1, traced, receipt
    JB-2345-6789-AB): its text is body text no receipt page or API answer may carry."""
    copy = member.get("/materials/1/download/txt")
    member.get("/report")
    filed = member.post(
        "/report",
        data={"platform": "pan", "csrf_token": member.cookies[CSRF_COOKIE]},
        files=[("files", ("copy.txt", copy.content, "text/plain"))],
        follow_redirects=False,
    )
    assert filed.status_code == 303, filed.text
    jobs.run_pending(runtime)
    with runtime.db.transaction() as session:
        report = session.get(Report, 1)
        assert report.state == "traced"
        report.receipt = "JB23456789AB"


def _routes(routes, prefix: str = ""):
    """Every route of the app, routers included with ``include_router`` too."""
    for route in routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:
            yield from _routes(inner.routes, prefix + route.include_context.prefix)
        elif hasattr(route, "methods"):
            yield prefix, route


def _requests(app):
    """(method, path, query, form) for every route and every value of its parameters."""
    walked = set()
    for prefix, route in _routes(app.routes):
        path_template = prefix + route.path
        walked.add(path_template)
        if not isinstance(route, APIRoute):
            yield "GET", path_template, {}, None
            continue
        path_names = [p.name for p in route.dependant.path_params]
        query_names = [p.name for p in route.dependant.query_params]
        form_names = [p.name for p in route.dependant.body_params]
        for name in path_names + query_names:
            assert name in PARAMETERS, f"route {path_template}: add values for parameter {name!r}"
        combos = [{}]
        for name in path_names + query_names:
            combos = [{**c, name: value} for c in combos for value in PARAMETERS[name]]
        for method in sorted(route.methods - {"HEAD"}):
            for combo in combos:
                path = path_template
                for name in path_names:
                    path = path.replace("{" + name + "}", combo[name])
                query = {n: combo[n] for n in query_names}
                form = {n: "" for n in form_names} if method == "POST" else None
                yield method, path, query, form
    # Nothing the API documents is left out of the walk.
    assert set(app.openapi()["paths"]) <= walked, set(app.openapi()["paths"]) - walked


def _issued(runtime) -> int:
    with runtime.db.reading() as session:
        return session.scalar(select(func.count()).select_from(IssuedCopy))


def _logged_for(runtime, copy_id: str | None, number: str) -> bool:
    """Whether ``copy_id`` is a ledger line of the member numbered ``number``."""
    if not copy_id:
        return False
    with runtime.db.reading() as session:
        row = session.get(IssuedCopy, int(copy_id))
        return row is not None and session.get(Member, row.member_id).number == number


@cache
def _body_windows(body: str) -> frozenset[str]:
    """Every WINDOW-long run of the reduced body past the public preview (made once: the
    walk checks thousands of responses against the same body)."""
    reduced_body = reduce_text(body)
    preview = len(reduce_text(body[:300]))
    return frozenset(
        reduced_body[i : i + WINDOW] for i in range(preview, len(reduced_body) - WINDOW)
    )


def _leaks(body: str, text: str) -> bool:
    windows = _body_windows(body)
    reduced = reduce_text(text)
    return any(reduced[i : i + WINDOW] in windows for i in range(len(reduced) - WINDOW + 1))


# One test per role, each on a site of its own (a second site costs a worker well under a
# second): the walk is the suite's longest test, and six parts spread over the workers.
@pytest.mark.parametrize("role", ROLES)
def test_every_route_with_every_role(runtime, site, role):
    app, clients, numbers, body = site
    requests = list(_requests(app))
    assert any("/download/" in path for _m, path, _q, _f in requests)
    carried = 0
    client = clients[role]
    for method, path, query, form in requests:
        before = _issued(runtime)
        if method == "GET":
            response = client.get(path, params=query, follow_redirects=False)
        else:
            form = {**(form or {}), "csrf_token": client.cookies.get(CSRF_COOKIE, "")}
            response = client.request(method, path, params=query, data=form, follow_redirects=False)
        if method == "POST" and path == "/signout" and role != "visitor":
            # Signing out ended this account's session: sign in again for what follows.
            clients[role] = client = signed_in(app, f"user{ROLES.index(role) - 1}")
        where = f"{role} {method} {path} {query}"
        assert response.status_code < 500, where
        assert "Traceback" not in response.text[:2000], where
        if not response.content:  # a redirect
            continue
        media = response.headers.get("content-type", "").split(";")[0]
        if media == "image/png":  # the one picture the site answers with: its icon
            assert response.content == TOUCH_ICON.read_bytes(), where
            continue
        suffix = SUFFIX.get(media)
        if media == "application/octet-stream":  # a file as received: named by its suffix
            named = DOWNLOAD_NAME.search(response.headers.get("content-disposition", ""))
            suffix = named and named.group(1)
        assert suffix, f"{where}: unexpected content type {media!r}"
        data = response.content
        if media == "application/json":
            data = json.dumps(response.json(), ensure_ascii=False).encode()
        evidence = read_evidence_bytes(data, suffix)
        if not _leaks(body, evidence.text):
            continue
        if EVIDENCE_FOR_STAFF.match(path):
            assert role in ("editor", "admin"), where
            continue
        carried += 1
        assert numbers.get(role), where
        # A new ledger line, or (the same material opened again the same day) the
        # member's own earlier line, named by the response.
        assert _issued(runtime) == before + 1 or _logged_for(
            runtime, response.headers.get("x-wenxing-copy"), numbers[role]
        ), f"{where}: material text without a log row"
        with runtime.db.reading() as session:
            result = trace(session, runtime.secret, evidence, 1e-6)
        accused = [a["member"] for a in result.accused]
        assert accused == [numbers[role]], f"{where}: traced to {accused}"
    # Members and staff did read the material (the reader and every format at least): the
    # walk exercised the delivering routes.
    if role in ("member", "editor", "admin"):
        assert carried >= len(FORMATS) + 1, f"{role} carried {carried}"
