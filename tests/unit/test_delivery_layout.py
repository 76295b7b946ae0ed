"""Blocks of a material version, and the reader page made from them."""

from __future__ import annotations

import json
import re

from tests.helpers import FINGERPRINT_KEY, parse_text, sample_copy, trace_sample_text
from tests.materials import CONGRESS_2022
from wenxing import fingerprint
from wenxing.delivery.html import HtmlFormat
from wenxing.delivery.layout import (
    HEADING,
    SALUTATION,
    TEXT,
    CopyContent,
    fill,
    layout_of,
    unmarked,
)
from wenxing.reports.evidence import read_evidence_bytes

RECIPIENTS = [f"WX-{10000 + n}" for n in range(1, 301)]


def _layout(path):
    structure = parse_text(path.read_text("utf-8"))
    return structure, layout_of(
        structure.title, structure.body, json.dumps(structure.outline_dicts())
    )


def test_sample_blocks_follow_the_outline():
    content, plan, body = sample_copy()
    styles = [b.block.style for b in content.blocks]
    assert styles[0] == SALUTATION
    headings = [b for b in content.blocks if b.block.style == HEADING]
    assert [b.block.rank for b in headings] == [1] * 5
    assert [fingerprint.strip_marks(b.whole)[:2] for b in headings] == [
        "一、",
        "二、",
        "三、",
        "四、",
        "五、",
    ]
    # Sections and the items that open a paragraph are in the table of contents.
    assert [e.level for e in content.toc].count(1) == 5
    assert [e.level for e in content.toc].count(2) == 19
    anchors = {b.block.anchor for b in content.blocks if b.block.anchor}
    assert {e.anchor for e in content.toc} == anchors
    # The blocks hold exactly the recipient's marked body.
    assert content.body == fingerprint.mark(body, plan, FINGERPRINT_KEY, "WX-10001")


def test_run_in_headings_are_cut_from_their_text():
    structure, layout = _layout(CONGRESS_2022)
    run_in = [b for b in layout.blocks if b.start < b.head_end < b.end]
    assert run_in, "the report has （一）… headings followed by text"
    for block in run_in:
        head = structure.body[block.start : block.head_end]
        assert re.match(r"[（(][一二三四五六七八九十]+[）)]", head) and block.rank == 2
        assert block.style == TEXT
    # Unmarked blocks give the body back.
    assert "\n".join(b.whole for b in unmarked(layout, structure.body)) == structure.body


def test_fill_gives_every_block_its_marked_text():
    structure, layout = _layout(CONGRESS_2022)
    body = structure.body
    from tests.helpers import shipped_variants
    from wenxing.materials.keywords import words

    plan = fingerprint.build_plan(
        body, FINGERPRINT_KEY, words(body), shipped_variants(), fingerprint.Profile("strong")
    )
    pieces = fingerprint.mark_spans(body, plan, FINGERPRINT_KEY, "WX-10009", layout.cuts)
    blocks = fill(layout, pieces)
    assert "\n".join(b.whole for b in blocks) == fingerprint.mark(
        body, plan, FINGERPRINT_KEY, "WX-10009"
    )
    for block in blocks:
        assert "\n" not in block.whole


def _page(content: CopyContent) -> str:
    form = HtmlFormat()
    return form.render(form.prepare(_layout_of(content), content.masthead), content).decode()


def _layout_of(content):
    from tests.helpers import SAMPLE

    structure = parse_text(SAMPLE.read_text("utf-8"))
    return layout_of(structure.title, structure.body, json.dumps(structure.outline_dicts()))


def test_reader_page_carries_the_recipient_three_ways():
    content, _plan, _body = sample_copy("WX-10042", copy_id=7)
    page = _page(content)
    assert "<script" not in page
    assert content.recipient_line in page
    for line in content.masthead:
        assert line.strip() in page
    # The watermark tile names the member; the copy tag is in the page's metadata.
    assert "WX-10042" in re.search(r'url\("data:image/svg\+xml,([^"]+)"\)', page).group(1)
    assert f'<meta name="wenxing-copy" content="{content.copy_tag}">' in page
    # Every table-of-contents link lands on an element of the page.
    for anchor in re.findall(r'href="#(s\d+)"', page):
        assert f'id="{anchor}"' in page
    evidence = read_evidence_bytes(page.encode(), ".html")
    assert trace_sample_text(evidence.text, RECIPIENTS) == ["WX-10042"]
    assert fingerprint.read_copy_tag(FINGERPRINT_KEY, evidence.copy_tags[0]) == 7


def test_reader_page_escapes_material_text():
    content, _plan, _body = sample_copy()
    block = content.blocks[1]
    hostile = type(block)(block.block, block.head, '<script>alert("x")</script>&' + block.text)
    content = CopyContent(
        **{
            **content.__dict__,
            "blocks": (content.blocks[0], hostile, *content.blocks[2:]),
            "links": (("下载", '/x?a=1&b="2"'),),
        }
    )
    page = _page(content)
    assert "<script>" not in page
    assert '&lt;script&gt;alert("x")&lt;/script&gt;&amp;' in page
    assert 'href="/x?a=1&amp;b=&quot;2&quot;"' in page


def test_two_members_pages_differ_only_where_they_should():
    first = _page(sample_copy("WX-10001")[0])
    second = _page(sample_copy("WX-10002")[0])
    assert first != second
    strip = fingerprint.strip_marks
    assert strip(first).count("<p") == strip(second).count("<p")
