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

from fastapi import Request

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


async def log_requests(request: Request, call_next):
    started = time.perf_counter()
    try:
        response = await call_next(request)
    except Exception:
        log.exception("request failed", extra={"fields": _fields(request, 500, started)})
        raise
    log.info("request", extra={"fields": _fields(request, response.status_code, started)})
    return response


def _fields(request: Request, status: int, started: float) -> dict:
    return {
        "method": request.method,
        "path": request.url.path,
        "status": status,
        "ms": round((time.perf_counter() - started) * 1000, 2),
        "client": request.client.host if request.client else None,
    }
