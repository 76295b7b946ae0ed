"""A server worker that starts without its database and waits for it.

``wenxing serve`` workers are ASGI apps built by :func:`patient_app`: the process starts at
once (its supervisor never sees a worker fail to start), then opens the installation in a
thread, retrying with back-off (1 s doubling to 4 s) while the database cannot be reached.
Meanwhile ``/healthz`` answers 200 (the process is alive: liveness), ``/readyz`` 503 and
every other request 503 with a Chinese sentence and ``Retry-After``. Once the installation
is open the real app takes over, its own start-up (job runner, live hub) run as usual.

Only an unreachable database is waited for. A database that is reachable but not fit (not
initialised, another schema revision, a wrong or missing secret) is reported in the log at
every attempt and on ``/readyz``: the operator must act, and the worker keeps answering 503.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from typing import Any

from wenxing.config import Settings
from wenxing.i18n import _
from wenxing.runtime import DatabaseDown, NotReady, open_runtime

log = logging.getLogger("wenxing.web")

FIRST_DELAY, LONGEST_DELAY = 1.0, 4.0  # back within seconds of the database


class PatientApp:
    def __init__(self, settings: Settings):
        self.settings = settings
        self.app: Any = None  # the FastAPI app, once the database answers
        self.problem: str | None = "starting"
        self._stop = threading.Event()
        self._opened = threading.Event()
        self._lifespan_done: asyncio.Event | None = None

    def _open_until_ready(self) -> None:
        from wenxing.web.app import create_app

        delay = FIRST_DELAY
        while not self._stop.is_set():
            try:
                runtime = open_runtime(self.settings)
            except DatabaseDown as exc:
                self.problem = str(exc)
                log.warning("database not reachable (%s); trying again in %.0f s", exc, delay)
            except NotReady as exc:
                self.problem = str(exc)
                log.error("cannot serve: %s; trying again in %.0f s", exc, delay)
            else:
                self.app = create_app(runtime)
                self.problem = None
                self._opened.set()
                return
            self._stop.wait(delay)
            delay = min(delay * 2, LONGEST_DELAY)

    async def __call__(self, scope, receive, send):
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if self.app is not None:
            await self.app(scope, receive, send)
            return
        if scope["type"] != "http":
            return
        path = scope.get("path", "")
        if path == "/healthz":
            await _answer(send, 200, {"status": "alive", "ready": False})
        elif path == "/readyz":
            await _answer(send, 503, {"status": "starting", "problem": self.problem})
        elif path.startswith("/api/"):
            await _answer(send, 503, {"error": _unavailable()})
        else:
            body = (
                '<!doctype html><html lang="zh-CN"><meta charset="utf-8">'
                f"<title>{_unavailable()}</title><p>{_unavailable()}</p></html>"
            ).encode()
            await send(
                {
                    "type": "http.response.start",
                    "status": 503,
                    "headers": [
                        (b"content-type", b"text/html; charset=utf-8"),
                        (b"retry-after", b"5"),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": body})

    async def _lifespan(self, receive, send) -> None:
        """Start-up answers at once; the installation opens in a thread, and the real app's
        own lifespan runs once it is there, until shutdown."""
        opener = threading.Thread(target=self._open_until_ready, name="wenxing-open", daemon=True)
        inner_task = None
        shutdown = asyncio.Event()
        message = await receive()
        assert message["type"] == "lifespan.startup"
        opener.start()
        await send({"type": "lifespan.startup.complete"})

        async def run_inner() -> None:
            await asyncio.to_thread(self._opened.wait)
            if self._stop.is_set() or self.app is None:
                return
            async with self.app.router.lifespan_context(self.app):
                await shutdown.wait()

        inner_task = asyncio.create_task(run_inner())
        message = await receive()  # lifespan.shutdown
        self._stop.set()
        self._opened.set()
        shutdown.set()
        try:
            await inner_task
        finally:
            runtime = getattr(getattr(self.app, "state", None), "runtime", None)
            if runtime is not None:
                await asyncio.to_thread(runtime.close)
            await send({"type": "lifespan.shutdown.complete"})


def _unavailable() -> str:
    return _("服务正在启动或数据库暂时无法连接，请稍后再试。")


async def _answer(send, status: int, document: dict) -> None:
    body = json.dumps(document, ensure_ascii=False).encode()
    headers = [(b"content-type", b"application/json")]
    if status == 503:
        headers.append((b"retry-after", b"5"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def patient_app(settings: Settings) -> PatientApp:
    return PatientApp(settings)
