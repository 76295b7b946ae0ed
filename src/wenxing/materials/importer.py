"""Importing files and folders into the library: one transaction per file.

Order of decisions for a prepared file:
  1. the same bytes were imported before                → skipped
  2. a material came from the same source path          → new version (or skipped if unchanged)
  3. the same clean text exists                         → skipped
  4. a material's shingles are ≥ threshold similar      → skipped, naming the original
  5. otherwise                                          → a new material

A run of several files with ``publish`` announces what it published once, when it ends
(live/digests.py): its materials are held as they are published, and announced together
after the last file, or after an error stops the run.
"""

from __future__ import annotations

import gc
import json
import logging
import multiprocessing
import os
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import func, or_, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from wenxing.config import PublisherSettings, Settings
from wenxing.db.base import utcnow
from wenxing.db.engine import Database
from wenxing.errors import DomainError
from wenxing.events import (
    RUN_ABANDONED_SECONDS,
    ImportRunEnded,
    MaterialPublished,
    MaterialRevised,
    VersionStored,
    raise_,
)
from wenxing.failures import DISK_FULL, die_with_parent, is_disk_full
from wenxing.materials import keywords, shingles
from wenxing.materials.cleaning import Cleaner
from wenxing.materials.models import Material, MaterialGram, MaterialVersion, ShingleBand
from wenxing.materials.pipeline import Failure, Limits, Prepared, prepare_file
from wenxing.materials.readers import SUPPORTED_SUFFIXES

log = logging.getLogger(__name__)

_PARALLEL_FROM = 8  # files; below this, worker start-up costs more than it saves
_MAX_CANDIDATES = 20


@dataclass(frozen=True)
class ImportOptions:
    category: str | None = None
    tags: tuple[str, ...] = ()
    publish: bool = False
    # The import run whose publications are held for one announcement (set by ``run``).
    run: str | None = None


@dataclass
class ImportReport:
    """What an import did. A skipped file's ``reason`` and a failed one's ``error`` are
    DomainErrors (``import.*`` and ``read.*`` codes): ``as_dict()`` gives their English,
    as the CLI prints it; the console shows their Chinese (web/error_messages.py)."""

    imported: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[dict[str, Any]] = field(default_factory=list)
    failed: list[dict[str, Any]] = field(default_factory=list)
    stopped: str | None = None  # why the import stopped before the end (a full disk)

    def as_dict(self) -> dict[str, Any]:
        found: dict[str, Any] = {
            "imported": self.imported,
            "skipped": [{**s, "reason": str(s["reason"])} for s in self.skipped],
            "failed": [{**f, "error": str(f["error"])} for f in self.failed],
        }
        if self.stopped:
            found["stopped"] = self.stopped
        return found


@dataclass(frozen=True)
class _Skip:
    path: str
    reason: DomainError


def collect_files(paths: Iterable[Path]) -> Iterator[Path | _Skip | Failure]:
    """Files to import, in a stable order; folders are walked recursively."""
    for path in paths:
        if not path.exists():
            yield Failure(str(path), DomainError("import.no_such_path"))
        elif path.is_dir():
            yield from _walk(path)
        elif path.suffix.lower() not in SUPPORTED_SUFFIXES and path.suffix.lower() != ".doc":
            yield Failure(str(path), _unsupported(path))
        else:
            yield path


def _walk(folder: Path) -> Iterator[Path | _Skip]:
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError as exc:
        yield _Skip(
            str(folder), DomainError("import.cannot_list_folder", detail=exc.strerror or str(exc))
        )
        return
    for entry in entries:
        # Hidden files, and the ~$ lock files Word leaves beside open documents.
        if entry.name.startswith((".", "~$")):
            continue
        path = Path(entry.path)
        if entry.is_dir(follow_symlinks=False):
            yield from _walk(path)
        elif path.suffix.lower() in SUPPORTED_SUFFIXES or path.suffix.lower() == ".doc":
            yield path
        else:
            yield _Skip(str(path), _unsupported(path))


def _unsupported(path: Path) -> DomainError:
    if path.suffix:
        return DomainError("import.unsupported_type", suffix=path.suffix)
    return DomainError("import.no_extension")


