"""Live events across real `wenxing serve` processes: on PostgreSQL two servers (each a
worker with its own hub, woken by LISTEN/NOTIFY), on SQLite one; SSE clients on every
server receive a material published through the console of one of them. A server stopped
with SIGTERM while streams are open ends them and exits at once, not after the grace time."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx2
import pytest

from tests import helpers
from tests.conftest import TEST_SECRET
from tests.functional.test_serve_process import _free_port
from tests.helpers import PASSWORD, account, import_sample

# Tests that start `wenxing serve` with two workers and load it run one at a time (one
# xdist group): two such servers side by side on a 2-core machine starve each other.
pytestmark = pytest.mark.xdist_group("servers")


def start_server(settings, tmp_path, port: int, workers: int = 1) -> subprocess.Popen:
    env = {
        **os.environ,
        "WENXING_DATABASE_URL": settings.database_url,
        "WENXING_SECRET": TEST_SECRET,
        "WENXING_SEARCH_DIR": str(tmp_path / f"search-{port}"),
    }
    wenxing = Path(sys.executable).with_name("wenxing")
    return subprocess.Popen(
        [str(wenxing), "serve", "--workers", str(workers), "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # a failed test kills the server's workers too
    )


def kill(server: subprocess.Popen) -> None:
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()


def wait_ready(server: subprocess.Popen, port: int, workers: int = 1) -> None:
    helpers.wait_ready(f"http://127.0.0.1:{port}", server, workers=workers, timeout=60)


def stop(server: subprocess.Popen) -> tuple[float, str]:
    """SIGTERM; (seconds until it exited, its stderr)."""
    started = time.monotonic()
    server.send_signal(signal.SIGTERM)
    try:
        _out, err = server.communicate(timeout=40)
    except subprocess.TimeoutExpired:
        kill(server)
        raise
    return time.monotonic() - started, err


class Listener(threading.Thread):
    """An SSE client that records the events it receives until told to stop."""

    def __init__(self, base: str, cookies=None):
        super().__init__(daemon=True)
        self.base, self.cookies = base, cookies
        self.events: list[tuple[str, dict]] = []
        self.connected = threading.Event()
        self.ended = threading.Event()

    def run(self) -> None:
        event = None
        try:
            client = httpx2.Client(base_url=self.base, cookies=self.cookies, timeout=30)
            with client, client.stream("GET", "/events") as answer:
                self.connected.set()
                for line in answer.iter_lines():
                    if line.startswith("event:"):
                        event = line[6:].strip()
                    elif line.startswith("data:") and event:
                        self.events.append((event, json.loads(line[5:])))
        except httpx2.HTTPError:
            pass
        finally:
            self.ended.set()

    def got(self, type_: str) -> list[dict]:
        return [data for event, data in self.events if event == type_]


def sign_in(base: str, username: str) -> httpx2.Client:
    client = httpx2.Client(base_url=base, timeout=30)
    client.get("/signin")
    answer = client.post(
        "/signin",
        data={
            "identifier": username,
            "password": PASSWORD,
            "csrf_token": client.cookies["wx_csrf"],
        },
    )
    assert answer.status_code == 303, answer.text[:300]
    return client


def test_every_server_streams_a_material_published_on_one(runtime, settings, tmp_path):
    import_sample(runtime, publish=False)
    publisher = runtime.publisher_settings()
    with runtime.db.transaction() as session:
        account(session, publisher, "管理员", subscribed=False, username="admin").role = "admin"
        account(session, publisher, "会员", subscribed=True, username="member")
    servers = 2 if runtime.db.backend == "postgresql" else 1
    ports = [_free_port() for _ in range(servers)]
    processes = [start_server(settings, tmp_path, port) for port in ports]
    try:
        for process, port in zip(processes, ports, strict=True):
            wait_ready(process, port)
        bases = [f"http://127.0.0.1:{port}" for port in ports]
        admin = sign_in(bases[0], "admin")
        listeners = []
        for base in bases:
            member = sign_in(base, "member")
            cookies = dict(member.cookies)
            member.close()
            listeners += [Listener(base) for _ in range(3)]  # visitors
            listeners.append(Listener(base, cookies=cookies))
        for listener in listeners:
            listener.start()
        for listener in listeners:
            assert listener.connected.wait(10)
        time.sleep(0.5)  # (the stream is subscribed once its headers are sent)
        published_at = time.monotonic()
        answer = admin.post(
            "/console/materials/1/publish",
            data={"csrf_token": admin.cookies["wx_csrf"]},
            follow_redirects=False,
        )
        assert answer.status_code == 303
        admin.close()
        deadline = published_at + 10
        while time.monotonic() < deadline and not all(
            listener.got("material.published") for listener in listeners
        ):
            time.sleep(0.05)
        late = [listener.base for listener in listeners if not listener.got("material.published")]
        assert late == [], f"no event within 10 s on {late}"
        for listener in listeners:
            (event,) = listener.got("material.published")
            assert event["material"] == 1 and event["link"] == "/materials/1"
        members = [listener for listener in listeners if listener.cookies is not None]
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not all(m.got("notification") for m in members):
            time.sleep(0.05)
        assert all(m.got("notification")[0]["kind"] == "material" for m in members)
        visitors = [listener for listener in listeners if listener.cookies is None]
        assert all(v.got("notification") == [] for v in visitors)
        # A graceful stop ends the open streams at once (not after the 20 s grace).
        for process in processes:
            took, err = stop(process)
            assert process.returncode == 0, err[-2000:]
            assert took < 8, f"stopping with open streams took {took:.1f} s"
            assert "Traceback" not in err and "shutdown failed" not in err, err[-2000:]
        for listener in listeners:
            assert listener.ended.wait(5)
    finally:
        for process in processes:
            kill(process)


@pytest.mark.parametrize("workers", [2])
def test_two_workers_of_one_server_stop_with_open_streams(runtime, settings, tmp_path, workers):
    port = _free_port()
    process = start_server(settings, tmp_path, port, workers=workers)
    try:
        wait_ready(process, port, workers)
        listeners = [Listener(f"http://127.0.0.1:{port}") for _ in range(6)]
        for listener in listeners:
            listener.start()
        for listener in listeners:
            assert listener.connected.wait(10)
        took, err = stop(process)
        assert process.returncode == 0, err[-2000:]
        assert took < 8, f"stopping with open streams took {took:.1f} s"
    finally:
        kill(process)
