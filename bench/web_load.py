"""Load on the real web server: the home page, search, the reader page and a .docx download.

For each backend — SQLite (a file in a temporary folder) and PostgreSQL (a fresh database on
127.0.0.1:5432, dropped at the end) — prepares an installation with the `wenxing` command
line (`init`, `import --publish` of the sample and the corpus, `settings set` of the limits
that would throttle a benchmark) and a subscribed, signed-in member (Python API), all not
timed. Then starts `wenxing serve` as a separate process and drives it over loopback from
this process with an asyncio httpx2 client on keep-alive connections: for each route, a
fixed time after a warm-up. Prints requests/s, p50/p99 latency, errors (any non-200) and the
server workers' RSS beside the targets, and writes `bench/out/web_load.json`. The server is
stopped with SIGTERM at the end (also on failure) and no process is left behind.

    .venv/bin/python bench/web_load.py                 # 15 s per route after 3 s warm-up
    .venv/bin/python bench/web_load.py --quick         # 5 s after 2 s
    .venv/bin/python bench/web_load.py --profile 300   # where a request's time goes
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import platform
import re
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.ready import wait_every_worker  # noqa: E402

OUT = ROOT / "bench" / "out"
SAMPLE = ROOT / "src" / "wenxing" / "demo" / "sample.txt"
CORPUS = Path(os.environ.get("WENXING_CORPUS") or ROOT.parent / "shared" / "corpus")
PG_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"
PASSWORD = "bench password 42"
QUOTA = 10_000_000  # the plans' daily_quota during the benchmark
SEARCH_PER_MINUTE = 1_000_000

# Twenty queries an editor would type (each finds materials in the corpus).
QUERIES = (
    "乡村振兴",
    "全面从严治党",
    "营商环境",
    "高质量发展",
    "安全生产",
    "生态环境保护",
    "基层治理",
    "作风建设",
    "民生保障",
    "科技创新",
    "粮食安全",
    "新质生产力",
    "城乡融合",
    "招商引资",
    "共同富裕",
    "法治政府",
    "数字经济",
    "党风廉政建设",
    "乡村振兴 产业",
    "营商环境 民营经济",
)


@dataclass(frozen=True)
class Route:
    key: str
    label: str
    member: bool  # requested as the signed-in member
    path: Callable[[int], str]
    min_rate: float | None  # target requests/s
    max_p99_ms: float | None  # target p99 latency


ROUTES = (
    Route("home", "GET / (home)", False, lambda i: "/", 300.0, 100.0),
    Route(
        "search",
        "GET /api/v1/search?q=…",
        False,
        lambda i: f"/api/v1/search?q={quote(QUERIES[i % len(QUERIES)])}",
        300.0,
        100.0,
    ),
    Route("reader", "GET /materials/1/read", True, lambda i: "/materials/1/read", 150.0, None),
    Route(
        "download",
        "GET /materials/1/download/docx",
        True,
        lambda i: "/materials/1/download/docx",
        None,
        None,
    ),
    # Diagnosis, no target: the home page again, now that the issuance log holds the copies
    # the two routes above made (the home page counts the last 30 days' copies).
    Route("home-after", "GET / (after the copies)", False, lambda i: "/", None, None),
)


# --- databases -----------------------------------------------------------------------------


@contextmanager
def postgres_database(server: str) -> Iterator[str]:
    """A fresh PostgreSQL database for the run, dropped afterwards (also on failure)."""
    import psycopg

    name = f"wenxing_bench_{secrets.token_hex(4)}"
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        base = server.rsplit("/", 1)[0]
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(server, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def sqlite_database(folder: Path) -> Iterator[str]:
    yield f"sqlite:///{folder}/wenxing.db"


# --- preparing an installation (not timed) -------------------------------------------------


def corpus_files(limit: int) -> list[Path]:
    files = sorted(p for p in CORPUS.glob("*/*.txt") if p.parent.name != "raw_gbk")
    return files[:limit]


def wenxing(env: dict[str, str], *args: str, timeout: float = 900) -> Any:
    """Run one `wenxing` command (with --json) and return its JSON document."""
    done = subprocess.run(
        [sys.executable, "-m", "wenxing", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"wenxing {' '.join(args[:2])} failed: {done.stderr.strip()[-2000:]}")
    out = done.stdout.strip()
    return json.loads(out) if out else None


def prepare(env: dict[str, str], args: argparse.Namespace) -> dict[str, Any]:
    """`wenxing init`, the sample (material 1) and the corpus imported and published, the
    throttling settings raised, a subscribed member signed in."""
    began = time.perf_counter()
    wenxing(env, "init", "--json")
    sample = wenxing(env, "import", "--publish", "--category", "讲话", "--json", str(SAMPLE))
    first = sample["imported"][0] if sample["imported"] else None
    if not first or first.get("id") != 1:
        raise RuntimeError(f"the sample did not become material 1: {sample}")
    files = corpus_files(args.corpus)
    report = wenxing(env, "import", "--publish", "--json", *map(str, files))
    wenxing(env, "settings", "set", "search_per_minute", str(SEARCH_PER_MINUTE), "--json")
    plans = [
        {"code": "month", "name": "月卡", "months": 1, "archive_months": 36, "daily_quota": QUOTA},
        {"code": "year", "name": "年卡", "months": 12, "archive_months": 36, "daily_quota": QUOTA},
        {
            "code": "3year",
            "name": "三年卡",
            "months": 36,
            "archive_months": 36,
            "daily_quota": QUOTA,
        },
    ]
    wenxing(env, "settings", "set", "plans", json.dumps(plans, ensure_ascii=False), "--json")
    tokens, numbers = sign_in_members(env, args.members)
    if not args.cold_plan:
        # The first copy of a version builds and stores its marking plan (about 0.1 s, and
        # every request that arrives meanwhile builds one too): made here, untimed, so that
        # the reader route measures copies, not the first one. --cold-plan leaves it out.
        with tempfile.TemporaryDirectory(prefix="wenxing-bench-web-copy-") as scratch:
            out = str(Path(scratch) / "first.txt")
            wenxing(
                env, "copy", "1", "--member", numbers[0], "--format", "txt", "--out", out, "--json"
            )
    return {
        "corpus_files": len(files),
        "imported": 1 + len(report["imported"]),
        "skipped": len(report["skipped"]),
        "failed": len(report["failed"]),
        "members": len(tokens),
        "tokens": tokens,
        "plan_made_before": not args.cold_plan,
        "seconds": round(time.perf_counter() - began, 1),
        "raised_settings": {
            "search_per_minute": SEARCH_PER_MINUTE,
            "plans daily_quota": QUOTA,
        },
    }


def sign_in_members(env: dict[str, str], count: int) -> tuple[list[str], list[str]]:
    """``count`` accounts with a month's plan (as tests/helpers.py ``account``), each signed
    in once; their session tokens."""
    from datetime import timedelta

    from wenxing.config import Settings
    from wenxing.db.base import utcnow
    from wenxing.members import accounts
    from wenxing.members.subscriptions import grant, plans
    from wenxing.runtime import open_runtime

    settings = Settings(
        database_url=env["WENXING_DATABASE_URL"],
        secret=env["WENXING_SECRET"],
        search_dir=Path(env["WENXING_SEARCH_DIR"]),
    )
    runtime = open_runtime(settings)
    try:
        publisher = runtime.publisher_settings()
        month = plans(publisher)["month"]
        with runtime.db.transaction() as session:
            for i in range(count):
                member = accounts.sign_up(
                    session, name=f"压测会员{i}", password=PASSWORD, username=f"bench{i:03d}"
                )
                session.flush()
                now = utcnow() - timedelta(minutes=1)
                grant(session, member.id, month, actor="bench", reason="bench", now=now)
        tokens, numbers = [], []
        for i in range(count):
            with runtime.db.transaction() as session:
                signed = accounts.sign_in(
                    session,
                    f"bench{i:03d}",
                    PASSWORD,
                    now=utcnow(),
                    ip="127.0.0.1",
                    user_agent="bench/web_load",
                    max_sessions=publisher.max_sessions,
                    sharing_networks=publisher.sharing_networks,
                )
                tokens.append(signed.token)
                numbers.append(signed.member.number)
        return tokens, numbers
    finally:
        runtime.close()


# --- the server ----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Server:
    """`wenxing serve` in its own process group; stopped with SIGTERM, never left behind."""

    def __init__(self, env: dict[str, str], workers: int, log_path: Path):
        self.env, self.workers_wanted, self.log_path = env, workers, log_path
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None
        self.seen: dict[int, Any] = {}  # every process of the server seen, by pid

    def start(self, timeout: float = 90) -> None:
        command = [sys.executable, "-m", "wenxing", "serve", "--host", "127.0.0.1"]
        command += ["--port", str(self.port), "--workers", str(self.workers_wanted)]
        self._log = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            command,
            env=self.env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:  # every worker ready, not just the first to answer (bench/ready.py)
            wait_every_worker(
                self.base,
                self.proc.pid,
                self.workers_wanted,
                timeout,
                alive=lambda: self.proc is not None and self.proc.poll() is None,
            )
        except RuntimeError as problem:
            raise RuntimeError(f"{problem}: {self.log_tail()}") from None

    def worker_processes(self) -> list:
        """The processes that serve requests: uvicorn's spawned workers, or the server itself
        with one worker (multiprocessing's resource tracker is not a worker)."""
        import psutil

        if self.proc is None:
            return []
        try:
            main = psutil.Process(self.proc.pid)
            children = main.children(recursive=True)
        except psutil.NoSuchProcess:
            return []
        for p in [main, *children]:
            self.seen.setdefault(p.pid, p)
        if self.workers_wanted == 1:
            return [main]
        workers = []
        for child in children:
            try:
                if "spawn_main" in " ".join(child.cmdline()):
                    workers.append(child)
            except psutil.Error:
                continue
        return workers

    def log_text(self) -> str:
        try:
            return self.log_path.read_text("utf-8", "replace")
        except OSError:
            return ""

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return self.log_path.read_text("utf-8", "replace")[-chars:].strip()
        except OSError:
            return ""

    def stop(self, grace: float = 30) -> dict[str, Any]:
        """SIGTERM to the server; whatever survives the grace time is killed by pid. Returns
        how it ended and which processes were left (none, after the kill)."""
        import psutil

        if self.proc is None:
            return {"stopped": "never started"}
        self.worker_processes()  # remember the current workers too
        how = "sigterm"
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                how = "killed after sigterm timeout"
                self.proc.kill()
                self.proc.wait(timeout=10)
        returncode = self.proc.returncode
        # The workers (and multiprocessing's resource tracker) end right after the server
        # process: a few seconds' grace before counting anyone as a survivor.
        others = [p for p in self.seen.values() if _alive(p)]
        _gone, still = psutil.wait_procs(others, timeout=5)
        survivors = [p for p in still if _alive(p)]
        for process in survivors:
            with suppress(psutil.Error):
                process.terminate()
        if survivors:
            _gone, alive = psutil.wait_procs(survivors, timeout=5)
            for process in alive:
                with suppress(psutil.Error):
                    process.kill()
            psutil.wait_procs(alive, timeout=5)
            how += f"; {len(survivors)} process(es) survived and were ended by pid"
        left = [p for p, proc in self.seen.items() if _alive(proc)]
        self._log.close()
        return {"stopped": how, "returncode": returncode, "left_behind": left}


def _alive(process) -> bool:
    import psutil

    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


# --- the client ----------------------------------------------------------------------------


class Sampler:
    """RSS of each worker (and its peak) and the CPU time of the server's processes."""

    def __init__(self, server: Server):
        self.server = server
        self.peak: dict[int, int] = {}
        self.last: dict[int, int] = {}

    def sample(self) -> None:
        import psutil

        for process in self.server.worker_processes():
            try:
                rss = process.memory_info().rss
            except psutil.Error:
                continue
            self.last[process.pid] = rss
            self.peak[process.pid] = max(rss, self.peak.get(process.pid, 0))

    def server_cpu(self) -> float:
        import psutil

        total = 0.0
        for process in self.server.worker_processes():
            try:
                times = process.cpu_times()
            except psutil.Error:
                continue
            total += times.user + times.system
        return total


def _percentile(sorted_values: list[float], share: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(share * len(sorted_values) + 0.5) - 1))
    return sorted_values[index]