class MaterialImporter:
    """Imports files into one database, following the publisher's cleaning settings."""

    def __init__(
        self,
        db: Database,
        settings: Settings,
        publisher: PublisherSettings,
        *,
        sandboxed: bool = False,
    ):
        """``sandboxed``: read each file in a limited child process (``wenxing.sandbox``),
        one at a time: for uploads through the web console."""
        self.db = db
        self.sandboxed = sandboxed
        limits = None
        if sandboxed:
            from wenxing import sandbox

            limits = sandbox.Limits.of(settings)
        self.limits = Limits(settings.max_file_bytes, settings.max_unpacked_bytes, limits)
        self.cleaner_args = (
            list(publisher.masthead_lines()) + list(publisher["masthead"]),
            list(publisher["extra_promo_patterns"]),
        )
        self.cleaner = Cleaner(*self.cleaner_args)
        self.threshold = float(publisher["near_duplicate_threshold"])

    def run(
        self,
        paths: Iterable[Path],
        options: ImportOptions,
        on_progress: Callable[[str], None] | None = None,
        workers: int | None = None,
    ) -> ImportReport:
        report = ImportReport()
        items = list(collect_files(paths))
        files = [item for item in items if isinstance(item, Path)]
        for item in items:
            if isinstance(item, _Skip):
                report.skipped.append({"path": item.path, "reason": item.reason})
            elif isinstance(item, Failure):
                report.failed.append({"path": item.path, "error": item.error})
        if options.publish and len(files) > 1:
            options = replace(options, run=uuid.uuid4().hex)  # its publications are held
        try:
            for prepared in self._prepare_all(files, workers):
                full = self._record(report, prepared, options)
                if on_progress:
                    on_progress(prepared.path)
                if full:  # nothing more can be stored: stop, and say why for the rest
                    report.stopped = DISK_FULL
                    break
        finally:
            if options.run is not None:
                self._announce(options.run)
        return report

    def _announce(self, run: str) -> None:
        """Announce what the run published (a failure here is logged: the hub announces
        the run later, see live/digests.py)."""
        try:
            with self.db.transaction() as session:
                raise_(session, ImportRunEnded(run))
        except Exception:  # (must not hide the run's own error, nor lose its report)
            log.exception(
                "announcing the import run's publications failed; a server process "
                "announces them when the run has been idle for %d minutes",
                RUN_ABANDONED_SECONDS // 60,
            )

    def run_version(self, material_id: int, path: Path, options: ImportOptions) -> ImportReport:
        """Import one file as the next version of an existing material (the console's
        new-version upload), whatever the file is called."""
        report = ImportReport()
        item = _prepare_guarded(path, self.limits, self.cleaner)
        if isinstance(item, Failure):
            report.failed.append({"path": item.path, "error": item.error})
            return report
        with self.db.transaction() as session:
            material = session.get(Material, material_id)
            if material is None:
                raise LookupError(material_id)
            outcome = store_version(session, material, item, options)
        (report.skipped if "reason" in outcome else report.imported).append(outcome)
        return report

    def _prepare_all(self, files: list[Path], workers: int | None) -> Iterator[Prepared | Failure]:
        if self.sandboxed:
            workers = 1  # each file is read in its own sandbox child already
        if workers is None:
            workers = min(os.cpu_count() or 1, 4) if len(files) >= _PARALLEL_FROM else 1
        if workers <= 1:
            for path in files:
                yield _prepare_guarded(path, self.limits, self.cleaner)
            return
        # Load the segmenter's dictionaries once here: forked workers share them instead of
        # each spending a second (and ~100 MiB) loading its own.
        keywords.warm_up()
        # Move everything loaded so far out of the collector's sight: the per-.docx
        # collections in the workers then cost little, and pages stay shared after fork.
        gc.freeze()
        with ProcessPoolExecutor(
            max_workers=workers,
            mp_context=multiprocessing.get_context("fork"),
            initializer=_worker_init,
            initargs=(*self.cleaner_args, os.getpid()),
        ) as pool:
            yield from _bounded_map(pool, files, self.limits, ahead=workers * 4)

    def _record(self, report: ImportReport, item: Prepared | Failure, options: ImportOptions):
        if isinstance(item, Failure):
            report.failed.append({"path": item.path, "error": item.error})
            return
        try:
            with self.db.transaction() as session:
                outcome = store(session, item, options, self.threshold)
        except (SQLAlchemyError, OSError) as exc:
            if is_disk_full(exc):
                log.error("storing %s failed: disk full; import stopped", item.path)
                report.failed.append({"path": item.path, "error": DomainError("import.disk_full")})
                return True
            if isinstance(exc, OSError):
                raise
            log.exception("storing %s failed", item.path)
            error = DomainError("import.database_error", detail=exc.__class__.__name__)
            report.failed.append({"path": item.path, "error": error})
            return False
        if "reason" in outcome:
            report.skipped.append(outcome)
        else:
            report.imported.append(outcome)
        return False


