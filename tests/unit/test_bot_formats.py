"""Each robot platform's request and reply, checked against the platform's documented recipe
(signatures computed here from the recipe, with a fixed time and secret)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from urllib.parse import parse_qs, quote_plus, urlsplit

import pytest

from wenxing.live.bot_formats import (
    Message,
    build_request,
    mask_secret,
    mask_url,
    read_reply,
)

NOW = 1_764_201_600.75  # 2025-11-27 00:00:00.75 UTC
SECRET = "SEC0123456789abcdef0123456789abcdef"
MESSAGE = Message(
    title="新材料：在全区重点工作推进会上的讲话",
    lines=("类型：讲话", "日期：2026-11-27", "提纲：", "一、坚定不移贯彻新发展理念"),
    link="https://wx.example.cn/materials/7/read",
    link_text="会员阅读全文",
)


def test_wecom_markdown():
    url = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=abc-123"
    request = build_request("wecom", url, None, MESSAGE, NOW)
    assert request.url == url  # the key is the URL's; nothing is signed
    assert set(request.body) == {"msgtype", "markdown"}
    assert request.body["msgtype"] == "markdown"
    content = request.body["markdown"]["content"]
    assert content.startswith("**新材料：在全区重点工作推进会上的讲话**\n类型：讲话\n")
    assert content.endswith("[会员阅读全文](https://wx.example.cn/materials/7/read)")
    assert json.loads(request.content()) == request.body  # UTF-8 JSON as sent


def test_wecom_content_stays_within_its_4096_bytes():
    long = Message(
        title="标题", lines=tuple("很长的一行" * 40 for _ in range(20)), link="http://x/1"
    )
    content = build_request("wecom", "http://x/hook", None, long, NOW).body["markdown"]["content"]
    assert len(content.encode("utf-8")) <= 4096
    assert content.startswith("**标题**") and content.endswith("(http://x/1)")


def test_dingtalk_markdown_and_signature_in_the_query():
    url = "https://oapi.dingtalk.com/robot/send?access_token=tok123"
    request = build_request("dingtalk", url, SECRET, MESSAGE, NOW)
    timestamp = 1_764_201_600_750  # milliseconds
    string_to_sign = f"{timestamp}\n{SECRET}".encode()
    expected = base64.b64encode(
        hmac.new(SECRET.encode(), string_to_sign, hashlib.sha256).digest()
    ).decode()
    parts = urlsplit(request.url)
    assert parts.netloc == "oapi.dingtalk.com" and parts.path == "/robot/send"
    query = parse_qs(parts.query)
    assert query == {"access_token": ["tok123"], "timestamp": [str(timestamp)], "sign": [expected]}
    assert f"sign={quote_plus(expected)}" in parts.query  # URL-encoded as documented
    body = request.body
    assert body["msgtype"] == "markdown"
    assert body["markdown"]["title"] == "新材料：在全区重点工作推进会上的讲话"
    assert "\n\n类型：讲话\n\n" in body["markdown"]["text"]


def test_dingtalk_without_a_secret_is_not_signed():
    url = "https://oapi.dingtalk.com/robot/send?access_token=tok123"
    assert build_request("dingtalk", url, None, MESSAGE, NOW).url == url


def test_feishu_post_with_signature_in_the_body():
    url = "https://open.feishu.cn/open-apis/bot/v2/hook/0f1e2d3c-aaaa-bbbb-cccc-1234567890ab"
    request = build_request("feishu", url, SECRET, MESSAGE, NOW)
    timestamp = 1_764_201_600  # seconds
    key = f"{timestamp}\n{SECRET}".encode()
    expected = base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()
    body = request.body
    assert request.url == url
    assert body["timestamp"] == str(timestamp) and body["sign"] == expected
    assert body["msg_type"] == "post"
    post = body["content"]["post"]["zh_cn"]
    assert post["title"] == MESSAGE.title
    assert post["content"][0] == [{"tag": "text", "text": "类型：讲话"}]
    assert post["content"][-1] == [
        {"tag": "a", "text": "会员阅读全文", "href": "https://wx.example.cn/materials/7/read"}
    ]


def test_markdown_markup_in_a_title_is_neutralised():
    tricky = Message(title="关于[点我](http://evil)的**通知**", link="http://x/1", link_text="看")
    content = build_request("wecom", "http://x/h", None, tricky, NOW).body["markdown"]["content"]
    assert "](http://evil)" not in content and "［点我］" in content
    assert content.count("](") == 1


@pytest.mark.parametrize(
    ("platform", "status", "reply", "ok", "retry"),
    [
        ("wecom", 200, {"errcode": 0, "errmsg": "ok"}, True, False),
        ("wecom", 200, {"errcode": 45009, "errmsg": "api freq out of limit"}, False, True),
        ("wecom", 200, {"errcode": 93000, "errmsg": "invalid webhook url"}, False, False),
        ("dingtalk", 200, {"errcode": 0, "errmsg": "ok"}, True, False),
        ("dingtalk", 200, {"errcode": 310000, "errmsg": "sign not match"}, False, False),
        ("dingtalk", 200, {"errcode": 130101, "errmsg": "send too fast"}, False, True),
        ("feishu", 200, {"code": 0, "msg": "success", "data": {}}, True, False),
        ("feishu", 200, {"StatusCode": 0, "StatusMessage": "success"}, True, False),
        ("feishu", 200, {"code": 19021, "msg": "sign match fail"}, False, False),
        ("feishu", 200, {"code": 9499, "msg": "Too Many Request"}, False, True),
        ("feishu", 502, {}, False, True),
        ("wecom", 429, {}, False, True),
        ("dingtalk", 404, {}, False, False),
    ],
)
def test_replies(platform, status, reply, ok, retry):
    outcome = read_reply(platform, status, json.dumps(reply))
    assert (outcome.ok, outcome.retry) == (ok, retry)
    if not ok:
        assert outcome.error
    if reply.get("errcode") or reply.get("code"):
        assert str(reply.get("errcode") or reply.get("code")) in outcome.error


def test_a_reply_that_is_not_json_is_tried_again():
    outcome = read_reply("wecom", 200, "<html>gateway</html>")
    assert not outcome.ok and outcome.retry


def test_masks():
    assert mask_secret(SECRET) == "SEC••••••" and SECRET[3:10] not in mask_secret(SECRET)
    assert mask_secret("") == "" and mask_secret("short") == "••••••"
    masked = mask_url("https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=73febdcb-1b38-4d1b")
    assert masked == "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=73fe…"
    hook = mask_url("https://open.feishu.cn/open-apis/bot/v2/hook/0f1e2d3c-aaaa-bbbb-cccc-1234")
    assert hook.endswith("/hook/0f1e…")
    assert mask_url("http://u:p@127.0.0.1:8080/x?t=1") == "http://127.0.0.1:8080/x?t=1"
