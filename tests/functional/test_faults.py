"""Fault tests, run in CI (marked ``fault``; ``-m 'not fault'`` leaves them out):

* a private PostgreSQL (initdb and pg_ctl on a port and folder of its own: the machine's
  server is shared and never stopped) stopped for 20 s while a server worker is killed:
  the service answers again within 10 s of the database's return, nobody acting;
* ``kill -9`` of an import leaves no worker process behind;
* a full disk (a 4 MB tmpfs) is named as such and damages nothing.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import psutil
import pytest

from tests.conftest import TEST_SECRET
from tests.helpers import SAMPLE, random_texts, wait_ready

pytestmark = pytest.mark.fault
WENXING = str(Path(sys.executable).with_name("wenxing"))


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _status(url: str) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=3) as r:
            return r.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return None


def _pg_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if not found:
        pytest.skip(f"PostgreSQL's {name} is not installed")
    return found[-1]


class PrivatePostgres:
    """A PostgreSQL cluster of this test's own, run as the postgres user."""

    def __init__(self):
        self.folder = Path(tempfile.mkdtemp(prefix="wenxing-pg-"))
        self.port = _port()
        self.data = self.folder / "data"
        shutil.chown(self.folder, "postgres", "postgres")
        self._as_postgres(_pg_bin("initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres")

    def _as_postgres(self, *args: str) -> None:
        command = ["runuser", "-u", "postgres", "--", *args] if os.getuid() == 0 else list(args)
        subprocess.run(command, check=True, capture_output=True, timeout=120)

    def start(self) -> None:
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1"
        self._as_postgres(
            _pg_bin("pg_ctl"),
            "-D",
            str(self.data),
            "-o",
            options,
            "-l",
            str(self.folder / "log"),
            "-w",
            "start",
        )

    def stop(self, mode: str = "fast") -> None:
        self._as_postgres(_pg_bin("pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{dbname}"

    def remove(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self.stop("immediate")
        shutil.rmtree(self.folder, ignore_errors=True)


@pytest.fixture
def private_postgres():
    if os.getuid() != 0 and shutil.which("runuser") is None:
        pytest.skip("needs root (runuser) to run a private PostgreSQL")
    cluster = PrivatePostgres()
    cluster.start()
    yield cluster
    cluster.remove()


def test_postgresql_away_20s_while_a_worker_is_killed(private_postgres, tmp_path):
    import psycopg

    with psycopg.connect(private_postgres.url().replace("+psycopg", ""), autocommit=True) as c:
        c.execute("CREATE DATABASE wenxing")
    env = {
        **os.environ,
        "WENXING_DATABASE_URL": private_postgres.url("wenxing"),
        "WENXING_SECRET": TEST_SECRET,
        "WENXING_SEARCH_DIR": str(tmp_path / "search"),
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"),
    }
    subprocess.run([WENXING, "init"], env=env, check=True, capture_output=True)
    subprocess.run(
        [WENXING, "import", str(SAMPLE), "--publish"], env=env, check=True, capture_output=True
    )
    port = _port()
    log = (tmp_path / "server.log").open("w")  # a file, never a pipe that could fill up
    server = subprocess.Popen(
        [WENXING, "serve", "--workers", "2", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_ready(base, server, workers=2, timeout=60)
        workers = psutil.Process(server.pid).children(recursive=True)
        assert len(workers) >= 2
        private_postgres.stop()
        workers[-1].kill()  # a worker dies while the database is away
        away_until = time.monotonic() + 20
        while time.monotonic() < away_until:
            assert server.poll() is None, "the server gave up while the database was away"
            assert _status(f"{base}/healthz") in (200, None)  # alive (or a worker restarting)
            time.sleep(1)
        private_postgres.start()
        back = time.monotonic()
        seen: list[tuple[int | None, int | None]] = []
        # Answering again: ten requests in a row served (they land on both workers).
        while len(seen) < 10 or any(s != (200, 200) for s in seen[-10:]):
            assert server.poll() is None
            assert time.monotonic() - back < 10, (
                f"not answering 10 s after the database returned: {seen[-12:]}\n"
                + (tmp_path / "server.log").read_text()[-3000:]
            )
            seen.append((_status(f"{base}/readyz"), _status(f"{base}/")))
        took = time.monotonic() - back
        assert took < 10
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=40)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
        log.close()
    assert "Traceback" not in (tmp_path / "server.log").read_text().replace("\\n", "\n")


def test_kill_9_of_an_import_leaves_no_process(tmp_path, cli, database_url):
    random_texts(tmp_path / "many", 60, chars=20000)
    env = {**os.environ, **cli.env}
    importer = subprocess.Popen(
        [WENXING, "import", str(tmp_path / "many"), "--json"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    parent = psutil.Process(importer.pid)
    deadline = time.monotonic() + 60
    children: list[psutil.Process] = []
    while len(children) < 2:  # the pool's workers are up
        assert importer.poll() is None and time.monotonic() < deadline, "no pool started"
        children = parent.children(recursive=True)
        time.sleep(0.05)
    importer.send_signal(signal.SIGKILL)
    importer.wait()
    _gone, alive = psutil.wait_procs(children, timeout=10)
    assert not alive, [p.pid for p in alive]


@pytest.fixture
def small_disk():
    folder = Path(tempfile.mkdtemp(prefix="wenxing-full-"))
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(folder)], capture_output=True
    )
    if mounted.returncode != 0:
        shutil.rmtree(folder, ignore_errors=True)
        pytest.skip(f"cannot mount a tmpfs here (needs root): {mounted.stderr.decode().strip()}")
    yield folder
    subprocess.run(["umount", "-l", str(folder)], check=False)
    shutil.rmtree(folder, ignore_errors=True)


def test_a_full_disk_is_named_and_damages_nothing(small_disk, tmp_path):
    import sqlite3

    url = f"sqlite:///{small_disk / 'wenxing.db'}"
    env = {
        **os.environ,
        "WENXING_DATABASE_URL": url,
        "WENXING_SECRET": TEST_SECRET,
        "WENXING_SEARCH_DIR": str(tmp_path / "search"),
    }
    subprocess.run([WENXING, "init"], env=env, check=True, capture_output=True)
    random_texts(tmp_path / "texts", 400)
    done = subprocess.run(
        [WENXING, "import", str(tmp_path / "texts"), "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 1
    assert "Traceback" not in done.stderr and "OperationalError" not in done.stderr
    assert "disk full" in done.stderr
    report = json.loads(done.stdout)
    assert report["stopped"].startswith("disk full")
    assert [f["error"] for f in report["failed"]] == [report["stopped"]]  # stopped at the first
    assert 0 < len(report["imported"]) < 400
    # Nothing damaged: SQLite's own check passes, and every stored material reads back.
    conn = sqlite3.connect(small_disk / "wenxing.db")
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert conn.execute("SELECT count(*) FROM materials").fetchone()[0] == len(report["imported"])
    conn.close()
    # Other commands that write say the same sentence.
    added = subprocess.run(
        [WENXING, "members", "add", "张三"], env=env, capture_output=True, text=True
    )
    if added.returncode != 0:  # (a member row may still fit in a free page)
        assert "disk full" in added.stderr and "Traceback" not in added.stderr
    # The site answers a write it cannot make with the Chinese sentence, status 507.
    from fastapi.testclient import TestClient

    from wenxing.config import Settings
    from wenxing.runtime import open_runtime
    from wenxing.web.app import create_app

    runtime = open_runtime(
        Settings(database_url=url, secret=TEST_SECRET, search_dir=tmp_path / "search")
    )
    try:
        client = TestClient(create_app(runtime), raise_server_exceptions=False)
        client.get("/signup")
        answers = []
        for n in range(30):  # sign-ups until one cannot be stored
            page = client.post(
                "/signup",
                data={
                    "name": "会员",
                    "username": f"user{n:03d}x" + "y" * 20,
                    "password": "a-long-password-1",
                    "password2": "a-long-password-1",
                    "csrf_token": client.cookies.get("wx_csrf", ""),
                },
            )
            answers.append(page)
            if page.status_code == 507:
                break
        full = [a for a in answers if a.status_code == 507]
        if full:  # (a small page may still fit; then nothing was full to report)
            assert "服务器磁盘已满" in full[0].text
    finally:
        runtime.close()
