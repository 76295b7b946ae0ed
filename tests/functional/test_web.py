"""The public pages: visitors see titles, outlines and a 300-character preview, no more."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.helpers import SAMPLE
from wenxing.materials import catalog
from wenxing.materials.importer import ImportOptions, MaterialImporter
from wenxing.web.app import create_app


def _import(runtime, publish=True):
    importer = MaterialImporter(runtime.db, runtime.settings, runtime.publisher_settings())
    return importer.run([SAMPLE], ImportOptions(publish=publish))


def test_home_lists_published_materials_only(runtime):
    _import(runtime, publish=False)
    client = TestClient(create_app(runtime))
    page = client.get("/")
    assert page.status_code == 200 and "还没有已发布的材料" in page.text
    with runtime.db.transaction() as session:
        catalog.set_published(session, 1, True)
    page = client.get("/")
    assert "在全区重点工作推进会上的讲话" in page.text
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["ready"] is True
    assert ready.json()["materials"] == 1 and ready.json()["checks"]["database"] == "ok"


def test_material_page_shows_outline_and_preview_only(runtime):
    _import(runtime)
    client = TestClient(create_app(runtime))
    page = client.get("/materials/1")
    assert page.status_code == 200
    assert "坚定不移贯彻新发展理念" in page.text and "着力构建良好发展环境" in page.text
    with runtime.db.reading() as session:
        body = catalog.material_document(session, 1)["body"]
    # No run of more than 300 body characters appears in the page (architecture rule 1).
    assert body[:300].split("\n")[-1] in page.text
    for start in range(0, len(body) - 101, 50):
        window = body[start + 300 : start + 401] if start + 401 <= len(body) else ""
        assert not window or window not in page.text


def test_unknown_and_draft_materials_are_404_in_chinese(runtime):
    _import(runtime, publish=False)
    client = TestClient(create_app(runtime))
    for path in ("/materials/1", "/materials/99"):
        page = client.get(path)
        assert page.status_code == 404 and "没有这份材料" in page.text


def test_requests_are_logged_as_json_lines_without_query_strings(runtime, caplog):
    import json
    import logging

    from wenxing.web.logs import JsonLines

    _import(runtime)
    client = TestClient(create_app(runtime))
    with caplog.at_level(logging.INFO, logger="wenxing.web"):
        client.get("/search", params={"q": "乡村振兴"})
        client.get("/materials/99")
    lines = [json.loads(JsonLines().format(r)) for r in caplog.records if r.name == "wenxing.web"]
    assert [(e["method"], e["path"], e["status"]) for e in lines] == [
        ("GET", "/search", 200),
        ("GET", "/materials/99", 404),
    ]
    assert all(e["ms"] >= 0 and e["level"] == "info" and "乡村" not in json.dumps(e) for e in lines)


def test_every_response_carries_the_security_headers_and_static_files_are_cached(runtime):
    _import(runtime)
    client = TestClient(create_app(runtime))
    for path in ("/", "/materials/1", "/materials/99", "/signin", "/api/v1/materials"):
        response = client.get(path)
        csp = response.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp.split("script-src")[1]
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "same-origin"
        assert "max-age" not in response.headers.get("cache-control", "")
    sheet = client.get("/static/site.css")
    assert sheet.status_code == 200 and sheet.headers["cache-control"] == "public, max-age=86400"
    assert sheet.headers["x-content-type-options"] == "nosniff"


def test_an_unexpected_failure_is_a_chinese_page_and_the_traceback_stays_in_the_log(
    runtime, monkeypatch, caplog
):
    import logging

    from wenxing.materials import catalog

    _import(runtime)

    def broken(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(catalog, "list_materials", broken)
    client = TestClient(create_app(runtime), raise_server_exceptions=False)
    with caplog.at_level(logging.INFO, logger="wenxing.web"):
        page = client.get("/")
        api = client.get("/api/v1/materials")
    assert page.status_code == 500 and "服务器出错了，请稍后再试" in page.text
    assert api.status_code == 500 and api.json() == {"error": "服务器出错了，请稍后再试"}
    for response in (page, api):
        assert "Traceback" not in response.text and "disk on fire" not in response.text
    failures = [r for r in caplog.records if r.getMessage() == "request failed"]
    assert len(failures) == 2 and all("disk on fire" in str(r.exc_info[1]) for r in failures)
