"""The console's members list, audit log and reports list are paged (``?page=N``): every
row on exactly one page, in the list's order, the search and the filters kept in the
pager's links; a page past the last is 404, a bad page value 400."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from tests.helpers import account, signed_in
from wenxing import audit
from wenxing.audit import AuditEvent
from wenxing.db.base import utcnow
from wenxing.members.models import Member
from wenxing.reports.models import Report
from wenxing.web.app import create_app
from wenxing.web.console import AUDIT_PER_PAGE, MEMBERS_PER_PAGE
from wenxing.web.console_reports import PAGE_SIZE as REPORTS_PER_PAGE
from wenxing.web.paging import link


@pytest.fixture
def site(runtime):
    publisher = runtime.publisher_settings()
    with runtime.db.transaction() as session:
        account(session, publisher, "boss", subscribed=False, username="boss").role = "admin"
        account(session, publisher, "writer", subscribed=False, username="writer").role = "editor"
    app = create_app(runtime)
    return app, signed_in(app, "boss")


def _members(runtime, count: int, name: str, first: int) -> list[str]:
    """``count`` accounts named ``name``001…, numbered from WX-``first``; their numbers in
    the order they were added (ids rising)."""
    with runtime.db.transaction() as session:
        rows = [
            Member(number=f"WX-{first + n}", name=f"{name}{n:03d}", username=f"u{first + n}")
            for n in range(count)
        ]
        session.add_all(rows)
    return [r.number for r in rows]


def _numbers(text: str) -> list[str]:
    return re.findall(r'<td class="nowrap"><a href="/console/members/(WX-\d+)">', text)


def _pages(client, path: str, params: dict, pages: int, rows) -> list[str]:
    """Every page of a list, checking its count and its link to the next page."""
    seen: list[str] = []
    for number in range(1, pages + 1):
        shown = client.get(path, params={**params, "page": number})
        assert shown.status_code == 200, shown.text
        assert f"第 {number} 页，共 {pages} 页" in shown.text
        if number < pages:
            following = link(path, **params) + str(number + 1)
            assert f'rel="next" href="{following.replace("&", "&amp;")}"' in shown.text
        seen += rows(shown.text)
    past = client.get(path, params={**params, "page": pages + 1})
    assert past.status_code == 404 and "没有这一页" in past.text
    return seen


def test_the_members_list_pages_through_every_member_and_keeps_the_search(runtime, site):
    _app, admin = site
    students = _members(runtime, MEMBERS_PER_PAGE * 2 + 5, "学员", 20000)
    teachers = _members(runtime, 7, "教员", 30000)
    # Everyone, newest first, each once, over three pages; the boss and the writer last.
    everyone = _pages(admin, "/console/members", {}, 3, _numbers)
    assert everyone == [*reversed(teachers), *reversed(students), "WX-10002", "WX-10001"]
    # A search is kept across its pages; the others are never shown.
    found = _pages(admin, "/console/members", {"q": "学员"}, 3, _numbers)
    assert found == list(reversed(students))
    second = admin.get("/console/members", params={"q": "学员", "page": 2}).text
    assert 'href="/console/members?q=%E5%AD%A6%E5%91%98&amp;page=1"' in second
    assert 'value="学员"' in second  # the search box still holds it
    # A search that fits on one page has no pager; an empty one is page 1 of 1.
    few = admin.get("/console/members", params={"q": "教员"}).text
    assert len(_numbers(few)) == 7 and "共 1 页" not in few
    none = admin.get("/console/members", params={"q": "没有这个人"})
    assert none.status_code == 200 and "没有找到。" in none.text
    assert admin.get("/console/members", params={"q": "没有这个人", "page": 2}).status_code == 404


def test_the_audit_log_pages_through_every_event_and_keeps_the_filters(runtime, site):
    _app, admin = site
    moment = utcnow() - timedelta(days=1)  # one moment for all: the id breaks the ties
    with runtime.db.transaction() as session:
        for n in range(AUDIT_PER_PAGE + 30):
            audit.record(
                session, audit.MEMBER_SIGN_IN, actor="WX-10001", subject="批次 A&B", at=moment, n=n
            )
            audit.record(
                session, audit.CODE_EXPORT, actor="WX-10001", subject="other", at=moment, n=n
            )
    with runtime.db.reading() as session:
        total = session.query(AuditEvent).count()
    pages = -(-total // AUDIT_PER_PAGE)
    assert pages >= 3

    def ids(text: str) -> list[str]:
        return re.findall(r'<tr id="event-(\d+)">', text)

    everything = _pages(admin, "/console/audit", {}, pages, ids)
    assert len(everything) == total and len(set(everything)) == total
    assert everything == sorted(everything, key=int, reverse=True)  # newest first
    # Type and subject together, across two pages; the subject's & and space are encoded.
    filters = {"type": audit.MEMBER_SIGN_IN, "subject": "批次 A&B"}
    kept = _pages(admin, "/console/audit", filters, 2, ids)
    with runtime.db.reading() as session:
        expected = [
            str(e.id)
            for e in session.query(AuditEvent)
            .filter_by(type=audit.MEMBER_SIGN_IN, subject="批次 A&B")
            .order_by(AuditEvent.id.desc())
        ]
    assert kept == expected and len(kept) == AUDIT_PER_PAGE + 30
    second = admin.get("/console/audit", params={**filters, "page": 2}).text
    assert (
        'href="/console/audit?type=member%3Asign-in&amp;subject=%E6%89%B9%E6%AC%A1+A%26B'
        '&amp;page=1"' in second
    )
    assert f'<option value="{audit.MEMBER_SIGN_IN}" selected>' in second
    # An actor nobody is: one empty page, and nothing past it.
    nobody = admin.get("/console/audit", params={"actor": "WX-99999"})
    assert nobody.status_code == 200 and "没有记录。" in nobody.text
    assert admin.get("/console/audit", params={"actor": "WX-99999", "page": 2}).status_code == 404


def test_the_reports_list_pages_waiting_ones_first_and_keeps_the_state(runtime, site):
    app, _admin = site
    editor = signed_in(app, "writer")  # editors page through reports too
    start = utcnow() - timedelta(days=1)
    with runtime.db.transaction() as session:
        made = [
            Report(
                receipt=f"JB{n:010d}",
                state="received" if n % 3 else "rejected",
                platform="xianyu",
                created_at=start + timedelta(minutes=n),
            )
            for n in range(REPORTS_PER_PAGE * 2 + 5)
        ]
        session.add_all(made)
        session.flush()
        waiting = [r.id for r in reversed(made) if r.state == "received"]
        done = [r.id for r in reversed(made) if r.state == "rejected"]

    def ids(text: str) -> list[int]:
        return [int(n) for n in re.findall(r'<td><a href="/console/reports/(\d+)">', text)]

    # Waiting ones first, each group newest first, over three pages.
    assert _pages(editor, "/console/reports", {}, 3, ids) == waiting + done
    # A state is kept across its pages.
    assert len(waiting) > REPORTS_PER_PAGE
    assert _pages(editor, "/console/reports", {"state": "received"}, 2, ids) == waiting
    second = editor.get("/console/reports", params={"state": "received", "page": 2}).text
    assert 'rel="prev" href="/console/reports?state=received&amp;page=1"' in second
    # A state that fits on one page has no pager; none at all is one empty page.
    few = editor.get("/console/reports", params={"state": "rejected"}).text
    assert len(ids(few)) == len(done) and "共 1 页" not in few
    none = editor.get("/console/reports", params={"state": "confirmed"})
    assert none.status_code == 200 and "没有举报。" in none.text
    assert (
        editor.get("/console/reports", params={"state": "confirmed", "page": 2}).status_code == 404
    )


@pytest.mark.parametrize("path", ["/console/members", "/console/audit", "/console/reports"])
def test_a_bad_page_value_is_400_in_chinese(site, path):
    _app, admin = site
    for bad in ("0", "-1", "x", "1000000", ""):
        refused = admin.get(path, params={"page": bad})
        assert refused.status_code == 400 and "请求参数有误" in refused.text, bad
        assert "Traceback" not in refused.text


@pytest.mark.parametrize("path", ["/console/members?page=2", "/console/audit?page=2"])
def test_a_later_page_is_for_admins_only(site, path):
    app, _admin = site
    assert TestClient(app).get(path, follow_redirects=False).status_code == 303
    assert signed_in(app, "writer").get(path).status_code == 403


def test_the_members_search_ignores_case_on_both_databases(runtime, site):
    _app, boss = site
    with runtime.db.transaction() as session:
        session.add(Member(number="WX-900", name="Zhang Wei", username="zhangwei88"))
    for q in ("ZHANGWEI", "zhang wei", "Wei"):
        found = boss.get("/console/members", params={"q": q})
        assert _numbers(found.text) == ["WX-900"], q