async def _drive(
    base: str,
    route: Route,
    tokens: list[str],
    args: argparse.Namespace,
    sampler: Sampler,
) -> dict[str, Any]:
    """``args.concurrency`` keep-alive connections, each sending one request after another
    for warm-up + duration; only requests that end inside the measured window count."""
    import httpx2

    limits = httpx2.Limits(
        max_connections=args.concurrency,
        max_keepalive_connections=args.concurrency,
        keepalive_expiry=60,
    )
    timeout = httpx2.Timeout(args.timeout)
    clients = []
    # One client per member token (cookie jars and headers kept apart); connections are
    # spread over them round robin.
    owners = tokens if route.member else [None]
    for token in owners:
        headers = {"user-agent": "bench/web_load"}
        if token:
            headers["authorization"] = f"Bearer {token}"
        clients.append(
            httpx2.AsyncClient(
                base_url=base, limits=limits, timeout=timeout, headers=headers, trust_env=False
            )
        )
    numbers = itertools.count()
    records: list[tuple[float, float, Any]] = []
    empty: list[str] = []  # searches answered 200 with no hit
    began = time.perf_counter()
    window_start = began + args.warmup
    window_end = window_start + args.duration

    async def connection(client) -> None:
        while time.perf_counter() < window_end:
            path = route.path(next(numbers))
            t0 = time.perf_counter()
            try:
                response = await client.get(path)
                status: Any = response.status_code
                if status == 200 and route.member and "x-wenxing-copy" not in response.headers:
                    status = "200 without a copy id"
                if status == 200 and route.key == "search" and not response.json().get("hits"):
                    empty.append(path)  # every query of QUERIES finds materials
            except httpx2.HTTPError as exc:
                status = type(exc).__name__
            records.append((t0, time.perf_counter(), status))

    async def sample_loop() -> None:
        while time.perf_counter() < window_end:
            sampler.sample()
            await asyncio.sleep(0.5)

    cpu_marks: dict[str, tuple[float, float, float, float]] = {}

    def mark() -> tuple[float, float, float, float]:
        return time.perf_counter(), time.process_time(), sampler.server_cpu(), _postgres_cpu()

    async def mark_window() -> None:
        await asyncio.sleep(max(0.0, window_start - time.perf_counter()))
        cpu_marks["start"] = mark()
        await asyncio.sleep(max(0.0, window_end - time.perf_counter()))
        cpu_marks["end"] = mark()

    machine0 = _machine_cpu()
    try:
        tasks = [connection(clients[i % len(clients)]) for i in range(args.concurrency)]
        await asyncio.wait_for(
            asyncio.gather(*tasks, sample_loop(), mark_window()),
            timeout=args.warmup + args.duration + args.timeout + 30,
        )
    finally:
        for client in clients:
            await client.aclose()
    machine1 = _machine_cpu()
    sampler.sample()
    inside = [r for r in records if window_start <= r[1] < window_end]
    ok = sorted(1000 * (end - start) for start, end, status in inside if status == 200)
    every = sorted(1000 * (end - start) for start, end, _status in inside)
    statuses = Counter(str(status) for _s, _e, status in records)
    errors = sum(n for status, n in statuses.items() if status != "200")
    (w0, c0, s0, d0), (w1, c1, s1, d1) = cpu_marks["start"], cpu_marks["end"]
    done = max(len(inside), 1)
    cpu_per_request = ((c1 - c0) + (s1 - s0) + max(0.0, d1 - d0)) / done
    return {
        "route": route.key,
        "requests": len(inside),
        "rate": len(inside) / args.duration,
        "ok_rate": len(ok) / args.duration,
        "p50_ms": _percentile(every, 0.50),
        "p99_ms": _percentile(every, 0.99),
        "max_ms": every[-1] if every else float("nan"),
        "ok_p50_ms": _percentile(ok, 0.50),
        "errors": errors,
        "errors_in_window": sum(1 for r in inside if r[2] != 200),
        "all_requests": len(records),
        "statuses": dict(statuses),
        "empty_searches": len(empty),
        "client_cpu_ms_per_request": 1000 * (c1 - c0) / done,
        "server_cpu_ms_per_request": 1000 * (s1 - s0) / done,
        # Approximate: a backend that exits inside the window takes its CPU time with it.
        "postgres_cpu_ms_per_request": max(0.0, 1000 * (d1 - d0) / done),
        # What the machine's cores could serve if nothing else ran: cores / CPU per request
        # (server + this client + PostgreSQL).
        "cpu_ceiling_rate": (os.cpu_count() or 1) / cpu_per_request if inside else None,
        "server_cpu_share": (s1 - s0) / max(w1 - w0, 1e-9),
        "machine_busy_share": _busy_share(machine0, machine1),
    }


