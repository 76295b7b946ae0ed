"""`wenxing demo` builds a fresh library with the sample and serves it on loopback."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request

from tests.functional.test_cli_process import run

STARTUP_SECONDS = 120


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_demo_builds_a_fresh_database(tmp_path):
    first = run(tmp_path, "demo", "--dir", str(tmp_path / "d"), "--no-serve")
    assert first.returncode == 0, first.stderr
    again = run(tmp_path, "demo", "--dir", str(tmp_path / "d"), "--no-serve")
    assert again.returncode == 0, again.stderr  # fresh each time: the sample is not "skipped"
    url = f"sqlite:///{tmp_path / 'd' / 'wenxing.db'}"
    listed = run(
        tmp_path,
        "--db",
        url,
        "materials",
        "list",
        "--published",
        "--json",
        env_extra={
            "WENXING_SECRET_FILE": str(tmp_path / "d" / "wenxing.db.key"),
            "WENXING_SECRET": "",
        },
    )
    assert listed.returncode == 0, listed.stderr
    _check_demo_accounts(tmp_path / "d", again.stderr)
    assert "在全区重点工作推进会上的讲话" in listed.stdout


def test_demo_refuses_a_folder_that_is_not_its_own(tmp_path):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "thesis.docx").write_bytes(b"precious")
    result = run(tmp_path, "demo", "--dir", str(tmp_path / "mine"), "--no-serve")
    assert result.returncode == 1 and "not a wenxing demo folder" in result.stderr
    assert (tmp_path / "mine" / "thesis.docx").read_bytes() == b"precious"


def test_demo_serves_the_library(tmp_path):
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("WENXING_")}
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "wenxing",
            "demo",
            "--dir",
            str(tmp_path / "d"),
            "--port",
            str(port),
        ],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        page = None
        # Start-up builds the demo library first; on a machine busy with other test
        # processes (the suite runs on every core) that takes far longer than alone.
        deadline = time.monotonic() + STARTUP_SECONDS
        while page is None and time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as response:
                    page = response.read().decode("utf-8")
            except OSError:
                time.sleep(0.2)
        assert page is not None, "demo server did not answer"
        assert "在全区重点工作推进会上的讲话" in page
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/materials/1", timeout=5) as response:
            material = response.read().decode("utf-8")
        assert "坚定不移推进乡村振兴" in material
    finally:
        server.terminate()
        server.wait(timeout=10)
        server.stderr.close()


def _check_demo_accounts(folder, stderr: str) -> None:
    """The three printed accounts sign in and have what the demo says they have."""
    import re

    from wenxing.config import Settings
    from wenxing.db.base import utcnow
    from wenxing.members import accounts
    from wenxing.members.entitlement import role_now
    from wenxing.members.subscriptions import account_view
    from wenxing.runtime import open_runtime

    printed = dict(re.findall(r"^  (member|free|admin)\s+(\S+)\s", stderr, re.M))
    assert set(printed) == {"member", "free", "admin"}, stderr
    runtime = open_runtime(
        Settings(
            database_url=f"sqlite:///{folder / 'wenxing.db'}", secret_file=folder / "wenxing.db.key"
        )
    )
    try:
        with runtime.db.transaction() as session:
            for username, expected in (("member", "member"), ("free", "free"), ("admin", "admin")):
                signed = accounts.sign_in(
                    session,
                    username,
                    printed[username],
                    now=utcnow(),
                    ip="127.0.0.1",
                    user_agent="test",
                    max_sessions=3,
                    sharing_networks=3,
                )
                assert role_now(account_view(session, signed.member), utcnow()) == expected
    finally:
        runtime.close()
