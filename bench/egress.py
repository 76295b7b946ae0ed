"""Egress: replays issue 17's attacks and prints what they recover beside the targets.

* snippet chaining: search a word of the preview, then the quoted last 12 characters of
  the newest snippet, again and again, stitching every snippet of the target material;
  by one visitor address, by 1 free account and by 15 free accounts in turn, and by a
  member (whose stitched text must trace back to them with `wenxing trace`);
* the public outline: its longest item heading, and how much of a work report
  (`$WENXING_CORPUS/gwr_district_hailar/gwr_hailar_2012.txt`) its item nodes carry;
* parallel bursts at the limits: 50 sign-ups from one address and 50 downloads of one
  member at once against `wenxing serve` (SQLite with 1 worker, PostgreSQL with 2).

    .venv/bin/python bench/egress.py                  # both databases (PostgreSQL: a
                                                      # throwaway server, tests/postgres.py)
    .venv/bin/python bench/egress.py --backends sqlite

Loopback only, bounded loops. Exit code 0 whether targets pass or miss.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from http.cookiejar import CookieJar
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))

from bench.ready import wait_every_worker  # noqa: E402

PREVIEW = 300
SEED = "全区"  # a word of the sample's preview
TAIL = 12
MEMBER_SEEDS = [
    "改革",
    "项目",
    "工业",
    "乡村",
    "生态",
    "城市",
    "人才",
    "服务",
    "安全",
    "干部",
    "企业",
    "民生",
]
CORPUS = Path(os.environ.get("WENXING_CORPUS", ROOT.parent / "shared" / "corpus"))
WORK_REPORT = CORPUS / "gwr_district_hailar" / "gwr_hailar_2012.txt"  # its items: 14 % of it


def strip_invisible(text: str) -> str:
    from wenxing.fingerprint import strip_marks

    return strip_marks(text)


def chain(search: Callable[[str], list[str]], seed: str, rounds: int) -> list[str]:
    """The chaining attack: every snippet the searches gave, in order (bounded by ``rounds``)."""
    seen: list[str] = []
    query = seed
    for _ in range(rounds):
        found = [s for s in search(query) if s and s not in seen]
        if not found:
            break
        seen.extend(found)
        tail = strip_invisible(found[-1]).rstrip("…")[-TAIL:]
        if len(tail) < TAIL or '"' in tail:
            break
        query = f'"{tail}"'
    return seen


def recovered(body: str, texts: list[str], public: list[str], *, least: int = 8) -> int:
    """Characters of ``body`` beyond the preview and the public headings that the texts
    hold (runs of at least ``least`` characters found in the body)."""
    covered = bytearray(len(body))
    for text in texts:
        plain = strip_invisible(text).replace("…", "\n")
        for piece in plain.split("\n"):
            _cover(body, piece, covered, least)
    allowed = bytearray(len(body))
    allowed[:PREVIEW] = b"\x01" * min(PREVIEW, len(body))
    for heading in public:
        _cover(body, heading, allowed, 1, every=True)
    return sum(1 for c, a in zip(covered, allowed, strict=True) if c and not a)


def _cover(body: str, piece: str, marks: bytearray, least: int, *, every: bool = False) -> None:
    """Mark everywhere the longest runs of ``piece`` occur in ``body`` (greedy, left to
    right; ``every``: the longest run from every position, for what is allowed)."""
    at = 0
    while at + least <= len(piece):
        length = least
        found = body.find(piece[at : at + length])
        if found < 0:
            at += 1
            continue
        while at + length < len(piece):
            longer = body.find(piece[at : at + length + 1])
            if longer < 0:
                break
            found, length = longer, length + 1
        run = piece[at : at + length]
        while found >= 0:  # every place the run occurs: the text is known wherever it stands
            marks[found : found + length] = b"\x01" * length
            found = body.find(run, found + 1)
        at += 1 if every else length


def public_headings(outline: list[dict]) -> list[str]:
    out = []
    for node in outline:
        if node.get("heading"):
            out += [node["heading"], f"{node.get('marker') or ''}{node['heading']}"]
        elif node.get("marker"):
            out.append(node["marker"])
        out.extend(public_headings(node.get("children") or []))
    return out


def outline_share(body: str, outline: list[dict]) -> float:
    """Share of the body's characters beyond the preview that the public outline's item
    nodes (一是…) carry (the issue measured 18 % of a work report with the running
    sentences in them; a run-in heading of at most 16 characters is all an item shows now)."""
    covered = bytearray(len(body))

    def items(nodes: list[dict]) -> None:
        for node in nodes:
            if node.get("type") == "item" and node.get("heading"):
                _cover(body, node["heading"], covered, 4)
            items(node.get("children") or [])

    items(outline)
    return sum(covered[PREVIEW:]) / max(1, len(body) - PREVIEW)


def work_report_outline() -> tuple[float, float] | None:
    """Share of a work report's characters its item nodes showed before issue 17 (60
    characters of running text each) and show now (public run-in headings)."""
    if not WORK_REPORT.exists():
        return None
    from wenxing.config import DEFAULT_MASTHEAD
    from wenxing.materials.cleaning import Cleaner
    from wenxing.materials.outline import parse, public_heading

    text = WORK_REPORT.read_text(encoding="utf-8", errors="replace")
    before = after = 0

    def walk(nodes) -> None:
        nonlocal before, after
        for node in nodes:
            found = node.to_dict()
            if found["type"] == "item":
                before += len(found["heading"][:60])
                after += len(public_heading(found))
            walk(node.children)

    walk(parse(Cleaner(DEFAULT_MASTHEAD).clean(text)).outline)
    return before / len(text), after / len(text)


def longest_item_heading(outline: list[dict]) -> int:
    longest = 0
    for node in outline:
        if node.get("type") == "item":
            longest = max(longest, len(node.get("heading") or ""))
        longest = max(longest, longest_item_heading(node.get("children") or []))
    return longest


# --- the live server -------------------------------------------------------------------


class Browser:
    """A cookie-keeping client of one server (loopback)."""

    def __init__(self, base: str, ip_note: str = ""):
        self.base = base
        self.jar = CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def cookie(self, name: str) -> str:
        return next((c.value for c in self.jar if c.name == name), "")

    def get(self, path: str, headers: dict | None = None) -> tuple[int, bytes, dict]:
        request = urllib.request.Request(self.base + path, headers=headers or {})
        try:
            with self.opener.open(request, timeout=60) as r:
                return r.status, r.read(), dict(r.headers)
        except urllib.error.HTTPError as e:
            return e.code, e.read(), dict(e.headers)

    def post(self, path: str, data: dict, headers: dict | None = None) -> tuple[int, bytes]:
        body = urllib.parse.urlencode(data).encode()
        request = urllib.request.Request(self.base + path, data=body, headers=headers or {})
        try:
            with self.opener.open(request, timeout=60) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.read()

    def search(self, material: int) -> Callable[[str], list[str]]:
        def run(query: str) -> list[str]:
            status, data, _h = self.get("/api/v1/search?q=" + urllib.parse.quote(query))
            if status != 200:
                return []
            hits = json.loads(data)["hits"]
            return [h["snippet"] for h in hits if h["material"] == material]

        return run

    def sign_up(self, username: str, password: str) -> int:
        self.get("/signup")
        status, _b = self.post(
            "/signup",
            {
                "name": "测试",
                "username": username,
                "password": password,
                "password_again": password,
                "agree": "1",
                "csrf_token": self.cookie("wx_csrf"),
                "next": "/",
            },
        )
        return status


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def serve(
    database_url: str, workers: int, folder: Path, secret: str | None = None
) -> tuple[subprocess.Popen, str]:
    """`wenxing serve` on a free loopback port, once it answers: (the process, its URL)."""
    port = _free_port()
    env = {
        **os.environ,
        "WENXING_DATABASE_URL": database_url,
        "WENXING_SECRET": secret or SECRET,
        "WENXING_SEARCH_DIR": str(folder / "search"),
        "WENXING_PASSWORD_COST": "test",
    }
    wenxing = Path(sys.executable).with_name("wenxing")
    folder.mkdir(parents=True, exist_ok=True)
    log = (folder / "server.log").open("ab")  # the request log, for a look after a MISS
    server = subprocess.Popen(
        [str(wenxing), "serve", "--workers", str(workers), "--port", str(port)],
        env=env,
        stdout=log,
        stderr=log,  # never a pipe nobody reads: a full pipe stalls the server's log writes
    )
    base = f"http://127.0.0.1:{port}"
    log.close()  # the server has its own descriptor
    try:  # every worker ready, not just the first to answer (bench/ready.py)
        wait_every_worker(base, server.pid, workers, 180, alive=lambda: server.poll() is None)
    except RuntimeError as problem:
        server.kill()
        tail = (folder / "server.log").read_text(errors="replace")[-1500:]
        raise RuntimeError(f"server did not start ({problem}): {tail}") from None
    return server, base


SECRET = "bench-secret-" + "0123456789abcdef" * 3
PASSWORD = "correct horse 42"


def wenxing_cli(database_url: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "WENXING_DATABASE_URL": database_url, "WENXING_SECRET": SECRET}
    wenxing = Path(sys.executable).with_name("wenxing")
    with tempfile.TemporaryDirectory() as folder:  # `codes generate` writes its CSV here
        return subprocess.run(
            [str(wenxing), *args], env=env, capture_output=True, text=True, cwd=folder
        )


def prepare(database_url: str) -> None:
    from tests.helpers import SAMPLE

    for args in (
        ("init",),
        ("import", str(SAMPLE), "--publish", "--json"),
        ("members", "add", "会员甲", "--json"),
    ):
        done = wenxing_cli(database_url, *args)
        if done.returncode != 0:
            raise RuntimeError(done.stderr)


def in_parallel(count: int, work: Callable[[int], object]) -> list:
    barrier = threading.Barrier(count)
    results: list = [None] * count

    def run(n: int) -> None:
        barrier.wait()
        try:
            results[n] = work(n)
        except Exception as exc:  # counted as a failure
            results[n] = exc

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def run_backend(
    name: str, database_url: str, workers: int, folder: Path, rows: list[tuple]
) -> None:
    """The attacks against one database, their figures appended to ``rows`` as they come."""
    prepare(database_url)
    server, base = serve(database_url, workers, folder)
    try:
        visitor = Browser(base)
        _status, data, _h = visitor.get("/api/v1/materials/1")
        public = json.loads(data)
        from wenxing.db.engine import Database
        from wenxing.materials.catalog import material_document

        db = Database(database_url)
        with db.reading() as session:
            body = material_document(session, 1)["body"]
        db.dispose()
        headings = public_headings(public["outline"])
        longest = longest_item_heading(public["outline"])
        rows.append(
            (name, "outline: longest public item heading (chars)", longest, "≤ 16", longest <= 16)
        )
        if name == "sqlite":  # the outline rule needs no database: measured once
            report = work_report_outline()
            if report is not None:
                before, after = report
                rows.append(
                    (
                        "-",
                        f"outline of a work report: body in item nodes (was {before:.1%})",
                        f"{after:.1%}",
                        "≤ 3%",
                        after <= 0.03,
                    )
                )

        texts = chain(visitor.search(1), SEED, 40)
        got = recovered(body, texts, headings)
        rows.append(
            (
                name,
                "chain, 1 address, no account: chars beyond preview+headings",
                got,
                "0",
                got == 0,
            )
        )

        # 50 sign-ups at once from one address: exactly 5 accounts.
        started = time.perf_counter()
        outcomes = in_parallel(50, lambda n: Browser(base).sign_up(f"burst{n:02d}", PASSWORD))
        made = sum(1 for o in outcomes if o == 200)  # the redirect home, followed
        others = sorted({str(o)[:60] for o in outcomes if o not in (200, 429)})
        if others:  # why a sign-up neither succeeded nor was refused (shown beside a MISS)
            print(f"{name}: sign-up burst answers besides 200 and 429: {others}", file=sys.stderr)
        rows.append(
            (name, f"sign-up burst of 50 ({workers} workers): accounts made", made, "5", made == 5)
        )
        del started

        # 1 and 15 free accounts chaining (accounts made by the CLI: the burst used the
        # address's sign-ups, as the attacker's would).
        for accounts in (1, 15):
            texts = []
            for n in range(accounts):
                user = f"free{accounts}x{n:02d}"
                browser = Browser(base)
                if browser_sign_up_cli(database_url, user) and signin(browser, user):
                    texts += chain(browser.search(1), SEED, 40 // accounts + 2)
            got = recovered(body, texts, headings)
            rows.append(
                (
                    name,
                    f"chain, {accounts} free accounts: chars beyond preview+headings",
                    got,
                    "0",
                    got == 0,
                )
            )

        # A member chaining: every snippet carries their marks and traces back to them.
        number = member_account(database_url, "memberjia")
        member = Browser(base)
        signin(member, "memberjia")
        texts = []
        for seed in MEMBER_SEEDS:  # marked tails rarely chain far: a chain from each seed
            texts += [t for t in chain(member.search(1), seed, 4) if t not in texts]
        evidence = folder / "stitched.txt"
        evidence.write_text("\n".join(texts), encoding="utf-8")
        traced = wenxing_cli(database_url, "trace", str(evidence), "--json")
        accused = [a["member"] for a in json.loads(traced.stdout or "{}").get("accused", [])]
        got = len(strip_invisible("".join(texts)))
        rows.append(
            (
                name,
                f"member chain: {got} chars stitched, traced to the member",
                accused == [number],
                "True",
                accused == [number],
            )
        )

        # 50 downloads at once by one member: exactly the day's 20.
        outcomes = in_parallel(50, lambda n: member.get("/materials/1/download/txt")[0])
        issued = sum(1 for o in outcomes if o == 200)
        rows.append(
            (
                name,
                f"download burst of 50 ({workers} workers): copies issued",
                issued,
                "20",
                issued == 20,
            )
        )
        # A page elsewhere linking to a download: a confirmation page, no copy.
        _status, _d, headers = member.get(
            "/materials/1/download/txt", {"Sec-Fetch-Site": "cross-site"}
        )
        refused = "X-Wenxing-Copy" not in headers
        rows.append(
            (name, "cross-site link to a download issues no copy", refused, "True", refused)
        )

        # 50 wrong passwords at once from one address: exactly 10 tried.
        guesser = Browser(base)
        guesser.get("/signin")
        token = guesser.cookie("wx_csrf")
        outcomes = in_parallel(
            50,
            lambda n: guesser.post(
                "/signin",
                {"identifier": f"nobody{n}", "password": "x" * 8, "csrf_token": token, "next": "/"},
            )[0],
        )
        tried = sum(1 for o in outcomes if o == 400)
        rows.append(
            (
                name,
                f"sign-in failure burst of 50 ({workers} workers): tried",
                tried,
                "10",
                tried == 10,
            )
        )
    finally:
        server.terminate()
        try:
            server.wait(timeout=40)
        except subprocess.TimeoutExpired:
            server.kill()


def browser_sign_up_cli(database_url: str, user: str) -> bool:
    """A free account with a password, made as the publisher would (no address limit)."""
    from wenxing.db.engine import Database
    from wenxing.members import accounts

    db = Database(database_url)
    try:
        with db.transaction() as session:
            accounts.sign_up(session, name=user, password=PASSWORD, username=f"u{user}")
    except Exception:
        return False
    finally:
        db.dispose()
    return True


def member_account(database_url: str, username: str) -> str:
    """A member with a month's plan (a code redeemed through the CLI) and a password."""
    from wenxing.db.engine import Database
    from wenxing.members import accounts

    db = Database(database_url)
    with db.transaction() as session:
        member = accounts.sign_up(session, name="会员", password=PASSWORD, username=f"u{username}")
        session.flush()
        member_id, number = member.id, member.number
    db.dispose()
    code = json.loads(
        wenxing_cli(
            database_url,
            "codes",
            "generate",
            "--plan",
            "month",
            "--count",
            "1",
            "--batch",
            "bench",
            "--json",
        ).stdout
    )["codes"][0]
    wenxing_cli(database_url, "codes", "redeem", code, "--member", str(member_id), "--json")
    return number


