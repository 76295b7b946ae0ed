"""The console's settings page through the real app: admins only, every declared setting
with its help line, the CLI's checks, errors beside the field with nothing stored, an
audit event per change, and the change in effect on the next page and copy."""

from __future__ import annotations

import html
import json
import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.helpers import account, import_sample, signed_in
from wenxing import audit
from wenxing.config import PUBLISHER_SETTINGS
from wenxing.web.app import create_app
from wenxing.web.auth import CSRF_COOKIE


@pytest.fixture
def site(runtime):
    import_sample(runtime)
    publisher = runtime.publisher_settings()
    with runtime.db.transaction() as session:
        for username, role in (("boss", "admin"), ("writer", "editor"), ("reader", "user")):
            account(
                session, publisher, username, subscribed=role == "user", username=username
            ).role = role
    app = create_app(runtime)
    return app, {u: signed_in(app, u) for u in ("boss", "writer", "reader")}


def form_of(page: str, name: str) -> str:
    """The HTML of one setting's form."""
    found = re.search(rf'<form [^>]*id="setting-{name}">.*?</form>', page, re.S)
    assert found, name
    return found.group(0)


def save(client: TestClient, name: str, value: str, **kwargs):
    data = {"value": value, "csrf_token": client.cookies[CSRF_COOKIE]}
    return client.post(f"/console/settings/{name}", data=data, **kwargs)


def changes(runtime) -> list[audit.AuditEvent]:
    with runtime.db.reading() as session:
        rows = session.scalars(
            select(audit.AuditEvent).where(audit.AuditEvent.type == audit.SETTING_CHANGE)
        ).all()
        session.expunge_all()
    return rows


def test_only_admins_see_the_settings_and_the_nav_links_them(site):
    app, clients = site
    visitor = TestClient(app).get("/console/settings", follow_redirects=False)
    assert visitor.status_code == 303
    assert visitor.headers["location"] == "/signin?next=/console/settings"
    for who in ("writer", "reader"):
        refused = clients[who].get("/console/settings")
        assert refused.status_code == 403 and "没有权限" in refused.text
        assert save(clients[who], "brand", "别人").status_code == 403
    assert 'href="/console/settings"' in clients["boss"].get("/console").text
    assert 'href="/console/settings"' not in clients["writer"].get("/console").text


def test_every_declared_setting_is_shown_with_its_help_and_value(runtime, site):
    _app, clients = site
    page = clients["boss"].get("/console/settings")
    assert page.status_code == 200
    current = runtime.publisher_settings()
    for spec in PUBLISHER_SETTINGS:
        form = form_of(page.text, spec.name)
        assert f'action="/console/settings/{spec.name}"' in form
        assert 'name="csrf_token"' in form
        assert re.search(r'<p class="meta" id="help-[^"]+">[^<]{8,}</p>', form), spec.name
        value = current.json_value(spec.name)
        if isinstance(value, list):
            shown = html.unescape(re.search(r"<textarea[^>]*>(.*?)</textarea>", form, re.S)[1])
            assert json.loads(shown) == value, spec.name
        elif spec.choices:
            assert f'<option value="{value}" selected>' in form  # named in Chinese
            assert re.search(r"<option[^>]*>[a-z]+</option>", form) is None
        elif spec.name in ("terms_text", "privacy_text"):  # long text: a textarea
            shown = html.unescape(re.search(r"<textarea[^>]*>(.*?)</textarea>", form, re.S)[1])
            assert shown.strip() == value.strip(), spec.name
        elif spec.name != "wording_variants":
            shown = str(value) if not isinstance(value, float) else f"{value:.15f}".rstrip("0")
            assert f'value="{html.escape(shown.removesuffix("."))}"' in form, spec.name
            assert "e-0" not in form, spec.name  # 0.000001, never 1e-06
    assert "刊头" in page.text and "{member_group}" in page.text
    assert "每分钟搜索次数" in page.text


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("max_sessions", "three", "请填写整数。"),
        ("max_sessions", "0", "至少为 1。"),
        ("search_per_minute", "", "请填写整数。"),
        ("accusation_bound", "0.5", "要大于 0，最大 0.001。"),
        ("near_duplicate_threshold", "abc", "请填写数字。"),
        ("near_duplicate_threshold", "1.5", "要大于 0，最大 1。"),
        ("masthead", '["仅供学习", ', "请填写 JSON 列表"),
        ("masthead", '{"a": 1}', "请填写 JSON 列表（用方括号括起来）。"),
        ("masthead", '["仅供学习", 3]', "列表里的每一项都要是用引号括起来的文字。"),
        (
            "masthead",
            '["会员群：{group}"]',
            "第 1 行：花括号里只能是 {member_group} 或 {free_group}。",
        ),
        (
            "plans",
            '[{"code": "month"}]',
            "第 1 个套餐缺少 archive_months, daily_quota, months, name。",
        ),
        ("plans", "[1]", "第 1 个套餐要写成 JSON 对象"),
        ("marking_strength", "loud", "只能是 off、light、strong 之一。"),
        ("timezone", "Mars/Olympus", "没有这个时区"),
        ("extra_promo_patterns", '["(unclosed"]', "不是正确的正则表达式"),
        ("wording_variants", "推进|推动|促进", "第 1 行：每组要有 2 个或 4 个不为空的说法。"),
        ("report_reward_plan", "week", "只能是 month、year、3year 之一。"),
        ("report_file_mb", "500", "要大于 0，最大 200。"),
        (
            "plans",
            '[{"code": "month", "name": "月卡", "months": 1, "archive_months": 36, '
            '"daily_quota": 20}]',
            "套餐 year 是举报奖励套餐，请先修改“举报奖励套餐”。",
        ),
    ],
)
def test_a_bad_value_is_explained_beside_its_field_and_nothing_is_stored(
    runtime, site, cli, name, value, message
):
    _app, clients = site
    before = dict(runtime.publisher_settings())
    refused = save(clients["boss"], name, value)
    assert refused.status_code == 400
    form = form_of(refused.text, name)
    assert message in html.unescape(form)
    assert 'class="error"' in form
    assert 'aria-invalid="true"' in form or "<select" in form
    assert value in html.unescape(form) or name == "marking_strength"  # kept as typed
    others = refused.text.replace(form, "")
    assert 'class="error"' not in others  # only beside this field
    assert dict(runtime.publisher_settings()) == before
    assert changes(runtime) == []
    # The command line refuses the same value with the same check.
    result = cli("settings", "set", name, value)
    assert result.code == 1 and result.stderr.startswith("error: ")
    assert dict(runtime.publisher_settings()) == before


