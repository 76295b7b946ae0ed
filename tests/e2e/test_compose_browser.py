"""组稿 in a phone's browser (390×844, both databases): a member adds pieces of three
materials with the reader page's 加入素材篮 buttons, one from the 相似段落 panel and one
from each of two searches, starts a draft in the basket, moves a piece up, renames a
heading, adds a paragraph of their own and exports the .docx; LibreOffice opens it, its
headings read 一、二、三、… in the new order, and its pages pass the layout checks of every
.docx copy. Screenshots of the basket, the draft and the drafts pages go to
``build/artifacts/``."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from tests.e2e.conftest import artifacts
from tests.e2e.test_member_pages_a11y import WECHAT
from tests.helpers import PASSWORD, REPO, SAMPLE, account
from wenxing.materials.importer import ImportOptions, MaterialImporter

FILES = [
    SAMPLE,
    REPO / "tests/fixtures/materials/reports/county_2017.txt",
    REPO / "tests/fixtures/materials/reports/congress_2022.txt",
]


@pytest.fixture
def site(runtime, serve):
    importer = MaterialImporter(runtime.db, runtime.settings, runtime.publisher_settings())
    importer.run(FILES, ImportOptions(publish=True))
    with runtime.db.transaction() as session:
        account(session, runtime.publisher_settings(), "撰稿人", subscribed=True, username="writer")
    return serve()


def _phone(browser, base: str):
    context = browser.new_context(
        locale="zh-CN",
        viewport={"width": 390, "height": 844},
        user_agent=WECHAT,
        has_touch=True,
        accept_downloads=True,
    )
    return _signed_in(context.new_page(), base, "/")


def _signed_in(page, base: str, then: str):
    page.goto(f"{base}/signin?next={then}")
    page.fill("#identifier", "writer")
    page.fill("#password", PASSWORD)
    page.locator("main").get_by_role("button", name="登录").click()
    page.wait_for_url(f"{base}{then}")
    return page


def _add(page, base: str, material: int, heading_start: str) -> None:
    """Tap 加入素材篮 under the reader page's heading that starts with ``heading_start``."""
    page.goto(f"{base}/materials/{material}")
    page.get_by_role("button", name="阅读全文").click()
    page.wait_for_selector("button.basket-add")
    anchor = page.evaluate(
        "(start) => [...document.querySelectorAll('article [id^=s]')]"
        ".find(el => /^s\\d+$/.test(el.id) && el.textContent.trim().startsWith(start)).id",
        heading_start,
    )
    button = page.locator(f'button.basket-add[data-anchor="{anchor}"]')
    button.tap()
    expect(button).to_have_text(re.compile("^已加入"))


def _add_similar(page, heading_start: str) -> None:
    """Open 相似段落 beside the heading and tap the first section's 加入素材篮."""
    page.evaluate(
        "(start) => [...document.querySelectorAll('article [id^=s]')]"
        ".find(el => /^s\\d+$/.test(el.id) && el.textContent.trim().startsWith(start))"
        ".querySelector('a.sim').click()",
        heading_start,
    )
    button = page.locator("#similar ol li form button").first
    button.tap()
    page.wait_for_selector("#similar ol li form button[data-done]")


def _add_found(page, base: str, topic: str) -> None:
    """Search ``topic`` and tap 加入素材篮 beside the first section found."""
    page.goto(f"{base}/search?q={topic}")
    form = page.locator("form.basket-form").first
    expect(form).to_be_visible()
    with page.expect_navigation():
        form.get_by_role("button", name="加入素材篮").tap()


def _part_ids(page) -> list[str]:
    return page.eval_on_selector_all("li.part", "els => els.map(e => e.id)")


