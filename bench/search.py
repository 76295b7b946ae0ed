"""Search at library scale: building the index and answering queries, embedded and PostgreSQL.

Generates N materials of about 6,000 characters (default 100,000), shaped like the importer
benchmark's and with their outline built while generating; loads them with bulk inserts
into a fresh SQLite database and a fresh PostgreSQL database; rebuilds each backend's
tantivy index (`NodeIndex.reindex`, timed, segmenting in worker processes: `--jobs N`); then
runs sets of two-character, four-character, multi-term, quoted-phrase and filtered queries
through `search.service.search` (top 10 with snippets), per-query median of 3 after a
warm-up, and a brute-force scan (`term in text` over every unit held in memory) for the
two- and four-character sets. Diagnosis without targets: where one material's build time
goes, and a profile of the slowest query.

    .venv/bin/python bench/search.py                 # 100,000 materials, mostly the builds
    .venv/bin/python bench/search.py --quick         # 5,000 materials, a few minutes
    .venv/bin/python bench/search.py --materials 20000 --backends sqlite

Figures are printed beside their targets and written to bench/out/search.json. The exit
code is 0 whether targets pass or miss (a failing backend is reported as MISS).
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import io
import json
import math
import os
import platform
import pstats
import random
import re
import resource
import shutil
import statistics
import sys
import tempfile
import time
import traceback
from collections import Counter
from collections.abc import Callable
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import search_cache  # noqa: E402
from bench.import_throughput import (  # noqa: E402
    _CJK,
    _CLAUSE_SPLIT,
    _CN,
    _HEADING_START,
    _LEVELS,
    _MEETINGS,
    _PLACES,
    _TOPICS,
    Pool,
    _file_sentences,
    _paragraph,
    load_pool,
)
from bench.members import (  # noqa: E402
    PG_SERVER,
    machine_cpu_seconds,
    postgres_cpu_seconds,
    postgres_database,
)

OUT = ROOT / "bench" / "out" / "search.json"
SAMPLE = ROOT / "src" / "wenxing" / "demo" / "sample.txt"

TARGET_BUILD_S = 15 * 60  # each backend
TARGET_EMBEDDED_P50_MS = 10.0
TARGET_EMBEDDED_P99_MS = 50.0
TARGET_PG_P99_MS = 100.0
TARGET_SPEEDUP = 50.0
TARGET_GROWTH = 1.6  # index size over the previous layout's (issue 24: the bigram field)
PREVIOUS_LAYOUT = 4
# The previous layout's index size by materials generated (the default seed, the corpus's
# sentences), measured by this benchmark at the last commit with that layout (139976a^,
# 2026-12-07; layout 5 at 5,000: 245,378,057 bytes, 1.26x).
PREVIOUS_LAYOUT_BYTES: dict[int, int] = {5_000: 194_849_251}
QUERY_KINDS = ("two-char", "four-char", "multi-term", "phrase", "filtered")
BRUTE_KINDS = ("two-char", "four-char")
BACKEND_LABEL = {"sqlite": "embedded (SQLite)", "postgresql": "PostgreSQL"}

# --- generated materials -------------------------------------------------------------------

# Titles per kind, chosen so that the importer's classifier (materials/kinds.py) gives the
# same kind. Weights: speeches dominate a real library.
_TITLES: dict[str, tuple[str, ...]] = {
    "讲话": (
        "在{level}{topic}{meeting}上的讲话",
        "在{level}{topic}{meeting}上的讲话提纲",
        "在{year}年{level}{topic}{meeting}上的讲话",
    ),
    "报告": ("{place}{year}年{topic}工作情况报告", "关于{place}{topic}工作情况的报告"),
    "调研报告": ("关于{place}{topic}工作的调研报告", "关于{topic}情况的调研报告"),
    "总结": ("{place}{year}年{topic}工作总结", "{place}{topic}工作情况汇报"),
    "心得体会": ("学习{level}{topic}{meeting}精神的心得体会", "参加{topic}专题培训的心得体会"),
    "方案": ("{place}{year}年{topic}工作实施方案", "{place}{topic}工作要点"),
    "通知": ("关于做好{year}年{topic}工作的通知", "关于开展{topic}专项行动的通知"),
}
_KIND_WEIGHTS = {
    "讲话": 45,
    "报告": 10,
    "调研报告": 10,
    "总结": 15,
    "心得体会": 5,
    "方案": 10,
    "通知": 5,
}
CATEGORIES = (
    "党建",
    "经济发展",
    "乡村振兴",
    "社会治理",
    "生态环保",
    "安全生产",
    "教育卫生",
    "综合",
)
_TAGS = (
    "两会",
    "年中",
    "年终",
    "部署",
    "调研",
    "经验交流",
    "主题教育",
    "十五五",
    "专项整治",
    "述职",
)
_FIRST_DAY = datetime(2023, 1, 1)
_SPAN_SECONDS = int((datetime(2026, 1, 1) - _FIRST_DAY).total_seconds())  # 2023-2025
YEARS = (2023, 2024, 2025)


def load_sentences() -> Pool:
    """The importer benchmark's pool (the corpus, raw_gbk/ skipped) plus the demo sample."""
    pool = load_pool()
    extra = [s for s in _file_sentences(SAMPLE.read_text("utf-8")) if s not in pool.sentences]
    clauses = dict.fromkeys(pool.clauses)
    for sentence in extra:
        clause = _CLAUSE_SPLIT.split(sentence.rstrip("。"))[0]
        if (
            6 <= len(clause) <= 16
            and len(_CJK.findall(clause)) == len(clause)
            and _HEADING_START.match(clause)
        ):
            clauses.setdefault(clause, None)
    return Pool(pool.sentences + tuple(extra), tuple(clauses))


def _node(type_: str, level: int, marker: str, heading: str, start: int, end: int) -> dict:
    """An outline node as `materials.outline.Node.to_dict` writes it."""
    return {
        "type": type_,
        "level": level,
        "marker": marker,
        "heading": heading,
        "start": start,
        "end": end,
        "children": [],
    }


