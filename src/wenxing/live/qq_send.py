"""Talking to QQ: a OneBot v11 framework's HTTP API and the QQ official bot platform.

``announce`` sends a group message for the outbox (``bot_sender``: the same claims,
retries and give-up as the webhook robots); ``action`` calls one OneBot action for the
会员群 door (``qq_door``: approving or refusing a join request, a private message, removing
a member). The official platform's access token is fetched with the app id and secret,
kept in this process until a minute before it expires, and fetched again then, or at
once when the platform refuses it (HTTP 401). A wrong app secret or OneBot access token is
a failure that will not pass: it fails at once.
"""

from __future__ import annotations

import hashlib
import threading
import time
from dataclasses import dataclass
from typing import Any

import httpx2

from wenxing.live import outbound, webhook_guard
from wenxing.live.bot_credentials import Credentials
from wenxing.live.bot_formats import Message, Outcome
from wenxing.live.qq_formats import (
    Call,
    onebot_call,
    onebot_group_message,
    qqbot_group_message,
    qqbot_token_call,
    read_onebot_reply,
    read_qqbot_reply,
    read_token_reply,
)

REFRESH_BEFORE_SECONDS = 60  # an access token is fetched again this long before it expires


@dataclass(frozen=True)
class Target:
    """Where a QQ robot speaks: the group (number or group_openid) and, for the official
    platform, the app id."""

    group: str
    app_id: str | None


_tokens: dict[str, tuple[str, float]] = {}  # (api, app id, secret) digest → token, expiry
_tokens_lock = threading.Lock()


def _token_key(api_url: str, app_id: str, secret: str) -> str:
    return hashlib.sha256(f"{api_url}\n{app_id}\n{secret}".encode()).hexdigest()


def forget_tokens() -> None:
    """Drop every cached access token (tests; a server secret changed)."""
    with _tokens_lock:
        _tokens.clear()


def _post(
    client: httpx2.Client,
    call: Call,
    policy: webhook_guard.Policy,
    resolve: webhook_guard.Resolver | None,
    plain_http: bool,
):
    return outbound.post_json(
        client,
        call.url,
        call.content(),
        policy,
        headers=call.headers,
        resolve=resolve,
        plain_http=plain_http,
    )


def access_token(
    client: httpx2.Client,
    opened: Credentials,
    app_id: str,
    policy: webhook_guard.Policy,
    resolve: webhook_guard.Resolver | None = None,
) -> str | tuple[int | None, Outcome]:
    """The official platform's access token for this app (cached, refreshed before it
    expires), or (status, Outcome) when the platform gives none."""
    key = _token_key(opened.url, app_id, opened.secret or "")
    with _tokens_lock:
        cached = _tokens.get(key)
    if cached and cached[1] - REFRESH_BEFORE_SECONDS > time.monotonic():
        return cached[0]
    call = qqbot_token_call(opened.url, app_id, opened.secret or "")
    answer = _post(client, call, policy, resolve, False)
    if not isinstance(answer, outbound.Answer):
        return answer
    read = read_token_reply(answer.status, answer.text)
    if isinstance(read, Outcome):
        return answer.status, read
    token, seconds = read
    with _tokens_lock:
        _tokens[key] = (token, time.monotonic() + seconds)
    return token


def _drop_token(opened: Credentials, app_id: str) -> None:
    with _tokens_lock:
        _tokens.pop(_token_key(opened.url, app_id, opened.secret or ""), None)


def announce(
    client: httpx2.Client,
    platform: str,
    opened: Credentials,
    target: Target,
    message: Message,
    policy: webhook_guard.Policy,
    resolve: webhook_guard.Resolver | None = None,
) -> tuple[int | None, Outcome]:
    """Send ``message`` to the robot's group; (HTTP status or None, Outcome)."""
    if not target.group:
        return None, Outcome(False, error="the robot names no QQ group")
    if platform == "onebot":
        call = onebot_group_message(opened.url, opened.secret, target.group, message)
        answer = _post(client, call, policy, resolve, True)
        if not isinstance(answer, outbound.Answer):
            return answer
        return answer.status, read_onebot_reply(answer.status, answer.text)
    app_id = target.app_id or ""
    token = access_token(client, opened, app_id, policy, resolve)
    if not isinstance(token, str):
        return token
    call = qqbot_group_message(opened.url, app_id, token, target.group, message)
    answer = _post(client, call, policy, resolve, False)
    if not isinstance(answer, outbound.Answer):
        return answer
    outcome = read_qqbot_reply(answer.status, answer.text)
    if answer.status == 401:
        _drop_token(opened, app_id)  # fetched anew at the next try
    return answer.status, outcome


def action(
    client: httpx2.Client,
    opened: Credentials,
    name: str,
    params: dict[str, Any],
    policy: webhook_guard.Policy,
    resolve: webhook_guard.Resolver | None = None,
) -> tuple[int | None, Outcome]:
    """Call one OneBot action (``set_group_add_request``, ``set_group_kick``,
    ``send_private_msg``) on the robot's framework."""
    call = onebot_call(opened.url, opened.secret, name, params)
    answer = _post(client, call, policy, resolve, True)
    if not isinstance(answer, outbound.Answer):
        return answer
    return answer.status, read_onebot_reply(answer.status, answer.text)
