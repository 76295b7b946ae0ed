"""Security and caching headers on every response, and out-of-range ids, as ASGI middleware."""

from __future__ import annotations

import json

from wenxing.i18n import _

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "script-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
_ALWAYS = (
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
)
_STATIC_CACHE = b"public, max-age=86400"  # a day: the stylesheet and the console script
# A year, subdomains included, when the site is served over https (WENXING_PUBLIC_URL).
HSTS = (b"strict-transport-security", b"max-age=31536000; includeSubDomains")
# The largest id a row reached through a path can have: the tables' INTEGER keys (copy ids,
# the one BIGINT, never appear in a path). PostgreSQL refuses a larger number with an error.
LARGEST_ID = 2**31 - 1


class SecurityHeaders:
    """Adds the site's security headers unless a route set its own, and a day's caching
    for ``/static/``."""

    def __init__(self, app, *, https: bool = False):
        self.app = app
        self.always = (*_ALWAYS, HSTS) if https else _ALWAYS

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = scope["path"].startswith("/static/")

        async def sending(message):
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers.extend(h for h in self.always if h[0] not in present)
                if static:
                    headers = [h for h in headers if h[0].lower() != b"cache-control"]
                    headers.append((b"cache-control", _STATIC_CACHE))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, sending)


class OutOfRangeIds:
    """A path with a number no row can have (above an INTEGER key: 2^31 and up) answers
    404 before any route runs: the databases would refuse the number with an error."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and _out_of_range(scope["path"]):
            api = scope["path"].startswith("/api/")
            message = _("没有找到")
            body = (
                json.dumps({"error": message}, ensure_ascii=False).encode()
                if api
                else (
                    '<!doctype html><html lang="zh-CN"><meta charset="utf-8">'
                    f"<p>{message}</p></html>"
                ).encode()
            )
            kind = b"application/json" if api else b"text/html; charset=utf-8"
            await send(
                {
                    "type": "http.response.start",
                    "status": 404,
                    "headers": [
                        (b"content-type", kind),
                        (b"content-length", str(len(body)).encode()),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": body})
            return
        await self.app(scope, receive, send)


def _out_of_range(path: str) -> bool:
    return any(
        part.isascii() and part.isdigit() and len(part) >= 10 and int(part) > LARGEST_ID
        for part in path.split("/")
    )
