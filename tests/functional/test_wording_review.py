"""The console's wording review, on both databases: an editor sees each group of variants
in its contexts and approves or vetoes it, and vetoes single places of a material; copies
made afterwards follow, copies made before still trace with their own plan."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from tests.helpers import account, import_sample, signed_in
from wenxing import audit
from wenxing.delivery.marking import plan_for
from wenxing.delivery.models import MarkingPlan
from wenxing.delivery.review import vetoes
from wenxing.materials import catalog
from wenxing.settings import change as change_setting
from wenxing.web.app import create_app
from wenxing.web.auth import CSRF_COOKIE


@pytest.fixture
def site(runtime):
    import_sample(runtime)
    publisher = runtime.publisher_settings()
    with runtime.db.transaction() as session:
        account(session, publisher, "editor", subscribed=False, username="editor").role = "editor"
        account(session, publisher, "reader", subscribed=True, username="reader")
    return create_app(runtime)


def token(client, path: str) -> str:
    assert client.get(path).status_code == 200
    return client.cookies[CSRF_COOKIE]


def current_plan(runtime):
    with runtime.db.transaction() as session:
        material = catalog.get_material(session, 1)
        version = catalog.current_version(session, material)
        refused = vetoes(session, version.id)
        row, plan = plan_for(
            session, runtime.secret, version, runtime.publisher_settings(), refused
        )
        return row.id, plan


def test_an_editor_reviews_groups_in_context_and_vetoes_one(runtime, site):
    editor = signed_in(site, "editor")
    page = editor.get("/console/wording")
    assert page.status_code == 200
    text = page.text
    # Every group is listed with its forms, its state and its places in context.
    assert "推动 / 推进 / 促进 / 助推" in text and "已批准" in text
    assert "<mark>推动</mark>" in text or "<mark>推进</mark>" in text
    assert "在全区重点工作推进会上的讲话" in text
    before_id, before = current_plan(runtime)
    assert any("和" in g for g in before.groups)
    # Veto 和 | 与 (group number from the page's anchors).
    number = next(
        n
        for n in range(60)
        if f'id="group-{n}"' in text
        and text.split(f'id="group-{n}"')[1].split("</h2>")[0].count("和 / 与")
    )
    response = editor.post(
        f"/console/wording/{number}/vetoed",
        data={"csrf_token": token(editor, "/console/wording")},
        follow_redirects=False,
    )
    assert response.status_code == 303
    after_page = editor.get(response.headers["location"]).text
    assert "已否决这一组" in after_page
    after_id, after = current_plan(runtime)
    assert after_id != before_id  # later copies get a new plan without the group
    assert ("和", "与") not in after.groups and ("和", "与") in before.groups
    with runtime.db.reading() as session:
        assert session.get(MarkingPlan, before_id) is not None  # the old plan stays for tracing
        event = session.scalar(
            select(audit.AuditEvent).where(audit.AuditEvent.type == audit.WORDING_REVIEW)
        )
    assert event.subject == "和|与" and json.loads(event.details)["decision"] == "vetoed"
    # Approving it again restores the plan's groups.
    editor.post(
        f"/console/wording/{number}/approved",
        data={"csrf_token": token(editor, "/console/wording")},
    )
    assert ("和", "与") in current_plan(runtime)[1].groups


def test_a_group_the_publisher_adds_waits_for_approval(runtime, site):
    with runtime.db.transaction() as session:
        listing = (
            "加强 | 强化\n"
            "推动 | 推进  !会\n"
            "做好 | 抓好\n"
            "讲话 | 发言\n"  # a group of the publisher's own
        )
        change_setting(session, "wording_variants", listing, actor="publisher:test")
    editor = signed_in(site, "editor")
    text = editor.get("/console/wording").text
    assert "讲话 / 发言" in text and "待审核" in text and "出版方添加" in text
    groups = current_plan(runtime)[1].groups
    assert ("讲话", "发言") not in groups and ("加强", "强化") in groups
    editor.post(
        "/console/wording/3/approved", data={"csrf_token": token(editor, "/console/wording")}
    )
    assert ("讲话", "发言") in current_plan(runtime)[1].groups


def test_an_editor_vetoes_places_of_one_material(runtime, site):
    editor = signed_in(site, "editor")
    page = editor.get("/console/wording/materials/1")
    assert page.status_code == 200 and "措辞位置" in page.text
    offsets = [
        int(v) for v in page.text.split('name="veto" value="')[1:][:3] for v in [v.split('"')[0]]
    ]
    assert len(offsets) == 3
    response = editor.post(
        "/console/wording/materials/1",
        data={
            "csrf_token": token(editor, "/console/wording/materials/1"),
            "veto": [str(o) for o in offsets],
        },
        follow_redirects=False,
    )
    assert response.status_code == 303
    shown = editor.get(response.headers["location"]).text
    assert "已否决 3 处" in shown
    plan = current_plan(runtime)[1]
    words_at = set(plan.index[plan.layer == 3].tolist())
    assert not words_at & set(offsets)
    # Unticking one allows it again.
    editor.post(
        "/console/wording/materials/1",
        data={
            "csrf_token": token(editor, "/console/wording/materials/1"),
            "veto": [str(o) for o in offsets[1:]],
        },
    )
    assert "已否决 2 处" in editor.get("/console/wording/materials/1").text


def test_members_cannot_see_the_review_and_forms_need_the_token(runtime, site):
    reader = signed_in(site, "reader")
    assert reader.get("/console/wording", follow_redirects=False).status_code in (303, 403)
    editor = signed_in(site, "editor")
    refused = editor.post("/console/wording/0/vetoed", data={"csrf_token": "wrong"})
    assert refused.status_code == 403
    assert (
        editor.post(
            "/console/wording/999/vetoed", data={"csrf_token": token(editor, "/console/wording")}
        ).status_code
        == 404
    )
