"""相似段落 on the site (issue 25): the reader page's button, the JSON its panel reads, the
page without the script, the 加入素材篮 forms, gating and the search allowance; on SQLite
and PostgreSQL."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.helpers import SAMPLE, account, signed_in
from tests.materials import CITY_2018, CITY_2021, COUNTY_2017
from wenxing.delivery.layout import layout_of
from wenxing.materials.importer import ImportOptions, MaterialImporter
from wenxing.materials.models import Material, MaterialVersion
from wenxing.settings import change as change_setting
from wenxing.web.app import create_app

RURAL = "二、坚定不移推进乡村振兴"


@pytest.fixture
def site(runtime):
    importer = MaterialImporter(runtime.db, runtime.settings, runtime.publisher_settings())
    report = importer.run([SAMPLE, COUNTY_2017, CITY_2018, CITY_2021], ImportOptions(publish=True))
    assert not report.failed
    with runtime.db.transaction() as session:
        publisher = runtime.publisher_settings()
        account(session, publisher, "会员", subscribed=True, username="member1")
        account(session, publisher, "免费", subscribed=False, username="free1")
        sample = session.scalars(
            select(Material).where(Material.title == "在全区重点工作推进会上的讲话")
        ).one()
        version = session.scalars(
            select(MaterialVersion).where(MaterialVersion.material_id == sample.id)
        ).one()
        layout = layout_of(version.title, version.body, version.outline)
        bodies = [v.body for v in session.scalars(select(MaterialVersion))]
    anchor = next(e.anchor for e in layout.toc if e.label.startswith(RURAL))
    return create_app(runtime), sample.id, anchor, bodies


def _json(client, material_id: int, anchor: str):
    return client.get(
        f"/materials/{material_id}/similar",
        params={"at": anchor},
        headers={"Accept": "application/json"},
    )


def _no_body_text(text: str, bodies: list[str], allowed: str) -> None:
    """No run of 20 characters of any body appears in ``text`` outside headings and titles."""
    for body in bodies:
        for paragraph in body.split("\n"):
            for at in range(0, max(0, len(paragraph) - 20), 7):
                piece = paragraph[at : at + 20]
                assert piece not in text or piece in allowed, piece


def test_the_reader_page_has_a_similar_button_beside_each_heading(runtime, site):
    app, sample_id, anchor, _bodies = site
    member = signed_in(app, "member1")
    page = member.get(f"/materials/{sample_id}/read").text
    links = re.findall(r'<a class="sim" href="similar\?at=(s\d+)" data-at="\1"', page)
    assert anchor in links and len(links) >= 4
    assert "相似段落</a>" not in page  # the label is drawn by the style: never copied text
    download = member.get(f"/materials/{sample_id}/download/html")
    assert download.status_code == 200 and 'class="sim"' not in download.text


def test_a_member_gets_the_panels_json_with_basket_forms(runtime, site):
    app, sample_id, anchor, bodies = site
    member = signed_in(app, "member1")
    answer = _json(member, sample_id, anchor)
    assert answer.status_code == 200, answer.text
    data = answer.json()
    assert data["source"] == {
        "material": sample_id,
        "anchor": anchor,
        "heading": data["source"]["heading"],
    }
    assert data["source"]["heading"].startswith(RURAL)
    assert data["basket"] is True and data["basket_action"] == "/basket" and data["csrf_token"]
    sections = data["sections"]
    assert sections and all(s["material"] != sample_id for s in sections)
    assert any("乡村振兴" in s["heading"] for s in sections[:2])
    for s in sections:
        assert set(s) == {
            "material",
            "version",
            "anchor",
            "title",
            "heading",
            "kind",
            "date",
            "href",
        }
        assert re.fullmatch(r"s\d+", s["anchor"]) and re.fullmatch(r"\d{4}-\d\d-\d\d", s["date"])
        assert s["href"] == f"/materials/{s['material']}/read#{s['anchor']}"
    allowed = " ".join(f"{s['title']} {s['heading']}" for s in sections) + data["source"]["heading"]
    _no_body_text(answer.text, bodies, allowed)
    page = member.get(f"/materials/{sample_id}/similar", params={"at": anchor}).text
    forms = re.findall(r'<form method="post" action="/basket"[^>]*>(.*?)</form>', page, re.S)
    assert len(forms) == len(sections)
    for form, s in zip(forms, sections, strict=True):
        for name in ("material", "version", "anchor", "csrf_token"):
            assert f'name="{name}"' in form
        assert f'name="anchor" value="{s["anchor"]}"' in form
        assert f'name="version" value="{s["version"]}"' in form


def test_visitors_and_free_accounts_see_headings_without_baskets(runtime, site):
    app, sample_id, anchor, bodies = site
    for client in (TestClient(app), signed_in(app, "free1")):
        data = _json(client, sample_id, anchor).json()
        assert data["basket"] is False and data["sections"]
        page = client.get(f"/materials/{sample_id}/similar", params={"at": anchor})
        assert page.status_code == 200
        assert "/basket" not in page.text and "开通会员后可阅读这些段落并加入素材篮" in page.text
        allowed = " ".join(f"{s['title']} {s['heading']}" for s in data["sections"])
        _no_body_text(page.text, bodies, allowed + data["source"]["heading"])


def test_unknown_sections_are_404_and_answers_count_like_searches(runtime, site):
    app, sample_id, anchor, _bodies = site
    member = signed_in(app, "member1")
    assert _json(member, sample_id, "s9999").status_code == 404
    assert _json(member, sample_id, "x").status_code == 404
    assert member.get("/materials/999/similar?at=s1").status_code == 404
    with runtime.db.transaction() as session:
        change_setting(session, "search_per_minute", 4, actor="admin:test", audited=False)
    codes = [_json(member, sample_id, anchor).status_code for _ in range(6)]
    assert 429 in codes and codes[0] in (200, 429)
    limited = _json(member, sample_id, anchor)
    assert limited.status_code == 429 and limited.headers["Retry-After"]
    assert member.get("/search", params={"q": "乡村振兴"}).status_code == 429  # the same allowance
