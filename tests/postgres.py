"""A throwaway PostgreSQL server for one test run.

Every PostgreSQL test gets a database of its own, cloned from a migrated template. On a
server that keeps its promises of durability each clone costs half a second to a second
here (CREATE DATABASE writes and syncs every page of the template); a private server of the
same PostgreSQL, its data in memory (``/dev/shm``) and ``fsync`` off, clones in about 40 ms.
Nothing of the server's behaviour that the tests look at changes: same binaries, same SQL,
same isolation and locking; only what a crash would keep.

The server is started once per run (by the xdist controller, whose workers share it) and
stopped at the end. ``WENXING_TEST_POSTGRES=URL`` uses an existing server instead, and so
does a machine without PostgreSQL's server binaries (``initdb``).
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

PREFIX = "wenxing-test-pg-"
SYSTEM_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


def _bindir() -> Path | None:
    """The newest PostgreSQL server's binaries (Debian keeps them off PATH)."""
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0,
    )
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _as_server_user(command: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: run it as ``postgres`` then."""
    if os.geteuid() != 0:
        return command
    return ["runuser", "-u", "postgres", "--", *command]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class ThrowawayServer:
    """A PostgreSQL server in a temporary folder, for this process's test run."""

    def __init__(self, bindir: Path):
        self.bindir = bindir
        self.folder: Path | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def start(self) -> str:
        sweep_leftovers()
        base = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None
        self.folder = Path(tempfile.mkdtemp(prefix=f"{PREFIX}{os.getpid()}-", dir=base))
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres")
        data = self.folder / "data"
        self._run(
            str(self.bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres",
            "--no-sync", "-E", "UTF8", "--locale", "C.UTF-8",
        )  # fmt: skip
        self.port = _free_port()
        options = " ".join(
            [
                f"-p {self.port}",
                f"-k {self.folder}",
                "-c listen_addresses=127.0.0.1",
                "-c fsync=off",
                "-c synchronous_commit=off",
                "-c full_page_writes=off",
                "-c max_connections=400",
                "-c max_wal_size=256MB",
            ]
        )
        self._run(
            str(self.bindir / "pg_ctl"), "-D", str(data), "-o", options,
            "-l", str(self.folder / "server.log"), "-w", "-t", "60", "start",
        )  # fmt: skip
        return self.url

    def stop(self) -> None:
        if self.folder is None:
            return
        _stop(self.bindir, self.folder)
        self.folder = None

    def _run(self, *command: str) -> None:
        result = subprocess.run(
            _as_server_user(list(command)), capture_output=True, text=True, check=False
        )
        if result.returncode != 0:
            log = self.folder / "server.log" if self.folder else None
            tail = log.read_text(errors="replace")[-2000:] if log and log.exists() else ""
            raise RuntimeError(
                f"{' '.join(command[:2])} failed: {result.stderr.strip()[-2000:]}\n{tail}"
            )


def _stop(bindir: Path, folder: Path) -> None:
    data = folder / "data"
    if (data / "postmaster.pid").exists():
        subprocess.run(
            _as_server_user([str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]),
            capture_output=True,
            check=False,
        )
    shutil.rmtree(folder, ignore_errors=True)


def sweep_leftovers() -> None:
    """Stop and remove servers of earlier runs whose pytest died without stopping them."""
    bindir = _bindir()
    for base in ("/dev/shm", tempfile.gettempdir()):
        for folder in Path(base).glob(f"{PREFIX}*"):
            owner = folder.name[len(PREFIX) :].partition("-")[0]
            if owner.isdigit() and not _alive(int(owner)) and bindir is not None:
                _stop(bindir, folder)


def start_for_run() -> ThrowawayServer | None:
    """A throwaway server, or None where none can be made (no server binaries)."""
    bindir = _bindir()
    if bindir is None:
        return None
    server = ThrowawayServer(bindir)
    try:
        server.start()
    except (OSError, RuntimeError):
        with contextlib.suppress(Exception):
            server.stop()
        raise
    return server
