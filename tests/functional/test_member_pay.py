"""A way to pay, reading that is not downloading, and WeChat's download links, through the
real app (issue 22, the member's side)."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.helpers import account, import_sample, qr_png, signed_in
from wenxing import clock
from wenxing.db.base import utcnow
from wenxing.delivery.models import DownloadTicket, IssuedCopy
from wenxing.members.models import Member
from wenxing.members.redemption import generate_batch
from wenxing.members.subscriptions import membership_end, plans
from wenxing.settings import change as change_setting
from wenxing.web.app import create_app
from wenxing.web.auth import CSRF_COOKIE

WECHAT = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.47(0x18002f2c) NetType/WIFI"
)
PNG = qr_png("https://shop.example/year")  # the year plan's shop link, as a QR code


@pytest.fixture
def site(runtime):
    import_sample(runtime)
    publisher = runtime.publisher_settings()
    with runtime.db.transaction() as session:
        account(session, publisher, "免费", subscribed=False, username="free1")
        account(session, publisher, "会员", subscribed=True, username="paid1")
        account(session, publisher, "管理", subscribed=False, username="admin1").role = "admin"
        priced = [dict(plan) for plan in publisher.plans]
        priced[0].update(price=39, shop_url="https://shop.example/month")
        change_setting(session, "plans", priced, actor="publisher:test")
    return create_app(runtime)


def test_plans_refuse_a_bad_price_shop_link_or_image(runtime):
    from wenxing.errors import DomainError
    from wenxing.members.pricing import store_qr

    with runtime.db.transaction() as session:
        for bad, code in (
            ({"price": -1}, "setting.plan_price"),
            ({"price": "39元"}, "setting.plan_price"),
            ({"shop_url": "javascript:alert(1)"}, "setting.plan_shop_url"),
            ({"qr": "../../etc/passwd"}, "setting.plan_qr"),
        ):
            listed = [dict(plan) for plan in runtime.publisher_settings().plans]
            listed[0].update(bad)
            with pytest.raises(DomainError) as refused:
                change_setting(session, "plans", listed, actor="publisher:test")
            assert refused.value.code == code
        with pytest.raises(DomainError) as refused:
            store_qr(session, b"GIF89a....")
        assert refused.value.code == "setting.qr_type"
        blank = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64  # a PNG's signature, no QR code in it
        for picture, shop, code in (
            (blank, "", "setting.qr_unreadable"),
            (
                qr_png("https://elsewhere.example/pay"),
                "https://shop.example/year",
                "setting.qr_elsewhere",
            ),
        ):
            with pytest.raises(DomainError) as refused:
                store_qr(session, picture, shop)
            assert refused.value.code == code
        # A payment code (no shop link to match) and a link equal but for case and slash.
        assert store_qr(session, qr_png("wxp://f2f0payment"))
        assert store_qr(session, qr_png("https://SHOP.example/year/"), "https://shop.example/year")


def test_the_paywall_shows_the_price_and_the_redeem_box_everywhere(runtime, site):
    visitor = TestClient(site)
    for path in ("/materials/1", "/"):
        text = visitor.get(path).text
        assert "¥39" in text and 'href="https://shop.example/month"' in text, path
        assert "登录后兑换卡密" in text
    free = signed_in(site, "free1")
    page = free.get("/materials/1").text
    assert "¥39" in page and 'name="code"' in page and 'name="next" value="/materials/1"' in page
    refused = free.get("/materials/1/read")  # the 403 page is the paywall, not 出错了
    assert refused.status_code == 403
    assert "开通会员后即可查看" in refused.text and "出错了" not in refused.text
    assert "¥39" in refused.text and 'name="code"' in refused.text
    assert free.cookies.get(CSRF_COOKIE) and "WX-" in refused.text  # still signed in there
    account_page = free.get("/account").text
    assert "¥39" in account_page and 'name="code"' in account_page


def test_redeeming_inline_returns_to_the_material(runtime, site):
    with runtime.db.transaction() as session:
        month = plans(runtime.publisher_settings())["month"]
        [code] = generate_batch(session, month, 1, "pay-test", "shop", None, actor="test")
    free = signed_in(site, "free1")
    token = free.cookies[CSRF_COOKIE]
    headers = {"X-CSRF-Token": token}
    typo = code[:-1] + next(c for c in "ABC" if c != code[-1].upper())
    wrong = free.post("/api/v1/account/redeem", json={"code": typo}, headers=headers)
    assert wrong.status_code == 400 and "卡密" in wrong.json()["error"]
    done = free.post(
        "/account/redeem",
        data={"code": code, "csrf_token": token, "next": "/materials/1"},
        follow_redirects=False,
    )
    assert done.headers["location"] == "/materials/1?redeemed=1"
    page = free.get(done.headers["location"]).text
    assert "今日剩余 20 次" in page
    ends = re.search(
        r"兑换成功：月卡，会员有效期至 (\d{4})年(\d{2})月(\d{2})日。现在可以阅读全文和下载", page
    )
    assert ends is not None, page  # the plan and its end, on the publisher's calendar
    with runtime.db.reading() as session:
        member = session.scalars(select(Member).where(Member.username == "free1")).one()
        end = membership_end(session, member.id, utcnow())
    local_end = clock.local(end, runtime.publisher_settings().timezone)
    assert tuple(int(n) for n in ends.groups()) == (local_end.year, local_end.month, local_end.day)


def test_reloading_the_reader_keeps_the_quota_and_most_read_counts_members(runtime, site):
    member = signed_in(site, "paid1")
    copies = {member.get("/materials/1/read").headers["x-wenxing-copy"] for _ in range(8)}
    assert len(copies) == 1
    assert "今日剩余 19 次" in member.get("/materials/1").text
    home = TestClient(site).get("/").text
    assert re.search(r"1 人读过", home)
    with runtime.db.reading() as session:
        assert len(session.scalars(select(IssuedCopy)).all()) == 1


def test_wechat_gets_a_single_use_link_that_works_in_the_system_browser(runtime, site):
    member = signed_in(site, "paid1")
    member.headers["User-Agent"] = WECHAT
    page = member.get("/materials/1").text
    assert "点击右上角「…」在浏览器打开" in page and "/materials/1/link/docx" in page
    made = member.post(
        "/materials/1/link/docx",
        data={"csrf_token": member.cookies[CSRF_COOKIE]},
        follow_redirects=False,
    )
    link = made.headers["location"]
    assert made.status_code == 303 and link.startswith("/d/")
    hint = member.get(link)  # in WeChat: the hint and the link, nothing spent
    assert hint.status_code == 200 and "点击右上角「…」在浏览器打开" in hint.text
    assert link in hint.text
    with runtime.db.reading() as session:
        assert session.scalars(select(IssuedCopy)).all() == []
    browser = TestClient(site)  # the system browser: no session cookie
    fetched = browser.get(link)
    assert fetched.status_code == 200 and fetched.headers["content-disposition"].startswith(
        "attachment;"
    )
    assert browser.get(link).status_code == 410  # once
    with runtime.db.reading() as session:
        [row] = session.scalars(select(IssuedCopy)).all()
        assert row.format == "docx" and row.actor == "member:link"
        assert row.member_id == session.scalar(select(DownloadTicket.member_id))


def test_a_link_is_refused_before_it_is_made_and_expires(runtime, site):
    from datetime import timedelta

    free = signed_in(site, "free1")
    refused = free.post(
        "/materials/1/link/pdf",
        data={"csrf_token": free.cookies[CSRF_COOKIE]},
        follow_redirects=False,
    )
    assert refused.status_code == 403 and "¥39" in refused.text
    member = signed_in(site, "paid1")
    link = member.post(
        "/materials/1/link/pdf",
        data={"csrf_token": member.cookies[CSRF_COOKIE]},
        follow_redirects=False,
    ).headers["location"]
    with runtime.db.transaction() as session:
        ticket = session.scalars(select(DownloadTicket)).one()
        ticket.expires_at -= timedelta(hours=1)
    assert TestClient(site).get(link).status_code == 410


def test_the_console_sets_a_plans_price_shop_and_qr(runtime, site):
    admin = signed_in(site, "admin1")
    form = admin.get("/console/plans")
    assert form.status_code == 200 and 'name="price"' in form.text
    token = admin.cookies[CSRF_COOKIE]
    bad = admin.post(
        "/console/plans/year",
        data={"csrf_token": token, "price": "abc", "shop_url": "https://shop.example/year"},
    )
    assert bad.status_code == 400 and "价格" in bad.text
    assert 'value="https://shop.example/year"' in bad.text  # what was typed stays
    saved = admin.post(
        "/console/plans/year",
        data={"csrf_token": token, "price": "¥199", "shop_url": "https://shop.example/year"},
        files={"qr": ("qr.png", PNG, "image/png")},
        follow_redirects=False,
    )
    assert saved.status_code == 303
    year = next(p for p in runtime.publisher_settings().plans if p["code"] == "year")
    assert year["price"] == 199 and year["shop_url"] == "https://shop.example/year"
    image = TestClient(site).get(f"/pay/qr/{year['qr']}")
    assert image.status_code == 200 and image.content == PNG
    assert image.headers["content-type"] == "image/png"
    assert f"/pay/qr/{year['qr']}" in TestClient(site).get("/materials/1").text
    # The kept picture must still link where a changed shop link says.
    moved = admin.post(
        "/console/plans/year",
        data={"csrf_token": token, "price": "199", "shop_url": "https://shop.example/moved"},
    )
    assert moved.status_code == 400 and "二维码指向" in moved.text
    elsewhere = admin.post(
        "/console/plans/year",
        data={"csrf_token": token, "price": "199", "shop_url": "https://shop.example/year"},
        files={"qr": ("qr.png", qr_png("https://elsewhere.example/"), "image/png")},
    )
    assert elsewhere.status_code == 400 and "不一致" in elsewhere.text
