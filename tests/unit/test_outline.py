"""The outline parser on the publisher's sample, on real documents and on arbitrary text."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers import SAMPLE, parse_text, walk
from tests.materials import (
    ARCHIVE_MEASURES,
    CONGRESS_2022,
    COUNTY_2017,
    FLOOD_DUTY,
    RURAL_ROADS,
    STUDY_NOTES,
    corpus_files,
    corpus_params,
    fixture_files,
)
from wenxing.materials.outline import heading_marker, parse, split_heading

SAMPLE_SECTIONS = [
    "坚定不移贯彻新发展理念，着力夯实高质量发展基础",
    "坚定不移推进乡村振兴，全力补齐“三农”领域短板",
    "坚定不移推进绿色发展，加快建设生态宜居美丽家园",
    "坚定不移保障和改善民生，全力维护社会大局和谐稳定",
    "坚定不移推进全面从严治党，为决胜全面建成小康社会提供坚强保证",
]


@pytest.fixture(scope="module")
def sample():
    return parse_text(SAMPLE.read_text(encoding="utf-8"))


def test_sample_title_and_no_masthead(sample):
    assert sample.title == "在全区重点工作推进会上的讲话"
    for fragment in ("酷乐文行", "仅供学习", "会员群", "打击倒卖", "免费QQ群"):
        assert fragment not in sample.body
    assert sample.body.startswith("同志们：\n今天，距离年底仅有127天")


def test_sample_front_and_back_matter(sample):
    types = [node.type for node in sample.outline]
    assert types == ["salutation", "opening"] + ["section"] * 5 + ["closing"]
    salutation, opening = sample.outline[:2]
    assert sample.body[salutation.start : salutation.end] == "同志们："
    assert sample.body[opening.start : opening.end].endswith("下面，我先讲几点意见：")
    closing = sample.outline[-1]
    closing_text = sample.body[closing.start : closing.end]
    assert closing_text.startswith("同志们，真抓才能攻坚克难")
    assert closing.end == len(sample.body)


def test_sample_sections_and_items(sample):
    sections = [node for node in sample.outline if node.type == "section"]
    assert [s.heading for s in sections] == SAMPLE_SECTIONS
    assert [s.marker for s in sections] == ["一、", "二、", "三、", "四、", "五、"]
    assert all(s.level == 1 for s in sections)
    assert [len(s.children) for s in sections] == [4, 4, 3, 3, 5]
    first_items = [item.heading for item in sections[0].children]
    assert first_items == [
        "着力构建良好发展环境",
        "着力加强项目建设",
        "着力增强工业实力",
        "着力发展第三产业",
    ]
    assert sections[4].children[4].heading == "抓常作风效能建设"
    for section in sections:
        for number, item in enumerate(section.children, start=1):
            assert item.type == "item" and item.level == 2
            assert item.marker == "一二三四五"[number - 1] + "是"
            assert sample.body[item.start : item.end].startswith(item.marker + item.heading)


def test_sample_offsets_cover_sections_without_gaps(sample):
    sections = [node for node in sample.outline if node.type == "section"]
    for current, following in itertools.pairwise(sections):
        assert following.start == current.end + 1  # the newline between them
    assert sample.body[sections[0].start : sections[0].end].startswith("一、坚定不移贯彻")
    assert sample.body[: sections[-1].end].endswith("比学赶超的浓厚氛围。")


def test_run_in_heading_and_four_levels():
    text = "\n".join(
        [
            "关于全县农业农村工作的报告",
            "（2025年6月12日）",
            "各位代表：",
            "现在报告工作。",
            "一、主要成效",
            "（一）粮食生产稳中有增。全面落实粮食安全党政同责，播种面积稳定。",
            "1.种植结构持续优化。扩大大豆种植。",
            "（1）大豆种植面积扩大",
            "（2）油料作物稳定。油菜面积稳定在10万亩。",
            "2、农机装备水平提升",
            "（二）农民收入较快增长",
            "二、存在问题",
            "一是基础设施薄弱；二是人才短缺；三是融资困难。",
        ]
    )
    structure = parse_text(text)
    assert structure.title == "关于全县农业农村工作的报告"
    dateline = structure.outline[0]
    assert (dateline.type, dateline.heading) == ("dateline", "（2025年6月12日）")
    assert structure.outline[1].type == "salutation"
    first, second = [n for n in structure.outline if n.type == "section"]
    sub = first.children[0]
    assert (sub.marker, sub.heading, sub.level) == ("（一）", "粮食生产稳中有增", 2)
    point = sub.children[0]
    assert (point.marker, point.heading, point.level) == ("1.", "种植结构持续优化", 3)
    assert [(n.marker, n.heading, n.level) for n in point.children] == [
        ("（1）", "大豆种植面积扩大", 4),
        ("（2）", "油料作物稳定", 4),
    ]
    assert [n.heading for n in sub.children] == ["种植结构持续优化", "农机装备水平提升"]
    assert first.children[1].heading == "农民收入较快增长"
    items = second.children
    assert [(i.marker, i.heading) for i in items] == [
        ("一是", "基础设施薄弱"),
        ("二是", "人才短缺"),
        ("三是", "融资困难"),
    ]
    assert structure.body[items[0].start : items[0].end] == "一是基础设施薄弱；"


@pytest.mark.parametrize(
    ("paragraph", "markers"),
    [
        ("首先，要提高认识。其次，要压实责任。最后，要加强督查。", ["首先", "其次", "最后"]),
        ("第一，抓学习。第二，抓落实。第三，抓督查。", ["第一", "第二", "第三"]),
        ("一是抓学习，二是抓落实。", ["一是", "二是"]),
        ("要坚持统一是前提，统一是基础。", []),  # 统一是 is no item
        ("第一次会议召开，第二次会议也召开。", []),  # 第一次 is no item
        ("一是孤零零的一项。", []),  # a run needs at least two
        ("二是没有一是开头。三是也不行。", []),
    ],
)
def test_inline_item_runs(paragraph, markers):
    structure = parse_text("测试材料的讲话\n同志们：\n" + paragraph)
    opening = next(n for n in structure.outline if n.type == "opening")
    assert [child.marker for child in opening.children] == markers


def test_spaced_and_broken_titles():
    assert parse_text("政 府 工 作 报 告\n各位代表：\n现在报告工作。").title == "政府工作报告"
    assert (
        parse_text("政府工作报\n告\n——2021年3月5日在会议上\n各位代表：\n正文。").title
        == "政府工作报告"
    )
    notice = "国务院办公厅关于印发《公共企事业单位\n信息公开规定制定办法》的通知\n国办发〔2020〕50号\n各省人民政府：\n现印发给你们，请认真贯彻执行。"
    structure = parse_text(notice)
    assert structure.title == "国务院办公厅关于印发《公共企事业单位信息公开规定制定办法》的通知"
    assert structure.outline[0].type == "byline"
    assert structure.outline[1].type == "salutation"


def test_text_without_title_keeps_everything():
    structure = parse_text("同志们：\n今天开会。\n谢谢大家！")
    assert structure.title is None
    assert structure.body == "同志们：\n今天开会。\n谢谢大家！"
    assert structure.outline[-1].type == "closing"


def test_markers():
    assert heading_marker("一、总体要求") == (1, "一、")
    assert heading_marker("（十二）其他") == (2, "（十二）")
    assert heading_marker("3.加强领导") == (3, "3.")
    assert heading_marker("3.5万亩耕地") is None
    assert heading_marker("2023年工作回顾") is None
    assert heading_marker("（3）细则") == (4, "（3）")
    assert heading_marker("一、") is None  # a marker alone is no heading
    assert split_heading("粮食生产稳中有增。全面落实") == "粮食生产稳中有增"
    assert split_heading("加强组织领导：") == "加强组织领导"


@pytest.mark.parametrize("path", fixture_files(), ids=lambda p: p.name)
def test_fixture_materials_parse_consistently(path):
    from wenxing.materials.readers import read_source

    text = read_source(path, max_bytes=1 << 20, max_unpacked_bytes=1 << 20).text
    structure = parse_text(text)
    assert structure.title and structure.body
    _assert_well_formed(structure)


def test_a_report_has_front_matter_and_three_heading_ranks():
    structure = parse_text(COUNTY_2017.read_text("utf-8"))
    assert structure.title == "政府工作报告"
    assert [n.type for n in structure.outline[:4]] == [
        "dateline",
        "byline",
        "salutation",
        "opening",
    ]
    assert structure.outline[2].heading == "各位代表："
    sections = [n for n in structure.outline if n.type == "section"]
    assert [s.heading for s in sections] == [
        "2016年工作回顾",
        "2017年主要目标和重点工作",
        "加强政府自身建设",
    ]
    second = sections[1].children
    assert [c.marker for c in second] == ["（一）", "（二）", "（三）", "（四）"]
    assert [c.heading for c in second[1].children] == [
        "发展特色农业",
        "办好乡村旅游",
        "打赢脱贫攻坚战",
    ]
    assert {c.marker for c in second[1].children} == {"1.", "2.", "3."}
    assert structure.outline[-1].type == "closing"


def test_a_notice_has_four_heading_ranks_run_into_their_text_and_a_signature():
    structure = parse_text(RURAL_ROADS.read_text("utf-8"))
    assert structure.title == "××市人民政府办公室关于加强农村公路养护管理工作的通知"
    assert structure.outline[0].type == "salutation"
    tasks = next(n for n in structure.outline if n.heading == "主要任务")
    work = tasks.children[1]
    assert (work.marker, work.heading) == ("（二）", "规范养护作业")
    third = work.children[2]
    assert (third.marker, third.heading, third.level) == ("3.", "养护工程", 3)
    assert [(c.marker, c.heading, c.level) for c in third.children] == [
        ("（1）", "预防养护", 4),
        ("（2）", "修复养护", 4),
        ("（3）", "应急养护", 4),
    ]
    # A run-in heading is its first sentence; the text after it belongs to the section.
    assert structure.body[work.children[0].start :].startswith("1.日常巡查。县道每周")
    signature = structure.outline[-1]
    assert signature.type == "signature"
    assert structure.body[signature.start : signature.end].splitlines() == [
        "××市人民政府办公室",
        "2025年6月12日",
        "（此件公开发布）",
    ]


def test_chapters_and_articles():
    structure = parse_text(ARCHIVE_MEASURES.read_text("utf-8"))
    assert structure.title == "××市机关档案管理办法"
    chapters = structure.outline
    assert [(c.marker, c.heading) for c in chapters] == [
        ("第一章", "总则"),
        ("第二章", "档案的收集与整理"),
        ("第三章", "档案的保管与利用"),
        ("第四章", "附则"),
    ]
    assert [c.marker for c in chapters[0].children] == ["第一条", "第二条", "第三条"]
    assert chapters[3].children[0].heading == "本办法自2025年9月1日起施行"


def test_inline_items_of_three_kinds():
    structure = parse_text(STUDY_NOTES.read_text("utf-8"))
    assert structure.title == "学习基层治理专题培训心得体会"
    assert structure.outline[0].type == "dateline"
    sections = [n for n in structure.outline if n.type == "section"]
    assert [[(i.type, i.marker) for i in s.children] for s in sections] == [
        [("item", "首先"), ("item", "其次"), ("item", "最后")],
        [("item", "第一"), ("item", "第二"), ("item", "第三")],
        [("item", "一是"), ("item", "二是"), ("item", "三是")],
    ]
    assert structure.outline[-1].type == "closing"


def test_a_congress_report_has_a_two_line_title_over_its_subtitle():
    structure = parse_text(CONGRESS_2022.read_text("utf-8"))
    assert structure.title == "全面建设美好家园 奋力开创高质量发展新局面"
    assert [n.type for n in structure.outline[:3]] == ["dateline", "dateline", "salutation"]
    first = next(n for n in structure.outline if n.type == "section")
    assert [c.heading for c in first.children][:2] == ["综合实力明显增强", "脱贫攻坚全面胜利"]


def test_a_markdown_table_becomes_rows_of_cells():
    from wenxing.materials.readers import read_source

    text = read_source(FLOOD_DUTY, max_bytes=1 << 20, max_unpacked_bytes=1 << 20).text
    structure = parse_text(text)
    assert structure.title == "关于做好2025年汛期值班工作的通知"
    rows = [line.split("\t") for line in structure.body.splitlines() if "\t" in line]
    assert rows[0] == ["时段", "带班领导", "值班人员", "联系电话"]
    assert [r[0] for r in rows[1:]] == ["6月", "7月", "8月", "9月"]
    assert structure.outline[-1].type == "signature"


@pytest.mark.parametrize("path", corpus_params(corpus_files()))
def test_corpus_documents_parse_consistently(path, corpus):
    structure = parse_text(path.read_text(encoding="utf-8"))
    assert structure.body
    _assert_well_formed(structure)


def test_corpus_report_structure(corpus):
    structure = parse_text((corpus / "gwr_national" / "gwr_national_2024.txt").read_text("utf-8"))
    assert structure.title == "政府工作报告"
    assert structure.outline[0].type == "dateline"
    sections = [n for n in structure.outline if n.type == "section"]
    assert [s.heading for s in sections][:3] == [
        "2023年工作回顾",
        "2024年经济社会发展总体要求和政策取向",
        "2024年政府工作任务",
    ]
    assert next(c.heading for c in sections[2].children if c.type == "section").startswith(
        "大力推进现代化产业体系建设"
    )


def _assert_well_formed(structure):
    body = structure.body
    previous_end = -1
    for node in structure.outline:
        assert node.start > previous_end or node.type == "item"
        previous_end = node.end
    for node in walk(structure.outline):
        assert 0 <= node.start <= node.end <= len(body)
        assert body[node.start : node.end] == body[node.start : node.end].strip("\n")
        if node.marker:
            assert body[node.start :].startswith(node.marker)
        for child in node.children:
            assert node.start <= child.start <= child.end <= node.end
        starts = [child.start for child in node.children]
        assert starts == sorted(starts)


OFFICIAL_PIECES = st.sampled_from(
    [
        "一、",
        "（一）",
        "1.",
        "（1）",
        "一是",
        "二是",
        "三是",
        "首先，",
        "其次，",
        "最后，",
        "第一，",
        "第二，",
        "同志们：",
        "同志们，",
        "谢谢大家！",
        "各位代表：",
        "。",
        "；",
        "\n",
        "\n\n",
        "×",
        "　",
        "关于",
        "的通知",
        "讲话",
        "（2025年6月12日）",
        "——在会上的讲话",
        "会员群：",
        "公众号",
        "加强",
        "推进",
        "乡村振兴",
        "a",
        "1",
        "《",
        "》",
        "\u200b",
    ]
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(OFFICIAL_PIECES, st.text(max_size=8)), max_size=60).map("".join))
def test_arbitrary_text_never_breaks_the_parser(text):
    structure = parse_text(text)
    _assert_well_formed(structure)
    assert "\u200b" not in structure.body


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(min_size=1, max_size=40).filter(lambda s: "\n" not in s), max_size=30))
def test_offsets_index_into_body_for_any_paragraphs(paragraphs):
    paragraphs = [p for p in (p.strip() for p in paragraphs) if p]
    structure = parse(paragraphs)
    _assert_well_formed(structure)
