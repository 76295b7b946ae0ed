"""Publisher texts beside the settings model: the shipped 用户协议 and 隐私政策 (settings
``terms_text`` and ``privacy_text``), how a masthead line is filled with the group
settings (a part naming a group that is not set is left out), and the QQ group settings'
checks (a group's number and join link, the 会员群 door's grace period)."""

from __future__ import annotations

import re
from typing import Any

from wenxing.errors import DomainError

# What members agree to when they sign up; the publisher rewrites both in settings.
DEFAULT_TERMS = """\
欢迎使用本站。注册即表示您同意以下条款。

一、本站资料仅供会员本人学习参考。每一份阅读或下载的资料都带有领取人的个人标识，可追溯到领取人。

二、请勿转发、转售、公开传播本站资料，也不要把账号借给他人使用。发现倒卖或共享账号的，本站可暂停账号，并保留追究责任的权利。

三、会员权益以开通时的套餐为准，卡密兑换后不退不换。

四、本站可根据需要修改本协议，修改后在本页公布。"""

DEFAULT_PRIVACY = """\
本站重视您的个人信息。本政策说明我们收集哪些信息、为什么收集以及如何保护。

一、我们收集：注册时填写的称呼、手机号或用户名；登录设备的浏览器信息和网络地址；阅读、下载、收藏记录。

二、用途：登录与找回账号、限制同时登录的设备、计算每日下载次数、在资料外流时追查来源。我们不出售您的个人信息。

三、保存：上述信息保存在本站服务器上。注销账号请联系出版方。

四、本站可根据需要修改本政策，修改后在本页公布。"""


_PART_GAP = re.compile(r"(\s{2,}|\u3000+)")  # what separates the parts of a masthead line
_PLACEHOLDER = re.compile(r"\{(member_group|free_group)\}")


def filled_masthead_line(line: str, groups: dict[str, str]) -> str | None:
    """``line`` with its placeholders filled; a part (between gaps of two or more spaces)
    whose placeholders are all empty is dropped; None when nothing is left of a line that
    had placeholders. A line without placeholders stays as it is."""
    if not _PLACEHOLDER.search(line):
        return line
    pieces = _PART_GAP.split(line)
    kept: list[str] = []
    for n in range(0, len(pieces), 2):
        part = pieces[n]
        names = _PLACEHOLDER.findall(part)
        if names and not any(str(groups.get(name, "")).strip() for name in names):
            continue
        if part.strip():
            if kept:
                kept.append(pieces[n - 1])
            kept.append(part.format(**groups))
    text = "".join(kept).strip()
    return text or None


QQ_GROUP_SETTINGS = ("member_qq_group", "member_qq_link", "free_qq_group", "free_qq_link")
_QQ_GROUP = re.compile(r"[1-9][0-9]{4,11}")


def check_qq_setting(name: str, value: Any) -> Any:
    """A QQ group setting as given, or the DomainError saying why not: a group number
    (5–12 digits), a join link (https, no spaces) or the grace days (0–90); "" unsets."""
    if name == "qq_grace_days":
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 90:
            raise DomainError("setting.qq_grace_days")
        return value
    text = value.strip() if isinstance(value, str) else value
    if text == "" or not isinstance(text, str):
        return value
    if name.endswith("_group") and not _QQ_GROUP.fullmatch(text):
        raise DomainError("setting.qq_group", name=name)
    if name.endswith("_link") and (
        not text.startswith("https://") or len(text) > 300 or re.search(r"\s", text)
    ):
        raise DomainError("setting.qq_link", name=name)
    return text


def group_text(words: str, number: str, link: str) -> str:
    """What a masthead line and the pages say of a group: the publisher's own words when
    set, else its QQ number and join link ("" when none is set)."""
    if words.strip():
        return words.strip()
    return " ".join(part for part in (number.strip(), link.strip()) if part)


def group_texts(publisher: Any) -> dict[str, str]:
    """How each group is named to people (``PublisherSettings``): the words set, else its
    number and join link."""
    p = publisher
    return {
        "member_group": group_text(p.member_group, p.member_qq_group, p.member_qq_link),
        "free_group": group_text(p.free_group, p.free_qq_group, p.free_qq_link),
    }