def _postgres_cpu() -> float:
    """CPU seconds of every process named postgres on the machine (other databases' too)."""
    import psutil

    total = 0.0
    for process in psutil.process_iter(["name"]):
        if process.info["name"] != "postgres":
            continue
        with suppress(psutil.Error):
            times = process.cpu_times()
            total += times.user + times.system
    return total


def _machine_cpu() -> tuple[float, float]:
    import psutil

    times = psutil.cpu_times()
    idle = times.idle + getattr(times, "iowait", 0.0)
    return sum(times) - idle, sum(times)


def _busy_share(a: tuple[float, float], b: tuple[float, float]) -> float:
    return (b[0] - a[0]) / max(b[1] - a[1], 1e-9)


def run_route(server: Server, route: Route, tokens: list[str], args) -> dict[str, Any]:
    sampler = Sampler(server)
    result = asyncio.run(_drive(server.base, route, tokens, args, sampler))
    workers = sorted(sampler.last)
    result["rss_mib"] = [round(sampler.last[p] / 2**20, 1) for p in workers]
    result["rss_sum_mib"] = round(sum(sampler.last.values()) / 2**20, 1)
    result["peak_rss_mib"] = [round(sampler.peak[p] / 2**20, 1) for p in workers]
    result["load_after"] = os.getloadavg()[0]
    return result


