"""组稿 on the site: POST /basket (the contract 相似段落 relies on), the basket and draft
pages, reordering with 上移/下移, and the export of a draft as a download."""

from __future__ import annotations

import io
import re
import zipfile

import pytest

from tests.helpers import account, import_sample, signed_in
from wenxing.web.app import create_app


@pytest.fixture
def site(runtime):
    import_sample(runtime)
    publisher = runtime.publisher_settings()
    with runtime.db.transaction() as session:
        account(session, publisher, "读者", subscribed=True, username="reader")
        account(session, publisher, "访客", subscribed=False, username="free")
    return create_app(runtime)


def _token(client) -> str:
    return client.get("/reading/1").json()["csrf_token"]


def _version(client) -> int:
    return client.get("/reading/1").json()["version"]


def test_post_basket_answers_json_or_a_redirect_back(site):
    client = signed_in(site, "reader")
    token, version = _token(client), _version(client)
    form = {"material": "1", "version": str(version), "anchor": "s2", "csrf_token": token}
    answer = client.post("/basket", data=form, headers={"Accept": "application/json"})
    assert answer.status_code == 200 and answer.json() == {"pieces": 1}
    back = client.post(
        "/basket",
        data={**form, "anchor": "s3"},
        headers={"Referer": "http://testserver/materials/1/read"},
        follow_redirects=False,
    )
    assert back.status_code == 303 and back.headers["location"] == "/materials/1/read"
    forged = client.post("/basket", data={**form, "csrf_token": "x"}, follow_redirects=False)
    assert forged.status_code == 403
    page = client.get("/basket")
    assert page.status_code == 200 and "在全区重点工作推进会上的讲话" in page.text
    free = signed_in(site, "free")
    refused = free.post(
        "/basket",
        data={**form, "csrf_token": _token(free)},
        headers={"Accept": "application/json"},
    )
    assert refused.status_code == 400 and "仅对会员开放" in refused.json()["error"]


def test_a_draft_is_arranged_and_exported_from_its_page(site):
    client = signed_in(site, "reader")
    token, version = _token(client), _version(client)
    for anchor in ("s1", "s2"):
        client.post(
            "/basket",
            data={"material": "1", "version": str(version), "anchor": anchor, "csrf_token": token},
        )
    made = client.post(
        "/drafts", data={"title": "我的讲话稿", "csrf_token": token}, follow_redirects=False
    )
    assert made.status_code == 303
    page_url = made.headers["location"]
    draft_id = int(page_url.rsplit("/", 1)[1])
    page = client.get(page_url)
    assert page.status_code == 200 and "我的讲话稿" in page.text
    parts = [int(n) for n in re.findall(r'id="part-(\d+)"', page.text)]
    assert len(parts) == 2
    client.post(
        f"/drafts/{draft_id}/parts/{parts[1]}/move", data={"step": "-1", "csrf_token": token}
    )
    client.post(
        f"/drafts/{draft_id}/text",
        data={"text": "这是我自己的一段话。", "after": str(parts[1]), "csrf_token": token},
    )
    client.post(
        f"/drafts/{draft_id}/parts/{parts[0]}/heading",
        data={"heading": "改过的标题", "level": "1", "csrf_token": token},
    )
    exported = client.post(f"/drafts/{draft_id}/export/docx", data={"csrf_token": token})
    assert exported.status_code == 200
    assert "attachment" in exported.headers["content-disposition"]
    xml = zipfile.ZipFile(io.BytesIO(exported.content)).read("word/document.xml").decode()
    assert xml.index("这是我自己的一段话") < xml.index("改过的标题")
    # s2 is an item (一是…) with no numbered heading: the renamed s1 is the first heading.
    assert "一、改过的标题" in re.sub(r"[\ufe00-\ufe0f\u200b-\u200f\u2060-\u2064]", "", xml)
    listed = client.get("/account/drafts")
    assert listed.status_code == 200 and "我的讲话稿" in listed.text
    other = signed_in(site, "free")
    assert other.get(page_url).status_code == 404


