"""Sending verification codes by SMS: 阿里云短信 and 腾讯云短信, behind one ``Sender``.

A publisher configures one provider in the ``sms`` publisher setting (a dict): ``provider``
(``aliyun`` or ``tencent``), ``key_id`` and ``key_secret`` (the AccessKey pair of Aliyun,
the SecretId/SecretKey pair of Tencent Cloud), ``sign_name`` (the approved 短信签名),
``template`` (the approved template's code or id, whose one variable is the code),
``app_id`` (Tencent's SmsSdkAppId) and, for tests and in-house relays only, ``endpoint``
(a loopback URL), checked by ``config.sms.check_sms_config``. The secret is never shown
back in full (``config.sms.masked_sms``).

Each request is signed as the provider documents it:

- Aliyun's RPC style: the parameters sorted by name, each name and value percent-encoded
  (RFC 3986: only letters, digits and ``-_.~`` kept), joined with ``=`` and ``&``; the
  string to sign is ``POST&%2F&`` followed by that query, percent-encoded once more; the
  signature is the Base64 of its HMAC-SHA1 under the secret followed by ``&``.
- Tencent Cloud's TC3-HMAC-SHA256: a canonical request (method, ``/``, empty query, the
  ``content-type`` and ``host`` headers, their names, the SHA-256 of the JSON body) whose
  SHA-256 is signed, with the date and the credential scope ``date/sms/tc3_request``, by a
  key derived through HMAC-SHA256 from ``TC3`` + the secret, the UTC date, ``sms`` and
  ``tc3_request``; it travels in the ``Authorization`` header.

The signing functions are pure, so the test receiver (``tests/sms_receiver.py``) checks a
request with the same documented steps written from the receiving side.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol
from urllib.parse import quote, urlsplit

import httpx2

from wenxing.errors import DomainError

ALIYUN_ENDPOINT = "https://dysmsapi.aliyuncs.com/"
TENCENT_ENDPOINT = "https://sms.tencentcloudapi.com/"
TIMEOUT_SECONDS = 10.0


class SmsFailed(DomainError):
    """The provider refused or could not be reached (the English says which, for the log)."""


class Sender(Protocol):
    def send_code(self, phone: str, code: str) -> None: ...


def percent(text: str) -> str:
    """RFC 3986 percent-encoding as Aliyun's signature wants it (space is %20, ~ is kept)."""
    return quote(text, safe="~")


def aliyun_string_to_sign(method: str, params: dict[str, str]) -> str:
    query = "&".join(f"{percent(k)}={percent(v)}" for k, v in sorted(params.items()))
    return f"{method}&{percent('/')}&{percent(query)}"


def aliyun_signature(secret: str, method: str, params: dict[str, str]) -> str:
    """The ``Signature`` parameter of an Aliyun RPC request (``params`` without it)."""
    text = aliyun_string_to_sign(method, params)
    digest = hmac.new(f"{secret}&".encode(), text.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def _hmac256(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def tc3_signature(secret: str, *, host: str, body: bytes, timestamp: int, service: str) -> str:
    """The hex signature of a Tencent Cloud API POST (content-type and host signed)."""
    day = datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")
    canonical = "\n".join(
        [
            "POST",
            "/",
            "",
            f"content-type:application/json; charset=utf-8\nhost:{host}\n",
            "content-type;host",
            hashlib.sha256(body).hexdigest(),
        ]
    )
    scope = f"{day}/{service}/tc3_request"
    to_sign = "\n".join(
        [
            "TC3-HMAC-SHA256",
            str(timestamp),
            scope,
            hashlib.sha256(canonical.encode()).hexdigest(),
        ]
    )
    key = _hmac256(f"TC3{secret}".encode(), day)
    key = _hmac256(key, service)
    key = _hmac256(key, "tc3_request")
    return hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class AliyunSender:
    config: dict[str, str]
    client: httpx2.Client | None = None

    def request(self, phone: str, code: str, now: datetime) -> dict[str, str]:
        params = {
            "AccessKeyId": self.config["key_id"],
            "Action": "SendSms",
            "Format": "JSON",
            "PhoneNumbers": phone,
            "RegionId": "cn-hangzhou",
            "SignName": self.config["sign_name"],
            "SignatureMethod": "HMAC-SHA1",
            "SignatureNonce": secrets.token_hex(16),
            "SignatureVersion": "1.0",
            "TemplateCode": self.config["template"],
            "TemplateParam": json.dumps({"code": code}),
            "Timestamp": now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "Version": "2017-05-25",
        }
        params["Signature"] = aliyun_signature(self.config["key_secret"], "POST", params)
        return params

    def send_code(self, phone: str, code: str) -> None:
        params = self.request(phone, code, datetime.now(UTC))
        endpoint = self.config.get("endpoint") or ALIYUN_ENDPOINT
        answer = _post(self.client, endpoint, data=params)
        if answer.get("Code") != "OK":
            raise SmsFailed("sms.refused", provider="aliyun", detail=str(answer.get("Code")))


@dataclass(frozen=True)
class TencentSender:
    config: dict[str, str]
    client: httpx2.Client | None = None

    def request(self, phone: str, code: str, timestamp: int) -> tuple[dict[str, str], bytes]:
        endpoint = self.config.get("endpoint") or TENCENT_ENDPOINT
        host = urlsplit(endpoint).netloc
        body = json.dumps(
            {
                "PhoneNumberSet": [f"+86{phone}"],
                "SmsSdkAppId": self.config["app_id"],
                "SignName": self.config["sign_name"],
                "TemplateId": self.config["template"],
                "TemplateParamSet": [code],
            },
            ensure_ascii=False,
        ).encode()
        signature = tc3_signature(
            self.config["key_secret"], host=host, body=body, timestamp=timestamp, service="sms"
        )
        day = datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")
        headers = {
            "Authorization": (
                f"TC3-HMAC-SHA256 Credential={self.config['key_id']}/{day}/sms/tc3_request, "
                f"SignedHeaders=content-type;host, Signature={signature}"
            ),
            "Content-Type": "application/json; charset=utf-8",
            "Host": host,
            "X-TC-Action": "SendSms",
            "X-TC-Timestamp": str(timestamp),
            "X-TC-Version": "2021-01-11",
            "X-TC-Region": "ap-guangzhou",
        }
        return headers, body

    def send_code(self, phone: str, code: str) -> None:
        headers, body = self.request(phone, code, int(datetime.now(UTC).timestamp()))
        endpoint = self.config.get("endpoint") or TENCENT_ENDPOINT
        answer = _post(self.client, endpoint, content=body, headers=headers).get("Response", {})
        statuses = answer.get("SendStatusSet") or [{}]
        if "Error" in answer or statuses[0].get("Code") != "Ok":
            detail = answer.get("Error", {}).get("Code") or statuses[0].get("Code")
            raise SmsFailed("sms.refused", provider="tencent", detail=str(detail))


def _post(client: httpx2.Client | None, url: str, **kwargs: Any) -> dict:
    own = client is None
    http = client or httpx2.Client(timeout=TIMEOUT_SECONDS, trust_env=False, follow_redirects=False)
    try:
        response = http.post(url, **kwargs)
        return response.json()
    except (httpx2.HTTPError, ValueError) as exc:
        raise SmsFailed("sms.unreachable", detail=exc.__class__.__name__) from None
    finally:
        if own:
            http.close()


def sender_for(config: dict[str, str]) -> Sender | None:
    """The configured sender, or None when the publisher has set none up."""
    if not config:
        return None
    if config["provider"] == "aliyun":
        return AliyunSender(config)
    return TencentSender(config)