# --- checks from the database after the load ------------------------------------------------


def database_facts(env: dict[str, str]) -> dict[str, Any]:
    """Copies logged and searches counted, to compare with the responses served."""
    from sqlalchemy import func, select

    from wenxing.config import Settings
    from wenxing.db.engine import Database
    from wenxing.delivery.models import IssuedCopy
    from wenxing.search.models import SearchUsage

    _ = Settings  # the URL is enough here
    db = Database(env["WENXING_DATABASE_URL"])
    try:
        with db.reading() as session:
            copies = dict(
                session.execute(
                    select(IssuedCopy.format, func.count()).group_by(IssuedCopy.format)
                ).all()
            )
            searches = session.scalar(
                select(func.coalesce(func.sum(SearchUsage.count), 0)).where(
                    SearchUsage.subject == "ip:127.0.0.1"
                )
            )
    finally:
        db.dispose()
    return {"copies_logged": copies, "searches_counted": int(searches or 0)}


# --- one backend ---------------------------------------------------------------------------


def server_env(url: str, folder: Path) -> dict[str, str]:
    """The environment of the wenxing commands and servers of one backend's run."""
    env = dict(os.environ)
    env.update(
        WENXING_DATABASE_URL=url,
        WENXING_SECRET=secrets.token_hex(32),
        WENXING_SEARCH_DIR=str(folder / "search"),
    )
    env.pop("WENXING_SECRET_FILE", None)
    return env


