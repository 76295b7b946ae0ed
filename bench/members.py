"""Redeeming activation codes under concurrency, and checking entitlement.

For SQLite (a file in a temporary folder) and PostgreSQL (a fresh database, dropped at the
end): `wenxing init`, 200 members and a batch of codes for plan "month" (not timed), then
20 client threads redeem every code once through `redemption.redeem` (members taken round
robin from a shared queue) and the wall time gives redemptions/s. Afterwards every code,
subscription and audit event is checked. Without targets: PostgreSQL again with the
clients spread over 2 processes, and a contended case (all clients redeeming for 2
members). Finally `may_read` is timed in memory over 1,000 account views and 1,000
publication times with the plans parsed once. See bench/README.md for reading the figures.

    .venv/bin/python bench/members.py                 # 4,000 codes, median of 3 runs
    .venv/bin/python bench/members.py --quick         # 1,000 codes, 1 run
    .venv/bin/python bench/members.py --profile 500   # where one redemption's time goes
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import queue
import random
import secrets
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
PG_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"
TARGET_PG_REDEMPTIONS = 200.0
TARGET_CHECKS = 20_000.0
ACTOR = "bench"


# --- databases -----------------------------------------------------------------------------


@contextmanager
def postgres_database(server: str) -> Iterator[str]:
    """A fresh PostgreSQL database for the run, dropped afterwards (also on failure)."""
    import psycopg

    name = f"wenxing_bench_{secrets.token_hex(4)}"
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        base = server.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(server, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def sqlite_database() -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix="wenxing-bench-members-") as folder:
        yield f"sqlite:///{folder}/w.db"


def open_runtime(url: str, clients: int):
    """`wenxing init` on the URL, then a pool large enough for every client thread."""
    from wenxing.config import Settings
    from wenxing.db.engine import Database, make_engine
    from wenxing.runtime import initialise

    runtime, _revision = initialise(Settings(database_url=url, secret="s" * 40))
    runtime.db.dispose()
    engine = make_engine(url, pool_size=clients + 5, max_overflow=5)
    runtime.db = Database(url, engine=engine)
    connections = [engine.connect() for _ in range(clients)]  # warm the pool
    for connection in connections:
        connection.close()
    return runtime


def add_members(runtime, count: int) -> list[int]:
    from wenxing.members.service import add_member

    with runtime.db.transaction() as session:
        return [add_member(session, f"会员{i:04d}").id for i in range(count)]


def make_codes(runtime, plan, count: int, label: str) -> list[str]:
    from wenxing.members import redemption

    with runtime.db.transaction() as session:
        return redemption.generate_batch(session, plan, count, label, "bench", None, actor=ACTOR)


# --- redeeming -----------------------------------------------------------------------------


def _client(db, work: queue.SimpleQueue, plans, start: threading.Barrier, out: dict) -> None:
    from wenxing.db.base import utcnow
    from wenxing.members import redemption

    start.wait()
    while True:
        try:
            code, member_id = work.get_nowait()
        except queue.Empty:
            return
        began = time.perf_counter()
        try:
            redemption.redeem(db, code, member_id, plans, now=utcnow(), actor=ACTOR)
        except Exception as exc:
            cause = getattr(exc, "orig", None) or exc
            out["errors"].append(f"{type(exc).__name__}/{type(cause).__name__}: {cause}")
            continue
        out["latencies"].append(time.perf_counter() - began)


def run_threads(db, assignment: list[tuple[str, int]], plans, clients: int) -> dict[str, Any]:
    """Redeem every (code, member) pair with ``clients`` threads of this process."""
    work: queue.SimpleQueue = queue.SimpleQueue()
    for pair in assignment:
        work.put(pair)
    start = threading.Barrier(clients + 1)
    out: dict[str, list] = {"errors": [], "latencies": []}
    threads = [
        threading.Thread(target=_client, args=(db, work, plans, start, out), daemon=True)
        for _ in range(clients)
    ]
    for thread in threads:
        thread.start()
    cpu0, switches0 = time.process_time(), _context_switches()
    start.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    out["seconds"] = time.perf_counter() - began
    out["cpu_seconds"] = time.process_time() - cpu0
    out["context_switches"] = _context_switches() - switches0
    return out


def _context_switches() -> int:
    """Voluntary and involuntary context switches of this process (all threads) so far."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_nvcsw + usage.ru_nivcsw