def test_a_member_composes_a_draft_on_a_phone(runtime, site, browser, tmp_path):
    base = site
    page = _phone(browser, base)
    _add(page, base, 1, "二、")
    page.screenshot(path=str(artifacts() / "compose-reader-phone.png"))
    _add(page, base, 2, "二、")
    _add(page, base, 3, "三、")
    _add_similar(page, "三、")
    page.goto(f"{base}/basket")
    from_reader = page.locator("ol.basket > li").count()
    assert from_reader in (3, 4)  # 3 when 相似段落's first section is one already there
    for topic in ("生态宜居", "过去五年的工作回顾"):  # two topics searched, a piece of each
        _add_found(page, base, topic)
    page.goto(f"{base}/basket")
    pieces = page.locator("ol.basket > li").count()
    assert from_reader < pieces <= from_reader + 2  # one already there is not added twice
    page.screenshot(path=str(artifacts() / "compose-basket-phone.png"), full_page=True)
    page.fill("input[name=title]", "在全县重点工作会议上的讲话")
    page.get_by_role("button", name=re.compile("开始组稿")).tap()
    page.wait_for_url(re.compile(r"/drafts/\d+"))
    first, second, third, *_similar = _part_ids(page)
    # The third piece (congress 三、) moves up one place: second.
    with page.expect_navigation():
        page.locator(f"#{third}").get_by_role("button", name="上移").tap()
    assert _part_ids(page)[:3] == [first, third, second]
    # The first piece's heading is renamed.
    part = page.locator(f"#{first}")
    part.locator("summary", has_text="改标题和层级").tap()
    part.locator("input[name=heading]").fill("坚定推进乡村振兴")
    with page.expect_navigation():
        part.get_by_role("button", name="保存").first.tap()
    # A paragraph of the member's own after the first piece.
    part = page.locator(f"#{first}")
    part.locator("summary", has_text="在此处加一段自己的话").tap()
    part.locator("textarea[name=text]").fill("同志们，下面我再讲几点。")
    with page.expect_navigation():
        part.get_by_role("button", name="加入").tap()
    assert page.locator("li.part.text").count() == 1
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the draft page is {width}px wide on a 390px phone"
    page.screenshot(path=str(artifacts() / "compose-draft-phone.png"), full_page=True)
    with page.expect_download() as waiting:
        page.get_by_role("button", name=re.compile(r"导出 Word")).tap()
    saved = tmp_path / "draft.docx"
    waiting.value.save_as(saved)
    text = _office_text(saved, tmp_path)
    visible = re.sub(r"[\u200b-\u200f\u2060-\u2064\ufe00-\ufe0f\ufeff]", "", text)
    headings = re.findall(r"^\s*([一二三四五六七八九十]+、)(\S+)", visible, re.M)
    assert [h[0] for h in headings] == [f"{n}、" for n in "一二三四五六七八九十"[: len(headings)]]
    assert len(headings) >= 3
    assert headings[0][1].startswith("坚定推进乡村振兴")
    assert headings[1][1].startswith("全面加强党的建设")
    assert headings[2][1].startswith("2017年主要目标")
    assert visible.index("同志们，下面我再讲几点。") < visible.index("二、全面加强党的建设")
    _meets_the_copies_layout(runtime, saved, tmp_path)
    page.goto(f"{base}/account/drafts")
    assert "在全县重点工作会议上的讲话" in page.content()
    page.screenshot(path=str(artifacts() / "compose-drafts-phone.png"), full_page=True)


def test_a_member_adds_selected_paragraphs_on_a_phone(runtime, site, browser):
    """Three paragraphs selected on the reader page go in the basket through the bar at the
    foot of the screen; the basket names them by section and numbers, and its link opens
    the reader at them, marked."""
    base = site
    page = _phone(browser, base)
    page.goto(f"{base}/materials/1")
    page.get_by_role("button", name="阅读全文").click()
    page.wait_for_selector("button.basket-add")
    bar = page.locator(".select-bar")
    expect(bar).to_be_hidden()
    first = page.evaluate(
        """() => {
          const kids = [...document.querySelector('article').children];
          const at = kids.findIndex(el => /^s\\d+$/.test(el.id)
            && el.textContent.trim().startsWith('二、'));
          const text = el => document.createTreeWalker(el, NodeFilter.SHOW_TEXT).nextNode();
          const range = document.createRange();  // from inside one paragraph into another
          range.setStart(text(kids[at + 1]), 0);
          range.setEnd(text(kids[at + 3]), 1);
          const chosen = window.getSelection();
          chosen.removeAllRanges();
          chosen.addRange(range);
          return at + 1;
        }"""
    )
    add = bar.get_by_role("button")
    expect(add).to_have_text("把所选 3 段加入素材篮")
    box = add.bounding_box()
    assert box is not None and box["height"] >= 44
    add.tap()
    expect(add).to_have_text("已加入素材篮（1）")
    page.screenshot(path=str(artifacts() / "compose-selection-phone.png"))
    page.goto(f"{base}/basket")
    link = page.locator("ol.basket > li a.title")
    expect(link).to_have_count(1)
    expect(link).to_have_text(re.compile(r"^二、.* › 第 1–3 段$"))
    link.click()
    page.wait_for_url(re.compile(rf"/materials/1/read#p{first}-{first + 2}$"))
    picked = page.locator("article > .picked")
    expect(picked).to_have_count(3)
    expect(picked.first).to_be_in_viewport()
    page.screenshot(path=str(artifacts() / "compose-picked-phone.png"))


