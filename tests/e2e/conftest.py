"""The app served on a loopback port and Debian's Chromium, for end-to-end tests."""

from __future__ import annotations

import os
import socket
import threading
import time
from pathlib import Path

import pytest
import uvicorn
from playwright.sync_api import expect

from tests.browser import CHROMIUM_PROCESS
from tests.helpers import REPO
from wenxing.web.app import create_app

# A loaded 2-core CI machine (two xdist workers beside Chromium, LibreOffice and Tesseract)
# stalls a process for seconds: a .pdf copy made under that load took over 30 s, Playwright's
# default for an action, and expect() gives up after 5 s by default. Waits are for
# conditions, so a longer limit costs nothing when the condition comes.
ACTION_TIMEOUT_MS = 90_000
EXPECT_TIMEOUT_MS = 15_000
expect.set_options(timeout=EXPECT_TIMEOUT_MS)


def artifacts() -> Path:
    folder = Path(os.environ.get("WENXING_ARTIFACTS", REPO / "build" / "artifacts"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def wait_until(page, expression: str, timeout: float = 15.0) -> None:
    """Wait until ``expression`` is true in the page, asked from here every 50 ms.
    (``page.wait_for_function`` polls a string by ``eval`` inside the page, which the
    site's script policy refuses once the first check has failed.)"""
    deadline = time.monotonic() + timeout
    while not page.evaluate(expression):
        if time.monotonic() > deadline:
            raise AssertionError(f"still false after {timeout:.0f} s: {expression}")
        time.sleep(0.05)


def start_app(app) -> tuple[uvicorn.Server, threading.Thread, str]:
    """Serve ``app`` from a thread on a loopback port; (server, thread, base URL).

    The socket is bound here and handed to uvicorn: a port found free, closed and bound
    again by the server could meanwhile be taken (another xdist worker's server, or the
    local end of any outgoing connection, which comes from the same ephemeral range)."""
    listening = socket.socket()
    listening.bind(("127.0.0.1", 0))
    port = listening.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listening]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60  # the lifespan starts the hub and the runners
    while not server.started:
        assert thread.is_alive(), "the app stopped while starting"
        assert time.monotonic() < deadline, "the app did not start"
        time.sleep(0.05)
    return server, thread, f"http://127.0.0.1:{port}"


def stop_app(server: uvicorn.Server, thread: threading.Thread) -> None:
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def serve(runtime):
    """Start the app for ``runtime`` on a free loopback port; returns its base URL."""
    started: list[tuple[uvicorn.Server, threading.Thread]] = []

    def start() -> str:
        server, thread, base = start_app(create_app(runtime))
        started.append((server, thread))
        return base

    yield start
    for server, thread in started:
        stop_app(server, thread)


class _Browser:
    """The shared browser, whose new contexts wait ``ACTION_TIMEOUT_MS`` for actions and
    navigations (everything else is the browser's own)."""

    def __init__(self, launched) -> None:
        self._launched = launched

    def new_context(self, **options):
        context = self._launched.new_context(**options)
        context.set_default_timeout(ACTION_TIMEOUT_MS)
        context.set_default_navigation_timeout(ACTION_TIMEOUT_MS)
        return context

    def __getattr__(self, name: str):
        return getattr(self._launched, name)


@pytest.fixture
def browser():
    """Debian's Chromium (shared by this process's browser tests): open a context of your
    own with ``browser.new_context(...)``; every context is closed when the test ends."""
    yield _Browser(CHROMIUM_PROCESS.get())
    CHROMIUM_PROCESS.close_contexts()
