"""相似段落 in a real browser at phone size (issue 25): the button beside a heading opens a
panel of sections of other materials on the same topic without leaving the page; each
offers 加入素材篮 (the basket's form: material, version, anchor, csrf_token, answered with
JSON ``{"pieces": n}``); the button's label is never part of the copied text; without the
script the same link opens a page of plain links and forms. Screenshots go to
``build/artifacts/``."""

from __future__ import annotations

import json
from urllib.parse import parse_qs

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from tests.e2e.conftest import artifacts
from tests.e2e.test_member_pages_a11y import WECHAT
from tests.helpers import PASSWORD, SAMPLE, account
from tests.materials import CITY_2018, CITY_2021, COUNTY_2017
from wenxing.delivery.layout import layout_of
from wenxing.materials.importer import ImportOptions, MaterialImporter
from wenxing.materials.models import MaterialVersion

RURAL_ANCHOR = ""  # the sample speech's 乡村振兴 section, set by ``site``
PHONE = {"viewport": {"width": 390, "height": 844}, "user_agent": WECHAT, "has_touch": True}


@pytest.fixture
def site(runtime, serve):
    importer = MaterialImporter(runtime.db, runtime.settings, runtime.publisher_settings())
    report = importer.run([SAMPLE, COUNTY_2017, CITY_2018, CITY_2021], ImportOptions(publish=True))
    assert not report.failed
    with runtime.db.transaction() as session:
        account(session, runtime.publisher_settings(), "读者", subscribed=True, username="reader")
        version = session.scalars(
            select(MaterialVersion).where(MaterialVersion.material_id == 1)
        ).one()
        toc = layout_of(version.title, version.body, version.outline).toc
    global RURAL_ANCHOR
    RURAL_ANCHOR = next(e.anchor for e in toc if e.label.startswith("二、坚定不移推进乡村振兴"))
    return serve()


def _signed_in(browser, base: str, **options):
    context = browser.new_context(locale="zh-CN", **PHONE, **options)
    page = context.new_page()
    page.goto(f"{base}/signin?next=/materials/1")
    page.fill("#identifier", "reader")
    page.fill("#password", PASSWORD)
    page.locator("main").get_by_role("button", name="登录").click()
    page.wait_for_url(f"{base}/materials/1")
    return context, page


def _rural_button(page):
    return page.locator(f'article #{RURAL_ANCHOR} a.sim[data-at="{RURAL_ANCHOR}"]')


def test_the_panel_lists_similar_sections_and_adds_one_to_the_basket(site, browser):
    context, page = _signed_in(browser, site)
    page.get_by_role("button", name="阅读全文").click()
    page.wait_for_selector("#tools:not([hidden])")
    assert "相似段落" not in page.evaluate("document.querySelector('article').innerText")
    posted: list[dict] = []

    def basket(route):
        request = route.request
        assert request.headers["accept"] == "application/json"
        posted.append(request.post_data or "")
        route.fulfill(status=200, content_type="application/json", body=json.dumps({"pieces": 3}))

    page.route("**/basket", basket)
    button = _rural_button(page)
    button.scroll_into_view_if_needed()
    page.evaluate("window.scrollBy(0, -200)")
    page.screenshot(path=str(artifacts() / "similar-button-390x844.png"))
    button.click()
    panel = page.locator("#similar")
    expect(panel).to_be_visible()
    expect(panel.locator("li").first).to_be_visible()
    url = page.url
    assert url.endswith("/materials/1/read")  # no reload, no navigation
    items = panel.locator("li")
    assert items.count() >= 2
    assert (
        "乡村振兴"
        in panel.locator("li a").first.inner_text() + panel.locator("li a").nth(1).inner_text()
    )
    box = panel.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390
    assert page.evaluate("document.scrollingElement.scrollWidth") <= 390
    page.screenshot(path=str(artifacts() / "similar-panel-390x844.png"))
    items.first.get_by_role("button", name="加入素材篮").click()
    expect(items.first.get_by_role("button")).to_have_text("已加入素材篮（共 3 段）")
    assert len(posted) == 1
    # multipart form data: the four fields of the contract
    for name in ("material", "version", "anchor", "csrf_token"):
        assert f'name="{name}"' in posted[0]
    page.screenshot(path=str(artifacts() / "similar-panel-added-390x844.png"))
    panel.get_by_role("button", name="关闭").click()
    expect(panel).to_be_hidden()
    context.close()


def test_without_the_script_the_link_opens_a_page_of_links_and_forms(site, browser):
    context, page = _signed_in(browser, site, java_script_enabled=False)
    page.goto(f"{site}/materials/1/read")  # a same-site visit: the page itself
    _rural_button(page).click()
    page.wait_for_url("**/materials/1/similar?at=*")
    links = page.locator("ol.similar-list li")
    assert links.count() >= 2
    forms = page.locator("ol.similar-list form[action='/basket']")
    assert forms.count() == links.count()
    fields = parse_qs(
        "&".join(
            f"{n}={forms.first.locator(f'input[name={n}]').get_attribute('value')}"
            for n in ("material", "version", "anchor")
        )
    )
    assert fields["anchor"][0].startswith("s") and fields["material"][0] != "1"
    assert page.evaluate("document.scrollingElement.scrollWidth") <= 390
    page.screenshot(path=str(artifacts() / "similar-page-nojs-390x844.png"), full_page=True)
    context.close()