def test_a_member_drags_a_part_on_a_desktop(runtime, site, browser):
    """On a desktop the draft's parts are dragged by their handle to a new place; phones
    keep 上移/下移 (no handle where the pointer is coarse)."""
    from wenxing.compose import basket, drafts, pieces
    from wenxing.materials.models import Material
    from wenxing.materials.queries import current_version
    from wenxing.members.models import Member

    base = site
    with runtime.db.transaction() as session:
        member = session.scalars(select(Member).where(Member.username == "writer")).one()
        for material_id in (1, 2, 3):
            version = current_version(session, session.get(Material, material_id))
            anchor = next(iter(pieces.extents(version)))
            basket.add_piece(
                session, runtime.publisher_settings(), member, material_id, version.id, anchor
            )
        draft_id = drafts.start_draft(session, member.id, "拖动排序").id
    context = browser.new_context(locale="zh-CN", viewport={"width": 1366, "height": 900})
    page = _signed_in(context.new_page(), base, f"/drafts/{draft_id}")
    first, second, third = _part_ids(page)
    handle = page.locator(f"#{third} .drag-handle")
    expect(handle).to_be_visible()
    with page.expect_navigation():
        handle.drag_to(page.locator(f"#{first}"), target_position={"x": 40, "y": 4})
    expect(page.locator("li.part").first).to_have_id(third)
    assert _part_ids(page) == [third, first, second]
    page.screenshot(path=str(artifacts() / "compose-draft-desktop.png"), full_page=True)
    phone = _phone(browser, base)
    phone.goto(f"{base}/drafts/{draft_id}")
    expect(phone.locator("li.part").first).to_be_visible()
    expect(phone.locator(".drag-handle")).to_have_count(0)


def _meets_the_copies_layout(runtime, docx, folder) -> None:
    """The draft as LibreOffice sets it passes the page checks every .docx copy passes
    (tests/functional/test_docx_clients.py): A4 pages of at most 22 lines of 28 characters
    in the GB/T 9704 type area, the masthead's first line and the recipient line (the
    member's number) at the head of every page, and — N — under the type area."""
    from pypdf import PdfReader

    from tests.functional.test_docx_clients import MM, TYPE_BOTTOM, body_lines, pdf_lines, width
    from wenxing.members.models import Member

    pdf = _office_convert(docx, folder, "pdf", "pdf")
    with runtime.db.reading() as session:
        number = session.scalars(select(Member.number).where(Member.username == "writer")).one()
    masthead = runtime.publisher_settings().masthead_lines()[0]
    pages = pdf_lines(pdf)
    assert len(pages) >= 2
    for page in PdfReader(pdf).pages:
        assert float(page.mediabox.width) == pytest.approx(210 * MM, abs=1)
        assert float(page.mediabox.height) == pytest.approx(297 * MM, abs=1)
    squeeze = lambda text: re.sub(r"\s+", "", text)  # noqa: E731 - the header wraps lines
    for n, page in enumerate(pages, start=1):
        rows = body_lines(page)
        assert 0 < len(rows) <= 22, n
        for text in rows.values():
            assert width(text) <= 28 or (width(text) <= 29 and not text[-1].isalnum()), text
        head = squeeze("".join(line.text for line in page if line.top < 37 * MM))
        assert squeeze(masthead)[:12] in head and number in head, (n, head)
        (footer,) = [line for line in page if line.top > TYPE_BOTTOM]
        assert footer.visible == f"—{n}—"


def _office_convert(docx, folder, target: str, suffix: str):
    """The .docx converted by LibreOffice to ``target``; the path of the result."""
    soffice = shutil.which("soffice")
    assert soffice, "LibreOffice (soffice) is needed"
    subprocess.run(
        [
            soffice,
            f"-env:UserInstallation={(folder / 'lo-profile').as_uri()}",
            "--headless",
            "--norestore",
            "--convert-to",
            target,
            "--outdir",
            str(folder),
            str(docx),
        ],
        check=True,
        capture_output=True,
        timeout=180,
    )
    return folder / f"{docx.stem}.{suffix}"


def _office_text(docx, folder) -> str:
    """The .docx as LibreOffice reads it, saved as text."""
    return _office_convert(docx, folder, "txt:Text (encoded):UTF8", "txt").read_text("utf-8-sig")