def bench_backend(name: str, url: str, folder: Path, args) -> dict[str, Any]:
    env = server_env(url, folder)
    print(f"{name}: preparing (init, import, settings, member) …", flush=True)
    prepared = prepare(env, args)
    tokens = prepared.pop("tokens")
    print(
        f"  {prepared['imported']} materials published ({prepared['corpus_files']} corpus files"
        f" + the sample; {prepared['skipped']} skipped, {prepared['failed']} failed), "
        f"{prepared['members']} member(s) signed in, in {prepared['seconds']} s; raised for the "
        f"benchmark: search_per_minute = {SEARCH_PER_MINUTE:,}, every plan's daily_quota = "
        f"{QUOTA:,}",
        flush=True,
    )
    workers = args.workers
    results: dict[str, Any] = {"prepared": prepared, "workers": workers, "routes": {}}
    for route in ROUTES:
        if args.only and route.key not in args.only:
            continue
        # A fresh server per route: a route that wedges the workers spoils no other figure.
        server = Server(env, workers, folder / f"serve-{name}-{route.key}.log")
        result: dict[str, Any] = {"route": route.key}
        try:
            try:
                server.start()
            except RuntimeError as refused:
                # Versions of `wenxing serve` that refuse several workers on SQLite.
                if workers == 1 or "several workers need PostgreSQL" not in str(refused):
                    raise
                server.stop()
                print(f"  {name}: `wenxing serve` refuses {workers} workers; 1 worker", flush=True)
                workers = results["workers"] = 1
                server = Server(env, workers, folder / f"serve-{name}-{route.key}.log")
                server.start()
            result["server_pids"] = [p.pid for p in server.worker_processes()]
            result.update(run_route(server, route, tokens, args))
            if route.key == "home-after":
                result["copies_in_log"] = sum(database_facts(env)["copies_logged"].values())
            print("  " + _route_line(route, result), flush=True)
        finally:
            result["stop"] = server.stop()
            result["server_errors"] = server_errors(server.log_text())
            results["routes"][route.key] = result
            if result["stop"]["stopped"] != "sigterm" or result["stop"]["left_behind"]:
                print(f"    server stop: {result['stop']}", flush=True)
            for line in _error_lines(result["server_errors"]):
                if not line.startswith(" "):
                    print(f"    {line}", flush=True)
    results["database"] = database_facts(env)
    return results


def _log_records(log: str) -> Iterator[tuple[dict | None, str]]:
    """The server log's records: (the JSON object, None) for a JSON line (``wenxing.web.logs``),
    else (None, a block of plain text that starts with uvicorn's "Exception in ASGI
    application"), for a server that logs plain text."""
    plain = []
    for line in log.splitlines():
        if line.startswith("{"):
            try:
                yield json.loads(line), ""
                continue
            except ValueError:
                pass
        plain.append(line)
    for chunk in "\n".join(plain).split("Exception in ASGI application")[1:]:
        yield None, chunk


def server_errors(log: str) -> dict[str, Any]:
    """The server's unhandled exceptions, from its log: how many, and per kind (the final
    exception line, cut, and the innermost wenxing frame) the wenxing frames of the last
    traceback of the chain, outermost first. Also the server's own request times (the JSON
    request lines), to tell time in the app from time queued before it."""
    kinds: dict[str, dict[str, Any]] = {}
    unhandled = 0
    app_ms: list[float] = []
    for record, chunk in _log_records(log):
        if record is not None:
            if record.get("msg") == "request" and isinstance(record.get("ms"), (int, float)):
                app_ms.append(float(record["ms"]))
            if "Exception in ASGI application" not in str(record.get("msg")):
                continue
            chunk = str(record.get("error", ""))
        unhandled += 1
        lines = [line for line in chunk.splitlines() if line.strip()]
        final = next(
            (
                line.strip()
                for line in reversed(lines)
                if not line.startswith((" ", "(", "[", "ERROR:", "INFO:", "WARNING:"))
                and ":" in line
            ),
            "?",
        )
        last_traceback = chunk.split("Traceback (most recent call last):")[-1]
        frames = [
            f"{m[0].split('/src/')[-1]}:{m[1]} {m[2]}"
            for m in re.findall(
                r'File "([^"]*/src/wenxing/[^"]*)", line (\d+), in (\w+)', last_traceback
            )
        ]
        key = final[:120] + (f" @ {frames[-1]}" if frames else "")
        kind = kinds.setdefault(key, {"count": 0, "frames": frames})
        kind["count"] += 1
    app_ms.sort()
    return {
        "unhandled": unhandled,
        "kinds": kinds,
        "logged_requests": len(app_ms),
        "app_p50_ms": _percentile(app_ms, 0.5) if app_ms else None,
        "app_p99_ms": _percentile(app_ms, 0.99) if app_ms else None,
    }


