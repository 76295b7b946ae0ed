"""The publisher's clock where members and their codes meet it (issue 22): a batch's CSV
export names local times (with their offset) and local last days, and the account page
says what a redeemed code gave (the plan, the new end on the publisher's date)."""

from __future__ import annotations

import csv
import io
from datetime import datetime, time, timedelta

from fastapi.testclient import TestClient

from tests.helpers import account, signed_in
from wenxing import clock
from wenxing.db.base import utcnow
from wenxing.members.redemption import generate_batch, redeem_code
from wenxing.members.subscriptions import membership_end, plans
from wenxing.web.app import create_app
from wenxing.web.auth import CSRF_COOKIE


def test_the_batch_export_shows_the_publishers_dates(runtime):
    publisher = runtime.publisher_settings()
    zone = publisher.timezone
    # 17:30 UTC is 01:30 the next day in Beijing: the two dates differ.
    moment = datetime.combine(utcnow().date(), time(17, 30))
    last_day = clock.local(moment, zone).date() + timedelta(days=3)
    ends = clock.stored(datetime.combine(last_day + timedelta(days=1), time(0)), zone)
    with runtime.db.transaction() as session:
        admin = account(session, publisher, "管理", subscribed=False, username="admin1")
        admin.role = "admin"
        buyer = account(session, publisher, "买家", subscribed=False, username="buyer1")
        session.flush()
        buyer_id = buyer.id
        month = plans(publisher)["month"]
        [code] = generate_batch(session, month, 1, "dated", "shop", ends, actor="test")
    redeem_code(runtime.db, publisher, code, buyer_id, actor="buyer1", now=moment)
    client = signed_in(create_app(runtime), "admin1")
    answer = client.get("/console/codes/dated.csv")
    assert answer.status_code == 200
    [row] = list(csv.DictReader(io.StringIO(answer.content.decode("utf-8-sig"))))
    local = clock.local(moment, zone)
    assert row["redeemed_at"] == local.isoformat(timespec="seconds")
    assert row["redeemed_at"].startswith(local.date().isoformat())
    assert local.date() != moment.date()  # the UTC date would have been wrong
    assert row["expires_at"] == last_day.isoformat()


def test_the_account_page_says_what_was_redeemed(runtime):
    publisher = runtime.publisher_settings()
    with runtime.db.transaction() as session:
        account(session, publisher, "免费", subscribed=False, username="free1")
        month = plans(publisher)["month"]
        [code] = generate_batch(session, month, 1, "notice", "shop", None, actor="test")
    client: TestClient = signed_in(create_app(runtime), "free1")
    client.get("/account")
    data = {"code": code, "csrf_token": client.cookies[CSRF_COOKIE], "next": "/account"}
    done = client.post("/account/redeem", data=data, follow_redirects=False)
    assert done.status_code == 303
    page = client.get(done.headers["location"]).text
    with runtime.db.reading() as session:
        from wenxing.members.accounts import _find

        ends = membership_end(session, _find(session, "free1").id, utcnow())
    assert ends is not None
    local = clock.local(ends, publisher.timezone)
    assert f"兑换成功：{month.name}" in page
    assert f"{local.year}年{local.month:02d}月{local.day:02d}日" in page
    assert "兑换成功，会员已开通。" not in page
