"""Where group robots may send: the platforms' hosts over https, and nowhere inside.

A webhook URL is typed by an admin account; whoever holds one (or steals one) must not
make the server read or poke internal services. So:

* at save (``check_url``): https only (a OneBot framework, self-hosted beside wenxing, may
  be plain http: ``plain_http``); the host is one of the platforms' documented
  webhook hosts (``PLATFORM_HOSTS``) or one the publisher added (setting
  ``webhook_hosts``); no user name or password in it;
* at send (``pin``): the host is checked again, resolved, and every address it resolves
  to must be public (no loopback, private, link-local, multicast, reserved or shared
  addresses) unless it falls in a network the operator allowed
  (``WENXING_WEBHOOK_PRIVATE_NETWORKS``, for an in-house receiver); the request then goes
  to the address that was checked (the name only in the Host header and TLS's SNI and
  certificate check), so a DNS answer that changes between the check and the connection
  ("DNS rebinding") cannot move it. Redirects are never followed (``bot_sender``).

Refusals are :class:`WebhookRefused`: an English message for logs, a ``code`` the
console words in Chinese.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

PLATFORM_HOSTS = frozenset(
    {
        "qyapi.weixin.qq.com",
        "oapi.dingtalk.com",
        "open.feishu.cn",
        "open.larksuite.com",
        # the QQ official bot platform: its API and its access-token host
        "api.sgroup.qq.com",
        "sandbox.api.sgroup.qq.com",
        "bots.qq.com",
    }
)
Resolver = Callable[[str, int], list[str]]


class WebhookRefused(ValueError):
    """A webhook the server will not send to; ``code``: scheme, host, address, resolve."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Policy:
    extra_hosts: frozenset[str] = frozenset()
    private_networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()

    @classmethod
    def of(cls, hosts: Iterable[str], networks: str) -> Policy:
        """From the publisher's ``webhook_hosts`` and the operator's
        ``WENXING_WEBHOOK_PRIVATE_NETWORKS`` (comma-separated CIDR)."""
        parsed = tuple(
            ipaddress.ip_network(part.strip(), strict=False)
            for part in (networks or "").split(",")
            if part.strip()
        )
        return cls(frozenset(h.strip().lower().rstrip(".") for h in hosts if h.strip()), parsed)

    @classmethod
    def for_runtime(cls, runtime) -> Policy:
        return cls.of(
            runtime.publisher_settings().webhook_hosts,
            runtime.settings.webhook_private_networks,
        )


@dataclass(frozen=True)
class Pinned:
    url: str  # the URL with the checked address in place of the name
    host: str  # the name, for the Host header and TLS
    address: str


def check_url(url: str, policy: Policy, plain_http: bool = False) -> str:
    """The host of a URL the server may send to, or WebhookRefused."""
    parts = urlsplit(url.strip())
    if parts.scheme != "https" and not (plain_http and parts.scheme == "http"):
        raise WebhookRefused("scheme", "a webhook must be an https:// URL")
    host = (parts.hostname or "").lower().rstrip(".")
    if not host:
        raise WebhookRefused("host", "the webhook URL has no host")
    if host not in PLATFORM_HOSTS and host not in policy.extra_hosts:
        raise WebhookRefused(
            "host",
            f"host {host} is neither a platform's webhook host nor in the webhook_hosts setting",
        )
    literal = _literal(host)
    if literal is not None:
        _check_address(literal, policy)
    return host


def pin(
    url: str, policy: Policy, resolve: Resolver | None = None, plain_http: bool = False
) -> Pinned:
    """Check the URL, resolve its host and check every address; the URL to connect to."""
    host = check_url(url, policy, plain_http)
    parts = urlsplit(url.strip())
    port = parts.port or (80 if parts.scheme == "http" else 443)
    addresses = (resolve or _resolve)(host, port)
    if not addresses:
        raise WebhookRefused("resolve", f"host {host} does not resolve")
    for address in addresses:
        _check_address(address, policy)
    address = addresses[0]
    shown = f"[{address}]" if ":" in address else address
    netloc = f"{shown}:{port}" if parts.port else shown
    return Pinned(urlunsplit(parts._replace(netloc=netloc)), host, address)


def _resolve(host: str, port: int) -> list[str]:
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise WebhookRefused("resolve", f"host {host} does not resolve ({exc})") from None
    return list(dict.fromkeys(str(item[4][0]) for item in found))


def _literal(host: str) -> str | None:
    try:
        return str(ipaddress.ip_address(host.strip("[]")))
    except ValueError:
        return None


def _check_address(address: str, policy: Policy) -> None:
    ip = ipaddress.ip_address(address.split("%")[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if any(ip in network for network in policy.private_networks):
        return
    if not ip.is_global or ip.is_multicast:
        raise WebhookRefused(
            "address",
            f"the webhook resolves to {ip}, an internal address (loopback, private, "
            "link-local, multicast or reserved)",
        )
