"""QQ robots' wire formats against the documented shapes (OneBot v11, the official platform)."""

from __future__ import annotations

import hashlib
import hmac
import json

from wenxing.live.bot_formats import Message
from wenxing.live.qq_formats import (
    OFFICIAL_TOKEN_URL,
    event_signature,
    onebot_call,
    onebot_group_message,
    qqbot_group_message,
    qqbot_token_call,
    read_onebot_reply,
    read_qqbot_reply,
    read_token_reply,
    signature_valid,
    text_of,
    token_url,
)

MESSAGE = Message("新材料：讲话", ("类型：讲话", "日期：2026-12-07"), "https://wx.cn/m/1", "查看")


def test_a_onebot_group_message_is_send_group_msg_with_the_bearer_token():
    call = onebot_group_message("http://127.0.0.1:5700/", "tok", "612345678", MESSAGE)
    assert call.url == "http://127.0.0.1:5700/send_group_msg"
    assert call.headers == {"Authorization": "Bearer tok"}
    assert call.body["group_id"] == 612345678 and call.body["auto_escape"] is True
    assert call.body["message"].splitlines() == [
        "新材料：讲话",
        "类型：讲话",
        "日期：2026-12-07",
        "查看：https://wx.cn/m/1",
    ]
    assert onebot_call("http://h:1", None, "set_group_kick", {}).headers == {}


def test_onebot_replies():
    assert read_onebot_reply(200, '{"status":"ok","retcode":0,"data":{"message_id":1}}').ok
    assert read_onebot_reply(200, '{"status":"async","retcode":1,"data":null}').ok
    for status in (401, 403):
        refused = read_onebot_reply(status, "")
        assert not refused.ok and not refused.retry
    assert read_onebot_reply(502, "").retry
    assert read_onebot_reply(200, '{"status":"failed","retcode":103}').retry
    failed = read_onebot_reply(200, '{"status":"failed","retcode":100,"wording":"bad"}')
    assert not failed.ok and not failed.retry and failed.error == "retcode 100: bad"
    assert read_onebot_reply(200, "<html>").retry


def test_the_official_token_and_group_message():
    call = qqbot_token_call("https://api.sgroup.qq.com", "1020", "sec")
    assert call.url == OFFICIAL_TOKEN_URL == "https://bots.qq.com/app/getAppAccessToken"
    assert call.body == {"appId": "1020", "clientSecret": "sec"}
    assert token_url("https://127.0.0.1:8443") == "https://127.0.0.1:8443/app/getAppAccessToken"
    assert read_token_reply(200, '{"access_token":"T","expires_in":"7200"}') == ("T", 7200)
    refused = read_token_reply(200, '{"code":100016,"message":"invalid appid or secret"}')
    assert not refused.ok and not refused.retry and "100016" in refused.error
    assert read_token_reply(503, "").retry
    message = qqbot_group_message("https://api.sgroup.qq.com", "1020", "T", "OPENID", MESSAGE)
    assert message.url == "https://api.sgroup.qq.com/v2/groups/OPENID/messages"
    assert message.headers["Authorization"] == "QQBot T"
    assert message.body["msg_type"] == 0 and "新材料：讲话" in message.body["content"]
    assert read_qqbot_reply(200, '{"id":"m1","timestamp":1}').ok
    assert read_qqbot_reply(401, "{}").retry  # the token is fetched again
    assert read_qqbot_reply(200, '{"code":22009,"message":"msg limit exceed"}').retry
    assert not read_qqbot_reply(400, '{"code":40034,"message":"x"}').retry


def test_event_signatures_are_hmac_sha1_of_the_body():
    body = json.dumps({"post_type": "request"}).encode()
    expected = "sha1=" + hmac.new(b"s3cret", body, hashlib.sha1).hexdigest()
    assert event_signature("s3cret", body) == expected
    assert signature_valid("s3cret", body, expected)
    assert signature_valid("s3cret", body, expected.upper().replace("SHA1=", "sha1="))
    assert not signature_valid("s3cret", body + b" ", expected)
    assert not signature_valid("other", body, expected)
    assert not signature_valid(None, body, expected) and not signature_valid("s3cret", body, None)


def test_a_long_message_keeps_its_title_and_link():
    long = Message("标题", tuple("很长的一行" * 50 for _ in range(20)), "https://wx.cn/x", "查看")
    text = text_of(long)
    assert len(text) <= 2000 and text.startswith("标题") and text.endswith("https://wx.cn/x")
