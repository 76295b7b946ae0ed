"""The reader's comforts on the server side: the remembered place (per member and material,
shared by devices), 收藏 and 最近阅读 kept apart from 下载记录, the reader page's toolbar
only on the page the site serves, the consent pages, the ICP footer and the favicon."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from tests.helpers import account, import_sample, signed_in
from wenxing import settings
from wenxing.db.base import utcnow
from wenxing.delivery import reading
from wenxing.errors import DomainError
from wenxing.web.app import create_app


@pytest.fixture
def site(runtime):
    import_sample(runtime)
    publisher = runtime.publisher_settings()
    with runtime.db.transaction() as session:
        account(session, publisher, "读者", subscribed=True, username="reader")
        account(session, publisher, "旁人", subscribed=True, username="other")
    return create_app(runtime)


def _state(client, material: int = 1) -> dict:
    answer = client.get(f"/reading/{material}")
    assert answer.status_code == 200
    assert answer.headers["cache-control"] == "no-store"
    return answer.json()


def test_the_place_follows_the_member_to_another_device(site):
    phone, computer = signed_in(site, "reader"), signed_in(site, "reader")
    first = _state(phone)
    assert first["position"] is None and first["favourite"] is False
    saved = phone.post(
        "/reading/1/position", json={"position": "7:0.25", "csrf_token": first["csrf_token"]}
    )
    assert saved.status_code == 200
    there = _state(computer)
    assert there["position"] == "7:0.25" and there["at"] > 0
    # Another member's place is their own.
    assert _state(signed_in(site, "other"))["position"] is None


def test_a_report_without_the_token_or_from_another_site_changes_nothing(site):
    client = signed_in(site, "reader")
    token = _state(client)["csrf_token"]
    assert client.post("/reading/1/position", json={"position": "3:0"}).status_code == 403
    foreign = client.post(
        "/reading/1/position",
        json={"position": "3:0", "csrf_token": token},
        headers={"Origin": "https://elsewhere.example"},
    )
    assert foreign.status_code == 403
    bad = client.post("/reading/1/position", json={"position": "页首", "csrf_token": token})
    assert bad.status_code == 400 and bad.json()["error"] == "阅读位置格式不正确"
    missing = client.post("/reading/999/position", json={"position": "1:0", "csrf_token": token})
    assert missing.status_code == 404
    assert _state(client)["position"] is None
    # Visitors have no place at all.
    assert TestClient(site).get("/reading/1").status_code == 401


def test_favourites_and_recent_reads_are_not_downloads(site):
    client = signed_in(site, "reader")
    page = client.get("/materials/1")
    assert "收藏" in page.text and "已收藏" not in page.text
    token = _state(client)["csrf_token"]
    added = client.post(
        "/materials/1/favourite",
        data={"csrf_token": token, "favourite": "1"},
        follow_redirects=False,
    )
    assert added.status_code == 303 and added.headers["location"] == "/materials/1"
    assert "已收藏" in client.get("/materials/1").text
    favourites = client.get("/account/favourites").text
    assert "/materials/1" in favourites and "收藏于" in favourites
    assert "还没有阅读记录" in client.get("/account/recent").text
    # Favouriting and reporting places issued no copy: the download history is empty.
    assert "还没有下载记录" in client.get("/account").text

    assert client.get("/materials/1/read").status_code == 200
    recent = client.get("/account/recent").text
    assert "/materials/1/read" in recent and "读于" in recent
    # The JSON toggle answers with the new state, and the list empties.
    off = client.post("/reading/1/favourite", json={"favourite": False, "csrf_token": token})
    assert off.json() == {"favourite": False}
    assert "还没有收藏" in client.get("/account/favourites").text


def test_an_older_report_does_not_overwrite_a_newer_place(runtime, site):
    now = utcnow()
    with runtime.db.transaction() as session:
        reading.save_place(session, 1, 1, "9:0.5", now)
        reading.save_place(session, 1, 1, "2:0", now - timedelta(seconds=30))
        reading.note_opened(session, 1, 1, now)
        reading.set_favourite(session, 1, 1, True, now)
        reading.set_favourite(session, 1, 1, True, now + timedelta(hours=1))
        place = reading.place_of(session, 1, 1)
        assert place.position == "9:0.5" and place.favourite
        [entry] = reading.favourites(session, 1)
        assert entry.at == now  # favouriting again keeps the first date
        with pytest.raises(DomainError):
            reading.save_place(session, 1, 1, "1:1.5", now)


def test_only_the_served_reader_page_carries_the_toolbar(site):
    client = signed_in(site, "reader")
    page = client.get("/materials/1/read").text
    assert '<script src="/static/reader.js" defer></script>' in page
    assert 'id="tools" hidden' in page and 'data-act="night"' in page
    download = client.get("/materials/1/download/html")
    assert download.status_code == 200
    assert "reader.js" not in download.text and 'id="tools"' not in download.text
    for asset in ("/static/reader.js", "/static/reader.css", "/static/favicon.svg"):
        assert client.get(asset).status_code == 200
    icon = client.get("/favicon.ico")
    assert icon.status_code == 200 and icon.headers["content-type"].startswith("image/svg+xml")
    touch = client.get("/static/apple-touch-icon.png")
    assert touch.status_code == 200 and touch.headers["content-type"] == "image/png"
    for root in ("/apple-touch-icon.png", "/apple-touch-icon-precomposed.png"):
        answer = client.get(root)
        assert answer.status_code == 200 and answer.headers["content-type"] == "image/png"
        assert answer.content == touch.content
    assert (
        '<link rel="apple-touch-icon" href="/static/apple-touch-icon.png">' in client.get("/").text
    )


def test_consent_pages_and_the_icp_footer_follow_the_settings(runtime, site):
    with runtime.db.transaction() as session:
        settings.change(
            session, "terms_text", "第一条 好好学习。\n\n第二条 不要外传。", actor="test"
        )
        settings.change(session, "icp_number", "京ICP备12345678号-1", actor="test")
    visitor = TestClient(site)
    terms = visitor.get("/terms")
    assert terms.status_code == 200
    assert "<p>第一条 好好学习。</p>" in terms.text and "<p>第二条 不要外传。</p>" in terms.text
    assert "个人信息" in visitor.get("/privacy").text  # the shipped policy
    signup = visitor.get("/signup").text
    assert 'href="/terms"' in signup and 'href="/privacy"' in signup and 'id="agree"' in signup
    assert "京ICP备12345678号-1" in signup and "beian.miit.gov.cn" in signup
    refused = visitor.post(
        "/signup",
        data={
            "name": "王芳",
            "phone": "13900139000",
            "password": "a-long-password",
            "password_again": "a-long-password",
            "csrf_token": visitor.cookies["wx_csrf"],
        },
    )
    assert refused.status_code == 400 and "请先阅读并同意用户协议和隐私政策" in refused.text
    assert 'value="13900139000"' in refused.text  # what was typed is kept
