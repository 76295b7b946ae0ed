"""The app served on a loopback port and Debian's Chromium, for end-to-end tests."""

from __future__ import annotations

import os
import socket
import threading
import time
from pathlib import Path

import pytest
import uvicorn

from tests.browser import CHROMIUM_PROCESS
from tests.helpers import REPO
from wenxing.web.app import create_app


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


@pytest.fixture
def serve(runtime):
    """Start the app for ``runtime`` on a free loopback port; returns its base URL."""
    started: list[uvicorn.Server] = []

    def start() -> str:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        config = uvicorn.Config(
            create_app(runtime), host="127.0.0.1", port=port, log_level="warning"
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 20
        while not server.started:
            assert time.monotonic() < deadline, "the app did not start"
            time.sleep(0.05)
        started.append((server, thread))
        return f"http://127.0.0.1:{port}"

    yield start
    for server, thread in started:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture
def browser():
    """Debian's Chromium (shared by this process's browser tests): open a context of your
    own with ``browser.new_context(...)``; every context is closed when the test ends."""
    launched = CHROMIUM_PROCESS.get()
    yield launched
    CHROMIUM_PROCESS.close_contexts()
