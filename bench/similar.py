"""相似段落 at library scale (issue 25): how long a member waits for the sections like one.

Uses bench/search.py's generated library and its cache (``--cache DIR``: the SQLite file
and the node index; built there by bench/search.py when missing, SQLite only), draws
``--sections`` sections at random (a published material, one of its reader anchors), and
times ``search.similar.similar`` on each — the section read from the database, its key
terms weighed against the index, the index query, the anchors of the answers — for a
member who may read everything and for one whose archive window is a year, median of
``--repeat`` runs per section after a warm-up. The web adds the search allowance's count
(one write, measured by bench/search.py's neighbours) and the JSON.

    WENXING_CORPUS=../shared/corpus .venv/bin/python bench/similar.py   # 100,000 materials
    ... bench/similar.py --materials 20000 --cache build/bench-cache/similar/20k
    ... bench/similar.py --index-from build/bench-cache/search5/100k  # borrow a built index

``--index-from DIR``: another cache of the same library (materials, seed and generator)
whose SQLite index is built; its generation is hard-linked into this cache's folder (tantivy
never changes a file it wrote) instead of building one. For bench/compose.py: ``run(...)``
returns the figures, ``measure(node, sections)`` times given sections on any node.

Figures are printed beside the target (p95 ≤ 50 ms) and written to bench/out/similar.json.
The exit code is 0 whether the target passes or misses.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import search_cache  # noqa: E402

OUT = ROOT / "bench" / "out" / "similar.json"
DEFAULT_CACHE = ROOT / "build" / "bench-cache" / "similar"
TARGET_P95_MS = 50.0
SEED = 20261126  # bench/search.py's


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    at = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[at]


def prepare_library(cache: Path, materials: int, *, jobs: int | None = None) -> dict[str, Any]:
    """bench/search.py's library of ``materials`` in ``cache``, its SQLite index built
    (by bench/search.py, SQLite only, when the cache lacks it): its manifest."""
    manifest = search_cache.load(cache, materials, SEED)
    if manifest is None or "sqlite" not in manifest.get("builds", {}):
        from bench import search as bench_search

        argv = ["--materials", str(materials), "--backends", "sqlite", "--cache", str(cache)]
        argv += ["--no-brute", "--queries", "5", "--repeat", "1", "--breakdown", "20"]
        if jobs is not None:
            argv += ["--jobs", str(jobs)]
        bench_search.main(argv)
        manifest = search_cache.load(cache, materials, SEED)
    if manifest is None or "sqlite" not in manifest.get("builds", {}):
        raise RuntimeError(f"bench/search.py left no SQLite index in {cache}")
    return manifest


def borrow(cache: Path, source: Path, materials: int) -> None:
    """``source``'s SQLite index (the same library) linked into ``cache``: the database of
    ``cache`` must be loaded (``prepare_library`` without the build, or bench/search.py
    interrupted after loading)."""
    mine, theirs = (
        search_cache.load(cache, materials, SEED),
        search_cache.load(source, materials, SEED),
    )
    if theirs is None or "sqlite" not in theirs.get("builds", {}):
        raise RuntimeError(f"{source} holds no built SQLite index of this library")
    if mine is None or "sqlite" not in mine.get("loaded", []):
        raise RuntimeError(f"{cache} holds no loaded SQLite database of this library")
    from wenxing.search.sync import database_identity

    runtime = _open(cache)
    try:
        identity = database_identity(runtime.db)
    finally:
        runtime.close()
    search_cache.linked_index(source / "index-sqlite", cache / "index-sqlite", identity)
    search_cache.record(cache, mine, "builds", "sqlite", {"borrowed_from": str(source)})


def _open(cache: Path):
    """The cached SQLite database, migrated to this wenxing's schema first (as
    bench/search.py opens it: a cache may be older than the last migration)."""
    from wenxing.config import Settings
    from wenxing.runtime import initialise

    url = f"sqlite:///{cache / search_cache.SQLITE_FILE}"
    runtime, _revision = initialise(Settings(database_url=url, secret="s" * 40))
    return runtime


def sample_sections(db, count: int, seed: int = SEED) -> list[tuple[int, str]]:
    """``count`` (material id, reader anchor) drawn at random among published materials
    with a table of contents."""
    from sqlalchemy import func, select

    from wenxing.delivery.layout import layout_of
    from wenxing.materials.models import Material, MaterialVersion

    rng = random.Random(seed)
    with db.reading() as session:
        top = session.execute(select(func.max(Material.id))).scalar_one()
    chosen: list[tuple[int, str]] = []
    while len(chosen) < count:
        wanted = rng.sample(range(1, top + 1), min(top, count * 2))
        with db.reading() as session:
            rows = session.execute(
                select(
                    Material.id,
                    MaterialVersion.title,
                    MaterialVersion.body,
                    MaterialVersion.outline,
                )
                .join(MaterialVersion, MaterialVersion.material_id == Material.id)
                .where(Material.id.in_(wanted), Material.status == "published")
            ).all()
        for material_id, title, body, outline in rows:
            toc = layout_of(title, body, outline or "").toc
            if toc and len(chosen) < count:
                chosen.append((material_id, rng.choice(toc).anchor))
    return chosen


def measure(node, sections: list[tuple[int, str]], *, repeat: int = 3, viewer=None) -> dict:
    """Median milliseconds of ``repeat`` calls of ``similar`` per section (after one
    warm-up call each of the first few), their p50/p95/p99, and the answers' sizes."""
    from wenxing.search.similar import Viewer, similar

    viewer = viewer or Viewer(True, None)
    for material_id, anchor in sections[:5]:
        similar(node, material_id, anchor, viewer)
    per_section, cpu, sizes, notices = [], [], [], 0
    for material_id, anchor in sections:
        times, spent = [], []
        for _ in range(repeat):
            cpu0, started = time.process_time(), time.perf_counter()
            answer = similar(node, material_id, anchor, viewer)
            times.append((time.perf_counter() - started) * 1000)
            spent.append((time.process_time() - cpu0) * 1000)
        per_section.append(statistics.median(times))
        cpu.append(statistics.median(spent))
        sizes.append(len(answer.sections))
        notices += answer.notice is not None
    return {
        "sections": len(sections),
        "p50_ms": percentile(per_section, 50),
        "p95_ms": percentile(per_section, 95),
        "p99_ms": percentile(per_section, 99),
        "max_ms": max(per_section, default=float("nan")),
        # This process's CPU per call: what the wait is made of when the machine is free
        # (on a loaded machine the wall-clock figures include waiting for a CPU).
        "cpu_p50_ms": percentile(cpu, 50),
        "cpu_p95_ms": percentile(cpu, 95),
        "answers_mean_sections": statistics.fmean(sizes) if sizes else 0.0,
        "empty_answers": sum(1 for n in sizes if n == 0),
        "database_answers": notices,
    }