def _error_lines(errors: dict[str, Any]) -> list[str]:
    lines = []
    if errors.get("logged_requests"):
        lines.append(
            f"server's own request times (its JSON log, {errors['logged_requests']:,} requests "
            f"incl. warm-up): p50 {errors['app_p50_ms']:.1f} ms, p99 {errors['app_p99_ms']:.1f} ms"
        )
    if errors["unhandled"]:
        lines.append(f"server log: {errors['unhandled']} unhandled exception(s)")
    for final, kind in errors["kinds"].items():
        lines.append(f"  {kind['count']} x {final}")
        if kind["frames"]:
            lines.append("      via " + " > ".join(kind["frames"]))
    return lines


def _route_line(route: Route, r: dict[str, Any]) -> str:
    if "rate" not in r:
        return f"{route.key:<10} not measured (the server did not start or the client failed)"
    rss = " + ".join(f"{x:.0f}" for x in r["rss_mib"])
    if not r["requests"]:
        cpu = "CPU/req: — (no request ended in the window)"
    else:
        db = r.get("postgres_cpu_ms_per_request", 0.0)
        cpu = (
            f"CPU/req: server {r['server_cpu_ms_per_request']:.1f} ms, client "
            f"{r['client_cpu_ms_per_request']:.1f} ms"
            + (f", postgres {db:.1f} ms" if db >= 0.05 else "")
            + f" (ceiling {r['cpu_ceiling_rate']:.0f}/s)"
        )
    return (
        f"{route.key:<10} {r['rate']:6.1f} req/s  p50 {r['p50_ms']:6.1f} ms  p99 "
        f"{r['p99_ms']:7.1f} ms  errors {r['errors']:>4}  RSS {rss} = {r['rss_sum_mib']:.0f} MiB"
        f"  {cpu}  machine busy {100 * r['machine_busy_share']:.0f}%"
    )


# --- report --------------------------------------------------------------------------------


def _ok(passed: bool) -> str:
    return "PASS" if passed else "MISS"


def checks_of(results: dict[str, dict]) -> list[dict[str, Any]]:
    rows = []
    for backend, result in results.items():
        workers = result["workers"]
        stops = []
        for route in ROUTES:
            r = result["routes"].get(route.key)
            if r is None:
                continue
            stops.append(r.get("stop", {}))
            label = f"{backend} ({workers} worker{'s' if workers > 1 else ''}) {route.key}"
            if "rate" not in r:
                rows.append(_row(f"{label} measured", "no", "yes", "MISS"))
                continue
            rate, p99 = round(r["rate"], 1), round(r["p99_ms"], 1)
            if route.min_rate is not None:
                target = f">= {route.min_rate:.0f}"
                rows.append(_row(f"{label} req/s", rate, target, _ok(rate >= route.min_rate)))
            else:
                rows.append(_row(f"{label} req/s", rate, "(printed)", "—"))
            if route.max_p99_ms is not None:
                target = f"<= {route.max_p99_ms:.0f}"
                rows.append(_row(f"{label} p99 ms", p99, target, _ok(p99 <= route.max_p99_ms)))
            elif route.key == "home-after":
                rows.append(_row(f"{label} p99 ms", p99, "(printed)", "—"))
            rows.append(_row(f"{label} errors", r["errors"], "0", _ok(r["errors"] == 0)))
            if route.key == "search":
                empty = r.get("empty_searches", 0)
                rows.append(_row(f"{label} answers without a hit", empty, "0", _ok(empty == 0)))
        search, facts = result["routes"].get("search"), result.get("database")
        if search and "statuses" in search and facts:
            answered = search["statuses"].get("200", 0)
            counted = facts["searches_counted"]
            rows.append(
                _row(
                    f"{backend} searches counted by the rate limiter / answered",
                    f"{counted}/{answered}",
                    "all",
                    _ok(counted >= answered),
                )
            )
        clean = sum(1 for s in stops if s.get("stopped") == "sigterm" and not s.get("left_behind"))
        rows.append(
            _row(
                f"{backend} servers stopped by SIGTERM, none left",
                f"{clean}/{len(stops)}",
                "all",
                _ok(clean == len(stops)),
            )
        )
    return rows


def _row(name: str, value: Any, target: str, status: str) -> dict[str, Any]:
    return {"name": name, "value": value, "target": target, "status": status}