@pytest.mark.parametrize(
    ("name", "value", "stored"),
    [
        ("max_sessions", "5", 5),
        ("accusation_bound", "1e-7", 1e-7),
        ("near_duplicate_threshold", "1", 1.0),
        ("marking_strength", "strong", "strong"),
        ("free_group", "QQ 123456", "QQ 123456"),
        ("timezone", "Asia/Urumqi", "Asia/Urumqi"),
        ("extra_promo_patterns", '["^更多资料请关注.*$"]', ["^更多资料请关注.*$"]),
        (
            "plans",
            '[{"code": "week", "name": "周卡", "months": 1, "archive_months": 0, '
            '"daily_quota": 5}, {"code": "year", "name": "年卡", "months": 12, '
            '"archive_months": 36, "daily_quota": 50}]',
            [
                {
                    "code": "week",
                    "name": "周卡",
                    "months": 1,
                    "archive_months": 0,
                    "daily_quota": 5,
                },
                {
                    "code": "year",
                    "name": "年卡",
                    "months": 12,
                    "archive_months": 36,
                    "daily_quota": 50,
                },
            ],
        ),
        ("report_reward_plan", "3year", "3year"),
    ],
)
def test_a_good_value_is_stored_as_the_cli_stores_it(runtime, site, cli, name, value, stored):
    _app, clients = site
    saved = save(clients["boss"], name, value, follow_redirects=False)
    assert saved.status_code == 303
    assert saved.headers["location"] == f"/console/settings?saved={name}#setting-{name}"
    assert runtime.publisher_settings().json_value(name) == stored
    assert "已保存" in clients["boss"].get(saved.headers["location"]).text
    assert cli("settings", "set", name, value).code == 0
    assert runtime.publisher_settings().json_value(name) == stored


def test_a_change_is_audited_once(runtime, site):
    _app, clients = site
    admin = clients["boss"]
    assert save(admin, "search_per_minute", "12").status_code == 200
    (event,) = changes(runtime)
    assert event.subject == "search_per_minute" and event.actor == "WX-10001"
    assert json.loads(event.details) == {"before": 30, "after": 12}
    assert save(admin, "search_per_minute", "12").status_code == 200  # no change, no event
    assert len(changes(runtime)) == 1
    log = admin.get("/console/audit", params={"type": "setting:change"}).text
    assert "search_per_minute" in log


def test_a_forged_form_changes_nothing(runtime, site):
    _app, clients = site
    forged = clients["boss"].post(
        "/console/settings/brand", data={"value": "伪造", "csrf_token": "guess"}
    )
    assert forged.status_code == 403
    assert runtime.publisher_settings().brand == "酷乐文行" and changes(runtime) == []
    unknown = save(clients["boss"], "nothing", "1")
    assert unknown.status_code == 404 and "没有这个设置" in unknown.text


def test_the_brand_and_masthead_change_the_next_page_and_copy(runtime, site):
    _app, clients = site
    admin, member = clients["boss"], clients["reader"]
    assert "酷乐文行" in member.get("/").text
    assert save(admin, "brand", "文行资料馆").status_code == 200
    assert '<a href="/">文行资料馆</a>' in member.get("/").text
    before = member.get("/materials/1/download/txt").content.decode("utf-8-sig")
    assert "酷乐文行" in before[:300]
    masthead = ["仅供学习 禁止外传", "文行资料馆", "会员群：{member_group}"]
    typed = json.dumps(masthead, ensure_ascii=False, indent=2).replace("\n", "\r\n")
    assert save(admin, "member_group", "企业微信 wx-vip").status_code == 200
    assert save(admin, "masthead", typed).status_code == 200
    after = member.get("/materials/1/download/txt").content.decode("utf-8-sig")
    head = after[:300]
    assert "文行资料馆" in head and "会员群：企业微信 wx-vip" in head
    assert "酷乐文行" not in head and "打击倒卖活动" not in head


def test_a_plan_with_unredeemed_codes_cannot_be_removed(runtime, site, cli, tmp_path):
    assert (
        cli(
            "codes",
            "generate",
            "--plan",
            "month",
            "--count",
            "2",
            "--batch",
            "b1",
            "--out",
            str(tmp_path / "b1.csv"),
            "--json",
        ).code
        == 0
    )
    _app, clients = site
    without_month = (
        '[{"code": "year", "name": "年卡", "months": 12, "archive_months": 36, "daily_quota": 50}]'
    )
    refused = save(clients["boss"], "plans", without_month)
    assert refused.status_code == 400
    assert "套餐 month 还有 2 张未兑换的卡密，请先作废这些卡密。" in html.unescape(refused.text)
    result = cli("settings", "set", "plans", without_month)
    assert result.code == 1 and "unredeemed" in result.stderr
    assert [p["code"] for p in runtime.publisher_settings().plans] == ["month", "year", "3year"]