_worker_cleaner: Cleaner | None = None


def _worker_init(masthead: list[str], promo: list[str], parent: int) -> None:
    global _worker_cleaner
    die_with_parent(parent)  # a killed import leaves no worker behind
    _worker_cleaner = Cleaner(masthead, promo)


def _worker_prepare(path: Path, limits: Limits) -> Prepared | Failure:
    assert _worker_cleaner is not None
    result = _prepare_guarded(path, limits, _worker_cleaner)
    if path.suffix.lower() == ".docx":
        # python-docx documents are reference cycles holding large XML trees; free them now
        # rather than at the collector's leisure, so a worker's memory stays flat.
        gc.collect()
    return result


def _prepare_guarded(path: Path, limits: Limits, cleaner: Cleaner) -> Prepared | Failure:
    try:
        return prepare_file(path, limits, cleaner)
    except Exception as exc:  # a parser bug must cost one file, not the whole import
        log.exception("preparing %s failed", path)
        return Failure(
            str(path), DomainError("import.internal_error", detail=exc.__class__.__name__)
        )


def _bounded_map(
    pool: Executor, files: list[Path], limits: Limits, ahead: int
) -> Iterator[Prepared | Failure]:
    """Results in order, with at most ``ahead`` files in flight, so memory stays flat."""
    pending: deque[tuple[Path, Future[Prepared | Failure]]] = deque()
    queue = iter(files)
    for path in queue:
        pending.append((path, pool.submit(_worker_prepare, path, limits)))
        if len(pending) >= ahead:
            break
    while pending:
        path, future = pending.popleft()
        try:
            yield future.result()
        except Exception as exc:  # a worker that died (out of memory, killed)
            yield Failure(
                str(path), DomainError("import.worker_failed", detail=exc.__class__.__name__)
            )
        next_path = next(queue, None)
        if next_path is not None:
            pending.append((next_path, pool.submit(_worker_prepare, next_path, limits)))


def store(
    session: Session, item: Prepared, options: ImportOptions, threshold: float
) -> dict[str, Any]:
    """Write one prepared file (the caller's transaction commits); returns its outcome."""
    imported = _same_file_imported(session, item)
    if imported is not None:
        return imported
    existing = session.scalars(
        select(Material).where(Material.source_path == item.path).limit(1)
    ).first()
    if existing is not None:
        return _new_version(session, existing, item, options)
    same_text = session.scalars(
        select(MaterialVersion).where(MaterialVersion.body_hash == item.body_hash).limit(1)
    ).first()
    if same_text is not None:
        return _skip(item, "import.same_text", id=same_text.material_id)
    original = _near_duplicate(session, item, threshold)
    if original is not None:
        version, similarity = original
        return _skip(
            item,
            "import.near_duplicate",
            id=version.material_id,
            title=version.title,
            similarity=f"{similarity:.2f}",
        )
    now = utcnow()
    material = Material(
        title=item.title,
        kind=item.kind,
        category=options.category,
        tags=",".join(options.tags),
        source_path=item.path,
        status="published" if options.publish else "draft",
        published_at=now if options.publish else None,
        current_version=1,
    )
    session.add(material)
    session.flush()
    _add_version(session, material, item, 1)
    if material.status == "published":
        raise_(session, MaterialPublished(material.id, run=options.run))
    return {"id": material.id, "title": material.title, "path": item.path, "version": 1}