def signin(browser: Browser, user: str) -> bool:
    browser.get("/signin")
    status, _b = browser.post(
        "/signin",
        {
            "identifier": f"u{user}",
            "password": PASSWORD,
            "csrf_token": browser.cookie("wx_csrf"),
            "next": "/",
        },
    )
    return status in (200, 303)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", default="sqlite,postgresql")
    args = parser.parse_args()
    os.environ.setdefault("WENXING_PASSWORD_COST", "test")
    rows: list[tuple] = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for backend in args.backends.split(","):
            try:
                if backend == "sqlite":
                    url = f"sqlite:///{folder}/egress.db"
                    run_backend("sqlite", url, 1, folder / "s", rows)
                elif backend == "postgresql":
                    from tests import postgres

                    server = postgres.start_for_run()
                    try:
                        url = postgres_database(server)
                        run_backend("postgresql", url, 2, folder / "p", rows)
                    finally:
                        server.stop()
            except Exception as exc:  # reported as a MISS; the other backend still runs
                rows.append((backend, f"run failed: {str(exc)[:200]}", "-", "-", False))
    print(f"{'db':<11} {'figure':<62} {'value':>8} {'target':>8}")
    for db, figure, value, target, ok in rows:
        print(f"{db:<11} {figure:<62} {value!s:>8} {target:>8}  {'PASS' if ok else 'MISS'}")


def postgres_database(server) -> str:
    import psycopg

    with psycopg.connect(server.url, autocommit=True) as conn:
        conn.execute("CREATE DATABASE wenxing_egress")
    return server.url.rpartition("/")[0] + "/wenxing_egress"


if __name__ == "__main__":
    main()
