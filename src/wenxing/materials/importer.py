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

import json
import logging
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import func, insert, or_, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from wenxing import sandbox
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
from wenxing.failures import DISK_FULL, is_disk_full
from wenxing.materials import shingles
from wenxing.materials.cleaning import Cleaner
from wenxing.materials.models import Material, MaterialGram, MaterialVersion, ShingleBand
from wenxing.materials.pipeline import Failure, Limits, Prepared
from wenxing.materials.preparing import Skip, collect_files, prepare_all, prepare_guarded

log = logging.getLogger(__name__)

__all__ = [
    "ImportOptions",
    "ImportReport",
    "MaterialImporter",
    "collect_files",
    "store",
    "store_version",
]

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
            limits = sandbox.Limits.of(settings)
        self.limits = Limits(settings.max_file_bytes, settings.max_unpacked_bytes, limits)
        self.cleaner_args = (
            list(publisher.masthead_lines()) + list(publisher.masthead),
            list(publisher.extra_promo_patterns),
        )
        self.cleaner = Cleaner(*self.cleaner_args)
        self.threshold = float(publisher.near_duplicate_threshold)

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
            if isinstance(item, Skip):
                report.skipped.append({"path": item.path, "reason": item.reason})
            elif isinstance(item, Failure):
                report.failed.append({"path": item.path, "error": item.error})
        if options.publish and len(files) > 1:
            options = replace(options, run=uuid.uuid4().hex)  # its publications are held
        try:
            for prepared in prepare_all(
                files,
                workers,
                self.limits,
                self.cleaner,
                self.cleaner_args,
                sandboxed=self.sandboxed,
            ):
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
        item = prepare_guarded(path, self.limits, self.cleaner)
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


def store(
    session: Session, item: Prepared, options: ImportOptions, threshold: float
) -> dict[str, Any]:
    """Write one prepared file (the caller's transaction commits); returns its outcome."""
    imported = _same_file_imported(session, item)
    if imported is not None:
        return imported
    existing = session.scalars(
        select(Material).where(Material.source_path == item.path).order_by(Material.id).limit(1)
    ).first()
    if existing is not None:
        return _new_version(session, existing, item, options)
    same_text = session.scalars(
        select(MaterialVersion)
        .where(MaterialVersion.body_hash == item.body_hash)
        .order_by(MaterialVersion.id)
        .limit(1)
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
        select(MaterialVersion)
        .where(MaterialVersion.content_hash == item.content_hash)
        .order_by(MaterialVersion.id)
        .limit(1)
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
    # The version's bands and grams go in one executemany each, not an ORM object per row:
    # a material has about a thousand grams, and building and flushing them one by one took
    # most of an import's CPU.
    bands = [{"version_id": version.id, "band": b, "value": v} for b, v in enumerate(item.bands)]
    grams = [{"version_id": version.id, "value": value} for value in item.grams]
    for model, rows in ((ShingleBand, bands), (MaterialGram, grams)):
        if rows:  # executemany refuses an empty list
            session.execute(insert(model), rows)


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
