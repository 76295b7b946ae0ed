"""Import throughput and memory: how fast a folder of generated materials is imported.

Targets (from the issue): at least 50 materials/s from .txt and 20 materials/s from .docx,
materials of about 6,000 characters, on a 2-core machine; peak RSS flat as the folder
grows (largest size at most 1.25x the smallest).

Every measured import runs in a fresh subprocess with a fresh SQLite database, so that
peak RSS is that one run's and nothing is cached between runs. Generating the corpus is
not measured.

    .venv/bin/python bench/import_throughput.py            # full run, about 2-3 minutes
    .venv/bin/python bench/import_throughput.py --quick    # smaller sizes, one repetition
    .venv/bin/python bench/import_throughput.py --profile 100   # cProfile, one process

Figures are printed beside their targets and written to bench/out/import_throughput.json.
The exit code is 0 whether targets pass or miss; it is non-zero only when an import crashes.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import platform
import pstats
import random
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wenxing.config import PublisherSettings

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
CORPUS = Path(os.environ.get("WENXING_CORPUS") or REPO.parent / "shared" / "corpus")
OUT = BENCH / "out" / "import_throughput.json"

TARGETS = {"txt": 50.0, "docx": 20.0}  # materials/s, at the largest folder size
RSS_RATIO_TARGET = 1.25
DEFAULT_SIZES = (100, 200, 400)
QUICK_SIZES = (40, 80, 160)
SECRET = "bench-secret-" + "0" * 32

# --- the sentence pool -------------------------------------------------------------------

# A few characters that only occur in the traditional-character 1954 report; materials
# written today are in simplified characters.
_TRADITIONAL = frozenset("們會國為這來說時產經濟發與對個點業當關")
# Sentences that would open a heading or an enumeration would change the outline we build.
_MARKER_START = re.compile(
    r"^([一二三四五六七八九十]+[、是]|第[一二三四五六七八九十\d]+|[（(\d]|首先|其次|最后|同志们)"
)
_INNER_ITEM = re.compile(r"[一二三四五六七八九十]是")
_CJK = re.compile(r"[\u4e00-\u9fff]")
_CLAUSE_SPLIT = re.compile(r"[，；：、]")
# Wikisource's licence notes, repeated at the tail of the congress reports: not material text.
_BOILERPLATE = re.compile(r"维基|模板|著作权法|原文链接|法宝")
# Headings of official texts open with a verb of action; clauses that do read as headings.
_HEADING_START = re.compile(
    r"^(坚持|加强|推进|强化|着力|深化|加快|完善|提高|推动|全面|持续|大力|切实|进一步|积极|健全"
    r"|优化|落实|做好|抓好|扎实|狠抓|聚焦|突出|统筹|促进|提升|构建|实施|发展|建立|保持|坚定)"
)
_PAIRS = ("“”", "（）", "《》", "‘’")


@dataclass(frozen=True)
class Pool:
    """Real sentences, in source order (runs of neighbours read naturally), and clauses."""

    sentences: tuple[str, ...]
    clauses: tuple[str, ...]


def _usable(sentence: str) -> bool:
    if not 14 <= len(sentence) <= 120:
        return False
    if _MARKER_START.match(sentence) or _INNER_ITEM.search(sentence):
        return False
    if any(ch in _TRADITIONAL for ch in sentence) or _BOILERPLATE.search(sentence):
        return False
    if any(sentence.count(a) != sentence.count(b) for a, b in _PAIRS):
        return False
    return len(_CJK.findall(sentence)) >= 0.75 * len(sentence)


def _file_sentences(text: str) -> list[str]:
    """Whole sentences of one document; fragments of lines broken mid-sentence are dropped."""
    found = []
    continues = False  # does this line continue a sentence broken at the previous line end?
    for raw in text.splitlines():
        line = raw.strip(" \t\u3000\r")
        if not line:
            continues = False
            continue
        pieces = line.split("。")
        # The last piece has no full stop (a heading, or the start of a broken sentence);
        # the first piece of a continued line is the tail of a broken sentence.
        start = 1 if continues else 0
        found.extend(piece + "。" for piece in pieces[start:-1] if _usable(piece + "。"))
        continues = len(line) > 30 and not line.endswith(("。", "！", "？", "：", "”", "）"))
    return found


def load_pool(corpus: Path = CORPUS) -> Pool:
    if not corpus.is_dir():
        print(
            f"note: the corpus is not at {corpus} (set WENXING_CORPUS=PATH): the generated"
            " library draws on fewer sentences and repeats itself",
            file=sys.stderr,
        )
    sentences: dict[str, None] = {}
    for path in sorted(corpus.rglob("*.txt")):
        if "raw_gbk" in path.relative_to(corpus).parts:
            continue
        for sentence in _file_sentences(path.read_text("utf-8")):
            sentences.setdefault(sentence, None)
    clauses: dict[str, None] = {}
    for sentence in sentences:
        clause = _CLAUSE_SPLIT.split(sentence.rstrip("。"))[0]
        if (
            6 <= len(clause) <= 16
            and len(_CJK.findall(clause)) == len(clause)
            and _HEADING_START.match(clause)
        ):
            clauses.setdefault(clause, None)
    return Pool(tuple(sentences), tuple(clauses))


# --- generated materials -----------------------------------------------------------------

_CN = "一二三四五六七八九十"
_LEVELS = ("全县", "全市", "全区", "全镇", "全省", "全系统", "全局", "全乡")
_TOPICS = (
    "乡村振兴",
    "安全生产",
    "优化营商环境",
    "基层党建",
    "生态环境保护",
    "招商引资",
    "重点项目建设",
    "防汛抗旱",
    "民营经济发展",
    "城市管理",
    "教育",
    "卫生健康",
    "文化旅游",
    "农业农村",
    "人才",
    "科技创新",
    "信访维稳",
    "党风廉政建设",
    "意识形态",
    "金融风险防范",
    "统计",
    "财税",
    "审计",
    "粮食安全",
    "数字政府建设",
    "河湖长制",
    "森林防火",
    "老旧小区改造",
    "就业创业",
    "民政",
    "应急管理",
    "市场监管",
    "交通运输",
    "水利",
    "国资国企改革",
    "开发区建设",
    "社会治理",
)
_MEETINGS = (
    "工作会议",
    "推进会",
    "专题会议",
    "动员部署会",
    "现场推进会",
    "调度会",
    "工作座谈会",
    "总结表彰大会",
)
_SPEECH_TITLES = (
    "在{level}{topic}{meeting}上的讲话",
    "在{level}{topic}{meeting}上的讲话提纲",
    "在{year}年{level}{topic}{meeting}上的讲话",
)
_REPORT_TITLES = (
    "关于{place}{topic}工作的调研报告",
    "关于{topic}情况的调研报告",
    "{place}{year}年{topic}工作情况报告",
)
_PLACES = ("我县", "我市", "我区", "全镇", "我局", "本系统")
# The publisher's masthead: a third of the files carry it, as files copied from a
# delivered material do, so that cleaning does its real work.
_MASTHEAD = tuple(PublisherSettings.defaults().masthead_lines())


def _title(rng: random.Random, speech: bool) -> str:
    template = rng.choice(_SPEECH_TITLES if speech else _REPORT_TITLES)
    return template.format(
        level=rng.choice(_LEVELS),
        topic=rng.choice(_TOPICS),
        meeting=rng.choice(_MEETINGS),
        place=rng.choice(_PLACES),
        year=rng.randint(2016, 2025),
    )


def _paragraph(rng: random.Random, pool: Pool, budget: int) -> str:
    """Sentences from the pool until ``budget`` characters, in runs of 1-3 neighbours."""
    parts: list[str] = []
    length = 0
    while length < budget:
        start = rng.randrange(len(pool.sentences))
        for sentence in pool.sentences[start : start + rng.randint(1, 3)]:
            if length >= budget:
                break
            parts.append(sentence)
            length += len(sentence)
    return "".join(parts)


def _section(rng: random.Random, pool: Pool, number: int, budget: int) -> list[str]:
    lines = [f"{_CN[number]}、{rng.choice(pool.clauses)}，{rng.choice(pool.clauses)}"]
    lead = rng.randint(120, 260)
    lines.append(_paragraph(rng, pool, lead))
    items = rng.randint(2, 4)
    per_item = max(100, (budget - lead) // items)
    for item in range(items):
        heading = f"{_CN[item]}是{rng.choice(pool.clauses)}。"
        lines.append(heading + _paragraph(rng, pool, per_item - len(heading)))
    return lines


def make_material(pool: Pool, seed: int, index: int) -> list[str]:
    """The lines of material ``index``: the same for a seed, whatever the corpus size."""
    rng = random.Random(f"{seed}:{index}")
    speech = rng.random() < 0.7
    target = rng.randint(5100, 5700)  # paragraphs overshoot their budgets by ~600
    lines = [*_MASTHEAD, ""] if index % 3 == 0 else []
    lines.append(_title(rng, speech))
    if speech:
        lines.append("同志们：")
    opening, closing = rng.randint(200, 400), rng.randint(150, 300)
    lines.append(_paragraph(rng, pool, opening))
    sections = rng.randint(3, 5)
    for number in range(sections):
        lines.extend(_section(rng, pool, number, (target - opening - closing) // sections))
    lines.append(("同志们，" if speech else "下一步，") + _paragraph(rng, pool, closing))
    return lines


def write_corpus(pool: Pool, seed: int, count: int, folders: dict[str, Path]) -> int:
    """Write materials 0..count-1 in each format ("txt", "docx"); returns the mean length."""
    import docx  # only the writer needs python-docx; the importer imports it itself

    for folder in folders.values():
        folder.mkdir(parents=True, exist_ok=True)
    total = 0
    for index in range(count):
        lines = make_material(pool, seed, index)
        total += sum(len(line) for line in lines if line not in _MASTHEAD)  # text only
        if "txt" in folders:
            text = "\n".join(lines) + "\n"
            (folders["txt"] / f"{index:05d}.txt").write_text(text, encoding="utf-8")
        if "docx" in folders:
            document = docx.Document()
            for line in lines:
                document.add_paragraph(line)
            document.save(str(folders["docx"] / f"{index:05d}.docx"))
    return round(total / max(count, 1))


def link_subset(source: Path, target: Path, count: int, suffix: str) -> None:
    """A folder holding the first ``count`` files of ``source`` (hard links: no copying)."""
    target.mkdir(parents=True, exist_ok=True)
    for name in sorted(p.name for p in source.glob(f"*{suffix}"))[:count]:
        try:
            os.link(source / name, target / name)
        except OSError:
            shutil.copy2(source / name, target / name)


def max_similarity(folder: Path) -> float:
    """Highest pairwise MinHash-estimated Jaccard between the files (the importer's view)."""
    import numpy as np

    from wenxing.materials import shingles

    signatures = np.array(
        [
            shingles.minhash(shingles.shingle_hashes(path.read_text("utf-8")))
            for path in sorted(folder.glob("*.txt"))
        ]
    )
    best = 0.0
    for i in range(len(signatures) - 1):
        agree = (signatures[i + 1 :] == signatures[i]).mean(axis=1)
        best = max(best, float(agree.max()))
    return best


# --- one measured import (runs in a subprocess) ------------------------------------------


def _fresh_importer(db_dir: Path):
    from wenxing.config import Settings
    from wenxing.materials.importer import MaterialImporter
    from wenxing.runtime import initialise

    settings = Settings(database_url=f"sqlite:///{db_dir / 'wenxing.db'}", secret=SECRET)
    runtime, _ = initialise(settings)
    return runtime, MaterialImporter(runtime.db, settings, runtime.publisher_settings())


def _peak_rss_kib() -> int:
    """This process's own peak RSS.

    ``ru_maxrss`` of RUSAGE_SELF survives exec on Linux: a subprocess starts with the peak of
    the process that spawned it (here the benchmark, holding the corpus). VmHWM belongs to
    the process's current address space only, so it is the import's own figure.
    """
    try:
        status = Path("/proc/self/status").read_text()
        return int(status.split("VmHWM:")[1].split()[0])
    except (OSError, IndexError, ValueError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _cpu_seconds(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def child_main(folder: Path, db_dir: Path, workers: int | None) -> int:
    """Import one folder into a fresh database and print the figures as one JSON line."""
    from wenxing.materials.importer import ImportOptions

    runtime, importer = _fresh_importer(db_dir)
    try:
        cpu_before = _cpu_seconds(resource.RUSAGE_SELF)
        start = time.perf_counter()
        report = importer.run([folder], ImportOptions(publish=True), workers=workers)
        seconds = time.perf_counter() - start
        main_cpu = _cpu_seconds(resource.RUSAGE_SELF) - cpu_before
    finally:
        runtime.close()
    # RUSAGE_CHILDREN covers the pool's workers, which the pool has joined by the time run()
    # returns: its ru_maxrss is the largest single worker's peak (in KiB on Linux).
    result = {
        "seconds": seconds,
        "imported": len(report.imported),
        "skipped": len(report.skipped),
        "failed": len(report.failed),
        "problems": (report.skipped + report.failed)[:3],
        "main_peak_kib": _peak_rss_kib(),
        "main_ru_maxrss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        "worker_peak_kib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
        "main_cpu_seconds": main_cpu,
        "worker_cpu_seconds": _cpu_seconds(resource.RUSAGE_CHILDREN),
        "load_average": os.getloadavg()[0],
    }
    print("RESULT " + json.dumps(result, ensure_ascii=False), flush=True)
    return 0


class ImportCrashed(RuntimeError):
    """The import subprocess ended with an error instead of a report."""


def run_child(folder: Path, db_dir: Path, workers: int | None) -> dict[str, Any]:
    db_dir.mkdir(parents=True)
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--child",
        str(folder),
        "--db-dir",
        str(db_dir),
    ]
    if workers is not None:
        command += ["--workers", str(workers)]
    proc = subprocess.run(command, capture_output=True, text=True, cwd=REPO, check=False)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    if proc.returncode != 0 or not lines:
        tail = "\n".join(proc.stderr.strip().splitlines()[-15:])
        raise ImportCrashed(f"import of {folder} exited with {proc.returncode}:\n{tail}")
    return json.loads(lines[-1][len("RESULT ") :])


# --- measuring and reporting -------------------------------------------------------------


def measure(label: str, folder: Path, size: int, args: argparse.Namespace, work: Path) -> dict:
    """``args.repeat`` imports of one folder; the median time gives the throughput."""
    runs = []
    for rep in range(args.repeat):
        result = run_child(folder, work / "db" / f"{label}-{size}-{rep}", args.workers)
        runs.append(result)
        cpu = result["main_cpu_seconds"] + result["worker_cpu_seconds"]
        print(
            f"  {label} {size:>5} files, run {rep + 1}/{args.repeat}: "
            f"{result['seconds']:6.2f} s  {result['imported'] / result['seconds']:6.1f} "
            f"materials/s  CPU {cpu:6.2f} s  main {result['main_peak_kib'] / 1024:.0f} MiB  "
            f"workers {result['worker_peak_kib'] / 1024:.0f} MiB  "
            f"load {result['load_average']:.1f}",
            file=sys.stderr,
        )
    median = statistics.median(r["seconds"] for r in runs)
    imported = min(r["imported"] for r in runs)
    cpu = statistics.median(r["main_cpu_seconds"] + r["worker_cpu_seconds"] for r in runs)
    # Share of the machine's CPUs the import got: well below 100% means either that the
    # pipeline leaves a core idle or that other processes took it (see the load column).
    utilisation = statistics.median(
        (r["main_cpu_seconds"] + r["worker_cpu_seconds"]) / (r["seconds"] * (os.cpu_count() or 1))
        for r in runs
    )
    return {
        "format": label,
        "files": size,
        "runs": runs,
        "median_seconds": median,
        "throughput": imported / median if median else 0.0,
        # CPU time is what contention from other processes on the machine does not inflate.
        "cpu_ms_per_material": 1000 * cpu / max(imported, 1),
        "cpu_utilisation": utilisation,
        "main_cpu_share": statistics.median(
            r["main_cpu_seconds"] / max(r["main_cpu_seconds"] + r["worker_cpu_seconds"], 1e-9)
            for r in runs
        ),
        "main_peak_mib": max(r["main_peak_kib"] for r in runs) / 1024,
        "worker_peak_mib": max(r["worker_peak_kib"] for r in runs) / 1024,
        "max_load_average": max(r["load_average"] for r in runs),
        "imported": imported,
        "skipped": max(r["skipped"] for r in runs),
        "failed": max(r["failed"] for r in runs),
        "problems": next((r["problems"] for r in runs if r["problems"]), []),
    }


def _check(name: str, value: float, unit: str, target: str, ok: bool) -> dict[str, Any]:
    return {
        "figure": name,
        "value": value,
        "unit": unit,
        "target": target,
        "result": "PASS" if ok else "MISS",
    }


def _completeness(row: dict[str, Any]) -> dict[str, Any]:
    ok = row["imported"] == row["files"] and not row["skipped"] and not row["failed"]
    check = _check(
        f"{row['format']} {row['files']} files imported",
        row["imported"],
        f"of {row['files']}",
        "all, 0 skipped/failed",
        ok,
    )
    check["detail"] = f"skipped {row['skipped']}, failed {row['failed']}"
    if row["problems"]:
        first = row["problems"][0]
        check["detail"] += f"; e.g. {first['path']}: {first.get('reason') or first.get('error')}"
    return check


def marginal(rows: list[dict]) -> dict[str, float] | None:
    """Time = fixed + files / rate, fitted over the sizes: steady rate and start-up cost."""
    if len(rows) < 2:
        return None
    fit = statistics.linear_regression(
        [row["files"] for row in rows], [row["median_seconds"] for row in rows]
    )
    if fit.slope <= 0:
        return None
    return {"materials_per_second": 1 / fit.slope, "fixed_seconds": fit.intercept}


def _format_checks(fmt: str, rows: list[dict]) -> list[dict[str, Any]]:
    largest, smallest = rows[-1], rows[0]
    target = TARGETS[fmt]
    checks = [
        _check(
            f"{fmt} throughput ({largest['files']} files)",
            largest["throughput"],
            "materials/s",
            f"≥ {target:g}",
            largest["throughput"] >= target,
        )
    ]
    if len(rows) < 2:
        return checks
    for key, who in (("main_peak_mib", "main"), ("worker_peak_mib", "workers")):
        if smallest[key] <= 0:
            continue  # no workers ran (a folder below the importer's parallel threshold)
        ratio = largest[key] / smallest[key]
        checks.append(
            _check(
                f"{fmt} peak RSS {who} {largest['files']}/{smallest['files']} files",
                ratio,
                f"x ({largest[key]:.0f} / {smallest[key]:.0f} MiB)",
                f"≤ {RSS_RATIO_TARGET:g}x",
                ratio <= RSS_RATIO_TARGET,
            )
        )
    return checks


def evaluate(rows: list[dict]) -> list[dict[str, Any]]:
    """Each figure beside its target: throughput and memory per format, then completeness."""
    checks = []
    for fmt in TARGETS:
        fmt_rows = sorted((r for r in rows if r["format"] == fmt), key=lambda r: r["files"])
        if fmt_rows:
            checks.extend(_format_checks(fmt, fmt_rows))
    checks.extend(_completeness(row) for row in rows)
    return checks


def _busy_note(rows: list[dict], meta: dict[str, Any]) -> str | None:
    # Contention shows as the import getting less of the CPUs than it asks for, with a
    # load average above what the import itself adds (about workers + 1).
    busiest = max(row["max_load_average"] for row in rows)
    lowest = min(row["cpu_utilisation"] for row in rows)
    if lowest >= 0.85 or (meta["load_before"] <= 0.5 and busiest <= meta["cpus"] + 1):
        return None
    return (
        f"NOTE: the machine was busy (load {meta['load_before']:.1f} before start, up to "
        f"{busiest:.1f} during runs, {meta['cpus']} CPUs; the import got as little as "
        f"{lowest:.0%} of them): wall-time figures understate throughput; CPU ms/material "
        f"is not affected"
    )


def _print_rows(rows: list[dict]) -> None:
    header = (
        f"{'format':<6} {'files':>6} {'median s':>9} {'materials/s':>12} "
        f"{'CPU ms/mat':>11} {'util':>5} {'main CPU':>9} {'main peak':>10} "
        f"{'worker peak':>12} {'load':>5}  imported/skipped/failed"
    )
    print(header)
    print("-" * len(header))
    for row in rows:
        print(
            f"{row['format']:<6} {row['files']:>6} {row['median_seconds']:>9.2f} "
            f"{row['throughput']:>12.1f} {row['cpu_ms_per_material']:>11.1f} "
            f"{row['cpu_utilisation']:>5.0%} "
            f"{row['main_cpu_share']:>8.0%} {row['main_peak_mib']:>6.0f} MiB "
            f"{row['worker_peak_mib']:>8.0f} MiB {row['max_load_average']:>5.1f}  "
            f"{row['imported']}/{row['skipped']}/{row['failed']}"
        )


def print_report(rows: list[dict], checks: list[dict], meta: dict[str, Any]) -> None:
    print(
        f"\nImport throughput — {meta['cpus']} CPUs, Python {meta['python']}, "
        f"materials of ~{meta['mean_chars']} chars, seed {meta['seed']}, "
        f"median of {meta['repeat']} run(s)"
    )
    print(
        f"corpus generated in {meta['generate_seconds']:.1f} s (not measured); "
        f"max pairwise similarity {meta['max_similarity']:.2f} (skip threshold 0.90)"
    )
    note = _busy_note(rows, meta)
    if note:
        print(note)
    print()
    _print_rows(rows)
    print()
    for fmt, fit in meta["marginal"].items():
        if fit:
            print(
                f"{fmt} time fitted over sizes: {fit['fixed_seconds']:.2f} s fixed per import "
                f"+ {fit['materials_per_second']:.1f} materials/s marginal (no target)"
            )
    print()
    for check in checks:
        value = check["value"]
        shown = f"{value:.2f}" if isinstance(value, float) else str(value)
        print(
            f"{check['figure']:<38} {shown:>7} {check['unit']:<22} "
            f"target {check['target']:<22} {check['result']}"
        )
        if check["result"] == "MISS" and check.get("detail"):
            print(f"{'':<38} {check['detail']}")
    print(
        f"\ntotal benchmark time {meta['total_seconds']:.0f} s; figures in {OUT.relative_to(REPO)}"
    )


def prepare(args: argparse.Namespace, work: Path) -> tuple[dict[str, dict[int, Path]], dict]:
    """Generate the largest corpus once; smaller sizes are its first files."""
    started = time.perf_counter()
    pool = load_pool()
    full = {fmt: work / f"all-{fmt}" for fmt in (*args.formats, "txt")}
    mean_chars = write_corpus(pool, args.seed, max(args.sizes), full)
    folders: dict[str, dict[int, Path]] = {}
    for fmt in args.formats:
        folders[fmt] = {}
        for size in args.sizes:
            folders[fmt][size] = work / f"{fmt}-{size}"
            link_subset(full[fmt], folders[fmt][size], size, f".{fmt}")
    meta = {
        "pool_sentences": len(pool.sentences),
        "mean_chars": mean_chars,
        "generate_seconds": time.perf_counter() - started,
        "max_similarity": max_similarity(full["txt"]),
    }
    return folders, meta


def benchmark(args: argparse.Namespace, work: Path) -> int:
    started = time.perf_counter()
    load_before = os.getloadavg()[0]
    folders, meta = prepare(args, work)
    print(
        f"generated {max(args.sizes)} materials from {meta['pool_sentences']} corpus "
        f"sentences in {meta['generate_seconds']:.1f} s",
        file=sys.stderr,
    )
    try:
        rows = [
            measure(fmt, folders[fmt][size], size, args, work)
            for fmt in args.formats
            for size in args.sizes
        ]
    except ImportCrashed as exc:
        print(f"IMPORT ERROR: {exc}", file=sys.stderr)
        return 2
    checks = evaluate(rows)
    meta.update(
        marginal={fmt: marginal([r for r in rows if r["format"] == fmt]) for fmt in args.formats},
        load_before=load_before,
        cpus=os.cpu_count(),
        python=platform.python_version(),
        seed=args.seed,
        repeat=args.repeat,
        total_seconds=time.perf_counter() - started,
    )
    print_report(rows, checks, meta)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(
        json.dumps({"meta": meta, "rows": rows, "checks": checks}, ensure_ascii=False, indent=2)
        + "\n",
        encoding="utf-8",
    )
    return 0


def profile(args: argparse.Namespace, work: Path) -> int:
    """cProfile of one single-process import: where the time goes, without worker noise."""
    from wenxing.materials.importer import ImportOptions

    folder = work / "profile-txt"
    write_corpus(load_pool(), args.seed, args.profile, {"txt": folder})
    (work / "db").mkdir()
    runtime, importer = _fresh_importer(work / "db")
    profiler = cProfile.Profile()
    try:
        report = profiler.runcall(importer.run, [folder], ImportOptions(publish=True), workers=1)
    finally:
        runtime.close()
    print(
        f"imported {len(report.imported)}, skipped {len(report.skipped)}, "
        f"failed {len(report.failed)}"
    )
    OUT.parent.mkdir(parents=True, exist_ok=True)
    profiler.dump_stats(OUT.with_name("import_profile.prof"))
    for order in ("cumulative", "tottime"):
        stream = io.StringIO()
        pstats.Stats(profiler, stream=stream).sort_stats(order).print_stats(args.top)
        print(stream.getvalue())
    return 0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"sizes {','.join(map(str, QUICK_SIZES))}, one repetition",
    )
    parser.add_argument(
        "--sizes",
        type=lambda s: [int(x) for x in s.split(",")],
        help="comma-separated .txt folder sizes (default 100,200,400)",
    )
    parser.add_argument("--repeat", type=int, help="runs per size (default 3)")
    parser.add_argument(
        "--formats",
        type=lambda s: s.split(","),
        default=list(TARGETS),
        help="comma-separated formats to import (default txt,docx)",
    )
    parser.add_argument("--workers", type=int, help="importer workers (default: its own choice)")
    parser.add_argument("--seed", type=int, default=20261126)
    parser.add_argument("--keep", action="store_true", help="keep the generated files")
    parser.add_argument(
        "--profile",
        type=int,
        metavar="N",
        help="instead: cProfile one single-process import of N .txt files",
    )
    parser.add_argument("--top", type=int, default=10, help="rows of profile output")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--db-dir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    unknown = set(args.formats) - set(TARGETS)
    if unknown:
        parser.error(f"unknown format(s) {', '.join(sorted(unknown))}; use txt and/or docx")
    args.sizes = sorted(args.sizes or (QUICK_SIZES if args.quick else DEFAULT_SIZES))
    args.repeat = args.repeat or (1 if args.quick else 3)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.child is not None:
        return child_main(args.child, args.db_dir, args.workers)
    work = Path(tempfile.mkdtemp(prefix="wenxing-bench-"))
    try:
        return profile(args, work) if args.profile else benchmark(args, work)
    finally:
        if args.keep:
            print(f"generated files kept in {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