def print_report(results: dict, checks: list, meta: dict) -> None:
    print(
        f"\n{meta['concurrency']} keep-alive connections, {meta['duration']:.0f} s per route "
        f"after {meta['warmup']:.0f} s warm-up, a fresh server per route; latency of every "
        "request that ended in the window; errors = any non-200 over warm-up and window"
    )
    print(
        f"raised for the benchmark: search_per_minute = {SEARCH_PER_MINUTE:,}, every plan's "
        f"daily_quota = {QUOTA:,}"
    )
    for backend, result in results.items():
        prepared = result["prepared"]
        print(
            f"{backend}: {result['workers']} worker(s), {prepared['imported']} materials, "
            f"{prepared['members']} member(s)"
        )
        for route in ROUTES:
            r = result["routes"].get(route.key)
            if r is None:
                continue
            print(f"  {_route_line(route, r)}")
            bad = {k: v for k, v in r.get("statuses", {}).items() if k != "200"}
            if bad:
                print(f"    non-200: {bad}")
            if r.get("empty_searches"):
                print(
                    f"    {r['empty_searches']:,} searches answered 200 with no hit (every query "
                    "finds materials in the corpus)"
                )
            if "copies_in_log" in r:
                print(f"    (issuance log then held {r['copies_in_log']:,} copies)")
            for line in _error_lines(r.get("server_errors", {"unhandled": 0, "kinds": {}})):
                print(f"    {line}")
        served = {
            key: result["routes"][key].get("statuses", {}).get("200", 0)
            for key in ("reader", "download", "search")
            if key in result["routes"]
        }
        facts = result.get("database", {})
        if facts:
            print(
                f"  database after the load: copies logged {facts['copies_logged']} for "
                f"{served.get('reader', 0)} reader pages + {served.get('download', 0)} downloads "
                f"served; searches counted by the rate limiter {facts['searches_counted']:,} for "
                f"{served.get('search', 0):,} served (every search is counted before it runs)"
            )
    print()
    width = max(len(c["name"]) for c in checks)
    for c in checks:
        print(f"{c['name']:<{width}}  {c['value']!s:>10}  {c['target']:<10} {c['status']}")
    busy = meta["load_before"] > 0.5 * (os.cpu_count() or 1)
    if busy:
        print(
            f"NOTE: load average {meta['load_before']:.1f} at start on {os.cpu_count()} cores: "
            "other processes shared the machine and lower every figure."
        )


# --- profile -------------------------------------------------------------------------------


def profile(args: argparse.Namespace) -> int:
    """``--profile N``: one process, no threads — the app called in-process (httpx2's ASGI
    transport, the endpoints run on the event loop's thread instead of the thread pool) with
    N sequential requests per route: wall time and SQL statements per request, then the same
    under cProfile."""
    import cProfile
    import pstats

    name = args.backends.split(",")[0]
    with tempfile.TemporaryDirectory(prefix="wenxing-bench-web-") as tmp:
        folder = Path(tmp)
        database = sqlite_database(folder) if name == "sqlite" else postgres_database(args.pg)
        with database as url:
            env = server_env(url, folder)
            prepared = prepare(env, args)
            tokens = prepared.pop("tokens")
            print(
                f"{name}: {prepared['imported']} materials, profiling {args.profile} requests "
                "per route in one thread",
                flush=True,
            )
            return _profile_app(env, tokens, args, cProfile, pstats)


def open_app(env: dict[str, str], *, inline: bool = False) -> tuple[Any, Any]:
    """The runtime and the app of a run's environment, in this process. ``inline``: the
    endpoints run on the event loop's thread instead of the thread pool, so that cProfile
    sees them."""
    import fastapi.routing

    from wenxing.config import Settings
    from wenxing.runtime import open_runtime
    from wenxing.web.app import create_app

    if inline:

        async def on_this_thread(func, *a, **kw):
            return func(*a, **kw)

        fastapi.routing.run_in_threadpool = on_this_thread
    settings = Settings(
        database_url=env["WENXING_DATABASE_URL"],
        secret=env["WENXING_SECRET"],
        search_dir=Path(env["WENXING_SEARCH_DIR"]),
    )
    runtime = open_runtime(settings)
    return runtime, create_app(runtime)


def _profile_app(env, tokens, args, cProfile, pstats) -> int:
    import httpx2

    runtime, app = open_app(env, inline=True)
    statements = _watch_statements(runtime.db.engine)

    async def run(route: Route, n: int, offset: int) -> list[float]:
        headers = {"user-agent": "bench/web_load"}
        if route.member:
            headers["authorization"] = f"Bearer {tokens[0]}"
        transport = httpx2.ASGITransport(app=app, client=("127.0.0.1", 50000))
        times = []
        async with httpx2.AsyncClient(
            transport=transport, base_url="http://bench", headers=headers
        ) as client:
            for i in range(n):
                t0 = time.perf_counter()
                response = await client.get(route.path(offset + i))
                times.append(time.perf_counter() - t0)
                if response.status_code != 200:
                    raise RuntimeError(f"{route.key}: {response.status_code} {response.text[:200]}")
        return times

    n = args.profile
    try:
        for route in ROUTES:
            asyncio.run(run(route, 20, 0))  # warm caches (plans, prepared bases, index)
            statements.clear()
            times = asyncio.run(run(route, n, 20))
            sql_seconds = sum(s for _c, s in statements.values())
            print(
                f"\n{route.key}: {1000 * statistics.median(times):.2f} ms median, "
                f"{1000 * sum(times) / n:.2f} ms mean per request (one thread, no concurrency); "
                f"SQL {1000 * sql_seconds / n:.2f} ms per request"
            )
            for sql, (count, seconds) in sorted(statements.items(), key=lambda kv: -kv[1][1]):
                print(f"  {count / n:5.2f}  {1000 * seconds / n:6.3f} ms  {sql}")
        profiler = cProfile.Profile()
        for route in ROUTES:
            profiler.runcall(asyncio.run, run(route, n, 20 + n))
    finally:
        runtime.close()
    OUT.mkdir(parents=True, exist_ok=True)
    profiler.dump_stats(OUT / "web_load_profile.prof")
    stats = pstats.Stats(profiler).strip_dirs()
    stats.sort_stats("cumulative").print_stats(args.top)
    stats.sort_stats("tottime").print_stats(args.top)
    print(f"saved {OUT / 'web_load_profile.prof'}")
    return 0


