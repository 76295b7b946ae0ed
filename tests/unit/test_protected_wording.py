"""Wording marks never touch what a reader would notice: headings, run-in headings, the lead
words of parallel items, quotations, numbers; a copy's 目录 equals its headings."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers import FINGERPRINT_KEY, SAMPLE, parse_text, sample_body, shipped_variants
from wenxing.delivery.layout import fill, layout_of
from wenxing.fingerprint import Profile, build_plan, mark, mark_spans, strip_marks
from wenxing.fingerprint.plan import WORD
from wenxing.materials.keywords import words
from wenxing.materials.protect import protected_spans

PROPERTY = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
NUMERALS = "一二三四五六七八"
# Forms of the shipped list, so that every part of a generated document could be varied.
FORMS = ("加强", "推动", "提高", "大力", "不断", "扎实", "积极", "做好", "当前", "确保")
NOUNS = ("项目建设", "营商环境", "民生保障", "生态保护", "基层治理", "科技创新", "乡村振兴")


@st.composite
def documents(draw):
    """A material body with sections, run-in items, parallel clauses and quotations, and the
    spans a reader would see broken if a variant landed there: (body, [(start, end)])."""
    lines: list[str] = []
    must_stay: list[tuple[int, int]] = []
    at = 0

    def add(line: str, keep: list[tuple[int, int]]) -> None:
        nonlocal at
        lines.append(line)
        must_stay.extend((at + a, at + b) for a, b in keep)
        at += len(line) + 1

    add("同志们：", [(0, 4)])
    for section in range(draw(st.integers(1, 3))):
        form, noun = draw(st.sampled_from(FORMS)), draw(st.sampled_from(NOUNS))
        heading = f"{NUMERALS[section]}、{form}{noun}，{draw(st.sampled_from(FORMS))}工作落实"
        add(heading, [(0, len(heading))])
        lead = draw(st.sampled_from(FORMS))
        clauses = [f"{lead}{draw(st.sampled_from(NOUNS))}" for _ in range(draw(st.integers(2, 4)))]
        line, keep, offset = "", [], 0
        for n, clause in enumerate(clauses):
            keep.append((offset, offset + 2))  # the parallel lead word
            line += clause + ("，" if n + 1 < len(clauses) else "。")
            offset = len(line)
        quote = f"“{draw(st.sampled_from(FORMS))}和{draw(st.sampled_from(FORMS))}”"
        keep.append((len(line) + 2, len(line) + 2 + len(quote)))
        # (not before 推进: 推动推进 touches its own group, which is never a place)
        line += f"要把{quote}落到实处，{draw(st.sampled_from(FORMS))}各项工作落地见效。"
        add(line, keep)
        # Inline items count as such in runs (一是 followed by 二是), as the outline reads them.
        for item in range(draw(st.sampled_from([0, 2, 3]))):
            run_in = (
                f"{NUMERALS[item]}是{draw(st.sampled_from(FORMS))}{draw(st.sampled_from(NOUNS))}"
            )
            text = f"{run_in}。{draw(st.sampled_from(FORMS))}完善机制，{draw(st.sampled_from(FORMS))}服务。"
            add(text, [(0, len(run_in))])
    add("今年完成投资128亿元，增长12.5%，新建项目三十个。", [(6, 10), (13, 18), (23, 26)])
    return "\n".join(lines), must_stay


@PROPERTY
@given(
    document=documents(),
    strength=st.sampled_from(["light", "strong"]),
    key=st.binary(min_size=32, max_size=32),
)
def test_no_variant_lands_in_a_heading_a_parallel_lead_a_quotation_or_a_number(
    document, strength, key
):
    body, must_stay = document
    plan = build_plan(
        body, key, words(body), shipped_variants(), Profile(strength), protected_spans(body)
    )
    slots = [
        (int(o), int(o + n))
        for o, n in zip(
            plan.index[plan.layer == WORD], plan.length[plan.layer == WORD], strict=True
        )
    ]
    assert slots, "the generated documents hold places to vary outside the protected spans"
    for start, end in slots:
        for a, b in must_stay:
            assert end <= a or start >= b, (body[start:end], body[a:b])
    # And whoever receives it, those spans read exactly as in the base text.
    for member in ("WX-1", "WX-2", "WX-3"):
        visible = strip_marks(mark(body, plan, key, member))
        for a, b in must_stay:
            assert visible[a:b] == body[a:b]


def test_the_unprotected_plan_would_vary_headings_and_parallel_leads():
    """The property above can fail: without the protected spans, the sample's headings and
    parallel leads hold wording places."""
    body = sample_body()
    plain = build_plan(body, FINGERPRINT_KEY, words(body), shipped_variants(), Profile("light"))
    spans = protected_spans(body)
    inside = [
        o
        for o, n in zip(
            plain.index[plain.layer == WORD], plain.length[plain.layer == WORD], strict=True
        )
        if any(a < o + n and o < b for a, b in spans)
    ]
    assert len(inside) >= 10


def test_a_copys_table_of_contents_equals_its_headings():
    """For every recipient, each 目录 entry (marker and heading, as the reader page and the
    .docx outline show it) is exactly the text its heading shows in that copy."""
    structure = parse_text(SAMPLE.read_text("utf-8"))
    body = structure.body
    outline = json.dumps(structure.outline_dicts())
    layout = layout_of(structure.title, body, outline)
    assert len(layout.toc) >= 8
    for strength in ("light", "strong"):
        plan = build_plan(
            body,
            FINGERPRINT_KEY,
            words(body),
            shipped_variants(),
            Profile(strength),
            protected_spans(body, outline),
        )
        for n in range(25):
            blocks = fill(
                layout, mark_spans(body, plan, FINGERPRINT_KEY, f"WX-{10000 + n}", layout.cuts)
            )
            by_anchor = {b.block.anchor: b for b in blocks if b.block.anchor}
            for entry in layout.toc:
                shown = strip_marks(by_anchor[entry.anchor].whole)
                assert shown.startswith(entry.label), (entry.label, shown[:40])
    # Without protection some copy's heading would differ from its 目录 entry.
    plain = build_plan(body, FINGERPRINT_KEY, words(body), shipped_variants(), Profile("light"))
    differs = 0
    for n in range(25):
        blocks = fill(
            layout, mark_spans(body, plain, FINGERPRINT_KEY, f"WX-{10000 + n}", layout.cuts)
        )
        by_anchor = {b.block.anchor: b for b in blocks if b.block.anchor}
        differs += any(
            not strip_marks(by_anchor[e.anchor].whole).startswith(e.label) for e in layout.toc
        )
    assert differs > 0


def test_parallel_items_keep_one_lead_in_every_copy():
    """The 调研报告 case: （一）着力提升 / （二）着力深化 / （三）着力破解 / （四）着力转变 keep 着力
    in every copy, and clauses that open alike in a paragraph keep their openings."""
    body = "\n".join(
        [
            "同志们：",
            "一、总体情况",
            "（一）着力提升发展质量",
            "要大力推进改革，大力优化服务，大力改善民生。",
            "（二）着力深化改革开放",
            "各项工作不断加强。",
            "（三）着力破解发展难题",
            "我们积极作为，加强协调。",
            "（四）着力转变工作作风",
            "和衷共济，推动发展。",
        ]
    )
    plan = build_plan(
        body,
        FINGERPRINT_KEY,
        words(body),
        shipped_variants(),
        Profile("strong"),
        protected_spans(body),
    )
    for n in range(40):
        visible = strip_marks(mark(body, plan, FINGERPRINT_KEY, f"WX-{n}")).split("\n")
        assert [line[3:5] for line in visible if line.startswith("（")] == ["着力"] * 4
        assert [clause[:2] for clause in visible[3][1:].split("，")] == ["大力"] * 3
    assert np.any(plan.layer == WORD)  # other places are still varied


@pytest.mark.parametrize(
    "body",
    [
        "关于做好年度工作的讲话\n\n同志们：\n今年以来，我们不断加强管理，成绩明显。",
        "\n\n\n",
        "标题\n\n\n各位代表！\n\n我们要加强和改进作风建设。",
    ],
)
def test_a_body_with_empty_lines_is_protected_without_error(body):
    """A version stored without an outline has its outline parsed from the body, blank
    lines and all: an empty paragraph is neither an address nor a heading."""
    spans = protected_spans(body)
    assert all(0 <= start < end <= len(body) for start, end in spans)
