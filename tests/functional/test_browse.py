"""Category and tag pages through the real app: counts, newest first, pages of 20, 404s in
Chinese, links from the home and material pages, and no material text on any of them."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from tests.helpers import import_sample
from wenxing.db.base import utcnow
from wenxing.materials import catalog
from wenxing.materials.models import Material, MaterialVersion
from wenxing.web.app import create_app

VERSION_COLUMNS = [
    c.key for c in MaterialVersion.__table__.columns if c.key not in ("id", "material_id")
]


def shelve(runtime, title: str, *, category=None, tags="", published=True, days_ago=0) -> int:
    """Another material with the sample's text under ``title`` (no import: only the
    listing is under test)."""
    with runtime.db.transaction() as session:
        source = session.get(Material, 1)
        version = catalog.current_version(session, source)
        material = Material(
            title=title,
            kind=source.kind,
            category=category,
            tags=tags,
            status="published" if published else "draft",
            published_at=utcnow() - timedelta(days=days_ago) if published else None,
            current_version=1,
        )
        session.add(material)
        session.flush()
        copied = {key: getattr(version, key) for key in VERSION_COLUMNS}
        session.add(MaterialVersion(material_id=material.id, **{**copied, "title": title}))
        return material.id


@pytest.fixture
def site(runtime):
    import_sample(runtime)
    with runtime.db.transaction() as session:
        sample = session.get(Material, 1)
        sample.category, sample.tags = "讲话", "两会,推进会"
        sample.published_at = utcnow() - timedelta(days=400)
    return TestClient(create_app(runtime))


def titles(html: str) -> list[str]:
    return re.findall(r'<li><a href="/materials/\d+">([^<]+)</a>', html)


def test_categories_list_counts_published_materials_only(runtime, site):
    shelve(runtime, "总结一", category="总结")
    shelve(runtime, "总结二", category="总结")
    shelve(runtime, "总结三", category="总结", published=False)
    shelve(runtime, "草稿", category="只有草稿", published=False)
    page = site.get("/categories")
    assert page.status_code == 200
    found = re.findall(
        r'<a href="/categories/([^"]+)">([^<]+)</a> <span class="meta">(\d+) 份', page.text
    )
    assert found == [("%E6%80%BB%E7%BB%93", "总结", "2"), ("%E8%AE%B2%E8%AF%9D", "讲话", "1")]
    assert "只有草稿" not in page.text
    missing = site.get("/categories/只有草稿")
    assert missing.status_code == 404 and "没有这个分类" in missing.text


def test_a_category_page_lists_newest_first_twenty_to_a_page(runtime, site):
    for n in range(24):
        shelve(runtime, f"讲话稿{n:02d}", category="讲话", days_ago=n)
    shelve(runtime, "另一类", category="总结")
    shelve(runtime, "未发布的讲话", category="讲话", published=False)
    first = site.get("/categories/讲话")
    assert first.status_code == 200
    assert titles(first.text) == [f"讲话稿{n:02d}" for n in range(20)]
    assert "共 25 份" in first.text and "第 1 页，共 2 页" in first.text
    assert 'rel="next" href="/categories/%E8%AE%B2%E8%AF%9D?page=2"' in first.text
    assert '<span class="button" aria-current="page">1</span>' in first.text
    assert 'rel="prev"' not in first.text
    second = site.get("/categories/讲话", params={"page": 2})
    assert titles(second.text) == [f"讲话稿{n:02d}" for n in range(20, 24)] + [
        "在全区重点工作推进会上的讲话"
    ]
    assert 'rel="next"' not in second.text
    assert 'rel="prev" href="/categories/%E8%AE%B2%E8%AF%9D?page=1"' in second.text
    beyond = site.get("/categories/讲话", params={"page": 3})
    assert beyond.status_code == 404 and "没有这一页" in beyond.text
    for bad in ("0", "x", "1000000"):
        refused = site.get("/categories/讲话", params={"page": bad})
        assert refused.status_code == 400 and "请求参数有误" in refused.text
    unknown = site.get("/categories/没有的分类")
    assert unknown.status_code == 404 and "没有这个分类" in unknown.text
    assert "<html" in unknown.text and "返回首页" in unknown.text


def test_a_tag_page_matches_whole_tags(runtime, site):
    shelve(runtime, "两会精神学习心得", tags="两会精神")
    shelve(runtime, "百分号", tags="100%,a_b")
    page = site.get("/tags/两会")
    assert page.status_code == 200 and "标签：两会" in page.text
    assert titles(page.text) == ["在全区重点工作推进会上的讲话"]
    assert titles(site.get("/tags/推进会").text) == ["在全区重点工作推进会上的讲话"]
    assert titles(site.get("/tags/两会精神").text) == ["两会精神学习心得"]
    assert titles(site.get("/tags/100%25").text) == ["百分号"]
    for partial in ("两", "1%", "a%", "a_", "两会,推进会", "%"):
        response = site.get(f"/tags/{partial.replace('%', '%25')}")
        assert response.status_code == 404 and "没有这个标签" in response.text, partial


def test_names_with_a_slash_have_pages_too(runtime, site):
    """Categories and tags are the publisher's words: 党建/宣传 is one category."""
    shelve(runtime, "宣传工作要点", category="党建/宣传", tags="上/下半年")
    listing = site.get("/categories").text
    assert 'href="/categories/%E5%85%9A%E5%BB%BA/%E5%AE%A3%E4%BC%A0">党建/宣传</a>' in listing
    page = site.get("/categories/%E5%85%9A%E5%BB%BA/%E5%AE%A3%E4%BC%A0")
    assert page.status_code == 200 and "分类：党建/宣传" in page.text
    assert titles(page.text) == ["宣传工作要点"]
    assert titles(site.get("/tags/上/下半年").text) == ["宣传工作要点"]
    assert site.get("/categories/党建").status_code == 404


def test_home_and_material_pages_link_to_the_shelves(site):
    home = site.get("/").text
    assert 'href="/categories/%E8%AE%B2%E8%AF%9D">讲话（1）</a>' in home
    assert 'href="/categories">全部分类</a>' in home
    assert "/search?q=category:" not in home
    material = site.get("/materials/1").text
    assert '分类：<a href="/categories/%E8%AE%B2%E8%AF%9D">讲话</a>' in material
    assert '<a href="/tags/%E4%B8%A4%E4%BC%9A">#两会</a>' in material
    assert '<a href="/tags/%E6%8E%A8%E8%BF%9B%E4%BC%9A">#推进会</a>' in material
    api = site.get("/api/v1/materials/1").json()
    assert api["category"] == "讲话" and api["tags"] == ["两会", "推进会"]


def test_shelves_carry_no_material_text(runtime, site):
    with runtime.db.reading() as session:
        body = catalog.material_document(session, 1)["body"]
    opening = body[:40]
    for path in ("/categories", "/categories/讲话", "/tags/两会"):
        assert opening not in site.get(path).text
