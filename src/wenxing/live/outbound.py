"""One outgoing robot request: to the address its host resolved to and the policy allows
(``webhook_guard.pin``: the name only in the Host header and TLS), never redirected.

Every robot's HTTP goes through ``post_json``: the webhook robots' announcements
(``bot_sender``) and the QQ robots' calls (``qq_send``).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx2

from wenxing.live import webhook_guard
from wenxing.live.bot_formats import Outcome


@dataclass(frozen=True)
class Answer:
    status: int
    text: str


def post_json(
    client: httpx2.Client,
    url: str,
    content: bytes,
    policy: webhook_guard.Policy,
    *,
    headers: dict[str, str] | None = None,
    resolve: webhook_guard.Resolver | None = None,
    plain_http: bool = False,
) -> Answer | tuple[int | None, Outcome]:
    """The other end's answer, or (HTTP status or None, the Outcome) when there is none
    to read: refused by the policy, unreachable, or a redirect."""
    try:
        pinned = webhook_guard.pin(url, policy, resolve, plain_http)
    except webhook_guard.WebhookRefused as refused:
        return None, Outcome(False, retry=refused.code == "resolve", error=str(refused))
    sent = {"Content-Type": "application/json; charset=utf-8", "Host": host_header(url)}
    extensions = {"sni_hostname": pinned.host} if urlsplit(url).scheme == "https" else {}
    try:
        response = client.post(
            pinned.url,
            content=content,
            headers={**sent, **(headers or {})},
            extensions=extensions,
        )
    except httpx2.HTTPError as exc:
        reason = str(exc) or exc.__class__.__name__
        return None, Outcome(False, retry=True, error=f"{exc.__class__.__name__}: {reason}"[:500])
    if 300 <= response.status_code < 400:
        return response.status_code, Outcome(
            False, error=f"HTTP {response.status_code}: redirects are not followed"
        )
    return Answer(response.status_code, response.text)


def host_header(url: str) -> str:
    """The Host header of a URL (its port kept when it names one)."""
    parts = urlsplit(url)
    return parts.netloc.rsplit("@", 1)[-1]
