"""CPU time per request of the web app, route by route: the measure behind the load targets.

On two cores a route's throughput is bounded by the CPU one request costs. CPU time moves
far less than wall time when other processes share the machine, though they still inflate
it (shared caches, the VM's scheduler): each route is measured in rounds and the lowest
round counts, since other work only ever adds to it. For each backend this prepares the
installation `bench/web_load.py` prepares (the sample and the corpus imported and
published, throttling settings raised, a subscribed member signed in), then per route:

* in-process: the app from `create_app`, called through ASGI directly (no HTTP client, the
  endpoints on Starlette's thread pool as in the server, request log lines written to a
  file), sequential requests after a warm-up; CPU time of this process per request, and
  on PostgreSQL of the database's backends serving this installation;
* served (unless `--no-served`): `wenxing serve` with one worker, one keep-alive connection,
  sequential requests; CPU time of the server process (uvicorn's HTTP work included) and
  of the PostgreSQL backends per request. This figure is checked against the budget.

    .venv/bin/python bench/web_cpu.py                       # both backends, 2,000 requests a route
    .venv/bin/python bench/web_cpu.py --quick               # 300 requests a route
    .venv/bin/python bench/web_cpu.py --profile search-phrase --backends sqlite
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import logging
import statistics
import sys
import tempfile
import time
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import web_load  # noqa: E402 (importable once the repository root is on the path)

OUT = ROOT / "bench" / "out"
CORES = 2  # the reference machine the load targets are set for
CLIENT_MS = 1.2  # CPU of web_load.py's own client per request, on the same cores


@dataclass(frozen=True)
class Probe:
    key: str
    member: bool
    paths: tuple[str, ...]  # requested in turn
    target_rate: float | None  # the load target, requests/s on CORES cores

    def budget_ms(self) -> float | None:
        """Server CPU (workers and PostgreSQL) one request may cost for the load target:
        the cores' time per request at the target rate, less the load client's share."""
        if self.target_rate is None:
            return None
        return CORES * 1000 / self.target_rate - CLIENT_MS


def _search(*queries: str) -> tuple[str, ...]:
    return tuple(f"/api/v1/search?q={quote(q)}" for q in queries)


PROBES = (
    Probe("home", False, ("/",), 300.0),  # GET / as a visitor
    Probe(
        "search-terms",  # GET /api/v1/search, two terms
        False,
        _search("营商环境 民营经济", "乡村振兴 产业", "安全生产 责任"),
        300.0,
    ),
    Probe(
        "search-phrase",  # a quoted phrase, also one cut inside words
        False,
        _search('"优化营商环境"', '"推动高质量发展"', '"商环境"'),
        300.0,
    ),
    Probe("reader", True, ("/materials/1/read",), 150.0),  # as the member: a logged copy
    Probe("healthz", False, ("/healthz",), None),  # the floor: one count query
)


# --- in-process ------------------------------------------------------------------------------


async def _asgi_get(app, path: str, headers: list[tuple[bytes, bytes]]) -> tuple[int, bytes]:
    """One GET through the ASGI app, as a server would call it."""
    where, _, query = path.partition("?")
    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": unquote(where),
        "raw_path": where.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 80),
    }
    status, body = 0, []

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            body.append(message.get("body", b""))

    await app(scope, receive, send)
    return status, b"".join(body)


def _headers(probe: Probe, token: str) -> list[tuple[bytes, bytes]]:
    headers = [(b"host", b"bench"), (b"user-agent", b"bench/web_cpu")]
    if probe.member:
        headers.append((b"authorization", f"Bearer {token}".encode()))
    return headers


def _check(probe: Probe, status: int, body: bytes, copy_header: bool = True) -> None:
    if status != 200:
        raise RuntimeError(f"{probe.key}: {status} {body[:200]!r}")
    if probe.key.startswith("search") and not json.loads(body).get("hits"):
        raise RuntimeError(f"{probe.key}: a query found nothing")
    if probe.member and not copy_header:
        raise RuntimeError(f"{probe.key}: a 200 without X-Wenxing-Copy")


class BackendCpu:
    """CPU seconds of the PostgreSQL backends connected to one database (0 on SQLite)."""

    def __init__(self, url: str):
        self.database = None
        if url.startswith("postgresql"):
            self.database = url.rsplit("/", 1)[1]
            self.admin = web_load.PG_SERVER

    def seconds(self) -> float:
        if self.database is None:
            return 0.0
        import psutil
        import psycopg

        with psycopg.connect(self.admin, autocommit=True) as conn:
            pids = [
                row[0]
                for row in conn.execute(
                    "SELECT pid FROM pg_stat_activity WHERE datname = %s", (self.database,)
                )
            ]
        total = 0.0
        for pid in pids:
            with suppress(psutil.Error):
                times = psutil.Process(pid).cpu_times()
                total += times.user + times.system
        return total


def in_process(env: dict[str, str], token: str, args, database_cpu: BackendCpu) -> dict:
    """CPU per request of the app called through ASGI in this process, route by route."""
    from wenxing.web import logs

    log_file = Path(env["WENXING_SEARCH_DIR"]).parent / "in-process.log"
    handler = logging.FileHandler(log_file, encoding="utf-8")
    handler.setFormatter(logs.JsonLines())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)  # the request log lines cost what they cost in the server
    runtime, app = web_load.open_app(env)
    results = {}

    async def measure(probe: Probe) -> dict[str, float]:
        headers = _headers(probe, token)
        for i in range(args.warmup):
            _check(probe, *await _asgi_get(app, probe.paths[i % len(probe.paths)], headers))
        rounds = []
        per_round = max(1, args.requests // args.rounds)
        for _round in range(args.rounds):
            db0, cpu0, wall0 = database_cpu.seconds(), time.process_time(), time.perf_counter()
            for i in range(per_round):
                status, body = await _asgi_get(app, probe.paths[i % len(probe.paths)], headers)
                if status != 200:
                    _check(probe, status, body)
            cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
            db = max(0.0, database_cpu.seconds() - db0)
            rounds.append((1000 * cpu / per_round, 1000 * db / per_round, 1000 * wall / per_round))
        best = min(rounds, key=lambda r: r[0] + r[1])
        return {
            "app_cpu_ms": best[0],
            "db_cpu_ms": best[1],
            "wall_ms": best[2],
            "median_app_cpu_ms": statistics.median(r[0] for r in rounds),
            "rounds_app_cpu_ms": [round(r[0], 3) for r in rounds],
        }

    try:
        for probe in _chosen(args):
            results[probe.key] = asyncio.run(measure(probe))
            _print_line("in-process", probe, results[probe.key], served=False)
    finally:
        runtime.close()
        root.handlers[:] = []
        handler.close()
    return results


# --- served ----------------------------------------------------------------------------------


def served(env: dict[str, str], token: str, args, database_cpu: BackendCpu, folder: Path) -> dict:
    """CPU per request of `wenxing serve` (one worker) on one keep-alive connection."""
    server = web_load.Server(env, 1, folder / "serve-cpu.log")
    results = {}
    try:
        server.start()
        (process,) = server.worker_processes()
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)

        def get(probe: Probe, path: str) -> None:
            headers = {"user-agent": "bench/web_cpu"}
            if probe.member:
                headers["authorization"] = f"Bearer {token}"
            connection.request("GET", path, headers=headers)
            response = connection.getresponse()
            body = response.read()
            _check(probe, response.status, body, response.getheader("x-wenxing-copy") is not None)

        def server_seconds() -> float:
            times = process.cpu_times()
            return times.user + times.system

        for probe in _chosen(args):
            for i in range(args.warmup):
                get(probe, probe.paths[i % len(probe.paths)])
            rounds = []
            per_round = max(1, args.requests // args.rounds)
            for _round in range(args.rounds):
                db0, server0, wall0 = database_cpu.seconds(), server_seconds(), time.perf_counter()
                client0 = time.process_time()
                for i in range(per_round):
                    get(probe, probe.paths[i % len(probe.paths)])
                client = time.process_time() - client0
                cpu, wall = server_seconds() - server0, time.perf_counter() - wall0
                db = max(0.0, database_cpu.seconds() - db0)
                rounds.append(
                    [1000 * x / per_round for x in (cpu, db, wall, client)],
                )
            best = min(rounds, key=lambda r: r[0] + r[1])
            results[probe.key] = {
                "server_cpu_ms": best[0],
                "db_cpu_ms": best[1],
                "wall_ms": best[2],
                "client_cpu_ms": best[3],
                "median_server_cpu_ms": statistics.median(r[0] for r in rounds),
                "rounds_server_cpu_ms": [round(r[0], 3) for r in rounds],
            }
            _print_line("served", probe, results[probe.key], served=True)
        connection.close()
    finally:
        stop = server.stop()
        if stop.get("stopped") != "sigterm" or stop.get("left_behind"):
            print(f"  server stop: {stop}", flush=True)
        errors = web_load.server_errors(server.log_text())
        if errors["unhandled"]:
            print(f"  server log: {errors['unhandled']} unhandled exception(s)", flush=True)
    return results


# --- profile ---------------------------------------------------------------------------------


def profile(env: dict[str, str], token: str, args) -> None:
    """cProfile of N in-process requests of one route, endpoints on this thread."""
    import cProfile
    import pstats

    runtime, app = web_load.open_app(env, inline=True)
    (probe,) = [p for p in PROBES if p.key == args.profile]
    headers = _headers(probe, token)

    async def run(n: int) -> None:
        for i in range(n):
            _check(probe, *await _asgi_get(app, probe.paths[i % len(probe.paths)], headers))

    try:
        asyncio.run(run(args.warmup))
        profiler = cProfile.Profile()
        profiler.runcall(asyncio.run, run(args.requests))
    finally:
        runtime.close()
    OUT.mkdir(parents=True, exist_ok=True)
    saved = OUT / f"web_cpu_{probe.key}.prof"
    profiler.dump_stats(saved)
    stats = pstats.Stats(profiler).strip_dirs()
    stats.sort_stats("cumulative").print_stats(args.top)
    stats.sort_stats("tottime").print_stats(args.top)
    print(f"saved {saved}")


# --- report ----------------------------------------------------------------------------------


def _chosen(args) -> list[Probe]:
    return [p for p in PROBES if not args.only or p.key in args.only]


def _verdict(probe: Probe, total_ms: float) -> str:
    budget = probe.budget_ms()
    if budget is None:
        return ""
    return f"budget {budget:4.1f} ms  {'PASS' if total_ms <= budget else 'MISS'}"


def _print_line(how: str, probe: Probe, r: dict[str, float], *, served: bool) -> None:
    own = r["server_cpu_ms"] if served else r["app_cpu_ms"]
    total = own + r["db_cpu_ms"]
    db = f" + postgres {r['db_cpu_ms']:5.2f}" if r["db_cpu_ms"] else ""
    verdict = _verdict(probe, total) if served else ""
    print(
        f"  {how:<10} {probe.key:<14} {own:6.2f} ms{db} = {total:6.2f} ms CPU/request "
        f"(wall {r['wall_ms']:6.2f} ms)  {verdict}",
        flush=True,
    )


def run_backend(name: str, args) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix=f"wenxing-bench-cpu-{name}-") as tmp:
        folder = Path(tmp)
        if name == "sqlite":
            database = web_load.sqlite_database(folder)
        else:
            database = web_load.postgres_database(args.pg)
        with database as url:
            env = web_load.server_env(url, folder)
            began = time.perf_counter()
            prepared = web_load.prepare(env, args)
            token = prepared.pop("tokens")[0]
            print(
                f"{name}: {prepared['imported']} materials published, a member signed in "
                f"(prepared in {time.perf_counter() - began:.0f} s)",
                flush=True,
            )
            database_cpu = BackendCpu(url)
            if args.profile:
                profile(env, token, args)
                return {}
            result: dict[str, Any] = {"prepared": prepared}
            result["in_process"] = in_process(env, token, args, database_cpu)
            if not args.no_served:
                result["served"] = served(env, token, args, database_cpu, folder)
            return result


def summary(results: dict[str, dict]) -> list[dict[str, Any]]:
    rows = []
    for backend, result in results.items():
        for probe in PROBES:
            r = result.get("served", {}).get(probe.key)
            budget = probe.budget_ms()
            if r is None or budget is None:
                continue
            total = r["server_cpu_ms"] + r["db_cpu_ms"]
            rows.append(
                {
                    "name": f"{backend} {probe.key} server CPU ms/request",
                    "value": round(total, 2),
                    "target": f"<= {budget:.1f}",
                    "status": "PASS" if total <= budget else "MISS",
                }
            )
    return rows


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, help="measured requests per route (2000)")
    parser.add_argument("--rounds", type=int, default=5, help="rounds; the lowest counts")
    parser.add_argument("--warmup", type=int, default=50, help="requests before measuring")
    parser.add_argument("--quick", action="store_true", help="300 requests per route")
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--only", help="routes, e.g. home,search-terms (default all)")
    parser.add_argument("--no-served", action="store_true", help="in-process figures only")
    parser.add_argument("--pg", default=web_load.PG_SERVER, help="PostgreSQL maintenance URL")
    parser.add_argument("--corpus", type=int, default=200, help="corpus files to import")
    parser.add_argument(
        "--profile",
        choices=[p.key for p in PROBES],
        help="instead: cProfile --requests in-process requests of this route",
    )
    parser.add_argument("--top", type=int, default=30, help="rows of the profile to print")
    args = parser.parse_args(argv)
    args.requests = args.requests or (300 if args.quick else 2000)
    args.only = set(args.only.split(",")) if args.only else None
    args.members, args.cold_plan = 1, False  # what web_load.prepare needs to know
    if args.requests < args.rounds or args.rounds < 1:
        parser.error("--requests must be at least --rounds, --rounds at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    print(
        f"CPU per request, {args.requests:,} sequential requests a route in {args.rounds} rounds "
        f"(the lowest counts) after {args.warmup}; budget = {CORES} cores x 1000 ms / target "
        f"rate - {CLIENT_MS} ms for the load client (bench/README.md)",
        flush=True,
    )
    results = {}
    for name in args.backends.split(","):
        results[name] = run_backend(name, args)
    if args.profile:
        return 0
    rows = summary(results)
    if rows:
        print()
        width = max(len(r["name"]) for r in rows)
        for r in rows:
            print(f"{r['name']:<{width}}  {r['value']:>7}  {r['target']:<8} {r['status']}")
    OUT.mkdir(parents=True, exist_ok=True)
    payload = {
        "meta": {"requests": args.requests, "rounds": args.rounds, "cores": CORES},
        "results": results,
        "checks": rows,
    }
    (OUT / "web_cpu.json").write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n")
    print(f"wrote {OUT / 'web_cpu.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
