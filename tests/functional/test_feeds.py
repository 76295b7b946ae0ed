"""Feeds: the public Atom feed (titles only) and each account's secret feed (what it may
read, headings shortened, never body text), made, remade and stopped from the account page."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.helpers import account, import_sample, signed_in
from wenxing.db.base import utcnow
from wenxing.live.models import FeedToken
from wenxing.materials import catalog
from wenxing.materials.importer import ImportOptions, MaterialImporter
from wenxing.materials.models import Material
from wenxing.members.models import Member, Subscription
from wenxing.web.app import create_app
from wenxing.web.auth import CSRF_COOKIE

NS = {"a": "http://www.w3.org/2005/Atom"}
SECOND = """关于营商环境的报告

一、坚定不移贯彻新发展理念，着力夯实高质量发展基础
今年以来，全县围绕市场主体关切，持续推进审批制度改革，企业开办时间压缩到一个工作日以内，涉企事项实现一网通办。
二、持续深化放管服改革，全力打造一流营商环境
县政务服务中心设立综合窗口，推行容缺受理和告知承诺，全年为企业减免各类费用三千余万元，新增市场主体两千余户。
三、存在的问题和下一步打算
部分部门数据共享不够充分，企业反映的融资难问题仍然存在。下一步，我们将建立常态化政企沟通机制，定期走访重点企业。
"""
HOSTILE = '<script>alert("x")</script> & ]]> \x0b关于“营商环境”的报告'


@pytest.fixture
def site(runtime, tmp_path):
    import_sample(runtime)
    second = tmp_path / "second.txt"
    second.write_text(SECOND, "utf-8")
    MaterialImporter(runtime.db, runtime.settings, runtime.publisher_settings()).run(
        [second], ImportOptions(publish=True, category="报告")
    )
    publisher = runtime.publisher_settings()
    with runtime.db.transaction() as session:
        account(session, publisher, "会员", subscribed=True, username="member")
        account(session, publisher, "免费", subscribed=False, username="free")
        # The sample was published long before this member's window (3 years back).
        session.get(Material, 1).published_at = utcnow() - timedelta(days=365 * 5)
    return create_app(runtime)


def _bodies(runtime) -> list[str]:
    with runtime.db.reading() as session:
        ids = [m.id for m in catalog.list_materials(session)]
        return [catalog.material_document(session, i)["body"] for i in ids]


def _feed_url(client) -> str:
    client.get("/account")
    made = client.post("/account/feed", data={"csrf_token": client.cookies[CSRF_COOKIE]})
    assert made.status_code == 200 and made.headers["cache-control"] == "no-store"
    url = re.search(r'value="(http://127\.0\.0\.1:8000/feeds/[A-Za-z0-9_-]{43}\.atom)"', made.text)
    assert url, made.text
    return url.group(1).removeprefix("http://127.0.0.1:8000")  # WENXING_PUBLIC_URL


def _entries(response) -> list[ET.Element]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/atom+xml; charset=utf-8"
    root = ET.fromstring(response.content)
    assert root.tag == "{http://www.w3.org/2005/Atom}feed"
    for required in ("title", "id", "updated", "author/a:name"):
        assert root.find("a:" + required, NS) is not None, required
    return root.findall("a:entry", NS)


def _no_body_text(runtime, text: str) -> None:
    for body in _bodies(runtime):
        runs = {body[i : i + 20] for i in range(len(body) - 19)}
        found = [text[i : i + 20] for i in range(len(text) - 19) if text[i : i + 20] in runs]
        assert not found, found[:3]


def test_public_feed_lists_titles_kinds_dates_and_links_only(runtime, site):
    client = signed_in(site, "member")
    page = client.get("/")
    assert (
        '<link rel="alternate" type="application/atom+xml"' in page.text
        and 'href="/feeds/public.atom"' in page.text
    )
    response = client.get("/feeds/public.atom")
    entries = _entries(response)
    assert [e.findtext("a:title", namespaces=NS) for e in entries] == [
        "关于营商环境的报告",
        "在全区重点工作推进会上的讲话",
    ]
    first = entries[0]
    assert first.find("a:link", NS).get("href") == "http://127.0.0.1:8000/materials/2"
    assert first.find("a:category", NS).get("term") == "报告"
    assert first.findtext("a:published", namespaces=NS).endswith("Z")
    assert first.find("a:summary", NS) is None and first.find("a:content", NS) is None
    _no_body_text(runtime, response.text)
    assert "public" in response.headers["cache-control"]
    again = client.get("/feeds/public.atom", headers={"If-None-Match": response.headers["etag"]})
    assert again.status_code == 304 and not again.content
    assert response.headers["last-modified"].endswith("GMT")


def test_personal_feed_follows_entitlement_and_carries_no_body(runtime, site):
    member = signed_in(site, "member")
    url = _feed_url(member)
    anyone = TestClient(site)
    response = anyone.get(url)  # a feed reader: no cookie, the URL is the credential
    entries = _entries(response)
    # The sample is outside the member's window; the second material is inside it.
    assert [e.findtext("a:title", namespaces=NS) for e in entries] == ["关于营商环境的报告"]
    summary = entries[0].findtext("a:summary", namespaces=NS)
    assert summary.startswith("一、坚定不移贯彻新发展理念，着力夯实…；二、")
    _no_body_text(runtime, response.text)
    assert response.headers["cache-control"].startswith("private")
    assert response.headers["x-robots-tag"] == "noindex"
    with runtime.db.reading() as session:
        [row] = session.scalars(select(FeedToken)).all()
        assert url.split("/")[-1].removesuffix(".atom") not in row.token_hash  # hash only

    # Suspended: the feed answers, empty; reinstated: it lists again.
    with runtime.db.transaction() as session:
        session.scalar(select(Member).where(Member.username == "member")).status = "suspended"
    assert _entries(anyone.get(url)) == []
    with runtime.db.transaction() as session:
        who = session.scalar(select(Member).where(Member.username == "member"))
        who.status = "active"
        for period in session.scalars(select(Subscription).where(Subscription.member_id == who.id)):
            period.ends_at = utcnow() - timedelta(days=1)  # the membership ended
    assert _entries(anyone.get(url)) == []


def test_free_user_feed_is_empty_and_staff_feed_lists_everything(runtime, site):
    free = signed_in(site, "free")
    assert _entries(free.get(_feed_url(free))) == []
    with runtime.db.transaction() as session:
        session.scalar(select(Member).where(Member.username == "free")).role = "editor"
    assert len(_entries(free.get(_feed_url(free)))) == 2


def test_regenerating_revokes_the_old_url_and_stopping_revokes_the_feed(runtime, site):
    member = signed_in(site, "member")
    first = _feed_url(member)
    page = member.get("/account")
    assert "已启用" in page.text and first not in page.text  # the URL is shown once only
    second = _feed_url(member)
    assert first != second
    assert member.get(first).status_code == 404
    assert member.get(second).status_code == 200
    stopped = member.post(
        "/account/feed/stop",
        data={"csrf_token": member.cookies[CSRF_COOKIE]},
        follow_redirects=False,
    )
    assert stopped.status_code == 303
    assert member.get(second).status_code == 404
    assert "订阅源已停用" in member.get(stopped.headers["location"]).text
    assert member.get("/feeds/" + "A" * 43 + ".atom").status_code == 404
    assert member.get("/feeds/short.atom").status_code == 404


def test_feed_forms_need_the_csrf_token_and_an_account(runtime, site):
    member = signed_in(site, "member")
    assert member.post("/account/feed", data={"csrf_token": "wrong"}).status_code == 403
    assert member.post("/account/feed/stop", data={}).status_code == 403
    visitor = TestClient(site)
    visitor.get("/")
    refused = visitor.post(
        "/account/feed",
        data={"csrf_token": visitor.cookies[CSRF_COOKIE]},
        follow_redirects=False,
    )
    assert refused.status_code == 303 and refused.headers["location"].startswith("/signin")
    with runtime.db.reading() as session:
        assert session.scalars(select(FeedToken)).all() == []


def test_hostile_titles_are_escaped_and_the_feed_stays_valid(runtime, site):
    with runtime.db.transaction() as session:
        session.get(Material, 2).title = HOSTILE
        session.get(Material, 2).category = "党建&<宣传>"
    member = signed_in(site, "member")
    for url in ("/feeds/public.atom", _feed_url(member)):
        response = member.get(url)
        assert b"<script>" not in response.content
        [entry, *_rest] = _entries(response)
        assert entry.findtext("a:title", namespaces=NS) == HOSTILE.replace("\x0b", "")
        categories = [c.get("term") for c in entry.findall("a:category", NS)]
        assert categories == ["报告", "党建&<宣传>"]
