"""Structured logs for the server: one JSON object per line on stderr.

Every request is logged with its method, path, status, duration and client address (never
the query string: searches are the members' business); errors carry their traceback in
the ``error`` field so that nothing reaches a user but the log keeps it. Each request has an
id (the proxy's ``X-Request-ID`` when it sends a sane one, else a new one), returned in the
response's ``X-Request-ID`` and carried by every line logged while it is answered. The same
middleware counts requests and their latencies for ``/metrics`` (by route template).
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import traceback
import uuid
from contextvars import ContextVar

from wenxing import metrics

log = logging.getLogger("wenxing.web")
REQUEST_ID: ContextVar[str | None] = ContextVar("request_id", default=None)
_SANE_ID = re.compile(r"[A-Za-z0-9._-]{8,64}")


class JsonLines(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        request_id = REQUEST_ID.get()
        if request_id is not None:
            entry["request_id"] = request_id
        entry.update(getattr(record, "fields", {}))
        if record.exc_info:
            entry["error"] = "".join(traceback.format_exception(*record.exc_info)).strip()
        return json.dumps(entry, ensure_ascii=False)


def configure() -> None:
    """JSON lines on stderr for the server process (INFO: one line per request)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonLines())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    for noisy in ("uvicorn.access", "pypdf", "fontTools", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


class RequestLog:
    """ASGI middleware: one log line per HTTP request (and the traceback of one that
    failed). Written against ASGI itself rather than as an ``http`` middleware function,
    which would copy every response through an extra stream."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500
        given = dict(scope.get("headers") or ()).get(b"x-request-id", b"").decode("latin-1")
        request_id = given if _SANE_ID.fullmatch(given) else uuid.uuid4().hex[:16]
        token = REQUEST_ID.set(request_id)

        async def sending(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers") or [])
                headers.append((b"x-request-id", request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, sending)
        except Exception:
            log.exception("request failed", extra={"fields": _fields(scope, 500, started)})
            _count(scope, 500, started)
            raise
        finally:
            REQUEST_ID.reset(token)
        log.info(
            "request",
            extra={"fields": {**_fields(scope, status, started), "request_id": request_id}},
        )
        _count(scope, status, started)


def _count(scope, status: int, started: float) -> None:
    route = getattr(scope.get("route"), "path", None) or "unmatched"
    metrics.REQUESTS.labels(route, scope["method"], str(status)).inc()
    metrics.LATENCY.labels(route).observe(time.perf_counter() - started)


def _fields(scope, status: int, started: float) -> dict:
    client = scope.get("client")
    return {
        "method": scope["method"],
        "path": scope["path"],
        "status": status,
        "ms": round((time.perf_counter() - started) * 1000, 2),
        "client": client[0] if client else None,
    }
