"""/metrics scraped by a real Prometheus (Debian's ``prometheus``), with the series the
operator's dashboard reads; request ids in the JSON log lines."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import TEST_SECRET
from tests.helpers import SAMPLE, wait_ready

# Tests that start `wenxing serve` with two workers and load it run one at a time (one
# xdist group): two such servers side by side on a 2-core machine starve each other.
pytestmark = pytest.mark.xdist_group("servers")

PROMETHEUS = shutil.which("prometheus")
SERIES = (
    "wenxing_http_requests_total",
    "wenxing_http_request_duration_seconds_bucket",
    "wenxing_copies_issued_total",
    "wenxing_traces_total",
    "wenxing_job_queue_depth",
    "wenxing_job_queue_oldest_seconds",
    "wenxing_search_index_lag_changes",
    "wenxing_search_index_rebuilding",
)


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str, timeout: float = 5) -> tuple[int, str, dict]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read().decode(), dict(r.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(), dict(exc.headers)


@pytest.mark.skipif(
    PROMETHEUS is None, reason="needs Debian's prometheus (deploy/debian-packages.txt)"
)
def test_a_real_prometheus_scrapes_the_series(cli, database_url, tmp_path):
    assert cli("import", str(SAMPLE), "--publish").code == 0
    assert cli("members", "add", "张三").code == 0
    port, prom_port = _port(), _port()
    env = {
        **os.environ,
        "WENXING_DATABASE_URL": database_url,
        "WENXING_SECRET": TEST_SECRET,
        "WENXING_SEARCH_DIR": str(tmp_path / "search"),
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"),
    }
    wenxing = Path(sys.executable).with_name("wenxing")
    server = subprocess.Popen(
        [str(wenxing), "serve", "--workers", "2", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    config = tmp_path / "prometheus.yml"
    config.write_text(
        "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: wenxing\n"
        f"    static_configs:\n      - targets: ['127.0.0.1:{port}']\n"
    )
    prometheus = None
    try:
        wait_ready(f"http://127.0.0.1:{port}", server, workers=2, timeout=60)
        for _ in range(3):
            assert _get(f"http://127.0.0.1:{port}/")[0] == 200
            assert (
                _get(
                    f"http://127.0.0.1:{port}/search?q=乡村振兴".replace(
                        "乡村振兴", "%E4%B9%A1%E6%9D%91%E6%8C%AF%E5%85%B4"
                    )
                )[0]
                == 200
            )
        assert (
            cli(
                "copy",
                "1",
                "--member",
                "WX-10001",
                "--format",
                "txt",
                "--out",
                str(tmp_path / "c.txt"),
            ).code
            == 0
        )
        status, _body, headers = _get(f"http://127.0.0.1:{port}/healthz")
        assert status == 200 and len(headers.get("x-request-id", "")) >= 8
        prometheus = subprocess.Popen(
            [
                PROMETHEUS,
                f"--config.file={config}",
                f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                f"--web.listen-address=127.0.0.1:{prom_port}",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        found: set[str] = set()
        deadline = time.monotonic() + 120  # a loaded 2-core machine starts Prometheus slowly
        while time.monotonic() < deadline and not set(SERIES) <= found:
            time.sleep(1)
            for name in SERIES:
                query = urllib.parse.quote(name)
                try:
                    status, body, _h = _get(
                        f"http://127.0.0.1:{prom_port}/api/v1/query?query={query}"
                    )
                except OSError:
                    continue
                if status == 200 and json.loads(body)["data"]["result"]:
                    found.add(name)
        assert set(SERIES) <= found, set(SERIES) - found
        status, body, _h = _get(
            f"http://127.0.0.1:{prom_port}/api/v1/query?query="
            + urllib.parse.quote('wenxing_http_requests_total{route="/",status="200"}')
        )
        assert sum(float(r["value"][1]) for r in json.loads(body)["data"]["result"]) >= 3
    finally:
        for process in (prometheus, server):
            if process is not None:
                os.killpg(process.pid, 15)
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, 9)
                    process.wait()
        # Read and close the server's pipes on every path, a failed assertion too: pipes
        # left open are closed by the collector later, inside some other test.
        _out, err = server.communicate()
    lines = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    requests = [line for line in lines if line.get("msg") == "request"]
    assert requests and all(len(line["request_id"]) >= 8 for line in requests)


def _up(port: int) -> bool:
    try:
        _get(f"http://127.0.0.1:{port}/healthz", timeout=2)
        return True
    except OSError:
        return False