def test_search_results_offer_the_sections_a_member_may_read(site):
    client = signed_in(site, "reader")
    page = client.get("/search", params={"q": "乡村振兴"})
    assert page.status_code == 200
    forms = re.findall(
        r'<form method="post" action="/basket".*?name="anchor" value="(s\d+)"', page.text
    )
    assert forms, "no 加入素材篮 beside the results"
    version = re.search(r'name="version" value="(\d+)"', page.text).group(1)
    added = client.post(
        "/basket",
        data={
            "material": "1",
            "version": version,
            "anchor": forms[0],
            "csrf_token": _token(client),
        },
        headers={"Accept": "application/json"},
    )
    assert added.json() == {"pieces": 1}
    visitor_page = signed_in(site, "free").get("/search", params={"q": "乡村振兴"})
    assert 'action="/basket"' not in visitor_page.text  # no snippet the free account may read


def test_the_api_holds_the_basket_and_exports_a_draft(runtime, site):
    from fastapi.testclient import TestClient

    from tests.functional.test_api import bearer, token_for

    client = TestClient(site)
    paid, free = bearer(token_for(client, "reader")), bearer(token_for(client, "free"))
    version = signed_in(site, "reader").get("/reading/1").json()["version"]
    piece = {"material": 1, "version": version, "anchor": "s1"}
    added = client.post("/api/v1/basket", json=piece, headers=paid)
    assert added.status_code == 200 and [p["anchor"] for p in added.json()["pieces"]] == ["s1"]
    refused = client.post("/api/v1/basket", json=piece, headers=free)
    assert refused.status_code == 400 and "仅对会员开放" in refused.json()["error"]
    assert client.post("/api/v1/basket", json=piece).status_code == 401
    made = client.post("/api/v1/drafts", json={"title": "接口草稿"}, headers=paid)
    assert made.status_code == 201 and made.json()["pieces"] == 1
    assert client.get("/api/v1/basket", headers=paid).json() == {"pieces": []}
    draft_id = made.json()["id"]
    exported = client.post(
        f"/api/v1/drafts/{draft_id}/export", params={"format": "txt"}, headers=paid
    )
    assert exported.status_code == 200 and exported.headers["x-wenxing-copy"]
    assert "会员 WX-10001" in exported.content.decode()
    other = client.post(f"/api/v1/drafts/{draft_id}/export", headers=free)
    assert other.status_code == 400  # another account's draft is not found
    listed = client.get("/api/v1/drafts", headers=paid).json()["drafts"]
    assert [d["title"] for d in listed] == ["接口草稿"]


def test_a_section_from_similar_goes_into_the_basket(runtime):
    """The 相似段落 panel's sections post the basket's form (issue 25's contract)."""
    from tests.helpers import REPO, SAMPLE
    from wenxing.materials.importer import ImportOptions, MaterialImporter

    files = [
        SAMPLE,
        *(
            REPO / "tests/fixtures/materials/reports" / n
            for n in ("county_2017.txt", "city_2018.txt")
        ),
    ]
    MaterialImporter(runtime.db, runtime.settings, runtime.publisher_settings()).run(
        files, ImportOptions(publish=True)
    )
    with runtime.db.transaction() as session:
        account(session, runtime.publisher_settings(), "读者", subscribed=True, username="reader")
    app = create_app(runtime)
    client = signed_in(app, "reader")
    page = client.get("/materials/1/read").text
    anchor = re.findall(r'<a class="sim" href="similar\?at=(s\d+)"', page)[1]
    data = client.get(
        "/materials/1/similar", params={"at": anchor}, headers={"Accept": "application/json"}
    ).json()
    assert data["basket_action"] == "/basket" and data["sections"]
    first = data["sections"][0]
    form = {
        "material": str(first["material"]),
        "version": str(first["version"]),
        "anchor": first["anchor"],
        "csrf_token": data["csrf_token"],
    }
    added = client.post("/basket", data=form, headers={"Accept": "application/json"})
    assert added.status_code == 200 and added.json() == {"pieces": 1}
    assert first["title"] in client.get("/basket").text
