"""Group robots' wire formats: each platform's message, signature and reply, as documented.

Pure functions (no database, no network, no clock: the caller passes the time), so each
platform's request can be checked against its published recipe in unit tests.

* 企业微信 (WeCom) group robot: POST ``{"msgtype": "markdown", "markdown": {"content"}}`` to
  the webhook (its ``key`` is in the URL); reply ``{"errcode": 0, "errmsg": "ok"}``.
* 钉钉 (DingTalk) custom robot: POST ``{"msgtype": "markdown", "markdown": {"title", "text"}}``;
  with 加签, ``timestamp`` (milliseconds) and ``sign`` are added to the URL's query, where
  ``sign`` is base64(HMAC-SHA256(key=secret, msg=f"{timestamp}\\n{secret}"));
  reply ``{"errcode": 0, "errmsg": "ok"}``.
* 飞书 (Feishu/Lark) custom bot: POST ``{"msg_type": "post", "content": {"post": {"zh_cn":
  {"title", "content"}}}}``; with 签名校验, ``timestamp`` (seconds, a string) and ``sign`` go
  into the body, where ``sign`` is base64(HMAC-SHA256(key=f"{timestamp}\\n{secret}",
  msg=b"")); reply ``{"code": 0, "msg": "success"}`` (older bots: ``StatusCode``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

PLATFORMS = ("wecom", "dingtalk", "feishu")
SIGNED = frozenset({"dingtalk", "feishu"})  # platforms with a signing secret

# Error codes that mean "too many messages, slow down": tried again later.
RATE_LIMITED = {
    "wecom": frozenset({45009}),  # api freq out of limit (20 messages a minute)
    "dingtalk": frozenset({130101, 90030}),  # send too fast; webhook over limit
    "feishu": frozenset({9499, 11232, 11233}),  # too many requests; chat frequency limited
}
WECOM_LIMIT_BYTES = 4096  # the markdown content's documented limit
DINGTALK_LIMIT_BYTES = 18_000  # comfortably under the documented 20,000


@dataclass(frozen=True)
class Message:
    """What a robot says: a title, a few short lines and a link (all plain text)."""

    title: str
    lines: tuple[str, ...] = ()
    link: str | None = None
    link_text: str = ""


@dataclass(frozen=True)
class Request:
    url: str
    body: dict[str, Any]

    def content(self) -> bytes:
        return json.dumps(self.body, ensure_ascii=False).encode("utf-8")


@dataclass(frozen=True)
class Outcome:
    """A reply read: ``ok``; else ``retry`` (worth trying again later) and the error."""

    ok: bool
    retry: bool = False
    error: str | None = None


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    digest = hmac.new(
        secret.encode("utf-8"), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256
    ).digest()
    return base64.b64encode(digest).decode("ascii")


def feishu_sign(secret: str, timestamp_s: int) -> str:
    digest = hmac.new(f"{timestamp_s}\n{secret}".encode(), b"", hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def plain(text: str) -> str:
    """Text safe inside Markdown: characters that would start markup become their
    full-width forms (a title with brackets must not turn into a link)."""
    table = str.maketrans(
        {"[": "［", "]": "］", "*": "＊", "`": "｀", "<": "＜", ">": "＞", "#": "＃"}
    )
    return " ".join(text.translate(table).split())


def _markdown(message: Message, line_break: str, limit: int) -> str:
    head = f"**{plain(message.title)}**"
    tail = f"[{plain(message.link_text)}]({message.link})" if message.link else ""
    lines = [plain(line) for line in message.lines]

    def joined(count: int) -> str:
        return line_break.join(part for part in (head, *lines[:count], tail) if part)

    count = len(lines)
    while count and len(joined(count).encode("utf-8")) > limit:
        count -= 1  # drop lines from the end; the title and link always fit
    return joined(count)


def wecom_request(url: str, message: Message) -> Request:
    content = _markdown(message, "\n", WECOM_LIMIT_BYTES)
    return Request(url, {"msgtype": "markdown", "markdown": {"content": content}})


def dingtalk_request(url: str, secret: str | None, message: Message, now: float) -> Request:
    # DingTalk's Markdown needs an empty line between paragraphs to break the line.
    text = _markdown(message, "\n\n", DINGTALK_LIMIT_BYTES)
    body = {"msgtype": "markdown", "markdown": {"title": plain(message.title), "text": text}}
    if secret:
        timestamp = int(now * 1000)
        url = _with_query(
            url, {"timestamp": str(timestamp), "sign": dingtalk_sign(secret, timestamp)}
        )
    return Request(url, body)


def feishu_request(url: str, secret: str | None, message: Message, now: float) -> Request:
    rows: list[list[dict[str, str]]] = [
        [{"tag": "text", "text": " ".join(line.split())}] for line in message.lines
    ]
    if message.link:
        rows.append([{"tag": "a", "text": message.link_text, "href": message.link}])
    post = {"zh_cn": {"title": " ".join(message.title.split()), "content": rows}}
    body: dict[str, Any] = {"msg_type": "post", "content": {"post": post}}
    if secret:
        timestamp = int(now)
        body = {"timestamp": str(timestamp), "sign": feishu_sign(secret, timestamp), **body}
    return Request(url, body)


def build_request(
    platform: str, url: str, secret: str | None, message: Message, now: float
) -> Request:
    """The HTTP POST announcing ``message`` through a robot; ``now`` is the Unix time."""
    if platform == "wecom":
        return wecom_request(url, message)
    if platform == "dingtalk":
        return dingtalk_request(url, secret, message, now)
    if platform == "feishu":
        return feishu_request(url, secret, message, now)
    raise ValueError(f"unknown robot platform {platform!r}")


def read_reply(platform: str, status: int, text: str) -> Outcome:
    """Whether the platform took the message, from its HTTP status and JSON reply."""
    if status == 429 or status == 408 or status >= 500:
        return Outcome(False, retry=True, error=f"HTTP {status}")
    if not 200 <= status < 300:
        return Outcome(False, error=f"HTTP {status}")
    try:
        reply = json.loads(text)
    except ValueError:
        reply = None
    if not isinstance(reply, dict):
        return Outcome(False, retry=True, error="unexpected reply (not the platform's JSON)")
    if platform == "feishu":
        code = reply.get("code", reply.get("StatusCode"))
        said = reply.get("msg") or reply.get("StatusMessage") or ""
        name = "code"
    else:
        code, said, name = reply.get("errcode"), reply.get("errmsg") or "", "errcode"
    if code == 0:
        return Outcome(True)
    if not isinstance(code, int):
        return Outcome(False, retry=True, error="unexpected reply (not the platform's JSON)")
    # The platform's own words for its code, short: never more of the remote body.
    error = f"{name} {code}: {str(said)[:80]}"
    return Outcome(False, retry=code in RATE_LIMITED.get(platform, ()), error=error)


def _with_query(url: str, extra: dict[str, str]) -> str:
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in extra]
    return urlunsplit(parts._replace(query=urlencode([*query, *extra.items()])))


def mask_url(url: str) -> str:
    """A webhook URL with its credentials shortened (the query's values, a long last path
    segment such as 飞书's hook id): enough to recognise it, not to use it."""
    parts = urlsplit(url)

    def short(value: str, keep: int = 4) -> str:
        return value if len(value) <= keep * 2 else value[:keep] + "…"

    segments = parts.path.split("/")
    if segments and len(segments[-1]) > 16:
        segments[-1] = short(segments[-1])
    query = "&".join(f"{k}={short(v)}" for k, v in parse_qsl(parts.query, keep_blank_values=True))
    netloc = parts.hostname or ""
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme, netloc, "/".join(segments), query, ""))


def mask_secret(secret: str | None) -> str:
    if not secret:
        return ""
    return (secret[:3] if len(secret) > 8 else "") + "••••••"