def _worker(url: str, assignment: list, plans, clients: int, ready, go, results) -> None:
    """One process of ``--processes``: its own engine and pool, like a `serve` worker."""
    from wenxing.db.engine import Database, make_engine

    engine = make_engine(url, pool_size=clients + 5, max_overflow=5)
    connections = [engine.connect() for _ in range(clients)]
    for connection in connections:
        connection.close()
    ready.put(os.getpid())
    go.wait()
    results.put(run_threads(Database(url, engine=engine), assignment, plans, clients))
    ready.get(timeout=600)  # the parent has read PostgreSQL's CPU time: close the connections
    engine.dispose()


def run_processes(url: str, assignment: list, plans, clients: int, processes: int) -> dict:
    """The clients spread over ``processes`` forked processes; wall time from a common start."""
    import multiprocessing

    context = multiprocessing.get_context("fork")
    ready, results, go = context.Queue(), context.Queue(), context.Event()
    shares = [clients // processes + (k < clients % processes) for k in range(processes)]
    workers = [
        context.Process(
            target=_worker, args=(url, assignment[k::processes], plans, n, ready, go, results)
        )
        for k, n in enumerate(shares)
    ]
    for worker in workers:
        worker.start()
    for _ in workers:
        ready.get(timeout=120)
    server0, began = postgres_cpu_seconds(), time.perf_counter()
    go.set()
    parts = [results.get(timeout=3600) for _ in workers]
    seconds = time.perf_counter() - began
    server = postgres_cpu_seconds() - server0
    for _ in workers:
        ready.put(None)
    for worker in workers:
        worker.join()
    return {
        "postgres_cpu_seconds": server,
        "seconds": seconds,
        "cpu_seconds": sum(p["cpu_seconds"] for p in parts),
        "context_switches": sum(p["context_switches"] for p in parts),
        "latencies": [x for p in parts for x in p["latencies"]],
        "errors": [e for p in parts for e in p["errors"]],
    }


def redeem_all(db, assignment: list, plans, clients: int, processes: int = 1) -> dict[str, Any]:
    """Redeem everything, in this process or spread over several; wall time and figures."""
    server0, machine0 = postgres_cpu_seconds(), machine_cpu_seconds()
    if processes > 1:
        raw = run_processes(db.url, assignment, plans, clients, processes)
    else:
        raw = run_threads(db, assignment, plans, clients)
    server = raw.get("postgres_cpu_seconds", postgres_cpu_seconds() - server0)
    others = machine_cpu_seconds() - machine0 - raw["cpu_seconds"] - server
    latencies, errors, seconds = sorted(raw["latencies"]), raw["errors"], raw["seconds"]
    return {
        "seconds": seconds,
        "redeemed": len(latencies),
        "rate": len(latencies) / seconds,
        "cpu_seconds": raw["cpu_seconds"],
        "context_switches": raw["context_switches"],
        "postgres_cpu_seconds": server,
        "others_cpu_share": min(max(others, 0.0) / (raw["seconds"] * (os.cpu_count() or 1)), 1.0),
        "p50_ms": 1000 * latencies[len(latencies) // 2] if latencies else None,
        "p99_ms": 1000 * latencies[int(len(latencies) * 0.99)] if latencies else None,
        "errors": dict(Counter(e.split(":")[0] for e in errors)),
        "first_error": " | ".join(errors[0].split("\n"))[:300] if errors else None,
    }


def machine_cpu_seconds() -> float:
    """CPU time all processes of the machine have used (every core), from /proc/stat."""
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = map(int, fields[:8])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def postgres_cpu_seconds() -> float:
    """CPU time of every process named postgres on this machine (all databases), from /proc."""
    total, tick = 0, os.sysconf("SC_CLK_TCK")
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        name, _, rest = text.partition(" (")[2].rpartition(") ")
        if name == "postgres":
            fields = rest.split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / tick


# --- checking ------------------------------------------------------------------------------


def verify(db, label: str, assignment: list[tuple[str, int]]) -> dict[str, Any]:
    """Every code of the batch redeemed once, by its member; one period each; stacking sound."""
    from sqlalchemy import func, select

    from wenxing import audit
    from wenxing.members.models import ActivationCode, CodeBatch, Subscription

    wanted = dict(assignment)
    with db.reading() as session:
        rows = session.execute(
            select(ActivationCode.id, ActivationCode.code, ActivationCode.state)
            .add_columns(ActivationCode.redeemed_by)
            .join(CodeBatch, CodeBatch.id == ActivationCode.batch_id)
            .where(CodeBatch.label == label)
        ).all()
        sources = {f"code:{row.id}": wanted[row.code] for row in rows}
        periods = session.execute(
            select(Subscription.source, Subscription.member_id).where(
                Subscription.source.in_(list(sources))
            )
        ).all()
        events = session.scalar(
            select(func.count())
            .select_from(audit.AuditEvent)
            .where(audit.AuditEvent.type == audit.CODE_REDEEM)
        )
        overlaps = stacking_faults(session, set(wanted.values()))
    by_source = Counter(p.source for p in periods)
    return {
        "codes": len(rows),
        "redeemed_by_right_member": sum(
            r.state == "redeemed" and r.redeemed_by == wanted[r.code] for r in rows
        ),
        "periods": len(periods),
        "codes_with_one_period": sum(by_source[s] == 1 for s in sources),
        "periods_of_right_member": sum(sources[p.source] == p.member_id for p in periods),
        "member_counts_match": Counter(m for _, m in periods) == Counter(wanted.values()),
        "redeem_events_total": events,
        "stacking_faults": overlaps,
    }


def stacking_faults(session, member_ids: set[int]) -> int:
    """Periods of a member that do not start exactly where the previous one ends."""
    from sqlalchemy import select

    from wenxing.members.models import Subscription

    rows = session.execute(
        select(Subscription.member_id, Subscription.starts_at, Subscription.ends_at)
        .where(Subscription.member_id.in_(list(member_ids)))
        .order_by(Subscription.member_id, Subscription.starts_at, Subscription.id)
    ).all()
    faults, previous = 0, None
    for row in rows:
        if previous is not None and previous.member_id == row.member_id:
            faults += row.starts_at != previous.ends_at
        previous = row
    return faults


def correct(check: dict[str, Any], expected: int) -> bool:
    return (
        check["codes"] == expected
        and check["redeemed_by_right_member"] == expected
        and check["periods"] == expected
        and check["codes_with_one_period"] == expected
        and check["periods_of_right_member"] == expected
        and check["member_counts_match"]
        and check["stacking_faults"] == 0
    )


# --- one backend ---------------------------------------------------------------------------


def one_run(
    runtime, plan, members: list[int], label: str, count: int, clients: int, processes: int = 1
) -> dict:
    from wenxing.members.subscriptions import plans as plans_of

    codes = make_codes(runtime, plan, count, label)
    random.Random(label).shuffle(codes)
    assignment = [(code, members[i % len(members)]) for i, code in enumerate(codes)]
    plans = plans_of(runtime.publisher_settings())
    events_before = _redeem_events(runtime.db)
    result = redeem_all(runtime.db, assignment, plans, clients, processes)
    check = verify(runtime.db, label, assignment)
    check["redeem_events"] = check.pop("redeem_events_total") - events_before
    result["check"] = check
    result["correct"] = correct(check, count) and check["redeem_events"] == count
    return result


def _redeem_events(db) -> int:
    from sqlalchemy import func, select

    from wenxing import audit

    with db.reading() as session:
        return session.scalar(
            select(func.count())
            .select_from(audit.AuditEvent)
            .where(audit.AuditEvent.type == audit.CODE_REDEEM)
        )


def bench_backend(name: str, url: str, args: argparse.Namespace) -> dict[str, Any]:
    from wenxing.members.subscriptions import plans as plans_of

    runtime = open_runtime(url, args.clients)
    try:
        plan = plans_of(runtime.publisher_settings())["month"]
        members = add_members(runtime, args.members)
        runs = []
        for number in range(args.runs):
            label = f"bench-{name}-{number}"
            runs.append(one_run(runtime, plan, members, label, args.codes, args.clients))
            print(f"  {name} run {number + 1}: {_run_line(runs[-1])}", flush=True)
        spread = []
        if name == "postgresql" and args.processes > 1:
            for number in range(args.runs):
                label = f"bench-{name}-spread-{number}"
                spread.append(
                    one_run(runtime, plan, members, label, args.codes, args.clients, args.processes)
                )
                print(
                    f"  {name} {args.processes} processes, run {number + 1}: "
                    f"{_run_line(spread[-1])}",
                    flush=True,
                )
        contended = None
        if args.hot:
            hot = members[: args.hot]
            contended = one_run(
                runtime, plan, hot, f"bench-{name}-hot", args.hot_codes, args.clients
            )
            print(f"  {name} contended ({args.hot} members): {_run_line(contended)}", flush=True)
    finally:
        runtime.close()
    rates = [r["rate"] for r in runs]
    return {
        "backend": name,
        "runs": runs,
        "median_rate": statistics.median(rates),
        "correct": all(r["correct"] for r in runs),
        "errors": sum(sum(r["errors"].values()) for r in runs),
        "contended": contended,
        "spread_runs": spread,
        "spread_median_rate": statistics.median([r["rate"] for r in spread]) if spread else None,
        "spread_correct": all(r["correct"] for r in spread),
    }


def _run_line(run: dict[str, Any]) -> str:
    errors = sum(run["errors"].values())
    p50 = f"{run['p50_ms']:.1f}" if run["p50_ms"] is not None else "—"
    p99 = f"{run['p99_ms']:.1f}" if run["p99_ms"] is not None else "—"
    done = max(run["redeemed"], 1)
    return (
        f"{run['redeemed']} redeemed in {run['seconds']:.2f} s = {run['rate']:.0f}/s, "
        f"p50 {p50} ms, p99 {p99} ms, errors {errors}, "
        f"CPU ms/redemption: bench {1000 * run['cpu_seconds'] / done:.2f}, "
        f"postgres {1000 * run['postgres_cpu_seconds'] / done:.2f}; "
        f"context switches/redemption {run['context_switches'] / done:.0f}; "
        f"other processes used {100 * run['others_cpu_share']:.0f}% of the machine; "
        f"{'PASS' if run['correct'] else 'MISS'}"
    )


# --- entitlement ---------------------------------------------------------------------------


def _periods(rng: random.Random, now: datetime, kind: str, plans) -> tuple:
    from wenxing.members.entitlement import Period, add_months

    names = list(plans)
    if kind == "none":
        return ()
    if kind == "expired":
        start, count = now - timedelta(days=rng.randint(400, 1500)), rng.randint(1, 3)
    elif kind == "active":
        start, count = now - timedelta(days=rng.randint(0, 25)), 1
    else:  # stacked: history, then a chain of back-to-back periods around now
        start, count = now - timedelta(days=rng.randint(30, 700)), rng.randint(2, 6)
    periods = []
    for _ in range(count):
        plan = plans[rng.choice(names)] if kind != "active" else plans["month"]
        end = add_months(start, plan.months)
        periods.append(Period(plan.code, start, end))
        start = end
    if kind == "stacked" and periods[-1].ends_at <= now:
        plan = plans["year"]
        periods.append(Period(plan.code, now - timedelta(days=3), add_months(now, 11)))
    rng.shuffle(periods)
    return tuple(periods)


def account_views(count: int, now: datetime, plans, seed: int) -> list:
    """A mix like a real roster: free users, members (single, stacked), lapsed, staff."""
    from wenxing.members.entitlement import AccountView

    rng = random.Random(seed)
    mix = [
        ("user", False, "none", 20),
        ("user", False, "expired", 20),
        ("user", False, "active", 25),
        ("user", False, "stacked", 23),
        ("user", True, "active", 5),
        ("editor", False, "none", 5),
        ("admin", False, "expired", 2),
    ]
    weights = [m[3] for m in mix]
    views = []
    for _ in range(count):
        role, suspended, kind, _w = rng.choices(mix, weights)[0]
        views.append(AccountView(role, suspended, _periods(rng, now, kind, plans)))
    return views


def _time_checks(views, times, now, plans_for, calls: int) -> float:
    from wenxing.members.entitlement import may_read

    nv, nt = len(views), len(times)
    began = time.perf_counter()
    for i in range(calls):
        may_read(views[i % nv], times[(i * 7919) % nt], now, plans_for())
    return calls / (time.perf_counter() - began)


def bench_entitlement(args: argparse.Namespace) -> dict[str, Any]:
    from wenxing.config import PublisherSettings
    from wenxing.members.entitlement import may_read
    from wenxing.members.subscriptions import plans as plans_of

    publisher = PublisherSettings.defaults()
    plans = plans_of(publisher)
    now = datetime(2025, 6, 1, 8, 0)
    views = account_views(1000, now, plans, args.seed)
    rng = random.Random(args.seed + 1)
    times = [now - timedelta(seconds=rng.randint(0, 5 * 365 * 86400)) for _ in range(1000)]
    reasons = Counter(
        may_read(views[i % 1000], times[(i * 7919) % 1000], now, plans).reason
        for i in range(10_000)
    )
    rates = [_time_checks(views, times, now, lambda: plans, args.checks) for _ in range(3)]
    uncached = _time_checks(views, times, now, lambda: plans_of(publisher), args.checks // 10)
    return {
        "calls": args.checks,
        "rates": rates,
        "rate": statistics.median(rates),
        "rate_plans_parsed_per_call": uncached,
        "reasons_per_10000": dict(reasons.most_common()),
    }


# --- report --------------------------------------------------------------------------------


def _row(name: str, value: Any, target: str, status: str) -> dict[str, Any]:
    return {"name": name, "value": value, "target": target, "status": status}


def checks_of(results: dict[str, dict], entitlement: dict) -> list[dict[str, Any]]:
    rows = []
    for name, result in results.items():
        rate, clients = result["median_rate"], result["clients"]
        # The PostgreSQL target is for the deployment it is meant for: several app workers
        # (one per core). A single process's threads share one interpreter lock.
        rows.append(
            _row(
                f"{name} redemptions/s, {clients} clients, 1 process",
                round(rate, 1),
                "no target",
                "—",
            )
        )
        rows.append(
            _row(
                f"{name} correctness (each code once, counts, stacking)",
                f"{result['errors']} errors",
                "all exact",
                _ok(result["correct"] and result["errors"] == 0),
            )
        )
        if result["spread_runs"]:
            spread = result["spread_median_rate"]
            rows.append(
                _row(
                    f"{name} redemptions/s, {clients} clients over {result['processes']} "
                    "worker processes",
                    round(spread, 1),
                    f">= {TARGET_PG_REDEMPTIONS:.0f}/s",
                    _ok(spread >= TARGET_PG_REDEMPTIONS and result["spread_correct"]),
                )
            )
        contended = result["contended"]
        if contended:
            rows.append(
                _row(
                    f"{name} contended, {result['hot']} members: redemptions/s",
                    round(contended["rate"], 1),
                    "no target",
                    "—",
                )
            )
            rows.append(
                _row(
                    f"{name} contended correctness (no target)",
                    f"{sum(contended['errors'].values())} errors",
                    "all exact",
                    _ok(contended["correct"]),
                )
            )
    rate = entitlement["rate"]
    rows.append(
        _row(
            "entitlement checks/s (cached plans)",
            round(rate),
            f">= {TARGET_CHECKS:,.0f}/s",
            _ok(rate >= TARGET_CHECKS),
        )
    )
    return rows


def _ok(passed: bool) -> str:
    return "PASS" if passed else "MISS"


def _print_errors(results: dict) -> None:
    for name, result in results.items():
        runs = [*result["runs"], *result["spread_runs"], result["contended"]]
        labels = [*range(1, len(runs)), "contended"]
        for label, run in zip(labels, runs, strict=True):
            if run is None:
                continue
            if run["first_error"]:
                counts = ", ".join(f"{n} {k}" for k, n in run["errors"].items())
                print(f"  {name} run {label}: {counts}; first: {run['first_error']}")


def _print_cpu(results: dict) -> None:
    """Where the time goes: CPU per redemption in the bench process and in PostgreSQL."""
    for name, result in results.items():
        runs = result["runs"]
        bench = statistics.median(r["cpu_seconds"] / max(r["redeemed"], 1) for r in runs)
        server = statistics.median(r["postgres_cpu_seconds"] / max(r["redeemed"], 1) for r in runs)
        print(
            f"  {name}: CPU per redemption {1000 * bench:.2f} ms in the bench process "
            f"(its threads share one GIL: at most ~{1 / bench:.0f}/s from one process)"
            + (f", {1000 * server:.2f} ms in PostgreSQL" if name == "postgresql" else "")
        )


def print_report(results: dict, entitlement: dict, checks: list, meta: dict) -> None:
    runs = meta["runs"]
    print(
        f"\nRedemptions: {meta['codes']:,} codes per run, {meta['members']} members, "
        f"{meta['clients']} client threads, "
        f"{'median of ' + str(runs) + ' runs' if runs > 1 else '1 run only (not a median)'}; "
        f"contended case: {meta['hot_codes']} codes for {meta['hot']} members"
    )
    _print_errors(results)
    _print_cpu(results)
    print(
        f"Entitlement: {entitlement['calls']:,} calls x3 over 1,000 views x 1,000 times: "
        f"{', '.join(f'{r:,.0f}' for r in entitlement['rates'])}/s; with the plans "
        f"re-parsed on every call (no target): {entitlement['rate_plans_parsed_per_call']:,.0f}/s"
    )
    print(f"  decisions per 10,000: {entitlement['reasons_per_10000']}\n")
    width = max(len(c["name"]) for c in checks)
    for c in checks:
        print(f"{c['name']:<{width}}  {c['value']!s:>10}  {c['target']:<12} {c['status']}")
    if meta["load_before"] > 0.5 * (os.cpu_count() or 1):
        print(
            f"NOTE: load average {meta['load_before']:.1f} at start on {os.cpu_count()} "
            "cores: other processes shared the machine and lower the redemption figures."
        )


# --- profile -------------------------------------------------------------------------------


def _sequential(runtime, plans, members: list[int], codes: list[str]) -> tuple[float, float]:
    from wenxing.db.base import utcnow
    from wenxing.members import redemption

    began, cpu0 = time.perf_counter(), time.process_time()
    for i, code in enumerate(codes):
        member = members[i % len(members)]
        redemption.redeem(runtime.db, code, member, plans, now=utcnow(), actor=ACTOR)
    return time.perf_counter() - began, time.process_time() - cpu0


def profile(args: argparse.Namespace) -> int:
    """``--profile N``: N sequential redemptions timed, then N more under cProfile."""
    import cProfile
    import pstats

    from wenxing.members.subscriptions import plans as plans_of

    name, n = args.backends.split(",")[0], args.profile
    database = sqlite_database() if name == "sqlite" else postgres_database(args.pg)
    with database as url:
        runtime = open_runtime(url, 1)
        try:
            plans = plans_of(runtime.publisher_settings())
            members = add_members(runtime, args.members)
            codes = make_codes(runtime, plans["month"], 2 * n, "bench-profile")
            statements = watch_statements(runtime.db.engine)
            wall, cpu = _sequential(runtime, plans, members, codes[:n])
            timed = {sql: list(entry) for sql, entry in statements.items()}
            profiler = cProfile.Profile()
            profiler.runcall(_sequential, runtime, plans, members, codes[n:])
        finally:
            runtime.close()
    print(
        f"{name}: {n} sequential redemptions (one thread, not profiled): "
        f"{1000 * wall / n:.2f} ms wall, {1000 * cpu / n:.2f} ms CPU of this process each"
    )
    print("statements per redemption, and ms from sending each to its result:")
    for sql, (count, seconds) in sorted(timed.items(), key=lambda kv: -kv[1][1]):
        print(f"  {count / n:5.2f}  {1000 * seconds / n:6.3f} ms  {sql}")
    OUT.mkdir(parents=True, exist_ok=True)
    profiler.dump_stats(OUT / "members_profile.prof")
    stats = pstats.Stats(profiler).strip_dirs()
    stats.sort_stats("cumulative").print_stats(args.top)
    stats.sort_stats("tottime").print_stats(args.top)
    return 0


def watch_statements(engine) -> dict[str, list]:
    """Statements sent, by their first words: [count, seconds until the driver returned]."""
    from sqlalchemy import event

    seen: dict[str, list] = {}

    @event.listens_for(engine, "before_cursor_execute")
    def _before(_conn, _cursor, statement, _params, context, _many) -> None:
        context._bench_started = time.perf_counter()

    @event.listens_for(engine, "after_cursor_execute")
    def _after(_conn, _cursor, statement, _params, context, _many) -> None:
        entry = seen.setdefault(" ".join(statement.split())[:80], [0, 0.0])
        entry[0] += 1
        entry[1] += time.perf_counter() - context._bench_started

    @event.listens_for(engine, "commit")
    def _commit(_conn) -> None:
        seen.setdefault("COMMIT (count only)", [0, 0.0])[0] += 1

    return seen


# --- main ----------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1,000 codes, 1 run")
    parser.add_argument("--codes", type=int, help="codes per run (default 4000; quick 1000)")
    parser.add_argument("--runs", type=int, help="runs per backend (default 3; quick 1)")
    parser.add_argument("--members", type=int, default=200)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument(
        "--hot", type=int, default=2, help="members in the contended case (0: skip)"
    )
    parser.add_argument("--hot-codes", type=int, help="codes in the contended case")
    parser.add_argument(
        "--processes",
        type=int,
        default=2,
        help="PostgreSQL again with the clients spread over N processes (no target; 1: skip)",
    )
    parser.add_argument("--checks", type=int, default=200_000, help="may_read calls per timing")
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--pg", default=PG_SERVER, help="server URL (a maintenance database)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--profile", type=int, help="instead: cProfile N redemptions")
    parser.add_argument("--top", type=int, default=25, help="rows of the profile to print")
    args = parser.parse_args(argv)
    args.codes = args.codes or (1000 if args.quick else 4000)
    args.runs = args.runs or (1 if args.quick else 3)
    args.hot_codes = args.hot_codes or (40 if args.quick else 100)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.profile:
        return profile(args)
    meta = {
        "codes": args.codes,
        "members": args.members,
        "clients": args.clients,
        "runs": args.runs,
        "hot": args.hot,
        "hot_codes": args.hot_codes,
        "processes": args.processes,
        "load_before": os.getloadavg()[0],
        "python": platform.python_version(),
    }
    results = {}
    for name in args.backends.split(","):
        print(f"{name}:", flush=True)
        database = sqlite_database() if name == "sqlite" else postgres_database(args.pg)
        with database as url:
            results[name] = bench_backend(name, url, args)
            results[name].update(clients=args.clients, hot=args.hot, processes=args.processes)
    print("entitlement:", flush=True)
    entitlement = bench_entitlement(args)
    meta["load_after"] = os.getloadavg()[0]
    checks = checks_of(results, entitlement)
    print_report(results, entitlement, checks, meta)
    OUT.mkdir(parents=True, exist_ok=True)
    payload = {"meta": meta, "redemption": results, "entitlement": entitlement, "checks": checks}
    (OUT / "members.json").write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n")
    print(f"wrote {OUT / 'members.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
