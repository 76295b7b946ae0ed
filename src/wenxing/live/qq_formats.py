"""QQ robots' wire formats, as documented: pure functions (no database, network or clock).

* **OneBot v11** (the HTTP API of self-hosted QQ bot frameworks: NapCat, Lagrange, go-cqhttp
  …): an action is ``POST {base}/{action}`` with a JSON body and, when the framework has an
  access token, ``Authorization: Bearer {token}``; a missing token is answered HTTP 401, a
  wrong one 403. The reply is ``{"status": "ok"|"async"|"failed", "retcode": 0|1|…,
  "data": …}``. Actions used: ``send_group_msg`` (``group_id``, ``message``,
  ``auto_escape``), ``send_private_msg`` (``user_id``, ``message``),
  ``set_group_add_request`` (``flag``, ``sub_type``, ``approve``, ``reason``) and
  ``set_group_kick`` (``group_id``, ``user_id``, ``reject_add_request``).
  Event reports are POSTed by the framework to a URL of ours, signed when it has a secret:
  ``X-Signature: sha1=`` + hex(HMAC-SHA1(key=secret, msg=body)).
* **QQ official bot platform** (QQ 机器人开放平台): ``POST
  https://bots.qq.com/app/getAppAccessToken`` with ``{"appId", "clientSecret"}`` gives
  ``{"access_token", "expires_in"}`` (seconds, as a string); a group message is ``POST
  {api}/v2/groups/{group_openid}/messages`` with ``Authorization: QQBot {access_token}`` and
  ``{"content", "msg_type": 0}``; a refusal is ``{"code", "message"}``.

QQ messages are plain text: a title, the lines and the link, one to a line.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from wenxing.live.bot_formats import Message, Outcome

QQ_PLATFORMS = ("onebot", "qqbot")
OFFICIAL_API = "https://api.sgroup.qq.com"
OFFICIAL_TOKEN_URL = "https://bots.qq.com/app/getAppAccessToken"
OFFICIAL_HOSTS = frozenset({"api.sgroup.qq.com", "sandbox.api.sgroup.qq.com", "bots.qq.com"})
QQ_LIMIT_CHARS = 2000  # comfortably under both platforms' text limits
# OneBot retcodes worth trying again: 1 is "async" (accepted), handled as success; 103
# (the action failed, e.g. QQ's servers were busy) and 201 (the framework's worker failed).
ONEBOT_RETRY = frozenset({103, 201})
# The official platform's codes that mean "too many, later" (besides HTTP 429 and 5xx).
QQBOT_RETRY = frozenset({22009, 20028, 304003})


@dataclass(frozen=True)
class Call:
    """An HTTP POST to make: the URL, its JSON body and the headers beside Content-Type."""

    url: str
    body: dict[str, Any]
    headers: dict[str, str]

    def content(self) -> bytes:
        return json.dumps(self.body, ensure_ascii=False).encode("utf-8")


def text_of(message: Message) -> str:
    """A message as QQ shows it: plain lines, cut to the limit (the link always kept)."""
    lines = [" ".join(message.title.split()), *(" ".join(x.split()) for x in message.lines)]
    tail = f"{message.link_text}：{message.link}" if message.link else ""
    while len(lines) > 1 and len("\n".join([*lines, tail])) > QQ_LIMIT_CHARS:
        lines.pop()
    return "\n".join(part for part in (*lines, tail) if part)


def onebot_call(base_url: str, token: str | None, action: str, params: dict[str, Any]) -> Call:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return Call(base_url.rstrip("/") + "/" + action, params, headers)


def onebot_group_message(base_url: str, token: str | None, group: str, message: Message) -> Call:
    params = {"group_id": int(group), "message": text_of(message), "auto_escape": True}
    return onebot_call(base_url, token, "send_group_msg", params)


def read_onebot_reply(status: int, text: str) -> Outcome:
    """Whether the framework did the action, from its HTTP status and JSON reply."""
    if status in (401, 403):
        return Outcome(False, error=f"HTTP {status}: the framework refused the access token")
    if status == 429 or status == 408 or status >= 500:
        return Outcome(False, retry=True, error=f"HTTP {status}")
    if not 200 <= status < 300:
        return Outcome(False, error=f"HTTP {status}")
    reply = _json(text)
    if reply is None or "retcode" not in reply:
        return Outcome(False, retry=True, error="unexpected reply (not OneBot's JSON)")
    code = reply.get("retcode")
    if code in (0, 1) and reply.get("status") in ("ok", "async"):
        return Outcome(True)
    said = str(reply.get("wording") or reply.get("msg") or reply.get("status") or "")[:80]
    return Outcome(False, retry=code in ONEBOT_RETRY, error=f"retcode {code}: {said}")


def token_url(api_url: str) -> str:
    """Where the official platform's access token is fetched for an API address: the
    platform's own token host for its API hosts; the same host otherwise (a relay or a
    stand-in serving both paths)."""
    parts = urlsplit(api_url)
    if (parts.hostname or "") in OFFICIAL_HOSTS:
        return OFFICIAL_TOKEN_URL
    return f"{parts.scheme}://{parts.netloc}/app/getAppAccessToken"


def qqbot_token_call(api_url: str, app_id: str, app_secret: str) -> Call:
    return Call(token_url(api_url), {"appId": app_id, "clientSecret": app_secret}, {})


def read_token_reply(status: int, text: str) -> tuple[str, int] | Outcome:
    """(access token, seconds it lasts), or the Outcome saying why there is none."""
    if status == 429 or status >= 500:
        return Outcome(False, retry=True, error=f"token: HTTP {status}")
    reply = _json(text)
    token = reply.get("access_token") if reply else None
    if reply is not None and 200 <= status < 300 and isinstance(token, str) and token:
        try:
            seconds = int(reply.get("expires_in", 0))  # a string, as documented
        except (TypeError, ValueError):
            seconds = 0
        return token, max(seconds, 0)
    code = reply.get("code") if reply else None
    said = str(reply.get("message") or "")[:80] if reply else ""
    return Outcome(False, error=f"token refused: code {code} (HTTP {status}): {said}")


def qqbot_group_message(
    api_url: str, app_id: str, access_token: str, group_openid: str, message: Message
) -> Call:
    url = f"{api_url.rstrip('/')}/v2/groups/{group_openid}/messages"
    headers = {"Authorization": f"QQBot {access_token}", "X-Union-Appid": app_id}
    return Call(url, {"content": text_of(message), "msg_type": 0}, headers)


def read_qqbot_reply(status: int, text: str) -> Outcome:
    """Whether the platform took a message. HTTP 401 is an access token that expired early
    (fetched again and tried again); a refusal code is said with its number."""
    if status == 401:
        return Outcome(False, retry=True, error="HTTP 401: the access token was refused")
    if status == 429 or status == 408 or status >= 500:
        return Outcome(False, retry=True, error=f"HTTP {status}")
    reply = _json(text)
    if 200 <= status < 300 and reply is not None and "code" not in reply:
        return Outcome(True)
    if reply is None or not isinstance(reply.get("code"), int):
        return Outcome(False, retry=True, error=f"HTTP {status}: unexpected reply")
    code = reply["code"]
    said = str(reply.get("message") or "")[:80]
    return Outcome(False, retry=code in QQBOT_RETRY, error=f"code {code}: {said}")


def event_signature(secret: str, body: bytes) -> str:
    """The X-Signature a OneBot framework with ``secret`` sends with ``body``."""
    return "sha1=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha1).hexdigest()


def signature_valid(secret: str | None, body: bytes, header: str | None) -> bool:
    """Whether an event report carries the signature of ``secret`` (no secret: never)."""
    if not secret or not header:
        return False
    return hmac.compare_digest(event_signature(secret, body), header.strip().lower())


def _json(text: str) -> dict[str, Any] | None:
    try:
        reply = json.loads(text)
    except ValueError:
        return None
    return reply if isinstance(reply, dict) else None
