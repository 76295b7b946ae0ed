"""`wenxing serve` as a real process, with one worker and two: it answers, SIGTERM ends it cleanly."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import TEST_SECRET
from tests.helpers import stop_server


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.parametrize("workers", [1, 2])
def test_serve_answers_and_exits_0_on_sigterm(runtime, settings, tmp_path, workers):
    """Exit status 0 after a graceful stop, one worker or several (a one-worker server
    used to die of the SIGTERM uvicorn raises again once it has stopped)."""
    port = _free_port()
    env = {
        **os.environ,
        "WENXING_DATABASE_URL": settings.database_url,
        "WENXING_SECRET": TEST_SECRET,
        "WENXING_SEARCH_DIR": str(tmp_path / "search"),
    }
    wenxing = Path(sys.executable).with_name("wenxing")
    server = subprocess.Popen(
        [str(wenxing), "serve", "--workers", str(workers), "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120  # a busy machine (the suite on every core) starts slowly
        answered = 0
        while answered < 20:
            assert server.poll() is None, server.communicate()[1][-2000:]
            assert time.monotonic() < deadline, "the server did not answer /readyz"
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=5) as r:
                    assert r.status == 200
                    answered += 1
            except OSError:
                time.sleep(0.2)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as r:
            assert r.status == 200 and "text/html" in r.headers["Content-Type"]
    finally:
        status, err = stop_server(server)
    assert status == 0, err[-2000:]
    assert "Traceback" not in err
