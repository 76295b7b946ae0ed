"""Masthead lines naming a group that is not set are left out of copies (issue 22)."""

from __future__ import annotations

from wenxing.config.publisher import PublisherSettings
from wenxing.config.texts import filled_masthead_line

LINE = "会员群：{member_group}    免费QQ群：{free_group}"


def test_a_line_with_no_group_set_is_left_out():
    assert filled_masthead_line(LINE, {"member_group": "", "free_group": " "}) is None
    lines = PublisherSettings.defaults().masthead_lines()
    assert not any("会员群" in line or "QQ群" in line for line in lines)
    assert lines[0] == "仅供学习 禁止外传" and len(lines) == 7


def test_only_the_part_naming_an_unset_group_is_dropped():
    one = filled_masthead_line(LINE, {"member_group": "", "free_group": "123456"})
    assert one == "免费QQ群：123456"
    both = filled_masthead_line(LINE, {"member_group": "微信 wx1", "free_group": "123456"})
    assert both == "会员群：微信 wx1    免费QQ群：123456"
    member = filled_masthead_line(LINE, {"member_group": "微信 wx1", "free_group": ""})
    assert member == "会员群：微信 wx1"


def test_lines_without_placeholders_stay_as_they_are():
    assert filled_masthead_line("【打击倒卖活动】", {}) == "【打击倒卖活动】"
    settings = PublisherSettings(member_group="微信 wx1", free_group="123456")
    assert settings.masthead_lines()[-1] == "会员群：微信 wx1    免费QQ群：123456"
