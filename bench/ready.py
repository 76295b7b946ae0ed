"""Waiting until every worker of a `wenxing serve` answers ready (benchmarks and tests).

One ready answer proves nothing about the others: a server with two workers can answer
from the first while the second is still importing (and not yet taking connections) or
opening its installation (answering 503). So the server's worker processes are listed
(uvicorn's spawned workers, or the server itself with one worker), and /readyz is asked in
parallel rounds on fresh connections until every one of those processes has answered 200
(the answer names its process: ``worker``).
"""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor


def worker_pids(server_pid: int, workers: int) -> set[int]:
    """The processes that answer requests: uvicorn's spawned workers (their command line
    holds ``spawn_main``), or the server itself when it runs one worker."""
    import psutil

    if workers == 1:
        return {server_pid}
    found = set()
    try:
        children = psutil.Process(server_pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return found
    for child in children:
        try:
            if "spawn_main" in " ".join(child.cmdline()):
                found.add(child.pid)
        except psutil.Error:
            continue
    return found


def _answered_by(base: str) -> int | None:
    """The pid of the worker that answered /readyz 200 on a fresh connection, if any."""
    try:
        with urllib.request.urlopen(base + "/readyz", timeout=10) as answer:
            if answer.status != 200:
                return None
            return int(json.loads(answer.read())["worker"])
    except (OSError, ValueError, KeyError):
        return None


def wait_every_worker(
    base: str,
    server_pid: int,
    workers: int,
    timeout: float,
    alive: Callable[[], bool] = lambda: True,
) -> None:
    """Return once each of the server's ``workers`` processes has answered /readyz 200;
    ``RuntimeError`` when the server ends (``alive``) or ``timeout`` seconds pass first."""
    deadline = time.monotonic() + timeout
    seen: set[int] = set()
    with ThreadPoolExecutor(4 * workers) as pool:
        while True:
            if not alive():
                raise RuntimeError("the server ended before it was ready")
            if time.monotonic() > deadline:
                raise RuntimeError(f"not every worker was ready in {timeout:.0f} s")
            wanted = worker_pids(server_pid, workers)
            if len(wanted) >= workers:
                seen.update(pid for pid in pool.map(_answered_by, [base] * (4 * workers)) if pid)
                if wanted <= seen:
                    return
            time.sleep(0.2)
