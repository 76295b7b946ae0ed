"""Every calendar rule in the publisher's time zone (Asia/Shanghai by default)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from tests.helpers import SAMPLE
from wenxing.materials.importer import ImportOptions, MaterialImporter
from wenxing.materials.models import Material
from wenxing.members import redemption
from wenxing.members.service import add_member
from wenxing.members.subscriptions import plans
from wenxing.search.service import search

BEIJING = timedelta(hours=8)


def test_a_month_card_ends_on_the_same_local_date_whatever_the_hour(runtime):
    known = plans(runtime.publisher_settings())
    with runtime.db.transaction() as session:
        ids = [add_member(session, f"会员{h}").id for h in range(24)]
        codes = redemption.generate_batch(
            session, known["month"], 24, "calendar", "wechat", None, actor="test"
        )
    for hour, (member_id, code) in enumerate(zip(ids, codes, strict=True)):
        local = datetime(2027, 3, 1, hour, 30)  # every hour of 1 March in Beijing
        done = redemption.redeem(
            runtime.db, code, member_id, known, now=local - BEIJING, actor="test"
        )
        ends_local = done.ends_at + BEIJING
        assert (ends_local.date(), ends_local.time()) == (
            datetime(2027, 4, 1).date(),
            local.time(),
        ), hour


def test_year_finds_a_material_published_at_three_on_new_years_morning(runtime):
    importer = MaterialImporter(runtime.db, runtime.settings, runtime.publisher_settings())
    assert not importer.run([SAMPLE], ImportOptions(publish=True)).failed
    with runtime.db.transaction() as session:
        material = session.scalar(select(Material))
        material.published_at = datetime(2027, 1, 1, 3, 0) - BEIJING  # 31 Dec 19:00 UTC
        from wenxing.search.sync import note_change

        note_change(session, material.id)
    node = runtime.search_index()
    assert [h.material_id for h in search(node, "year:2027").materials] == [material.id]
    assert search(node, "year:2026").materials == []
    assert [h.material_id for h in search(node, "since:2027-01-01").materials] == [material.id]
    assert search(node, "until:2026-12-31").materials == []


def test_the_home_page_shows_the_publishers_date(runtime):
    from fastapi.testclient import TestClient

    from wenxing.web.app import create_app

    importer = MaterialImporter(runtime.db, runtime.settings, runtime.publisher_settings())
    assert not importer.run([SAMPLE], ImportOptions(publish=True)).failed
    with runtime.db.transaction() as session:
        session.scalar(select(Material)).published_at = datetime(2026, 12, 31, 17, 0)  # UTC
    page = TestClient(create_app(runtime)).get("/")
    assert "2027-01-01" in page.text and "2026-12-31" not in page.text
