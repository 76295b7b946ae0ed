"""A signed-in device named as a member recognises it: 「Android · 微信」, 「iPhone · Safari」,
「Windows · Edge」, never the raw user-agent string (which stays in the audit log)."""

from __future__ import annotations

import re

# (pattern, name), first match wins: the app inside which a page opens before the browser
# it is built on (WeChat's and QQ's browsers say Safari or Chrome too).
_APPS = (
    (r"MicroMessenger", "微信"),
    (r"wxwork", "企业微信"),
    (r"DingTalk", "钉钉"),
    (r"\bQQ/", "QQ"),
    (r"MQQBrowser|QQBrowser", "QQ浏览器"),
    (r"UCBrowser|UCWEB", "UC浏览器"),
    (r"Quark", "夸克"),
    (r"baiduboxapp|BaiduHD", "百度"),
    (r"HuaweiBrowser|HUAWEI", "华为浏览器"),
    (r"MiuiBrowser", "小米浏览器"),
    (r"Edg(e|A|iOS)?/", "Edge"),
    (r"Firefox|FxiOS", "Firefox"),
    (r"Chrome|CriOS", "Chrome"),
    (r"Safari", "Safari"),
)
_SYSTEMS = (
    (r"iPhone", "iPhone"),
    (r"iPad", "iPad"),
    (r"HarmonyOS|OpenHarmony", "鸿蒙"),
    (r"Android", "Android"),
    (r"Windows", "Windows"),
    (r"Mac OS X|Macintosh", "Mac"),
    (r"Linux", "Linux"),
)
UNKNOWN = "未知设备"


def device_name(user_agent: str | None) -> str:
    """「system · app」 from a user agent, either part left out when unknown."""
    agent = user_agent or ""
    system = next((name for pattern, name in _SYSTEMS if re.search(pattern, agent)), None)
    app = next((name for pattern, name in _APPS if re.search(pattern, agent)), None)
    parts = [part for part in (system, app) if part]
    return " · ".join(parts) if parts else UNKNOWN
