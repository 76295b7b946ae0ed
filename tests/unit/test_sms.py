"""The SMS senders sign their requests as 阿里云短信 and 腾讯云短信 document; a loopback
receiver that checks the signatures from its own side accepts them and refuses tampering."""

from __future__ import annotations

import pytest

from tests.sms_receiver import Receiver
from wenxing.config.sms import check_sms_config, keep_sms_secret, masked_sms
from wenxing.errors import DomainError
from wenxing.members import sms


@pytest.fixture(scope="module")
def receiver():
    server = Receiver()
    yield server
    server.close()


@pytest.mark.parametrize("provider", ["aliyun", "tencent"])
def test_a_signed_code_reaches_the_receiver(receiver, provider):
    sender = sms.sender_for(check_sms_config(receiver.config(provider)))
    assert sender is not None
    sender.send_code("13800138000", "482913")
    assert receiver.last_code("13800138000") == "482913"


@pytest.mark.parametrize("provider", ["aliyun", "tencent"])
def test_a_wrong_secret_is_refused_by_the_receiver(receiver, provider):
    config = {**receiver.config(provider), "key_secret": "not-the-secret"}
    refused = receiver.refused
    with pytest.raises(sms.SmsFailed) as failed:
        sms.sender_for(check_sms_config(config)).send_code("13800138001", "111111")
    assert "13800138001" not in [phone for phone, _ in receiver.codes]
    assert receiver.refused == refused + 1
    assert failed.value.code == "sms.refused"


def test_an_unreachable_provider_is_a_domain_error():
    config = {
        "provider": "aliyun",
        "key_id": "k",
        "key_secret": "s",
        "sign_name": "n",
        "template": "t",
        "endpoint": "http://127.0.0.1:9/",
    }
    with pytest.raises(sms.SmsFailed) as failed:
        sms.sender_for(check_sms_config(config)).send_code("13800138002", "1")
    assert failed.value.code == "sms.unreachable"


def test_aliyun_percent_encoding_follows_rfc_3986():
    assert sms.percent("a b*~/:") == "a%20b%2A~%2F%3A"
    text = sms.aliyun_string_to_sign("POST", {"B": "x y", "A": "1"})
    assert text == "POST&%2F&A%3D1%26B%3Dx%2520y"


def test_the_setting_is_checked_and_its_secret_masked():
    assert check_sms_config({}) == {}
    assert sms.sender_for({}) is None
    with pytest.raises(DomainError):
        check_sms_config({"provider": "other"})
    with pytest.raises(DomainError):
        check_sms_config(
            {
                "provider": "tencent",
                "key_id": "k",
                "key_secret": "s",
                "sign_name": "n",
                "template": "t",
            }
        )  # no app_id
    with pytest.raises(DomainError):
        check_sms_config(
            {
                "provider": "aliyun",
                "key_id": "k",
                "key_secret": "s",
                "sign_name": "n",
                "template": "t",
                "endpoint": "http://evil.example/",
            }
        )
    shown = masked_sms({"provider": "aliyun", "key_secret": "abcdefgh1234"})
    assert shown["key_secret"] == "****1234"
    kept = keep_sms_secret({"key_secret": "****1234", "key_id": "k"}, {"key_secret": "abcd1234"})
    assert kept["key_secret"] == "abcd1234"
