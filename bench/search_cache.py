"""The generated library of `bench/search.py --cache DIR`, kept for the next run.

A run with ``--cache DIR`` keeps in DIR the SQLite database (``wenxing.db``), both index
folders (``index-sqlite``, ``index-postgresql``) and ``manifest.json`` (the query sets, the
generation and brute-force figures, each backend's build figures), and keeps its PostgreSQL
database (``wenxing_bench_search_<materials>_<seed>`` on the ``--pg`` server) instead of
dropping it. The next run with the same ``--materials`` and ``--seed`` (and the same
generator) loads nothing and scans nothing: it reuses the databases, the query sets, the
brute-force figures and the indexes when they are of this wenxing's layout (``--rebuild``
times a fresh build instead). Anything that does not match is generated afresh.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

MANIFEST = "manifest.json"
SQLITE_FILE = "wenxing.db"
_GENERATOR_FILES = ("search.py", "import_throughput.py")


def generator_digest() -> str:
    """Changes when the code that generates materials or draws queries may have changed."""
    digest = hashlib.sha256()
    for name in _GENERATOR_FILES:
        source = (Path(__file__).parent / name).read_text("utf-8")
        if name == "search.py":  # only the generating part: the rest may change freely
            source = _between(source, "# --- generated materials", "# --- databases") + _between(
                source, "def draw_queries(", "\ndef percentile("
            )
        digest.update(source.encode("utf-8"))
    return digest.hexdigest()[:16]


def _between(source: str, first: str, last: str) -> str:
    start = source.find(first)
    return source[start : source.find(last, start)] if start >= 0 else ""


def pg_database_name(materials: int, seed: int) -> str:
    return f"wenxing_bench_search_{materials}_{seed}"


def load(folder: Path, materials: int, seed: int) -> dict[str, Any] | None:
    """The folder's manifest when it is of this size, seed and generator; else None."""
    try:
        manifest = json.loads((folder / MANIFEST).read_text("utf-8"))
    except (FileNotFoundError, ValueError):
        return None
    if (
        manifest.get("materials") != materials
        or manifest.get("seed") != seed
        or manifest.get("generator") != generator_digest()
    ):
        return None
    return manifest


def fresh(materials: int, seed: int) -> dict[str, Any]:
    return {
        "materials": materials,
        "seed": seed,
        "generator": generator_digest(),
        "loaded": [],
        "builds": {},
    }


def save(folder: Path, manifest: dict[str, Any]) -> None:
    partial = folder / (MANIFEST + ".tmp")
    partial.write_text(
        json.dumps(manifest, ensure_ascii=False, indent=1, default=str) + "\n", "utf-8"
    )
    partial.replace(folder / MANIFEST)


def postgres_url(server: str, name: str, *, recreate: bool) -> str:
    """The kept database's SQLAlchemy URL; with ``recreate`` it is dropped and made empty."""
    import psycopg

    with psycopg.connect(server, autocommit=True) as admin:
        exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if recreate and exists:
            admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        if recreate or not exists:
            admin.execute(f'CREATE DATABASE "{name}"')
    base = server.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    return f"{base}/{name}"


def reset_sqlite(folder: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        (folder / (SQLITE_FILE + suffix)).unlink(missing_ok=True)


def record(folder: Path, manifest: dict[str, Any], section: str, name: str, value: Any) -> None:
    """Set ``manifest[section][name]`` and save, keeping what another run with the same
    cache saved meanwhile (one run per backend may share a cache)."""
    on_disk = (
        json.loads((folder / MANIFEST).read_text("utf-8")) if (folder / MANIFEST).exists() else {}
    )
    for key in ("builds",):
        manifest.setdefault(key, {}).update(
            {k: v for k, v in on_disk.get(key, {}).items() if k not in manifest[key]}
        )
    manifest.setdefault(section, {})[name] = value
    save(folder, manifest)


def linked_index(source: Path, target: Path, identity: str | None) -> None:
    """``target`` made a node folder holding ``source``'s generation (its files hard-linked:
    tantivy never changes a file it wrote) for the database of ``identity``."""
    import os
    import shutil

    generation = json.loads((source / "CURRENT").read_text())["generation"]
    if target.exists():
        shutil.rmtree(target)
    (target / generation).mkdir(parents=True)
    for entry in (source / generation).iterdir():
        if entry.is_file() and not entry.name.startswith(".wenxing-"):
            os.link(entry, target / generation / entry.name)
    built_for = target / generation / "wenxing-built-for.json"
    built_for.unlink()
    built_for.write_text(json.dumps({"identity": identity}))
    (target / "CURRENT").write_text(json.dumps({"generation": generation}))
