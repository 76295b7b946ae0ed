"""Identifying the material behind an excerpt: latency and accuracy as the library grows.

Builds a SQLite library of N generated materials (default 100,000 of about 6,000
characters, sentences drawn from the public corpus), indexes them as import does (winnowed
10-character grams), then traces excerpts of 100 characters, some with 1% typos, and
measures how long identification takes (index lookup plus alignment of the best
candidates) and how often it names the right material.

    .venv/bin/python bench/identify.py            # 100,000 materials (about 10 minutes)
    .venv/bin/python bench/identify.py --quick    # 10,000 materials
"""

from __future__ import annotations

import argparse
import hashlib
import json
import multiprocessing
import os
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORPUS = Path(os.environ.get("WENXING_CORPUS") or ROOT.parent / "shared" / "corpus")
OUT = ROOT / "bench" / "out"
TARGET_MS = 100.0
TARGET_ACCURACY = 0.99


def sentence_pool() -> list[str]:
    """Clauses of the corpus: recombined, they make materials that share no long passage."""
    sentences = []
    for path in sorted(CORPUS.glob("*/*.txt")):
        if path.parent.name == "raw_gbk":
            continue
        text = path.read_text("utf-8").replace("\n", "")
        for clause in text.replace("。", "，").replace("；", "，").split("，"):
            if 6 <= len(clause) <= 40:
                sentences.append(clause)
    if not sentences:
        sys.exit("the shared corpus is needed beside the repository to generate materials")
    return sentences


def material_text(pool: list[str], index: int, chars: int) -> str:
    rng = random.Random(index * 7919 + 17)
    parts, total = [], 0
    while total < chars:
        clause = pool[rng.randrange(len(pool))]
        parts.append(clause + ("。" if rng.random() < 0.3 else "，"))
        total += len(clause) + 1
        if rng.random() < 0.05:
            parts.append("\n")
    return "".join(parts)


def _index_chunk(args: tuple[int, int, int]) -> list[tuple[int, str, list[int]]]:
    from wenxing.materials.identify import winnow

    start, stop, chars = args
    pool = _POOL
    return [
        (i, text, winnow(text).tolist())
        for i in range(start, stop)
        for text in [material_text(pool, i, chars)]
    ]


_POOL: list[str] = []


def build_library(db_path: Path, count: int, chars: int) -> float:
    """Create the schema with `wenxing init`, then bulk-load materials and their grams."""
    from wenxing.config import Settings
    from wenxing.runtime import initialise

    runtime, _ = initialise(Settings(database_url=f"sqlite:///{db_path}", secret="b" * 40))
    runtime.close()
    started = time.perf_counter()
    connection = sqlite3.connect(db_path)
    connection.execute("PRAGMA synchronous=OFF")
    connection.execute("DROP INDEX ix_material_grams_value")
    chunks = [(s, min(s + 500, count), chars) for s in range(0, count, 500)]
    with multiprocessing.get_context("fork").Pool(2) as pool:
        for done, rows in enumerate(pool.imap(_index_chunk, chunks), start=1):
            _insert(connection, rows)
            if done % 20 == 0:
                print(f"  indexed {done * 500:,} of {count:,} materials", file=sys.stderr)
    connection.execute("CREATE INDEX ix_material_grams_value ON material_grams (value)")
    connection.commit()
    connection.close()
    return time.perf_counter() - started


def _insert(connection: sqlite3.Connection, rows: list[tuple[int, str, list[int]]]) -> None:
    now = "2026-01-01 00:00:00"
    connection.executemany(
        "INSERT INTO materials (id, title, kind, status, current_version, created_at, "
        "updated_at) VALUES (?, ?, '讲话', 'published', 1, ?, ?)",
        [(i + 1, f"材料{i + 1}", now, now) for i, _t, _g in rows],
    )
    connection.executemany(
        "INSERT INTO material_versions (id, material_id, number, title, kind, source_name, "
        "source_format, content_hash, body_hash, body, chars, outline, keywords, minhash, "
        "created_at) VALUES (?, ?, 1, ?, '讲话', 'g.txt', 'txt', ?, ?, ?, ?, '[]', '[]', x'', ?)",
        [
            (
                i + 1,
                i + 1,
                f"材料{i + 1}",
                hashlib.sha256(t.encode()).hexdigest(),
                hashlib.sha256(t.encode()).hexdigest(),
                t,
                len(t),
                now,
            )
            for i, t, _g in rows
        ],
    )
    connection.executemany(
        "INSERT OR IGNORE INTO material_grams (version_id, value) VALUES (?, ?)",
        [(i + 1, g) for i, _t, grams in rows for g in grams],
    )
    connection.commit()