def make_material(pool: Pool, seed: int, index: int) -> dict[str, Any]:
    """Material ``index``: title, metadata, body and outline JSON; the same for a seed."""
    from wenxing.materials.outline import split_heading

    rng = random.Random(f"search:{seed}:{index}")
    kind = rng.choices(list(_KIND_WEIGHTS), weights=list(_KIND_WEIGHTS.values()))[0]
    title = rng.choice(_TITLES[kind]).format(
        level=rng.choice(_LEVELS),
        topic=rng.choice(_TOPICS),
        meeting=rng.choice(_MEETINGS),
        place=rng.choice(_PLACES),
        year=rng.randint(2016, 2025),
    )
    speech = kind == "讲话"
    lines: list[str] = []
    cursor = 0

    def add(line: str) -> tuple[int, int]:
        nonlocal cursor
        start = cursor
        lines.append(line)
        cursor += len(line) + 1
        return start, start + len(line)

    outline: list[dict] = []
    target = rng.randint(5100, 5700)  # paragraphs overshoot their budgets by ~600
    if speech:
        outline.append(_node("salutation", 0, "", "同志们：", *add("同志们：")))
    opening_chars, closing_chars = rng.randint(200, 400), rng.randint(150, 300)
    opening = _paragraph(rng, pool, opening_chars)
    outline.append(_node("opening", 0, "", split_heading(opening), *add(opening)))
    sections = rng.randint(3, 5)
    budget = (target - opening_chars - closing_chars) // sections
    for number in range(sections):
        marker = f"{_CN[number]}、"
        heading = f"{rng.choice(pool.clauses)}，{rng.choice(pool.clauses)}"
        section = _node("section", 1, marker, heading, *add(marker + heading))
        lead = rng.randint(120, 260)
        add(_paragraph(rng, pool, lead))
        items = rng.randint(2, 4)
        per_item = max(100, (budget - lead) // items)
        for item in range(items):
            item_marker, clause = f"{_CN[item]}是", rng.choice(pool.clauses)
            head = f"{item_marker}{clause}。"
            line = head + _paragraph(rng, pool, per_item - len(head))
            section["children"].append(_node("item", 2, item_marker, clause, *add(line)))
        section["end"] = section["children"][-1]["end"]
        outline.append(section)
    closing = ("同志们，" if speech else "下一步，") + _paragraph(rng, pool, closing_chars)
    outline.append(_node("closing", 0, "", split_heading(closing), *add(closing)))
    body = "\n".join(lines)
    published = _FIRST_DAY.timestamp() + rng.randrange(_SPAN_SECONDS)
    return {
        "title": title,
        "kind": kind,
        "category": rng.choice(CATEGORIES),
        "tags": ",".join(rng.sample(_TAGS, rng.randint(1, 3))),
        "published_at": datetime.fromtimestamp(published, UTC).replace(tzinfo=None),
        "body": body,
        "outline": json.dumps(outline, ensure_ascii=False),
        "lines": [title, *lines],
    }


def check_outlines(pool: Pool, seed: int, count: int = 40) -> dict[str, Any]:
    """Do the generated outlines give the units the importer's own parser would give?"""
    from wenxing.materials import kinds, outline
    from wenxing.search.units import units_of

    same_units = same_kind = 0
    first_difference = None
    for index in range(count):
        material = make_material(pool, seed, index)
        structure = outline.parse(material["lines"])
        ours = units_of(material["body"], material["outline"])
        theirs = units_of(structure.body, json.dumps(structure.outline_dicts()))
        # Compared without ``start``: a headless run after an outline node starts at the
        # node's newline in units_of (text stripped, start not moved), ours at its text.
        if structure.title == material["title"] and [
            (u.ordinal, u.heading, u.text) for u in ours
        ] == [(u.ordinal, u.heading, u.text) for u in theirs]:
            same_units += 1
        elif first_difference is None:
            first_difference = f"material {index}: {material['title']}"
        same_kind += kinds.classify(structure.title, structure) == material["kind"]
    return {
        "checked": count,
        "same_units": same_units,
        "same_kind": same_kind,
        "first_difference": first_difference,
    }


def material_rows(material_id: int, material: dict[str, Any]) -> tuple[dict, dict]:
    """The `materials` and `material_versions` rows of a generated material."""
    body = material["body"]
    encoded = body.encode("utf-8")
    body_hash = hashlib.sha256(encoded).hexdigest()
    created = material["published_at"]
    return (
        {
            "id": material_id,
            "title": material["title"],
            "kind": material["kind"],
            "category": material["category"],
            "tags": material["tags"],
            "source_path": f"/bench/search/{material_id:06d}.txt",
            "status": "published",
            "published_at": material["published_at"],
            "current_version": 1,
            "created_at": created,
            "updated_at": created,
        },
        {
            "id": material_id,
            "material_id": material_id,
            "number": 1,
            "title": material["title"],
            "kind": material["kind"],
            "source_name": f"{material_id:06d}.txt",
            "source_format": "txt",
            "source_encoding": "utf-8",
            "content_hash": hashlib.sha256(
                material["title"].encode("utf-8") + b"\n" + encoded
            ).hexdigest(),
            "body_hash": body_hash,
            "body": body,
            "chars": len(body),
            "outline": material["outline"],
            "keywords": "[]",
            "minhash": hashlib.sha512(encoded).digest() * 8,  # 64 x uint64, as the importer's
            "created_at": created,
        },
    )


# --- databases -----------------------------------------------------------------------------


def open_database(url: str):
    """`wenxing init` (runtime.initialise) on a fresh database."""
    from wenxing.config import Settings
    from wenxing.runtime import initialise

    runtime, _revision = initialise(Settings(database_url=url, secret="s" * 40))
    return runtime


class Loader:
    """Bulk inserts into one backend, batch by batch; the time spent is summed."""

    def __init__(self, name: str, runtime):
        self.name = name
        self.runtime = runtime
        self.seconds = 0.0
        self.rows = 0

    def insert(self, materials: list[dict], versions: list[dict]) -> None:
        from sqlalchemy import insert

        from wenxing.materials.models import Material, MaterialVersion

        started = time.perf_counter()
        with self.runtime.db.engine.begin() as connection:
            connection.execute(insert(Material.__table__), materials)
            connection.execute(insert(MaterialVersion.__table__), versions)
        self.seconds += time.perf_counter() - started
        self.rows += len(materials)

    def finish(self) -> None:
        """Sequences past the explicit ids (PostgreSQL), fresh statistics for the planner."""
        from sqlalchemy import text

        started = time.perf_counter()
        with self.runtime.db.engine.begin() as connection:
            if self.name == "postgresql":
                for table in ("materials", "material_versions"):
                    connection.execute(
                        text(
                            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                            f"(SELECT max(id) FROM {table}))"
                        )
                    )
            connection.execute(text("ANALYZE"))
        self.seconds += time.perf_counter() - started


def generate_and_load(
    pool: Pool, args: argparse.Namespace, loaders: list[Loader]
) -> tuple[list[str], dict[str, Any]]:
    """Generate every material once, insert each batch into every backend, and keep the
    units' texts (one copy, for the brute-force scan and for drawing queries)."""
    from wenxing.search.units import units_of

    texts: list[str] = []
    batch_m: list[dict] = []
    batch_v: list[dict] = []
    chars = units = 0
    kinds: Counter[str] = Counter()
    generate_seconds = 0.0
    started = time.perf_counter()
    step = max(1, args.materials // 10)
    for index in range(args.materials):
        began = time.perf_counter()
        material = make_material(pool, args.seed, index)
        material_row, version_row = material_rows(index + 1, material)
        for unit in units_of(material["body"], material["outline"]):
            texts.append(unit.text)
            units += 1
        chars += len(material["body"])
        kinds[material["kind"]] += 1
        batch_m.append(material_row)
        batch_v.append(version_row)
        generate_seconds += time.perf_counter() - began
        if len(batch_m) >= args.batch or index == args.materials - 1:
            for loader in loaders:
                loader.insert(batch_m, batch_v)
            batch_m, batch_v = [], []
        if (index + 1) % step == 0:
            done = index + 1
            elapsed = time.perf_counter() - started
            print(
                f"  generated and loaded {done:,}/{args.materials:,} materials "
                f"({elapsed:.0f} s; load so far "
                + ", ".join(f"{ld.name} {ld.seconds:.0f} s" for ld in loaders)
                + ")",
                file=sys.stderr,
                flush=True,
            )
    for loader in loaders:
        loader.finish()
    return texts, {
        "materials": args.materials,
        "units": units,
        "chars": chars,
        "mean_chars": round(chars / max(args.materials, 1)),
        "kinds": dict(kinds),
        "generate_seconds": generate_seconds,
        "load_seconds": {loader.name: loader.seconds for loader in loaders},
        "wall_seconds": time.perf_counter() - started,
    }


# --- queries -------------------------------------------------------------------------------

_HAN = re.compile(r"^[\u4e00-\u9fff]+$")


def _stratified(candidates: list[str], count: int, rng: random.Random) -> list[str]:
    """``count`` words spread over the frequency ranks on a log scale (common to rare)."""
    if len(candidates) <= count:
        return list(candidates)
    chosen: list[str] = []
    edges = [round(math.exp(k * math.log(len(candidates)) / count)) - 1 for k in range(count + 1)]
    for k in range(count):
        low, high = edges[k], max(edges[k + 1], edges[k] + 1)
        choices = [w for w in candidates[low:high] if w not in chosen]
        if not choices:
            choices = [w for w in candidates if w not in chosen]
        chosen.append(rng.choice(choices))
    return chosen


def draw_queries(texts: list[str], per_kind: int, seed: int) -> tuple[dict, dict]:
    """Query sets drawn from the generated units: the words' unit frequencies are counted
    on a sample of units, segmented the way the index segments them."""
    from wenxing.search.tokenize import normalise, words

    rng = random.Random(f"queries:{seed}")
    sample = rng.sample(texts, min(len(texts), 20_000))
    frequency: Counter[str] = Counter()
    segmented: list[list[str]] = []
    for text in sample:
        found = [w for w in words(normalise(text)) if len(w) >= 2 and _HAN.match(w)]
        segmented.append(found)
        frequency.update(set(found))
    by_length: dict[int, list[str]] = {}
    for word, _n in sorted(frequency.items(), key=lambda kv: (-kv[1], kv[0])):
        by_length.setdefault(len(word), []).append(word)
    sets: dict[str, list[str]] = {}
    for kind, length, pinned in (
        ("two-char", 2, ("乡村", "营商")),
        ("four-char", 4, ("乡村振兴", "营商环境")),
    ):
        candidates = by_length.get(length, [])
        pins = [w for w in pinned if w in frequency]
        rest = [w for w in candidates if w not in pins]
        sets[kind] = pins + _stratified(rest, per_kind - len(pins), rng)

    multi: list[str] = []
    while len(multi) < per_kind:
        found = list(dict.fromkeys(rng.choice(segmented)))
        count = rng.randint(2, 3)
        if len(found) >= count:
            query = " ".join(rng.sample(found, count))
            if query not in multi:
                multi.append(query)
    sets["multi-term"] = multi

    phrases: list[str] = []
    attempts = 0
    while len(phrases) < per_kind and attempts < 100_000:
        attempts += 1
        text = rng.choice(sample)
        length = rng.randint(4, 8)
        if len(text) <= length:
            continue
        at = rng.randrange(len(text) - length)
        piece = text[at : at + length]
        if _HAN.match(piece) and f'"{piece}"' not in phrases:
            phrases.append(f'"{piece}"')
    sets["phrase"] = phrases

    filters = [("kind", "讲话"), ("kind", "总结")]
    filters += [("year", str(y)) for y in YEARS] + [("category", c) for c in CATEGORIES]
    filtered: list[str] = []
    terms = sets["two-char"] + sets["four-char"]
    while len(filtered) < per_kind:
        name, value = rng.choice(filters)
        query = f"{rng.choice(terms)} {name}:{value}"
        if query not in filtered:
            filtered.append(query)
    sets["filtered"] = filtered
    frequencies = {
        word: frequency[word] / len(sample) for kind in BRUTE_KINDS for word in sets[kind]
    }
    return sets, {"sample_units": len(sample), "unit_share": frequencies}


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def time_queries(
    node, sets: dict[str, list[str]], repeat: int, *, page: bool = False
) -> dict[str, Any]:
    """Warm-up (every query once), then ``repeat`` rounds over all queries; per-query median.
    ``page``: asked as the search page asks (the chips' counts with the tags read from the
    database, the best partial matches when nothing holds every term)."""
    from wenxing.search.service import Browse, search

    browse = Browse(facets=True, partial=True) if page else None

    flat = [(kind, text) for kind in QUERY_KINDS for text in sets.get(kind, [])]
    results: dict[str, dict] = {}
    for kind, text in flat:
        found = search(node, text, limit=10, browse=browse)
        results[text] = {
            "kind": kind,
            "query": text,
            "times_ms": [],
            "took_ms": [],
            "materials": len(found.materials),
            "more": found.more,
            "sections": sum(len(m.sections) for m in found.materials),
        }
    cpu0, machine0, server0 = time.process_time(), machine_cpu_seconds(), postgres_cpu_seconds()
    started = time.perf_counter()
    for _round in range(repeat):
        for _kind, text in flat:
            began = time.perf_counter()
            found = search(node, text, limit=10, browse=browse)
            results[text]["times_ms"].append(1000 * (time.perf_counter() - began))
            results[text]["took_ms"].append(found.took_ms)
    wall = time.perf_counter() - started
    own = time.process_time() - cpu0
    server = postgres_cpu_seconds() - server0 if node.db.backend == "postgresql" else 0.0
    others = machine_cpu_seconds() - machine0 - own - server
    for row in results.values():
        row["median_ms"] = statistics.median(row["times_ms"])
        row["engine_median_ms"] = statistics.median(row["took_ms"])
    stats = {}
    for kind in (*QUERY_KINDS, "all"):
        values = [r["median_ms"] for r in results.values() if kind in ("all", r["kind"])]
        if values:
            stats[kind] = {
                "queries": len(values),
                "p50_ms": percentile(values, 50),
                "p99_ms": percentile(values, 99),
                "max_ms": max(values),
                "median_engine_ms": statistics.median(
                    r["engine_median_ms"] for r in results.values() if kind in ("all", r["kind"])
                ),
            }
    return {
        "queries": list(results.values()),
        "stats": stats,
        "seconds": wall,
        # CPU per search (this process, its tantivy threads included; and the PostgreSQL
        # server's): what a search costs whatever else the machine runs
        "cpu_ms_per_query": 1000 * own / max(len(flat) * repeat, 1),
        "server_cpu_ms_per_query": 1000 * server / max(len(flat) * repeat, 1),
        "others_cpu_share": max(others, 0.0) / (wall * (os.cpu_count() or 1)),
        "load_average": os.getloadavg()[0],
    }


def brute_force(texts: list[str], sets: dict[str, list[str]], repeat: int) -> dict[str, Any]:
    """`term in text` over every unit held in memory, the first 10 hits collected."""
    out: dict[str, Any] = {}
    for kind in BRUTE_KINDS:
        rows = []
        for term in sets.get(kind, []):
            times = []
            for _ in range(repeat):
                began = time.perf_counter()
                hits: list[int] = []
                count = 0
                for number, text in enumerate(texts):
                    if term in text:
                        count += 1
                        if len(hits) < 10:
                            hits.append(number)
                times.append(1000 * (time.perf_counter() - began))
            rows.append({"term": term, "median_ms": statistics.median(times), "units": count})
        out[kind] = {
            "queries": rows,
            "median_ms": statistics.median(r["median_ms"] for r in rows) if rows else None,
        }
    return out


# --- diagnosis -----------------------------------------------------------------------------


def build_breakdown(db, count: int) -> dict[str, Any]:
    """Where the build's time goes, on the first ``count`` materials, phase by phase, in
    this process: reading (``build.published_batches``: one query per 512 materials);
    preparing (``build.prepare``: cutting units and the tokenizer's work, done by the
    worker processes in ``reindex``), and inside it the tokenizer's phases on every unit's
    text, heading and the title (normalising with punctuation to spaces, the two segmenter
    passes, joining the tokens); sending the prepared materials back from a worker
    (pickling and unpickling them); making the tantivy documents (``build.documents``, in
    the main process); tantivy's ``add_document`` and commit with the rebuild's writer
    settings (in memory). In ``reindex`` the workers, the main process and tantivy's
    indexing thread overlap, so the phases do not add up to the build's wall time."""
    import pickle

    from wenxing.search import build, sync, tokenize
    from wenxing.search import index as index_module

    began = time.perf_counter()
    sources: list = []
    for batch in build.published_batches(db):
        sources.extend(batch)
        if len(sources) >= count:
            break
    sources = sources[:count]
    phases: dict[str, float] = {"read (published_batches)": time.perf_counter() - began}

    tokenize.warm_up()
    began = time.perf_counter()
    prepared = [build.prepare(*source) for source in sources]
    phases["prepare (units + tokenizer: the workers' part)"] = time.perf_counter() - began

    units = [unit for entry, body, outline in sources for unit in units_of_source(body, outline)]
    texts = [entry.title for entry, _b, _o in sources]
    texts += list(dict.fromkeys(u.heading for u in units)) + [u.text for u in units]
    chars = sum(len(t) for t in texts)
    began = time.perf_counter()
    forms = [tokenize.index_form(t) for t in texts]
    phases["  normalise, punctuation to spaces (index_form)"] = time.perf_counter() - began
    segmenter = tokenize._segmenter()
    began = time.perf_counter()
    cuts = [segmenter.cut(f, False) for f in forms]
    phases["  segment: cut"] = time.perf_counter() - began
    began = time.perf_counter()
    searches = [segmenter.cut_for_search(f, False) for f in forms]
    phases["  segment: cut_for_search"] = time.perf_counter() - began
    began = time.perf_counter()
    for tokens, form in zip([*cuts, *searches], [*forms, *forms], strict=True):
        tokenize._joined(tokens, form)
    phases["  join the tokens (tokenize._joined)"] = time.perf_counter() - began
    tokens = sum(len(t) for t in cuts) + sum(len(t) for t in searches)

    began = time.perf_counter()
    payload = pickle.dumps(prepared, protocol=pickle.HIGHEST_PROTOCOL)
    pickle.loads(payload)
    phases["send back from a worker (pickle + unpickle)"] = time.perf_counter() - began

    began = time.perf_counter()
    documents = [d for material in prepared for d in build.documents(material)]
    phases["documents (tantivy Document objects)"] = time.perf_counter() - began

    memory = index_module.SearchIndex.in_memory()
    writer = memory.writer(heap_mb=sync.REINDEX_HEAP_MB, threads=sync.REINDEX_THREADS)
    cpu0 = time.process_time()
    began = time.perf_counter()
    for document in documents:
        writer.add_document(document)
    phases["tantivy add_document"] = time.perf_counter() - began
    began = time.perf_counter()
    memory.commit()
    phases["tantivy commit"] = time.perf_counter() - began
    tantivy_cpu = time.process_time() - cpu0
    n = max(len(sources), 1)
    return {
        "materials": len(sources),
        "units": len(units),
        "chars_per_material": chars / n,
        "tokens_per_material": tokens / n,
        "payload_bytes_per_material": len(payload) / n,
        "ms_per_material": {name: 1000 * seconds / n for name, seconds in phases.items()},
        "cpu_ms_per_material": {"tantivy add_document + commit": 1000 * tantivy_cpu / n},
    }


def units_of_source(body: str, outline: str) -> list:
    from wenxing.search.units import units_of

    return units_of(body, outline)


def read_ms(db, count: int) -> float:
    """ms per material of reading the first ``count`` materials as a rebuild does."""
    from wenxing.search import build

    began = time.perf_counter()
    read = 0
    for batch in build.published_batches(db):
        read += len(batch)
        if read >= count:
            break
    return 1000 * (time.perf_counter() - began) / max(read, 1)


def profile_query(node, text: str, top: int) -> dict[str, Any]:
    """One run of a query under cProfile: the top rows by own time, and the calls into
    tantivy (searches, stored documents fetched) with their time."""
    from wenxing.search.service import search

    profiler = cProfile.Profile()
    began = time.perf_counter()
    found = profiler.runcall(search, node, text, limit=10)
    profiled_ms = 1000 * (time.perf_counter() - began)
    stats = pstats.Stats(profiler)
    tantivy_calls = {}
    for (_file, _line, name), (_cc, calls, own, _cum, _callers) in stats.stats.items():
        if "tantivy" in name:
            label = name.replace("<method ", "").replace(" objects>", "")
            tantivy_calls[label] = {"calls": calls, "ms": 1000 * own}
    stream = io.StringIO()
    pstats.Stats(profiler, stream=stream).strip_dirs().sort_stats("tottime").print_stats(top)
    rows = [line for line in stream.getvalue().splitlines() if line.strip()]
    start = next((i for i, r in enumerate(rows) if r.lstrip().startswith("ncalls")), 0)
    return {
        "query": text,
        "profiled_ms": profiled_ms,
        "engine_ms": found.took_ms,
        "materials": len(found.materials),
        "tantivy_calls": tantivy_calls,
        "profile_top": rows[start : start + top + 1],
    }


# --- one backend ---------------------------------------------------------------------------


def _progress(name: str, started: float) -> Callable[[int, int], None]:
    step = [0]

    def report(done: int, total: int) -> None:
        if done * 10 // total > step[0] or done == total:
            step[0] = done * 10 // total
            elapsed = time.perf_counter() - started
            print(
                f"  {name} build: {done:,}/{total:,} materials, {elapsed:.0f} s "
                f"({done / max(elapsed, 1e-9):.0f} materials/s)",
                file=sys.stderr,
                flush=True,
            )

    return report


def _children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def build_backend(name: str, runtime, folder: Path, jobs: int | None) -> dict[str, Any]:
    from wenxing.search import build
    from wenxing.search.sync import NodeIndex

    node = NodeIndex(runtime.db, folder)
    machine0, server0 = machine_cpu_seconds(), postgres_cpu_seconds()
    cpu0, workers0 = time.process_time(), _children_cpu_seconds()
    started = time.perf_counter()
    applied = node.reindex(_progress(name, started), jobs=jobs)
    seconds = time.perf_counter() - started
    cpu = time.process_time() - cpu0
    workers = _children_cpu_seconds() - workers0  # the pool's processes, ended and reaped
    server = postgres_cpu_seconds() - server0 if name == "postgresql" else 0.0
    others = machine_cpu_seconds() - machine0 - cpu - workers - server
    searcher = node.index.searcher()
    return {
        "node": node,
        "seconds": seconds,
        "materials": applied.applied,
        "units": searcher.num_docs,
        "segments": searcher.num_segments,
        "size_bytes": node.index.size_bytes(),
        "jobs": jobs if jobs is not None else build.default_jobs(),
        "process_cpu_seconds": cpu,
        "workers_cpu_seconds": workers,
        "postgres_cpu_seconds": server,
        "others_cpu_share": max(others, 0.0) / (seconds * (os.cpu_count() or 1)),
        "load_average": os.getloadavg()[0],
    }


def reuse_index(name: str, runtime, folder: Path) -> dict[str, Any] | None:
    """The cached index of a backend, opened as a node opens it, when it is whole, of this
    layout and of this database; None when it must be built."""
    from wenxing.search.index import SCHEMA_VERSION
    from wenxing.search.sync import IndexUnusable, NodeIndex

    try:
        generation = json.loads((folder / "CURRENT").read_text())["generation"]
        layout = (folder / generation / "wenxing-schema").read_text().strip()
    except (OSError, ValueError, KeyError, TypeError):
        layout = None
    if layout != str(SCHEMA_VERSION):  # opening another layout's index would empty it
        print(f"  {name}: cached index of layout {layout}, not {SCHEMA_VERSION}", file=sys.stderr)
        return None
    node = NodeIndex(runtime.db, folder)
    try:
        if node.index is None or node.index.searcher().num_docs == 0:
            raise IndexUnusable(node.problem or "no index")
        node.catch_up()
    except IndexUnusable as exc:
        print(f"  {name}: cached index not usable ({exc})", file=sys.stderr, flush=True)
        return None
    return {"node": node, "reused": True, "size_bytes": node.index.size_bytes()}


def borrow_index(runtime, work: Path) -> dict[str, Any]:
    """The SQLite backend's index (the same materials with the same ids) linked into the
    PostgreSQL node's folder for its database, instead of a build (``--pg-index-from-sqlite``:
    the builds differ only in reading, which the diagnosis times per backend)."""
    from wenxing.search.sync import NodeIndex, database_identity

    source, folder = work / "index-sqlite", work / "index-postgresql"
    search_cache.linked_index(source, folder, database_identity(runtime.db))
    node = NodeIndex(runtime.db, folder)
    if node.index is None:
        raise RuntimeError(f"the borrowed index cannot be opened: {node.problem}")
    return {
        "node": node,
        "borrowed": True,
        "seconds": 0.0,
        "materials": node.index.searcher().num_docs,
        "size_bytes": node.index.size_bytes(),
    }


def _slowest(queries: list[dict], count: int) -> list[dict]:
    return sorted(queries, key=lambda r: -r["median_ms"])[:count]


# --- report --------------------------------------------------------------------------------


def size_growth(materials: int, size_bytes: int) -> float | None:
    before = PREVIOUS_LAYOUT_BYTES.get(materials)
    return size_bytes / before if before else None


def meta_materials(backends: dict[str, dict]) -> int:
    for result in backends.values():
        materials = result.get("build", {}).get("materials")
        if materials:
            return materials
    return 0


def _check(name: str, value: float | None, unit: str, target: str, ok: bool | None) -> dict:
    return {
        "figure": name,
        "value": value,
        "unit": unit,
        "target": target,
        "result": "—" if ok is None else ("PASS" if ok else "MISS"),
    }


def evaluate(backends: dict[str, dict], brute: dict[str, Any] | None) -> list[dict]:
    checks = []
    for name, result in backends.items():
        label = BACKEND_LABEL[name]
        if result.get("error"):
            checks.append(_check(f"{label}: ran", None, "", "no error", False))
            continue
        build = result.get("build")
        if build and build.get("size_bytes"):
            growth = size_growth(meta_materials(backends), build["size_bytes"])
            if growth is not None:
                checks.append(
                    _check(
                        f"{label} index size over layout {PREVIOUS_LAYOUT}",
                        growth,
                        "x",
                        f"≤ {TARGET_GROWTH:g}x",
                        growth <= TARGET_GROWTH,
                    )
                )
        if build and not build.get("borrowed"):
            checks.append(
                _check(
                    f"{label} build",
                    build["seconds"] / 60,
                    "min",
                    f"≤ {TARGET_BUILD_S / 60:g} min",
                    build["seconds"] <= TARGET_BUILD_S,
                )
            )
        overall = result.get("queries", {}).get("stats", {}).get("all")
        if overall:
            if name == "sqlite":
                checks.append(
                    _check(
                        f"{label} p50, all queries",
                        overall["p50_ms"],
                        "ms",
                        f"≤ {TARGET_EMBEDDED_P50_MS:g} ms",
                        overall["p50_ms"] <= TARGET_EMBEDDED_P50_MS,
                    )
                )
                checks.append(
                    _check(
                        f"{label} p99, all queries",
                        overall["p99_ms"],
                        "ms",
                        f"≤ {TARGET_EMBEDDED_P99_MS:g} ms",
                        overall["p99_ms"] <= TARGET_EMBEDDED_P99_MS,
                    )
                )
            else:
                checks.append(
                    _check(
                        f"{label} p50, all queries",
                        overall["p50_ms"],
                        "ms",
                        "(none)",
                        None,
                    )
                )
                checks.append(
                    _check(
                        f"{label} p99, all queries",
                        overall["p99_ms"],
                        "ms",
                        f"≤ {TARGET_PG_P99_MS:g} ms",
                        overall["p99_ms"] <= TARGET_PG_P99_MS,
                    )
                )
        if brute and result.get("queries"):
            stats = result["queries"]["stats"]
            for kind in BRUTE_KINDS:
                if kind not in stats or not brute[kind]["median_ms"]:
                    continue
                speedup = brute[kind]["median_ms"] / stats[kind]["p50_ms"]
                result.setdefault("speedup", {})[kind] = speedup
                checks.append(
                    _check(
                        f"{label} speed-up over brute force, {kind}",
                        speedup,
                        "x",
                        f"≥ {TARGET_SPEEDUP:g}x",
                        speedup >= TARGET_SPEEDUP,
                    )
                )
        if result.get("queries"):
            empty, expected = answered(result["queries"]["queries"], brute)
            result["empty"] = empty
            missing = sum(len(v) for v in empty.values())
            checks.append(
                _check(
                    f"{label} queries answered, of those the text holds",
                    expected - missing,
                    f"of {expected}",
                    "all",
                    missing == 0,
                )
            )
    return checks


def answered(queries: list[dict], brute: dict | None) -> tuple[dict[str, list[str]], int]:
    """Queries that returned no material although the generated text holds them: every
    phrase was cut from a unit's text, every multi-term query's words from one unit, and
    the brute-force scan counts the units holding a two- or four-character term. Filtered
    queries are not counted (a term and a filter need not meet)."""
    held = {
        row["term"]: row["units"] > 0
        for kind in BRUTE_KINDS
        for row in (brute or {}).get(kind, {}).get("queries", [])
    }
    empty: dict[str, list[str]] = {}
    expected = 0
    for row in queries:
        if row["kind"] == "filtered" or (row["kind"] in BRUTE_KINDS and not held.get(row["query"])):
            continue
        expected += 1
        if row["materials"] == 0:
            empty.setdefault(row["kind"], []).append(row["query"])
    return empty, expected


def _ms(value: float) -> str:
    return f"{value:.1f}" if value < 100 else f"{value:.0f}"


def print_report(meta: dict, backends: dict, brute: dict | None, checks: list) -> None:
    gen = meta["generation"]
    print(
        f"\nSearch — {gen['materials']:,} materials ({gen['units']:,} units, "
        f"~{gen['mean_chars']:,} chars each, {gen['chars'] / 1e6:.0f} M chars), "
        f"seed {meta['seed']}, {meta['cpus']} CPUs, Python {meta['python']}"
    )
    print(
        f"generated in {gen['generate_seconds']:.0f} s; bulk load (no target): "
        + ", ".join(f"{k} {v:.0f} s" for k, v in gen["load_seconds"].items())
        + f"; outlines checked against the importer's parser: "
        f"{meta['outline_check']['same_units']}/{meta['outline_check']['checked']} same units, "
        f"{meta['outline_check']['same_kind']}/{meta['outline_check']['checked']} same kind"
    )
    for name, result in backends.items():
        label = BACKEND_LABEL[name]
        if result.get("error"):
            print(f"\n{label}: FAILED — {result['error']}")
            continue
        build = result.get("build")
        if build and build.get("borrowed"):
            print(
                f"\n{label}: searches the SQLite backend's index, linked "
                f"(--pg-index-from-sqlite: no build timed), "
                f"{build['size_bytes'] / 2**20:,.0f} MiB"
            )
        elif build:
            growth = size_growth(gen["materials"], build["size_bytes"])
            print(
                f"\n{label}: index "
                + ("(built at an earlier run, reused) " if build.get("reused") else "")
                + f"{build['size_bytes'] / 2**30:.2f} GiB"
                + (
                    f", {growth:.2f}x layout {PREVIOUS_LAYOUT}'s at this size"
                    if growth is not None
                    else f" (layout {PREVIOUS_LAYOUT}'s size not recorded for this size)"
                )
            )
            print(
                f"  built in {build['seconds'] / 60:.1f} min "
                f"({build['materials']:,} materials, {build['units']:,} units, "
                f"{build['segments']} segments, {build['size_bytes'] / 2**20:,.0f} MiB); "
                f"{gen['chars'] / build['seconds'] / 1000:,.0f} k chars/s with "
                f"{build['jobs']} worker processes; CPU: this process "
                f"{build['process_cpu_seconds'] / 60:.1f} min, workers "
                f"{build['workers_cpu_seconds'] / 60:.1f} min"
                + (
                    f", postgres {build['postgres_cpu_seconds'] / 60:.1f} min"
                    if name == "postgresql"
                    else ""
                )
                + f"; other processes used {build['others_cpu_share']:.0%} of the machine, "
                f"load {build['load_average']:.1f}"
            )
        timing = result.get("queries")
        if not timing:
            continue
        target_p50 = TARGET_EMBEDDED_P50_MS if name == "sqlite" else None
        target_p99 = TARGET_EMBEDDED_P99_MS if name == "sqlite" else TARGET_PG_P99_MS
        header = (
            f"  {'query kind':<11} {'n':>3} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} "
            f"{'engine p50':>10} {'brute p50':>10} {'speed-up':>9} {'empty':>6}"
        )
        print(header)
        print("  " + "-" * (len(header) - 2))
        for kind, stats in timing["stats"].items():
            flag50 = "*" if target_p50 and stats["p50_ms"] > target_p50 else " "
            flag99 = "*" if stats["p99_ms"] > target_p99 else " "
            brute_ms = brute[kind]["median_ms"] if brute and kind in brute else None
            speed = result.get("speedup", {}).get(kind)
            print(
                f"  {kind:<11} {stats['queries']:>3} {_ms(stats['p50_ms']):>7}{flag50} "
                f"{_ms(stats['p99_ms']):>7}{flag99} {_ms(stats['max_ms']):>8} "
                f"{_ms(stats['median_engine_ms']):>10} "
                f"{_ms(brute_ms) if brute_ms else '—':>10} "
                f"{f'{speed:.0f}x' if speed else '—':>9} "
                f"{sum(r['materials'] == 0 for r in timing['queries'] if kind in ('all', r['kind'])):>6}"
            )
        print(
            f"  (* above the target of the overall figure; engine = Results.took_ms, without "
            f"parse and catch_up; empty = queries that returned no material; other processes used {timing['others_cpu_share']:.0%} of the "
            f"machine during the timed rounds, load {timing['load_average']:.1f})"
        )
        print(
            f"  CPU per search: {timing['cpu_ms_per_query']:.1f} ms in this process"
            + (
                f", {timing['server_cpu_ms_per_query']:.1f} ms in PostgreSQL"
                if name == "postgresql"
                else ""
            )
            + " (the latencies above include waiting for the CPU on a loaded machine)"
        )
        slow = ", ".join(
            f"{r['query']} {_ms(r['median_ms'])} ms" for r in _slowest(timing["queries"], 5)
        )
        print(f"  slowest: {slow}")
        paged = result.get("page_queries")
        if paged:
            print(
                "  as the search page asks (chips' counts, tags from the database, partial "
                "matches; no target): "
                + ", ".join(
                    f"{kind} {_ms(st['p50_ms'])}/{_ms(st['p99_ms'])}"
                    for kind, st in paged["stats"].items()
                )
                + f" ms p50/p99; CPU per search {paged['cpu_ms_per_query']:.1f} ms"
            )
        for kind, queries in result.get("empty", {}).items():
            print(
                f"  {kind} queries without a result although the text holds them "
                f"({len(queries)}): {' '.join(queries[:12])}{' …' if len(queries) > 12 else ''}"
            )
    diagnosis = meta.get("diagnosis", {})
    breakdown = diagnosis.get("build_breakdown")
    if breakdown:
        n = meta["generation"]["materials"]
        print(
            f"\nBuild breakdown (no target) on {breakdown['materials']:,} materials "
            f"({breakdown['units'] / max(breakdown['materials'], 1):.1f} units, "
            f"{breakdown['tokens_per_material']:,.0f} segmenter tokens, "
            f"{breakdown['payload_bytes_per_material'] / 1024:,.0f} KiB from a worker each), "
            f"one phase after another in one process; ms per material, and scaled to "
            f"{n:,} materials:"
        )
        for phase, ms in breakdown["ms_per_material"].items():
            print(f"  {phase:<52} {ms:8.2f} ms  {ms * n / 60000:6.1f} min")
        for name, read in diagnosis.get("read_ms_per_material", {}).items():
            print(
                f"  {'read on ' + BACKEND_LABEL[name]:<52} {read:8.2f} ms  "
                f"{read * n / 60000:6.1f} min"
            )
        cpu = ", ".join(f"{k} {v:.2f} ms" for k, v in breakdown["cpu_ms_per_material"].items())
        print(f"  CPU per material (all threads): {cpu}")
    for name, profiled in diagnosis.get("slowest_query", {}).items():
        calls = ", ".join(
            f"{k} x{v['calls']} {v['ms']:.1f} ms" for k, v in profiled["tantivy_calls"].items()
        )
        print(
            f"\nSlowest query on {BACKEND_LABEL[name]}: {profiled['query']} — "
            f"{profiled['profiled_ms']:.1f} ms under cProfile (engine {profiled['engine_ms']:.1f} "
            f"ms); tantivy: {calls}"
        )
        for line in profiled["profile_top"]:
            print(f"  {line[:150]}")
    for name, error in diagnosis.get("errors", {}).items():
        print(f"\ndiagnosis ({name}) failed: {error}")
    print()
    width = max(len(c["figure"]) for c in checks) if checks else 10
    for check in checks:
        value = check["value"]
        shown = (
            "—"
            if value is None
            else str(value)
            if isinstance(value, int)
            else (f"{value:.1f}" if value < 1000 else f"{value:.0f}")
        )
        print(
            f"{check['figure']:<{width}}  {shown:>8} {check['unit']:<4} "
            f"target {check['target']:<12} {check['result']}"
        )
    if meta["load_before"] > 0.5 * meta["cpus"]:
        print(
            f"NOTE: load average {meta['load_before']:.1f} at start on {meta['cpus']} CPUs: "
            "other processes shared the machine; build times and latencies are higher than "
            "on an idle machine (see the 'other processes used' figures above)."
        )
    print(f"\ntotal benchmark time {meta['total_seconds'] / 60:.1f} min; figures in {OUT}")


# --- main ----------------------------------------------------------------------------------


def _strip(backends: dict[str, dict]) -> dict[str, dict]:
    """Backends' results without the live objects, for the JSON."""
    out = {}
    for name, result in backends.items():
        out[name] = {k: v for k, v in result.items() if k not in ("node", "runtime")}
        if "build" in out[name]:
            out[name]["build"] = {k: v for k, v in out[name]["build"].items() if k != "node"}
    return out


def benchmark(args: argparse.Namespace, work: Path) -> int:
    started = time.perf_counter()
    meta: dict[str, Any] = {
        "seed": args.seed,
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "load_before": os.getloadavg()[0],
        "repeat": args.repeat,
        "brute_repeat": args.brute_repeat,
        "targets": {
            "build_minutes": TARGET_BUILD_S / 60,
            "embedded_p50_ms": TARGET_EMBEDDED_P50_MS,
            "embedded_p99_ms": TARGET_EMBEDDED_P99_MS,
            "postgresql_p99_ms": TARGET_PG_P99_MS,
            "speedup": TARGET_SPEEDUP,
        },
    }
    pool = load_sentences()
    meta["pool"] = {"sentences": len(pool.sentences), "clauses": len(pool.clauses)}
    meta["outline_check"] = check_outlines(pool, args.seed)
    print(
        f"sentence pool {len(pool.sentences):,} sentences, {len(pool.clauses):,} clauses; "
        f"outline check {meta['outline_check']}",
        file=sys.stderr,
        flush=True,
    )
    backends: dict[str, dict] = {name: {} for name in args.backends}
    brute = None
    cached = search_cache.load(work, args.materials, args.seed) if args.cache else None
    manifest = cached or search_cache.fresh(args.materials, args.seed)
    meta["cache"] = str(work) if args.cache else None
    with ExitStack() as stack:
        loaders = []
        for name in args.backends:
            try:
                reuse = name in manifest["loaded"]
                if name == "sqlite":
                    if args.cache and not reuse:
                        search_cache.reset_sqlite(work)
                    url = f"sqlite:///{work / search_cache.SQLITE_FILE}"
                elif args.cache:
                    manifest["pg_database"] = search_cache.pg_database_name(
                        args.materials, args.seed
                    )
                    url = search_cache.postgres_url(
                        args.pg, manifest["pg_database"], recreate=not reuse
                    )
                else:
                    url = stack.enter_context(postgres_database(args.pg))
                runtime = open_database(url)
                stack.callback(runtime.close)
                backends[name]["runtime"] = runtime
                if not reuse:
                    loaders.append(Loader(name, runtime))
            except Exception as exc:  # reported; the other backend goes on
                backends[name]["error"] = f"{type(exc).__name__}: {exc}"
                traceback.print_exc()
        texts: list[str] | None = None
        if loaders or "query_sets" not in manifest:
            print(f"generating and loading {args.materials:,} materials", file=sys.stderr)
            texts, meta["generation"] = generate_and_load(pool, args, loaders)
            print(
                f"  {meta['generation']['units']:,} units, "
                f"{meta['generation']['chars'] / 1e6:.0f} M chars held for the brute-force scan",
                file=sys.stderr,
                flush=True,
            )
            if "query_sets" not in manifest:
                manifest["query_sets"], manifest["query_sampling"] = draw_queries(
                    texts, args.queries, args.seed
                )
            manifest["generation"] = manifest.get("generation") or meta["generation"]
            manifest["loaded"] += [loader.name for loader in loaders]
            if args.cache:
                search_cache.save(work, manifest)
        else:
            meta["generation"] = manifest["generation"]
            print(f"reusing the library cached in {work}", file=sys.stderr, flush=True)
        sets = manifest["query_sets"]
        meta["query_sampling"] = manifest["query_sampling"]
        meta["query_sets"] = sets

        for name in args.backends:
            result = backends[name]
            if result.get("error"):
                continue
            try:
                build = None
                if args.cache and not args.rebuild and name in manifest["builds"]:
                    build = reuse_index(name, result["runtime"], work / f"index-{name}")
                    if build is not None:
                        build = {**manifest["builds"][name], **build}
                if build is None and name == "postgresql" and args.pg_index_from_sqlite:
                    build = borrow_index(result["runtime"], work)
                if build is None:
                    print(f"{name}: building the index", file=sys.stderr, flush=True)
                    build = build_backend(
                        name, result["runtime"], work / f"index-{name}", args.jobs
                    )
                    if args.cache:
                        search_cache.record(
                            work,
                            manifest,
                            "builds",
                            name,
                            {k: v for k, v in build.items() if k != "node"},
                        )
                result["build"] = build
                print(
                    f"  {name}: built in {build['seconds']:.0f} s"
                    + (" (at an earlier run, reused)" if build.get("reused") else "")
                    + f", {build['size_bytes'] / 2**20:.0f} MiB",
                    file=sys.stderr,
                    flush=True,
                )
                print(f"{name}: timing queries", file=sys.stderr, flush=True)
                result["queries"] = time_queries(build["node"], sets, args.repeat)
                result["page_queries"] = time_queries(build["node"], sets, args.repeat, page=True)
                for key in ("queries", "page_queries"):
                    stats = result[key]["stats"]["all"]
                    print(
                        f"  {name} {key}: p50 {stats['p50_ms']:.1f} ms, "
                        f"p99 {stats['p99_ms']:.1f} ms",
                        file=sys.stderr,
                        flush=True,
                    )
            except Exception as exc:  # reported
                result["error"] = f"{type(exc).__name__}: {exc}"
                traceback.print_exc()

        brute = manifest.get("brute")
        if brute is None and not args.no_brute:
            if texts is None:
                print("generating the texts again for the scan", file=sys.stderr, flush=True)
                texts, _generation = generate_and_load(pool, args, [])
            print("brute force", file=sys.stderr, flush=True)
            brute = brute_force(texts, sets, args.brute_repeat)
            if args.cache:
                manifest["brute"] = brute
                search_cache.save(work, manifest)
        del texts

        diagnosis: dict[str, Any] = {"slowest_query": {}, "read_ms_per_material": {}}
        for name in args.backends:
            result = backends[name]
            if result.get("error") or "queries" not in result:
                continue
            try:
                slowest = _slowest(result["queries"]["queries"], 1)[0]
                diagnosis["slowest_query"][name] = profile_query(
                    result["build"]["node"], slowest["query"], args.top
                )
            except Exception as exc:  # reported
                diagnosis.setdefault("errors", {})[name] = f"{type(exc).__name__}: {exc}"
                traceback.print_exc()
            try:
                if "build_breakdown" not in diagnosis:
                    print(f"{name}: build breakdown", file=sys.stderr, flush=True)
                    breakdown = build_breakdown(result["runtime"].db, args.breakdown)
                    diagnosis["build_breakdown"] = breakdown
                    read = breakdown["ms_per_material"]["read (published_batches)"]
                else:
                    read = read_ms(result["runtime"].db, args.breakdown)
                diagnosis["read_ms_per_material"][name] = read
            except Exception as exc:  # reported
                diagnosis.setdefault("errors", {})[name + " breakdown"] = (
                    f"{type(exc).__name__}: {exc}"
                )
                traceback.print_exc()
        meta["diagnosis"] = diagnosis
        for result in backends.values():
            node = result.get("build", {}).get("node")
            if node is not None:
                node.index.release()

    checks = evaluate(backends, brute)
    meta["load_after"] = os.getloadavg()[0]
    meta["total_seconds"] = time.perf_counter() - started
    print_report(meta, backends, brute, checks)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    payload = {"meta": meta, "backends": _strip(backends), "brute_force": brute, "checks": checks}
    OUT.write_text(
        json.dumps(payload, ensure_ascii=False, indent=2, default=str) + "\n", encoding="utf-8"
    )
    return 0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--materials", type=int, help="materials to generate (default 100000)")
    parser.add_argument("--quick", action="store_true", help="5,000 materials")
    parser.add_argument("--queries", type=int, default=50, help="queries per kind (default 50)")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per query (median)")
    parser.add_argument(
        "--brute-repeat", type=int, default=1, help="brute-force scans per term (default 1)"
    )
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--pg", default=PG_SERVER, help="server URL (a maintenance database)")
    parser.add_argument("--batch", type=int, default=1000, help="rows per bulk insert")
    parser.add_argument("--seed", type=int, default=20261126)
    parser.add_argument(
        "--jobs", type=int, help="worker processes of the index build (default: one per CPU)"
    )
    parser.add_argument(
        "--breakdown", type=int, default=1000, help="materials in the build breakdown"
    )
    parser.add_argument("--top", type=int, default=12, help="profile rows of the slowest query")
    parser.add_argument(
        "--keep",
        type=Path,
        metavar="DIR",
        help="build in DIR and keep the SQLite database and both index folders there",
    )
    parser.add_argument(
        "--cache",
        type=Path,
        metavar="DIR",
        help="keep the generated library (SQLite file, a kept PostgreSQL database, the index "
        "folders, the query sets and brute-force figures) in DIR and reuse it on the next "
        "run with the same --materials and --seed: no generating, loading or scanning",
    )
    parser.add_argument(
        "--pg-index-from-sqlite",
        action="store_true",
        help="PostgreSQL searches the SQLite backend's index (hard-linked, no build timed): "
        "a loaded machine's shortcut; the builds differ only in reading",
    )
    parser.add_argument(
        "--no-brute",
        action="store_true",
        help="skip the brute-force scan (and its speed-up figures) unless the cache has it",
    )
    parser.add_argument(
        "--rebuild",
        action="store_true",
        help="with --cache: rebuild (and time) the indexes even when the cached ones are current",
    )
    args = parser.parse_args(argv)
    if args.cache is not None and args.keep is not None:
        parser.error("--cache and --keep exclude each other")
    args.materials = args.materials or (5000 if args.quick else 100_000)
    args.backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    unknown = set(args.backends) - set(BACKEND_LABEL)
    if unknown:
        parser.error(f"unknown backend(s) {', '.join(sorted(unknown))}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.cache is not None:
        args.cache = args.cache.resolve()
        args.cache.mkdir(parents=True, exist_ok=True)
        return benchmark(args, args.cache)
    if args.keep is not None:
        work = args.keep.resolve()
        if work.exists() and any(work.iterdir()):
            print(f"--keep: {work} is not empty", file=sys.stderr)
            return 2
        work.mkdir(parents=True, exist_ok=True)
    else:
        work = Path(tempfile.mkdtemp(prefix="wenxing-bench-search-"))
    try:
        return benchmark(args, work)
    finally:
        if args.keep is not None:
            print(f"SQLite database and index folders kept in {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
