"""The publisher's console at the scale of a real library: every console list page and the
dashboard, p95 against 150 ms, with `wenxing serve --workers 2`.

For each backend — SQLite (a file in a temporary folder) and PostgreSQL (a fresh database
on 127.0.0.1:5432, dropped at the end) — `wenxing init`, then a generated library
(``generate_library``: bulk inserts, not timed) of 100,000 materials and 100,000 members
with their subscriptions, batches of codes on five sales channels, redemptions over the
last fortnight and an admin signed in. Then `wenxing serve --workers 2` runs in its own
process and this process asks each page ``--requests`` times from two client threads
(after a warm-up), measuring the wall time of each request. Prints p50/p95 beside the
target with PASS/MISS and writes `bench/out/console.json`. The machine may be shared: the
figures are the machine's at that moment, say so when quoting them.

    .venv/bin/python bench/console.py                    # 100,000 materials and members
    .venv/bin/python bench/console.py --quick            # 10,000 of each
    .venv/bin/python bench/console.py --backends sqlite  # one backend

Generating a library takes a while (about 20 s on SQLite, a few minutes on PostgreSQL on a
busy machine); ``--cache DIR`` keeps each one and the next run reuses it (migrated to this
wenxing's schema first, then ANALYZE / VACUUM ANALYZE), so a rerun measures at once:

    .venv/bin/python bench/console.py --cache build/bench-cache/console-perf
    .venv/bin/python bench/console.py --cache build/bench-cache/console-perf --fresh  # anew

SQLite's library is ``DIR/sqlite-100000-100000/wenxing.db``; PostgreSQL's is the database
``wenxing_bench_console_100000_100000`` on ``--pg-server`` (left in place; drop it with
``DROP DATABASE`` when done), named with its record in ``DIR/postgresql-100000-100000/``.
A reused library keeps the moment it was made: its redemptions and memberships ending soon
are counted from then, which changes no cost measured here.

``generate_library`` is also the browser test's world (tests/e2e/test_console_browser.py),
at 5,000 materials and 2,000 members.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
OUT = ROOT / "bench" / "out"
PG_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"
TARGET_P95_MS = 150.0
CHANNELS = ("微信小店", "淘宝", "小鹅通", "知识星球", "线下")
CATEGORIES = tuple(f"分类{n:02d}" for n in range(1, 21))
UPLOAD_CATEGORY = "秋季新材料"  # the last upload of the library: drafts, one category
UPLOAD_SIZE = 120
CHUNK = 5000
PAGES = (
    "/console",
    "/console/materials",
    "/console/materials?state=draft",
    "/console/materials?q=%E9%80%9A%E7%9F%A5",
    "/console/materials?category=%E5%88%86%E7%B1%BB07&kind=%E6%96%B9%E6%A1%88",
    "/console/members",
    "/console/members?expiring=7",
    "/console/members?expired=1",
    "/console/members?q=%E4%BC%9A%E5%91%9812345",
    "/console/codes",
    "/console/audit",
)


# --- the generated library -----------------------------------------------------------------


def _chunks(rows: list[dict], size: int = CHUNK):
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def _materials(count: int, now: datetime) -> tuple[list[dict], list[dict]]:
    from wenxing.materials.models import KINDS

    materials, versions = [], []
    for i in range(1, count + 1):
        kind = KINDS[i % len(KINDS)]
        uploaded_last = i > count - UPLOAD_SIZE
        created = now - timedelta(minutes=(count - i) * 7 + 5)
        published = not uploaded_last and i % 10 != 0
        title = (
            f"秋季新材料第{i - (count - UPLOAD_SIZE)}篇：基层治理{kind}"
            if uploaded_last
            else f"{kind}范文第{i}号：关于做好{CATEGORIES[i % 20][2:]}项工作的{kind}"
        )
        materials.append(
            {
                "id": i,
                "title": title,
                "kind": kind,
                "category": UPLOAD_CATEGORY if uploaded_last else CATEGORIES[i % 20],
                "tags": f"标签{i % 50},{'重点' if i % 7 == 0 else '常规'}",
                "status": "published" if published else "draft",
                "published_at": created if published else None,
                "current_version": 1,
                "created_at": created,
                "updated_at": created,
            }
        )
        digest = hashlib.sha256(f"material {i}".encode()).hexdigest()
        versions.append(
            {
                "id": i,
                "material_id": i,
                "number": 1,
                "title": title,
                "kind": kind,
                "source_name": f"材料{i}.docx",
                "source_format": "docx",
                "source_encoding": None,
                "content_hash": digest,
                "body_hash": digest,
                "body": f"{title}。正文。",
                "chars": 800 + i % 4000,
                "outline": "[]",
                "keywords": "[]",
                "minhash": b"",
                "created_at": created,
            }
        )
    return materials, versions


def _members(count: int, first_id: int, now: datetime) -> tuple[list[dict], list[dict]]:
    from wenxing.members.models import FIRST_NUMBER

    members, periods = [], []
    for n in range(count):
        member_id = first_id + n
        created = now - timedelta(minutes=n * 5 % (90 * 24 * 60))
        paid = n % 5 != 4  # a fifth never paid
        ends = now + timedelta(hours=(n * 37) % (400 * 24) - 60 * 24)
        members.append(
            {
                "id": member_id,
                # As the app numbers accounts (members/service.py): after the row id.
                "number": f"WX-{FIRST_NUMBER - 1 + member_id}",
                "name": f"会员{n}",
                "phone": f"139{n:08d}",
                "role": "user",
                "status": "suspended" if n % 97 == 0 else "active",
                "created_at": created,
                # As subscriptions.extend keeps it: the end of the last period.
                "membership_ends": ends if paid else None,
            }
        )
        if paid:
            periods.append(
                {
                    "member_id": member_id,
                    "plan": "year" if n % 3 == 0 else "month",
                    "starts_at": min(created, ends - timedelta(days=30)),
                    "ends_at": ends,
                    "source": "code",
                    "created_at": created,
                }
            )
    return members, periods


def _codes(members: list[dict], now: datetime) -> tuple[list[dict], list[dict]]:
    from wenxing.members.codes import generate_code

    batches, codes = [], []
    per_batch = max(1, len(members) // 10)
    for b in range(10):
        batches.append(
            {
                "id": b + 1,
                "label": f"生成批次{b + 1}",
                "channel": CHANNELS[b % len(CHANNELS)],
                "plan": "month",
                "count": per_batch,
                "created_at": now - timedelta(days=60 - b),
            }
        )
        for k in range(per_batch):
            redeemer = members[(b * per_batch + k) % len(members)] if k % 2 == 0 else None
            codes.append(
                {
                    "code": generate_code(),
                    "batch_id": b + 1,
                    "plan": "month",
                    "state": "redeemed" if redeemer else "issued",
                    "redeemed_by": redeemer["id"] if redeemer else None,
                    "redeemed_at": now - timedelta(minutes=(k * 13) % (14 * 24 * 60))
                    if redeemer
                    else None,
                    "created_at": now - timedelta(days=60 - b),
                }
            )
    return batches, codes


def settle(runtime) -> None:
    """Statistics for the planner, and on PostgreSQL the visibility map its index-only
    scans need (what autovacuum does soon after a bulk load or a migration that rewrote
    rows): without it, counting along an index reads every row."""
    from sqlalchemy import text

    if runtime.db.engine.dialect.name == "postgresql":
        with runtime.db.engine.connect() as connection:
            autocommit = connection.execution_options(isolation_level="AUTOCOMMIT")
            autocommit.execute(text("VACUUM ANALYZE"))
    else:
        with runtime.db.engine.begin() as connection:
            connection.execute(text("ANALYZE"))


def generate_library(runtime, materials: int, members: int, now: datetime) -> dict[str, Any]:
    """``materials`` materials (the last 120 a draft upload in one category, titled
    秋季新材料…), ``members`` members (some suspended, most with a membership ending
    between 60 days ago and 340 days ahead), ten batches of codes on five channels, half
    redeemed over the last fortnight. Bulk inserts; returns what it made."""
    from sqlalchemy import func, insert, select, text

    from wenxing.materials.models import Material, MaterialVersion
    from wenxing.members.models import ActivationCode, CodeBatch, Member, Subscription

    made_materials, made_versions = _materials(materials, now)
    with runtime.db.transaction() as session:
        first_member = (session.scalar(select(func.max(Member.id))) or 0) + 1
    made_members, periods = _members(members, first_member, now)
    batches, codes = _codes(made_members, now)
    with runtime.db.transaction() as session:
        for model, rows in (
            (Material, made_materials),
            (MaterialVersion, made_versions),
            (Member, made_members),
            (Subscription, periods),
            (CodeBatch, batches),
            (ActivationCode, codes),
        ):
            for chunk in _chunks(rows):
                session.execute(insert(model), chunk)
        if runtime.db.engine.dialect.name == "postgresql":
            # Rows inserted with their ids: the sequences go on after them.
            for table in ("materials", "material_versions", "members", "code_batches"):
                session.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"(SELECT MAX(id) FROM {table}))"
                    )
                )
    settle(runtime)
    return {
        "materials": materials,
        "members": members,
        "codes": len(codes),
        "upload": [m["id"] for m in made_materials[-UPLOAD_SIZE:]],
        "last_title": made_materials[-1]["title"],
        "expiring_7": sum(1 for p in periods if now < p["ends_at"] <= now + timedelta(days=7)),
    }


# --- the benchmark -------------------------------------------------------------------------


def _admin_token(runtime, *, signed_up: bool = False) -> str:
    """A session of the publisher's admin ``boss`` (signed up first unless ``signed_up``)."""
    from wenxing.db.base import utcnow
    from wenxing.members import accounts

    if not signed_up:
        with runtime.db.transaction() as session:
            admin = accounts.sign_up(
                session, name="出版方", password="bench-password-1", username="boss"
            )
            admin.role = "admin"
    with runtime.db.transaction() as session:
        signed = accounts.sign_in(
            session,
            "boss",
            "bench-password-1",
            now=utcnow(),
            ip="127.0.0.1",
            user_agent="bench/console",
            max_sessions=10,
            sharing_networks=100,
        )
        return signed.token


