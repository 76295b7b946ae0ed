"""What the search index's self-healing checks cost a search.

Every search now makes sure the index it reads is whole and current: it follows another
process's swap (``CURRENT``), compares the sizes of the open segment files with those it
opened (a segment cut short would kill the process on reading), and, at each catch-up
(every half second at most), compares the database's identity and epoch with the index's.
This measures a search's median time with the checks and with them turned off, alternating
in one run on one library (so machine load hits both alike), and prints the ratio beside
its target.

    .venv/bin/python bench/search_health.py [--materials 200] [--searches 400]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

TARGET_RATIO = 1.10  # the checks add at most 10% to a search's median


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--materials", type=int, default=200)
    parser.add_argument("--searches", type=int, default=400)
    args = parser.parse_args()

    from tests.helpers import random_texts

    from wenxing.config import Settings
    from wenxing.materials.importer import ImportOptions, MaterialImporter
    from wenxing.runtime import initialise
    from wenxing.search import service
    from wenxing.search.sync import NodeIndex

    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        random_texts(folder / "texts", args.materials, chars=3000)
        settings = Settings(
            database_url=f"sqlite:///{folder / 'w.db'}",
            secret="bench-secret-" + "0" * 40,
            search_dir=folder / "search",
        )
        runtime, _rev = initialise(settings)
        importer = MaterialImporter(runtime.db, settings, runtime.publisher_settings())
        importer.run([folder / "texts"], ImportOptions(publish=True))
        node = runtime.search_index()
        queries = ["报告 工作", "发展 建设", "year:2026", '"工作"', "管理 -电"]
        for query in queries:  # warm up: index open, caches filled
            service.search(node, query)
        checked, unchecked = [], []
        original = NodeIndex._check_open
        for n in range(args.searches):
            query = queries[n % len(queries)]
            for kept, times in ((True, checked), (False, unchecked)):
                NodeIndex._check_open = original if kept else (lambda self, identity: None)
                started = time.perf_counter()
                service.search(node, query)
                times.append((time.perf_counter() - started) * 1000)
        NodeIndex._check_open = original
        runtime.close()
    with_checks, without = statistics.median(checked), statistics.median(unchecked)
    ratio = with_checks / without
    verdict = "PASS" if ratio <= TARGET_RATIO else "MISS"
    print(f"machine load (1 min) {load:.2f} on {os.cpu_count()} cores")
    print(f"search median with checks    {with_checks:.3f} ms")
    print(f"search median without checks {without:.3f} ms")
    print(f"ratio {ratio:.3f}  target ≤ {TARGET_RATIO:.2f}  {verdict}")
    out = Path(__file__).resolve().parent / "out"
    out.mkdir(exist_ok=True)
    (out / "search_health.json").write_text(
        json.dumps(
            {
                "with_ms": with_checks,
                "without_ms": without,
                "ratio": ratio,
                "target": TARGET_RATIO,
                "verdict": verdict,
                "load": load,
            }
        )
    )


if __name__ == "__main__":
    main()
