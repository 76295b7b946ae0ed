"""Cleaning: mastheads, promotion, chrome and invisible characters go; the material stays."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from wenxing.config import DEFAULT_MASTHEAD, PublisherSettings
from wenxing.materials.cleaning import Cleaner, normalise_line, same_line

CLEANER = Cleaner(DEFAULT_MASTHEAD)


def test_masthead_lines_removed_with_any_group_details():
    text = "\n".join(
        [
            "仅供学习  禁止外传",
            "酷乐文行",
            "自建平台、实时分享",
            "【打击倒卖活动】",
            "举报倒卖会员资料的人，举报成功免费赠送一年会员材料！",
            "会员群：123456      免费QQ群：654321",
            "",
            "在全区会议上的讲话",
            "同志们：",
            "正文。",
        ]
    )
    assert CLEANER.clean(text) == ["在全区会议上的讲话", "同志们：", "正文。"]


def test_custom_masthead_from_settings():
    publisher = PublisherSettings.model_validate(
        {"masthead": ["本资料由某某书屋独家提供", "群号：{member_group}"], "member_group": "999"}
    )
    cleaner = Cleaner(publisher.masthead)
    text = "本资料由某某书屋独家提供\n群号：888\n标题的讲话\n正文。"
    assert cleaner.clean(text) == ["标题的讲话", "正文。"]


def test_promotional_lines_at_head_and_tail_only():
    text = "\n".join(
        [
            "更多精品范文请关注公众号：笔杆子之家",
            "扫码加入QQ群：12345",
            "关于某项工作的报告",
            "各位代表：",
            "我们通过微信群、公众号等渠道广泛听取了群众意见，收到建议一千二百多条，这些意见建议已经逐条研究吸收。",
            "谢谢大家！",
            "本文档由某某文库用户上传提供",
            "更多资料下载：www.example.cn",
        ]
    )
    assert CLEANER.clean(text) == [
        "关于某项工作的报告",
        "各位代表：",
        "我们通过微信群、公众号等渠道广泛听取了群众意见，收到建议一千二百多条，这些意见建议已经逐条研究吸收。",
        "谢谢大家！",
    ]


def test_web_chrome_and_related_lists():
    text = "\n".join(
        [
            "您的位置:",
            "首页",
            ">",
            "要闻",
            "2026年政府工作报告",
            "来源：某某日报",
            "2026-02-03 09:02:33",
            "【字体：",
            "大",
            "中",
            "小",
            "】",
            "——2026年1月28日在会议上",
            "各位代表：",
            "现在报告工作。",
            "相关文档：",
            "2025年政府工作报告",
        ]
    )
    paragraphs = CLEANER.clean(text)
    assert "来源：某某日报" not in paragraphs
    assert "大" not in paragraphs and "】" not in paragraphs
    assert paragraphs[-1] == "现在报告工作。"


def test_indentation_blank_lines_and_invisible_characters():
    text = "\ufeff\u3000\u3000标题的讲话  \r\n\n\n  \u3000同志们：\n\t正文里的×同志\u200b讲\u200d话。\u00a0\n"
    assert CLEANER.clean(text.replace("\r\n", "\n")) == [
        "标题的讲话",
        "同志们：",
        "正文里的×同志讲话。",
    ]


def test_repeated_title_dropped():
    text = "某某办公室关于印发方案(2021—2023年)的通知\n某某办公室关于印发方案（2021-2023年）的通知\n正文。"
    assert CLEANER.clean(text) == ["某某办公室关于印发方案（2021-2023年）的通知", "正文。"]
    assert same_line("（2021—2023年）", "(2021-2023年)")


def test_placeholder_crosses_kept():
    assert normalise_line("  ×××同志在××县的讲话 ") == "×××同志在××县的讲话"


@given(st.text())
def test_cleaning_never_crashes_and_leaves_no_empty_or_padded_paragraph(text):
    for paragraph in CLEANER.clean(text):
        assert paragraph and paragraph == paragraph.strip(" \u3000\t")
        assert "\n" not in paragraph and "\u200b" not in paragraph