def run(
    materials: int = 100_000,
    cache: Path = DEFAULT_CACHE,
    *,
    sections: int = 200,
    repeat: int = 3,
    index_from: Path | None = None,
    jobs: int | None = None,
) -> dict[str, Any]:
    """The figures of 相似段落 on bench/search.py's library of ``materials`` (cached in
    ``cache``), with the target and PASS/MISS."""
    from wenxing.db.base import utcnow
    from wenxing.search.similar import Viewer
    from wenxing.search.sync import NodeIndex

    cache.mkdir(parents=True, exist_ok=True)
    if index_from is not None and not (cache / "index-sqlite" / "CURRENT").exists():
        borrow(cache, index_from, materials)
    manifest = prepare_library(cache, materials, jobs=jobs)
    runtime = _open(cache)
    try:
        node = NodeIndex(runtime.db, cache / "index-sqlite")
        if node.index is None:
            raise RuntimeError(f"the index in {cache} cannot be opened: {node.problem}")
        units = node.index.searcher().num_docs
        drawn = sample_sections(runtime.db, sections)
        load_before = os.getloadavg()[0]
        everything = measure(node, drawn, repeat=repeat)
        now = int(utcnow().timestamp())
        year = int(timedelta(days=365).total_seconds())
        windowed = measure(
            node, drawn, repeat=repeat, viewer=Viewer(True, (now - 2 * year, now - year))
        )
    finally:
        runtime.close()
    p95 = max(everything["p95_ms"], windowed["p95_ms"])
    cpu_p95 = max(everything["cpu_p95_ms"], windowed["cpu_p95_ms"])
    return {
        "materials": materials,
        "index_documents": units,
        "cache": str(cache),
        "index": manifest.get("builds", {}).get("sqlite"),
        "cpus": os.cpu_count(),
        "load_before": load_before,
        "load_after": os.getloadavg()[0],
        "repeat": repeat,
        "all_materials": everything,
        "one_year_window": windowed,
        "target_p95_ms": TARGET_P95_MS,
        "p95_ms": p95,
        "verdict": "PASS" if p95 <= TARGET_P95_MS else "MISS",
        "cpu_p95_ms": cpu_p95,
        "cpu_verdict": "PASS" if cpu_p95 <= TARGET_P95_MS else "MISS",
    }


def print_report(result: dict[str, Any]) -> None:
    print(
        f"相似段落 on {result['materials']:,} materials ({result['index_documents']:,} index documents)"
    )
    print(
        f"load average {result['load_before']:.1f} before, {result['load_after']:.1f} after, {result['cpus']} CPUs"
    )
    for name, label in (("all_materials", "may read all"), ("one_year_window", "a year's window")):
        figures = result[name]
        print(
            f"  {label:16} p50 {figures['p50_ms']:6.1f} ms  p95 {figures['p95_ms']:6.1f} ms  "
            f"p99 {figures['p99_ms']:6.1f} ms  max {figures['max_ms']:6.1f} ms  "
            f"CPU p50 {figures['cpu_p50_ms']:.1f} / p95 {figures['cpu_p95_ms']:.1f} ms  "
            f"{figures['answers_mean_sections']:.1f} sections/answer, "
            f"{figures['empty_answers']} empty, {figures['database_answers']} from the database"
        )
    print(
        f"p95 {result['p95_ms']:.1f} ms   target ≤ {result['target_p95_ms']:.0f} ms   "
        f"{result['verdict']}"
    )
    print(
        f"CPU p95 {result['cpu_p95_ms']:.1f} ms   target ≤ {result['target_p95_ms']:.0f} ms   "
        f"{result['cpu_verdict']}  (the figure of an unloaded machine: CPU time per call)"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--materials", type=int, default=100_000)
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--sections", type=int, default=200, help="sections drawn (default 200)")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per section (median)")
    parser.add_argument(
        "--index-from", type=Path, help="a cache of the same library to borrow the index of"
    )
    parser.add_argument(
        "--jobs", type=int, help="worker processes of a build (default one per CPU)"
    )
    args = parser.parse_args(argv)
    result = run(
        args.materials,
        args.cache.resolve(),
        sections=args.sections,
        repeat=args.repeat,
        index_from=args.index_from.resolve() if args.index_from else None,
        jobs=args.jobs,
    )
    print_report(result)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(result, ensure_ascii=False, indent=1, default=str) + "\n", "utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
