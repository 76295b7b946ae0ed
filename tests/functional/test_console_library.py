"""The console on a generated library of 5,000 materials and 2,000 members (bulk inserts,
one world per module and database): the materials list pages by key and filters, bulk
actions are asked first then done and audited, members filter, export and are suspended
in bulk through ``roster.suspend``, codes are looked up, revoked by batch and given an
expiry date, and the dashboard and audit log speak Chinese."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import timedelta

import pytest
from bench.console import UPLOAD_CATEGORY, generate_library

from tests.helpers import account, signed_in
from wenxing import audit
from wenxing.audit import AuditEvent
from wenxing.db.base import utcnow
from wenxing.materials.listing import PAGE_SIZE
from wenxing.members.accounts import devices
from wenxing.members.models import ActivationCode, Member
from wenxing.web.app import create_app
from wenxing.web.auth import CSRF_COOKIE


@pytest.fixture(scope="module")
def world(module_runtime):
    runtime = module_runtime
    made = generate_library(runtime, 5000, 2000, utcnow())
    with runtime.db.transaction() as session:
        publisher = runtime.publisher_settings()
        account(session, publisher, "boss", subscribed=False, username="boss").role = "admin"
        account(session, publisher, "writer", subscribed=False, username="writer").role = "editor"
    app = create_app(runtime)
    return runtime, app, signed_in(app, "boss"), made


def _ids(text: str) -> list[int]:
    return [int(i) for i in re.findall(r'name="ids" value="(\d+)" aria-label', text)]


def _post(client, path: str, data: dict, **kwargs):
    return client.post(path, data={**data, "csrf_token": client.cookies[CSRF_COOKIE]}, **kwargs)


def test_the_list_pages_by_key_newest_first_and_filters(world):
    _runtime, _app, boss, made = world
    first = boss.get("/console/materials")
    assert first.status_code == 200
    assert _ids(first.text) == list(range(5000, 5000 - PAGE_SIZE, -1))
    assert "共 5000 份材料符合条件" in first.text
    # The next page starts after the last id shown, and keeps going to the oldest.
    following = re.search(r'rel="next" href="/console/materials\?after=(\d+)"', first.text)
    assert following and int(following[1]) == 5000 - PAGE_SIZE + 1
    second = boss.get(f"/console/materials?after={following[1]}")
    assert _ids(second.text)[0] == 5000 - PAGE_SIZE
    last = boss.get("/console/materials?after=3")
    assert _ids(last.text) == [2, 1] and 'rel="next"' not in last.text
    # The material uploaded last is found by a word of its title.
    found = boss.get("/console/materials", params={"q": "秋季新材料第120篇"})
    assert _ids(found.text) == [5000] and made["last_title"] in found.text
    # Filters combine, and a page of a filter keeps it in its link.
    drafts = boss.get("/console/materials", params={"state": "draft", "category": UPLOAD_CATEGORY})
    assert "共 120 份材料符合条件" in drafts.text
    assert _ids(drafts.text) == list(range(5000, 5000 - PAGE_SIZE, -1))
    assert "state=draft&amp;category=" in drafts.text
    kind = boss.get("/console/materials", params={"kind": "方案", "tag": "重点"})
    listed = _ids(kind.text)
    assert listed and all(i % 7 == 0 for i in listed)
    nothing = boss.get("/console/materials", params={"reported": "1"})
    assert _ids(nothing.text) == [] and "没有符合条件的材料" in nothing.text


def test_bulk_publish_of_an_upload_is_asked_first_then_done_once_and_audited(world):
    runtime, _app, boss, made = world
    everything = "state=draft&category=" + UPLOAD_CATEGORY
    asked = _post(boss, "/console/materials/bulk", {"action": "publish", "everything": everything})
    assert asked.status_code == 200 and "发布这 120 份材料" in asked.text
    with runtime.db.reading() as session:
        assert audit.count_events(session, {"type": audit.MATERIAL_PUBLISH}) == 0
    hidden = re.findall(r'name="ids" value="(\d+)"', asked.text)
    assert sorted(map(int, hidden)) == made["upload"]
    done = _post(
        boss,
        "/console/materials/bulk",
        {"action": "publish", "ids": hidden, "confirmed": "1", "back": "/console/materials"},
        follow_redirects=False,
    )
    assert done.status_code == 303
    shown = boss.get(done.headers["location"])
    assert "发布：120 份材料" in shown.text
    left = boss.get("/console/materials", params={"state": "draft", "category": UPLOAD_CATEGORY})
    assert "共 0 份材料符合条件" in left.text
    with runtime.db.reading() as session:
        [event] = audit.events(session, {"type": audit.MATERIAL_PUBLISH}, limit=5)
        boss_number = session.query(Member).filter_by(username="boss").one().number
        assert event.actor == boss_number and json.loads(event.details)["count"] == 120
    # The audit log says it in Chinese, with labelled details, never raw JSON.
    log = boss.get("/console/audit", params={"type": audit.MATERIAL_PUBLISH}).text
    assert f"{boss_number} 发布了材料" in log and '<dt>数量</dt><dd class="data">120</dd>' in log
    assert '{"' not in log and audit.MATERIAL_PUBLISH not in log.split("<select", 1)[0]


def test_tags_categories_and_deleting_drafts_in_bulk(world):
    runtime, _app, boss, _made = world
    # 10, 20 and 30 are drafts never published; 11 is published and is not deleted.
    base = {"ids": ["10", "20", "30", "11"], "confirmed": "1"}
    _post(boss, "/console/materials/bulk", {**base, "action": "tag", "value": "年终"})
    tagged = boss.get("/console/materials", params={"tag": "年终"})
    assert sorted(_ids(tagged.text)) == [10, 11, 20, 30]
    refused = _post(boss, "/console/materials/bulk", {**base, "action": "tag", "value": "a,b"})
    assert refused.status_code == 400 and "不能有逗号" in refused.text
    asked = _post(boss, "/console/materials/bulk", {"ids": base["ids"], "action": "delete"})
    assert "删除后无法恢复" in asked.text
    _post(boss, "/console/materials/bulk", {**base, "action": "delete"})
    gone = boss.get("/console/materials", params={"tag": "年终"})
    assert _ids(gone.text) == [11]
    assert boss.get("/console/materials/10").status_code == 404
    with runtime.db.reading() as session:
        [event] = audit.events(session, {"type": audit.MATERIAL_DELETE}, limit=5)
        assert json.loads(event.details)["ids"] == [10, 20, 30]


def test_the_material_page_publishes_unpublishes_and_shows_its_history(world):
    _runtime, _app, boss, _made = world
    page = boss.get("/console/materials/12").text
    assert "下架" in page and "领取记录（共 0 份）" in page and "没有涉及这份材料的举报" in page
    asked = _post(boss, "/console/materials/bulk", {"ids": "12", "action": "unpublish"})
    assert "下架这 1 份材料" in asked.text
    _post(
        boss,
        "/console/materials/bulk",
        {"ids": "12", "action": "unpublish", "confirmed": "1", "back": "/console/materials/12"},
    )
    assert ">草稿</strong>" in boss.get("/console/materials/12").text
    edited = _post(
        boss,
        "/console/materials/12",
        {"title": "", "kind": "方案", "category": "", "tags": ""},
    )
    assert edited.status_code == 400 and "标题不能为空" in edited.text


def test_members_filter_export_and_bulk_suspend(world):
    runtime, app, boss, made = world
    soon = boss.get("/console/members", params={"expiring": "7"})
    assert f"共 {made['expiring_7']} 位会员符合条件" in soon.text
    exported = boss.get("/console/members.csv", params={"expiring": "7"})
    assert exported.status_code == 200
    rows = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert rows[0][0] == "会员号" and "会员到期（Asia/Shanghai）" in rows[0]
    assert len(rows) - 1 == made["expiring_7"]
    now = utcnow()
    with runtime.db.reading() as session:
        for number in (r[0] for r in rows[1:]):
            member = session.query(Member).filter_by(number=number).one()
            assert member is not None
    ended = boss.get("/console/members", params={"expired": "1"})
    assert "共 0 位会员" not in ended.text
    suspended = boss.get("/console/members", params={"suspended": "1"})
    assert "WX-10001" in suspended.text and "WX-10002" not in suspended.text
    # Bulk suspension: asked first, then every member suspended and signed out everywhere.
    with runtime.db.transaction() as session:
        account(session, runtime.publisher_settings(), "shared", subscribed=True, username="shared")
    signed_in(app, "shared")
    with runtime.db.reading() as session:
        shared = session.query(Member).filter_by(username="shared").one()
        assert devices(session, shared.id)
    numbers = [shared.number, "WX-10002"]
    asked = _post(
        boss, "/console/members/bulk", {"action": "suspend", "numbers": numbers, "reason": "共享"}
    )
    assert "暂停这 2 位会员的账号" in asked.text
    _post(
        boss,
        "/console/members/bulk",
        {"action": "suspend", "numbers": numbers, "reason": "共享", "confirmed": "1"},
    )
    with runtime.db.reading() as session:
        assert session.query(Member).filter_by(number="WX-10002").one().status == "suspended"
        assert devices(session, shared.id) == []
        assert audit.count_events(session, {"type": audit.MEMBER_SUSPEND}) == 2
        assert audit.count_events(session, {"type": audit.MEMBER_SIGN_OUT_ALL}) == 2
    assert now  # the export's dates are local; the suspension's audit is per member


def test_codes_lookup_revoke_a_batch_and_set_its_expiry(world):
    runtime, _app, boss, _made = world
    with runtime.db.reading() as session:
        redeemed = session.query(ActivationCode).filter_by(state="redeemed").first()
        member = session.get(Member, redeemed.redeemed_by)
    shown = boss.get("/console/codes", params={"code": redeemed.code.lower()})
    assert "已兑换" in shown.text and member.number in shown.text and "生成批次" in shown.text
    missing = boss.get("/console/codes", params={"code": "AAAA-AAAA-AAAA-AAAA-A"})
    assert missing.status_code == 404
    asked = _post(boss, "/console/codes/revoke", {"batch": "生成批次3"})
    assert "作废批次“生成批次3”中所有未使用的卡密" in asked.text
    done = _post(boss, "/console/codes/revoke", {"batch": "生成批次3", "confirmed": "1"})
    assert "作废了 100 个未使用的卡密" in done.text
    with runtime.db.reading() as session:
        states = {c.state for c in session.query(ActivationCode).filter_by(batch_id=3).all()}
        assert states == {"revoked", "redeemed"}
    day = (utcnow() + timedelta(days=30)).strftime("%Y-%m-%d")
    dated = _post(boss, "/console/codes/expiry", {"batch": "生成批次4", "day": day})
    assert "截止日期已更新" in dated.text and f'value="{day}"' in dated.text
    past = _post(boss, "/console/codes/expiry", {"batch": "生成批次4", "day": "2001-01-01"})
    assert past.status_code == 400 and "截止日期要在今天以后" in past.text
    channels = boss.get("/console/codes").text.split('id="channels"')[1].split("</table>")[0]
    assert "微信小店" in channels and "淘宝" in channels


def test_the_dashboard_has_axes_and_local_days(world):
    runtime, _app, boss, _made = world
    page = boss.get("/console").text
    for key in ("signups", "redemptions", "downloads"):
        assert f'id="chart-{key}"' in page
    assert 'class="axis"' in page and "日期（Asia/Shanghai）" in page
    today = (utcnow() + timedelta(hours=8)).strftime("%m-%d")
    assert f">{today}</text>" in page
    csv_text = boss.get("/console/charts/redemptions.csv").content.decode("utf-8-sig")
    lines = csv_text.strip().splitlines()
    assert lines[0] == "日期,卡密兑换" and len(lines) == 15
    with runtime.db.reading() as session:
        assert session.query(AuditEvent).count() > 0