def store_version(
    session: Session, material: Material, item: Prepared, options: ImportOptions
) -> dict[str, Any]:
    """Write a prepared file as the material's next version (unless it is a file already
    imported, or the same text as the current version)."""
    imported = _same_file_imported(session, item)
    if imported is not None:
        return imported
    return _new_version(session, material, item, options)


def _same_file_imported(session: Session, item: Prepared) -> dict[str, Any] | None:
    """The skip of a file whose bytes were imported before (None when they were not)."""
    same_bytes = session.scalars(
        select(MaterialVersion).where(MaterialVersion.content_hash == item.content_hash).limit(1)
    ).first()
    if same_bytes is None:
        return None
    return _skip(item, "import.same_bytes", id=same_bytes.material_id, version=same_bytes.number)


def _skip(item: Prepared, code: str, **params: Any) -> dict[str, Any]:
    return {"path": item.path, "reason": DomainError(code, **params)}


def _new_version(
    session: Session, material: Material, item: Prepared, options: ImportOptions
) -> dict[str, Any]:
    current = session.scalars(
        select(MaterialVersion).where(
            MaterialVersion.material_id == material.id,
            MaterialVersion.number == material.current_version,
        )
    ).one()
    if current.body_hash == item.body_hash:
        return _skip(item, "import.unchanged", id=material.id, version=current.number)
    number = material.current_version + 1
    material.current_version = number
    material.title = item.title
    material.kind = item.kind
    if options.category is not None:
        material.category = options.category
    if options.tags:
        material.tags = ",".join(
            dict.fromkeys([*filter(None, material.tags.split(",")), *options.tags])
        )
    was_published = material.status == "published"
    if options.publish and not was_published:
        material.status = "published"
        material.published_at = utcnow()
    _add_version(session, material, item, number)
    if was_published:
        raise_(session, MaterialRevised(material.id, number))
    elif material.status == "published":
        raise_(session, MaterialPublished(material.id, run=options.run))
    return {"id": material.id, "title": material.title, "path": item.path, "version": number}


def _add_version(session: Session, material: Material, item: Prepared, number: int) -> None:
    raise_(session, VersionStored(material.id, number))
    version = MaterialVersion(
        material_id=material.id,
        number=number,
        title=item.title,
        kind=item.kind,
        source_name=item.source_name[:300],
        source_format=item.source_format,
        source_encoding=item.source_encoding,
        content_hash=item.content_hash,
        body_hash=item.body_hash,
        body=item.body,
        chars=len(item.body),
        outline=item.outline_json,
        keywords=json.dumps(item.keywords, ensure_ascii=False),
        minhash=item.minhash,
    )
    session.add(version)
    session.flush()
    session.add_all(
        ShingleBand(version_id=version.id, band=band, value=value)
        for band, value in enumerate(item.bands)
    )
    session.add_all(MaterialGram(version_id=version.id, value=value) for value in item.grams)


def _near_duplicate(
    session: Session, item: Prepared, threshold: float
) -> tuple[MaterialVersion, float] | None:
    conditions = [
        (ShingleBand.band == band) & (ShingleBand.value == value)
        for band, value in enumerate(item.bands)
    ]
    rows = session.execute(
        select(ShingleBand.version_id, func.count())
        .where(or_(*conditions))
        .group_by(ShingleBand.version_id)
        .order_by(func.count().desc())
        .limit(_MAX_CANDIDATES)
    ).all()
    if not rows:
        return None
    mine = np.frombuffer(item.shingle_hashes, dtype=np.uint64)
    best: tuple[MaterialVersion, float] | None = None
    for version_id, _count in rows:
        version = session.get(MaterialVersion, version_id)
        if version is None:
            continue
        similarity = shingles.jaccard(mine, shingles.shingle_hashes(version.body))
        if similarity >= threshold and (best is None or similarity > best[1]):
            best = (version, similarity)
    return best