def _watch_statements(engine) -> dict[str, list]:
    """Statements sent, by their first words: [count, seconds until the driver returned]."""
    from sqlalchemy import event

    seen: dict[str, list] = {}

    @event.listens_for(engine, "before_cursor_execute")
    def _before(_conn, _cursor, statement, _params, context, _many) -> None:
        context._bench_started = time.perf_counter()

    @event.listens_for(engine, "after_cursor_execute")
    def _after(_conn, _cursor, statement, _params, context, _many) -> None:
        entry = seen.setdefault(" ".join(statement.split())[:90], [0, 0.0])
        entry[0] += 1
        entry[1] += time.perf_counter() - context._bench_started

    @event.listens_for(engine, "commit")
    def _commit(_conn) -> None:
        seen.setdefault("COMMIT (count only)", [0, 0.0])[0] += 1

    return seen


# --- main ----------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5 s per route after 2 s warm-up")
    parser.add_argument("--duration", type=float, help="measured seconds per route (15)")
    parser.add_argument("--warmup", type=float, help="warm-up seconds per route (3)")
    parser.add_argument(
        "--concurrency",
        type=int,
        default=16,
        help="keep-alive connections (16: with a p99 target of 100 ms, 48 closed-loop "
        "connections would need 480 requests/s by Little's law)",
    )
    parser.add_argument("--timeout", type=float, default=30.0, help="per request, seconds")
    parser.add_argument("--workers", type=int, default=2, help="`wenxing serve --workers N`")
    parser.add_argument("--corpus", type=int, default=200, help="corpus files to import (at most)")
    parser.add_argument(
        "--members",
        type=int,
        default=1,
        help="signed-in members; connections of the member routes take them round robin",
    )
    parser.add_argument(
        "--cold-plan",
        action="store_true",
        help="do not issue the first copy of material 1 before the load (its marking plan is "
        "then built under load)",
    )
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--only", help="routes to run, e.g. home,search (default all)")
    parser.add_argument("--pg", default=PG_SERVER, help="server URL (a maintenance database)")
    parser.add_argument("--profile", type=int, help="instead: N requests per route, in-process")
    parser.add_argument("--top", type=int, default=30, help="rows of the profile to print")
    args = parser.parse_args(argv)
    args.duration = args.duration or (5.0 if args.quick else 15.0)
    args.warmup = args.warmup if args.warmup is not None else (2.0 if args.quick else 3.0)
    args.only = set(args.only.split(",")) if args.only else None
    if not 1 <= args.concurrency <= 256 or args.duration > 600 or args.members < 1:
        parser.error("--concurrency 1..256, --duration at most 600 s, --members at least 1")
    return args


def _terminated(signum: int, _frame) -> None:
    # SIGTERM ends the benchmark like Ctrl+C: the finally blocks stop the server, drop the
    # PostgreSQL database and remove the temporary folder.
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _terminated)
    if args.profile:
        return profile(args)
    meta = {
        "concurrency": args.concurrency,
        "duration": args.duration,
        "warmup": args.warmup,
        "members": args.members,
        "workers": args.workers,
        "cpus": os.cpu_count(),
        "load_before": os.getloadavg()[0],
        "python": platform.python_version(),
        # Others edit the source while benchmarks run: when the measured code last changed.
        "source_changed": time.strftime(
            "%Y-%m-%d %H:%M:%S",
            time.localtime(max(p.stat().st_mtime for p in (ROOT / "src").rglob("*.py"))),
        ),
        "raised_settings": {"search_per_minute": SEARCH_PER_MINUTE, "plans daily_quota": QUOTA},
    }
    results: dict[str, Any] = {}
    failures: dict[str, str] = {}
    for name in args.backends.split(","):
        with tempfile.TemporaryDirectory(prefix=f"wenxing-bench-web-{name}-") as tmp:
            folder = Path(tmp)
            database = sqlite_database(folder) if name == "sqlite" else postgres_database(args.pg)
            try:
                with database as url:
                    results[name] = bench_backend(name, url, folder, args)
            except Exception as exc:  # reported; the other backend still runs
                failures[name] = f"{type(exc).__name__}: {exc}"
                print(f"{name}: FAILED: {failures[name]}", flush=True)
    meta["load_after"] = os.getloadavg()[0]
    checks = checks_of(results)
    for name, failure in failures.items():
        checks.append(_row(f"{name} run", failure[:80], "completes", "MISS"))
    if checks:
        print_report(results, checks, meta)
    OUT.mkdir(parents=True, exist_ok=True)
    payload = {"meta": meta, "results": results, "failures": failures, "checks": checks}
    (OUT / "web_load.json").write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n")
    print(f"wrote {OUT / 'web_load.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
