"""Devices are named as a member recognises them, never by their raw user agent."""

import pytest

from wenxing.members.devices import UNKNOWN, device_name

WECHAT_ANDROID = (
    "Mozilla/5.0 (Linux; Android 13; V2183A Build/TP1A.220624.014; wv) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Version/4.0 Chrome/107.0.5304.141 Mobile Safari/537.36 XWEB/5061 "
    "MMWEBSDK/20230303 MMWEBID/1234 MicroMessenger/8.0.34.2340(0x2800223B) WeChat/arm64"
)


@pytest.mark.parametrize(
    ("agent", "name"),
    [
        (WECHAT_ANDROID, "Android · 微信"),
        (
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
            "(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1",
            "iPhone · Safari",
        ),
        (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/120.0.0.0 Safari/537.36 Edg/120.0.0.0",
            "Windows · Edge",
        ),
        ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) Firefox/121.0", "Mac · Firefox"),
        ("curl/8.0", UNKNOWN),
        (None, UNKNOWN),
    ],
)
def test_device_names(agent, name):
    assert device_name(agent) == name