def _measure(base: str, token: str, path: str, requests: int) -> dict[str, Any]:
    import httpx2

    from wenxing.web.auth import SESSION_COOKIE

    times: list[float] = []
    errors: list[int] = []
    lock = threading.Lock()

    def client_loop(count: int) -> None:
        with httpx2.Client(
            base_url=base, cookies={SESSION_COOKIE: token}, timeout=30, trust_env=False
        ) as client:
            for _ in range(3):
                with contextlib.suppress(httpx2.HTTPError):
                    client.get(path)  # warm-up (a timeout here shows in the timed ones)
            for _ in range(count):
                began = time.perf_counter()
                try:
                    status = client.get(path).status_code
                except httpx2.HTTPError:
                    status = 0  # no answer within the client's timeout
                took = (time.perf_counter() - began) * 1000
                with lock:
                    times.append(took)
                    if status != 200:
                        errors.append(status)

    threads = [threading.Thread(target=client_loop, args=(requests // 2,)) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    times.sort()
    p95 = times[min(len(times) - 1, int(0.95 * len(times)))] if times else float("nan")
    return {
        "path": path,
        "requests": len(times),
        "p50_ms": round(statistics.median(times), 1) if times else float("nan"),
        "p95_ms": round(p95, 1),
        "errors": errors[:5],
        "pass": p95 <= TARGET_P95_MS and not errors,
    }


def _cached_pg_name(args: argparse.Namespace) -> str:
    return f"wenxing_bench_console_{args.materials}_{args.members}"


@contextlib.contextmanager
def _library_database(backend: str, args: argparse.Namespace, scratch: Path):
    """(url, folder of the search index, the library's record if it was made before, the
    file to write the record of a library made now in: None without ``--cache``).

    Without ``--cache`` a throwaway database (PostgreSQL's dropped at the end). With it,
    the database stays: SQLite in ``CACHE/sqlite-M-N/wenxing.db``, PostgreSQL as the
    database ``wenxing_bench_console_M_N``; ``library.json`` beside it, written once the
    library is complete, marks it reusable."""
    from bench.web_load import postgres_database, sqlite_database

    if args.cache is None:
        database = (
            postgres_database(args.pg_server)
            if backend == "postgresql"
            else sqlite_database(scratch)
        )
        with database as url:
            yield url, scratch / "search", None, None
        return
    folder = Path(args.cache) / f"{backend}-{args.materials}-{args.members}"
    folder.mkdir(parents=True, exist_ok=True)
    record = folder / "library.json"
    fresh = args.fresh or not record.exists()
    if backend == "sqlite":
        fresh = fresh or not (folder / "wenxing.db").exists()
        if fresh:
            for leftover in folder.glob("wenxing.db*"):
                leftover.unlink()
        url = f"sqlite:///{folder}/wenxing.db"
    else:
        import psycopg

        name = _cached_pg_name(args)
        with psycopg.connect(args.pg_server, autocommit=True) as admin:
            known = "SELECT 1 FROM pg_database WHERE datname = %s"
            fresh = fresh or admin.execute(known, (name,)).fetchone() is None
            if fresh:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                admin.execute(f'CREATE DATABASE "{name}"')
        url = f"{args.pg_server.rsplit('/', 1)[0]}/{name}"
    if fresh:
        record.unlink(missing_ok=True)
    made = None if fresh else json.loads(record.read_text())
    yield url, folder / "search", made, record


def run_backend(backend: str, args: argparse.Namespace) -> dict[str, Any]:
    from bench.web_load import Server
    from wenxing.config import Settings
    from wenxing.db.base import utcnow
    from wenxing.runtime import initialise

    with tempfile.TemporaryDirectory(prefix=f"wenxing-bench-console-{backend}-") as scratch:
        folder = Path(scratch)
        with _library_database(backend, args, folder) as (url, search_dir, made, record):
            url = url.replace("postgresql://", "postgresql+psycopg://", 1)
            settings = Settings(database_url=url, secret="b" * 64, search_dir=search_dir)
            began = time.perf_counter()
            runtime, _revision = initialise(settings)  # a cached library: migrated to head
            reused = made is not None
            if reused:
                settle(runtime)  # after what a migration may have rewritten
            else:
                made = generate_library(runtime, args.materials, args.members, utcnow())
                made.pop("upload")
                if record is not None:
                    record.write_text(json.dumps(made, ensure_ascii=False))
            token = _admin_token(runtime, signed_up=reused)
            runtime.close()
            generated = round(time.perf_counter() - began, 1)
            env = {
                **os.environ,
                "WENXING_DATABASE_URL": url,
                "WENXING_SECRET": "b" * 64,
                "WENXING_SEARCH_DIR": str(search_dir),
            }
            server = Server(env, 2, folder / "server.log")
            try:
                server.start()
                pages = [_measure(server.base, token, p, args.requests) for p in PAGES]
            finally:
                stopped = server.stop()
    return {
        "backend": backend,
        "generated_seconds": generated,
        "reused": reused,
        "library": made,
        "pages": pages,
        "server": stopped,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="10,000 materials and members")
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--requests", type=int, default=60, help="requests per page")
    parser.add_argument("--pg-server", default=PG_SERVER)
    parser.add_argument(
        "--cache",
        metavar="DIR",
        help="keep the generated libraries (SQLite files in DIR, PostgreSQL databases named "
        "in DIR) and reuse them on the next run, migrated to this wenxing's schema",
    )
    parser.add_argument("--fresh", action="store_true", help="with --cache: generate anew")
    args = parser.parse_args()
    args.materials = args.members = 10_000 if args.quick else 100_000
    results = []
    for backend in args.backends.split(","):
        result = run_backend(backend.strip(), args)
        results.append(result)
        print(
            f"\n{backend}: {args.materials:,} materials, {args.members:,} members "
            f"({'reused' if result['reused'] else 'generated'} in {result['generated_seconds']} s),"
            " 2 workers"
        )
        print(f"  {'page':<62} {'p50 ms':>8} {'p95 ms':>8} {'target':>8}")
        for page in result["pages"]:
            verdict = "PASS" if page["pass"] else "MISS"
            print(
                f"  {page['path']:<62} {page['p50_ms']:>8} {page['p95_ms']:>8} "
                f"{'≤ ' + str(int(TARGET_P95_MS)):>8} {verdict}"
                + (f" errors {page['errors']}" if page["errors"] else "")
            )
    OUT.mkdir(parents=True, exist_ok=True)
    document = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "target_p95_ms": TARGET_P95_MS,
        "results": results,
    }
    (OUT / "console.json").write_text(
        json.dumps(document, ensure_ascii=False, indent=2, default=str)
    )
    print("\n(the machine is shared with other work: figures are this moment's)")
    return 0 if all(p["pass"] for r in results for p in r["pages"]) else 1


if __name__ == "__main__":
    sys.exit(main())