def excerpt(text: str, rng: random.Random, length: int, typos: float) -> str:
    start = rng.randrange(0, len(text) - length)
    chars = list(text[start : start + length])
    for _ in range(int(len(chars) * typos)):
        chars[rng.randrange(len(chars))] = rng.choice("的一是在不了有和人这中大为上个国我以要他")
    return "".join(chars)


def measure(db_path: Path, count: int, chars: int, trials: int) -> dict:
    from wenxing.db.engine import Database
    from wenxing.materials.identify import reduce_text
    from wenxing.reports.trace import identify_version

    rng = random.Random(11)
    db = Database(f"sqlite:///{db_path}")
    results: dict[str, dict] = {}
    for label, typos in (("clean", 0.0), ("1% typos", 0.01)):
        times, right = [], 0
        with db.reading() as session:
            identify_version(session, material_text(_POOL, 0, chars)[:200])  # warm the cache
            for _ in range(trials):
                target = rng.randrange(count)
                text = excerpt(material_text(_POOL, target, chars), rng, 100, typos)
                started = time.perf_counter()
                found = identify_version(session, text)
                times.append((time.perf_counter() - started) * 1000)
                # Right: the material it came from, or one that holds the same passage.
                right += found is not None and (
                    found[0].material_id == target + 1
                    or reduce_text(text) in reduce_text(found[0].body)
                )
        times.sort()
        results[label] = {
            "median_ms": statistics.median(times),
            "p95_ms": times[int(len(times) * 0.95) - 1],
            "accuracy": right / trials,
        }
    db.dispose()
    return results


def report(count: int, build_seconds: float, results: dict, db_bytes: int) -> None:
    print(f"\nIdentification of 100-character excerpts among {count:,} materials")
    print(
        f"library built and indexed in {build_seconds:.0f} s; database {db_bytes / 2**30:.2f} GiB\n"
    )
    for label, r in results.items():
        speed = "PASS" if r["median_ms"] <= TARGET_MS else "MISS"
        right = "PASS" if r["accuracy"] >= TARGET_ACCURACY else "MISS"
        print(
            f"{label:<10} median {r['median_ms']:7.1f} ms (p95 {r['p95_ms']:.1f})  "
            f"target ≤ {TARGET_MS:.0f} ms  {speed}"
        )
        print(
            f"{label:<10} right material {r['accuracy']:7.1%}            "
            f"target ≥ {TARGET_ACCURACY:.0%}     {right}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--materials", type=int, default=100_000)
    parser.add_argument("--chars", type=int, default=6000)
    parser.add_argument("--trials", type=int, default=200)
    parser.add_argument("--quick", action="store_true", help="10,000 materials, 100 trials")
    args = parser.parse_args()
    if args.quick:
        args.materials, args.trials = 10_000, 100
    _POOL.extend(sentence_pool())
    with tempfile.TemporaryDirectory(prefix="wenxing-identify-") as folder:
        db_path = Path(folder) / "library.db"
        build_seconds = build_library(db_path, args.materials, args.chars)
        results = measure(db_path, args.materials, args.chars, args.trials)
        report(args.materials, build_seconds, results, db_path.stat().st_size)
    OUT.mkdir(exist_ok=True)
    (OUT / "identify.json").write_text(
        json.dumps({"materials": args.materials, "chars": args.chars, "results": results}, indent=2)
    )


if __name__ == "__main__":
    main()
