"""Structured logs for the server: one JSON object per line on stderr.

Every request is logged with its method, path, status, duration and client address (never
the query string: searches are the members' business); errors carry their traceback in
the ``error`` field so that nothing reaches a user but the log keeps it.
"""

from __future__ import annotations

import json
import logging
import sys
import time
import traceback

log = logging.getLogger("wenxing.web")


class JsonLines(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
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

        async def sending(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        except Exception:
            log.exception("request failed", extra={"fields": _fields(scope, 500, started)})
            raise
        log.info("request", extra={"fields": _fields(scope, status, started)})


def _fields(scope, status: int, started: float) -> dict:
    client = scope.get("client")
    return {
        "method": scope["method"],
        "path": scope["path"],
        "status": status,
        "ms": round((time.perf_counter() - started) * 1000, 2),
        "client": client[0] if client else None,
    }
