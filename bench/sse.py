"""Live delivery under load: 1,000 SSE clients on one server, one material published.

For each backend asked for — SQLite with one worker, PostgreSQL with two (a fresh database
on 127.0.0.1:5432, dropped at the end) — prepares an installation with the `wenxing` command
line (`init`, `import` of the sample as a draft) and an admin signed in (Python API), all
not timed. Starts `wenxing serve` as a separate process, connects the clients from this
process (asyncio streams on raw loopback sockets, `GET /events` as visitors), measures the
server's RSS before and after connecting them, then publishes the material through the
console's HTTP route (`POST /console/materials/1/publish`, signed in as the admin) and
records when each client receives the `material.published` event.

Prints, per backend: time from sending the publish request to each client's event (p50,
p99, the last client) beside the target p99 ≤ 1 s, the publish request's own time, and
the server's memory per connected client; PASS/MISS for each. Writes `bench/out/sse.json`.
Stops by itself (a client that sees nothing in ``--wait`` seconds counts as missed), and
the server is stopped with SIGTERM, with the clients still connected, at the end.

    .venv/bin/python bench/sse.py                          # both backends, 1,000 clients
    .venv/bin/python bench/sse.py --backends sqlite --clients 200
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import platform
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.web_load import (  # noqa: E402  (the repository root on the path first)
    PASSWORD,
    PG_SERVER,
    SAMPLE,
    Server,
    postgres_database,
    server_env,
    sqlite_database,
    wenxing,
)

OUT = ROOT / "bench" / "out"
TARGET_P99 = 1.0  # seconds from publish to a client's event
TARGET_MEMORY = 100 * 1024  # bytes of server RSS per connected client
WORKERS = {"sqlite": 1, "postgresql": 2}


def make_admin(env: dict[str, str]) -> None:
    from wenxing.config import Settings
    from wenxing.members import accounts
    from wenxing.runtime import open_runtime

    settings = Settings(
        database_url=env["WENXING_DATABASE_URL"],
        secret=env["WENXING_SECRET"],
        search_dir=Path(env["WENXING_SEARCH_DIR"]),
    )
    runtime = open_runtime(settings)
    try:
        with runtime.db.transaction() as session:
            admin = accounts.sign_up(session, name="压测管理员", password=PASSWORD, username="boss")
            admin.role = "admin"
    finally:
        runtime.close()


def raise_open_files(wanted: int) -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else wanted
    if soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(wanted, target), hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


class Client:
    """One `GET /events` on a raw socket; notes when the published event arrives."""

    def __init__(self, port: int):
        self.port = port
        self.connected = asyncio.Event()
        self.received_at: float | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.error: str | None = None

    async def run(self, wanted: asyncio.Event) -> None:
        try:
            reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
            self.writer.write(
                b"GET /events HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                b"Accept: text/event-stream\r\nUser-Agent: bench/sse\r\n\r\n"
            )
            await self.writer.drain()
            head = await reader.readuntil(b"\r\n\r\n")
            if not head.startswith(b"HTTP/1.1 200"):
                raise RuntimeError(head.split(b"\r\n", 1)[0].decode())
            self.connected.set()
            seen = b""
            while True:
                chunk = await reader.read(65536)
                if not chunk:
                    return
                seen = seen[-64:] + chunk
                if b"event: material.published" in seen:
                    self.received_at = time.perf_counter()
                    wanted.set()
                    return
        except Exception as exc:  # (counted as missed; reported)
            self.error = f"{exc.__class__.__name__}: {exc}"[:200]
            self.connected.set()

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def server_rss(server: Server) -> int:
    import psutil

    total = 0
    for process in server.worker_processes():
        with contextlib.suppress(psutil.Error):
            total += process.memory_info().rss
    return total


async def run_clients(server: Server, args) -> dict[str, Any]:
    import httpx2

    rss_before = server_rss(server)
    clients = [Client(server.port) for _ in range(args.clients)]
    arrived = asyncio.Event()
    tasks = []
    began = time.perf_counter()
    for start in range(0, len(clients), 100):  # in steps: no SYN flood of the backlog
        batch = clients[start : start + 100]
        tasks += [asyncio.create_task(c.run(arrived)) for c in batch]
        await asyncio.gather(*(c.connected.wait() for c in batch))
    connect_seconds = time.perf_counter() - began
    failed = [c.error for c in clients if c.error]
    await asyncio.sleep(1.0)  # let the server settle before measuring it
    rss_after = server_rss(server)

    async with httpx2.AsyncClient(base_url=server.base, timeout=30, trust_env=False) as admin:
        await admin.get("/signin")
        signed = await admin.post(
            "/signin",
            data={
                "identifier": "boss",
                "password": PASSWORD,
                "csrf_token": admin.cookies["wx_csrf"],
            },
        )
        if signed.status_code != 303:
            raise RuntimeError(f"the admin could not sign in: {signed.status_code}")
        published_at = time.perf_counter()
        answer = await admin.post(
            "/console/materials/1/publish", data={"csrf_token": admin.cookies["wx_csrf"]}
        )
        publish_seconds = time.perf_counter() - published_at
        if answer.status_code != 303:
            raise RuntimeError(f"publishing answered {answer.status_code}")
    deadline = time.perf_counter() + args.wait
    while time.perf_counter() < deadline:
        if all(c.received_at or c.error for c in clients):
            break
        await asyncio.sleep(0.05)
    latencies = sorted(c.received_at - published_at for c in clients if c.received_at)
    missed = sum(1 for c in clients if c.received_at is None)
    for client in clients:
        client.close()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    connected = args.clients - len(failed)
    return {
        "clients": args.clients,
        "connected": connected,
        "connect_errors": failed[:5],
        "connect_seconds": round(connect_seconds, 2),
        "publish_request_ms": round(publish_seconds * 1000, 1),
        "received": len(latencies),
        "missed": missed,
        "p50_ms": round(_percentile(latencies, 0.50) * 1000, 1) if latencies else None,
        "p99_ms": round(_percentile(latencies, 0.99) * 1000, 1) if latencies else None,
        "last_ms": round(latencies[-1] * 1000, 1) if latencies else None,
        "rss_before_mb": round(rss_before / 2**20, 1),
        "rss_after_mb": round(rss_after / 2**20, 1),
        "bytes_per_client": round((rss_after - rss_before) / max(connected, 1)),
    }


def _percentile(ordered: list[float], share: float) -> float:
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def bench_backend(name: str, url: str, folder: Path, args) -> dict[str, Any]:
    env = server_env(url, folder)
    wenxing(env, "init", "--json")
    wenxing(env, "import", "--json", str(SAMPLE))  # a draft: material 1
    make_admin(env)
    server = Server(env, WORKERS[name], folder / "server.log")
    try:
        server.start()
        result = asyncio.run(run_clients(server, args))
    finally:
        stopping = time.perf_counter()
        ended = server.stop()
        ended["seconds"] = round(time.perf_counter() - stopping, 1)
    result.update(backend=name, workers=WORKERS[name], stop=ended)
    return result


def verdicts(r: dict[str, Any]) -> list[tuple[str, str, str, bool]]:
    p99 = r["p99_ms"] / 1000 if r["p99_ms"] is not None else float("inf")
    return [
        ("every client got the event", f"{r['received']}/{r['clients']}", "all", r["missed"] == 0),
        (
            "p99 publish → event",
            f"{r['p99_ms']} ms",
            f"≤ {TARGET_P99 * 1000:.0f} ms",
            r["missed"] == 0 and p99 <= TARGET_P99,
        ),
        (
            "server memory per client",
            f"{r['bytes_per_client'] / 1024:.1f} KiB",
            f"≤ {TARGET_MEMORY // 1024} KiB",
            r["bytes_per_client"] <= TARGET_MEMORY,
        ),
    ]


def print_report(results: list[dict[str, Any]]) -> bool:
    ok = True
    print(f"SSE fan-out: {platform.machine()}, {platform.python_version()}")
    for r in results:
        print(
            f"\n{r['backend']} ({r['workers']} worker{'s' if r['workers'] > 1 else ''}): "
            f"{r['connected']}/{r['clients']} clients connected in {r['connect_seconds']} s; "
            f"publish request {r['publish_request_ms']} ms"
        )
        print(
            f"  publish → event: p50 {r['p50_ms']} ms, p99 {r['p99_ms']} ms, "
            f"last client {r['last_ms']} ms ({r['missed']} missed)"
        )
        print(
            f"  server RSS {r['rss_before_mb']} MiB → {r['rss_after_mb']} MiB with the clients "
            f"({r['bytes_per_client'] / 1024:.1f} KiB per client); stopped with clients "
            f"connected in {r['stop']['seconds']} s ({r['stop']['stopped']})"
        )
        for name, value, target, passed in verdicts(r):
            ok &= passed
            print(f"  {name:28} {value:>14}   target {target:10} {'PASS' if passed else 'MISS'}")
    return ok


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--wait", type=float, default=15.0, help="seconds to wait for events")
    parser.add_argument("--pg", default=PG_SERVER, help="PostgreSQL server (admin URL)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    limit = raise_open_files(args.clients * 2 + 256)
    if limit < args.clients + 128:
        print(f"open-files limit {limit} is too low for {args.clients} clients", file=sys.stderr)
        return 1
    results = []
    for name in [b.strip() for b in args.backends.split(",") if b.strip()]:
        with tempfile.TemporaryDirectory(prefix=f"wenxing-bench-sse-{name}-") as scratch:
            folder = Path(scratch)
            database = sqlite_database(folder) if name == "sqlite" else postgres_database(args.pg)
            with database as url:
                results.append(bench_backend(name, url, folder, args))
    ok = print_report(results)
    OUT.mkdir(exist_ok=True)
    (OUT / "sse.json").write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
