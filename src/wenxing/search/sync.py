"""Keeping a node's index in step with the database.

Whatever changes a material's searchable text or visibility writes a ``SearchChange`` row in
the same transaction (``note_change``, called by the handler of the materials' domain events,
``_on_material_changed``: the materials package raises them and never imports search). A
node's index remembers the last change it applied
(a small file in the index folder, written after each commit) and ``catch_up`` applies the
rest in order: the material's current published version replaces its units, or the material
leaves the index. The same path serves the embedded default (one process) and PostgreSQL
with several workers: whichever process holds the index's writer lock applies the changes,
the others reload.

The node's folder holds generations: ``CURRENT`` names the one in use (``gen-…``), built
from the database whose identity and epoch it records (``installation``). A rebuild
(``reindex``, or by itself when the index is damaged, missing, or was built from another
database or an earlier life of this one, as after a restore) writes a fresh generation and
swaps ``CURRENT`` to it; the processes sharing the folder follow at their next search.
Until a rebuild is done, searches answer from the database (``fallback``), slower, with a
notice; a damaged index is never opened, so no worker dies of it.
"""

from __future__ import annotations

import json
import logging
import secrets
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from wenxing import installation
from wenxing.config import PublisherSettings
from wenxing.db.engine import Database
from wenxing.events import (
    MaterialEdited,
    MaterialPublished,
    MaterialRevised,
    MaterialUnpublished,
    VersionStored,
    handles,
    in_transaction,
)
from wenxing.materials.models import Material
from wenxing.materials.queries import current_version
from wenxing.search import build
from wenxing.search.build import MaterialEntry, make_entry
from wenxing.search.generations import (
    BUILT_FOR,
    CURRENT,
    GEN,
    REBUILD_LOCK,
    applied_in,
    built_for,
    current_name,
    current_stamp,
    damaged_files,
    file_size,
    rebuild_lock,
    remember_applied,
    segment_sizes,
    write_json,
)
from wenxing.search.index import SearchIndex
from wenxing.search.models import SearchChange
from wenxing.search.units import units_of

log = logging.getLogger(__name__)
# How long a search waits for a rebuild it started before answering from the database.
REBUILD_WAIT = 5.0
ZONE_SECONDS = 5.0  # how stale the publisher's time zone may be for search date filters


def _recoverable(exc: BaseException) -> bool:
    """An error of a damaged index: any Exception, or a panic of tantivy's Rust code (which
    reaches Python as ``pyo3_runtime.PanicException``, a BaseException)."""
    return isinstance(exc, Exception) or type(exc).__name__ == "PanicException"


NODE_OPENING = threading.Lock()  # Runtime.search_index: one NodeIndex per runtime
# The writer of a rebuild: two indexing threads sharing a large heap (one falls behind the
# segmenting workers: 4,000 materials on two idle cores, 28 s and 25 s with one, 23 s with
# two). Rankings do not depend on how documents fall into segments (BM25's statistics are
# the whole index's; ties go by material and ordinal), as for everyday changes' writer.
REINDEX_HEAP_MB = 512
REINDEX_THREADS = 2


_noted_here = 0  # changes this process has recorded (a search here must not wait for them)


def note_change(session: Session, material_id: int) -> None:
    """Record that a material's text or visibility changed (in the caller's transaction)."""
    global _noted_here
    _noted_here += 1
    session.add(SearchChange(material_id=material_id))


@handles(MaterialPublished, MaterialUnpublished, MaterialRevised, MaterialEdited, VersionStored)
def _on_material_changed(
    session: Session,
    event: MaterialPublished
    | MaterialUnpublished
    | MaterialRevised
    | MaterialEdited
    | VersionStored,
) -> None:
    """A material's text or visibility changed: note it, once per material and transaction
    (an import that stores a version and publishes it raises two events; the index reads
    the material as it is when it applies the change, so one row says all)."""
    noted = in_transaction(session).setdefault("search.noted", set())
    if event.material_id not in noted:
        noted.add(event.material_id)
        note_change(session, event.material_id)


@dataclass
class CatchUp:
    applied: int  # materials re-indexed or removed
    last_change: int  # id of the last change now in the index
    locked: bool = False  # another process holds the writer: it will apply them


def entry_for(session: Session, material: Material) -> tuple[MaterialEntry, list] | None:
    """The index entry and units of a material, or None when it must not be searchable."""
    if material.status != "published" or material.published_at is None:
        return None
    version = current_version(session, material)
    entry = make_entry(
        material.id,
        version.id,
        material.title,
        material.kind,
        material.category,
        material.tags,
        material.published_at,
    )
    return entry, units_of(version.body, version.outline)


class IndexUnusable(RuntimeError):
    """The node's index cannot answer now (damaged, missing, or another database's); a
    rebuild is under way. The message says why, in English, for logs."""


class NodeIndex:
    """This node's index of one database, shared by the threads of a process.

    ``wait`` is how long a search waits for a rebuild it started before answering from the
    database instead (None: until it is done, as the command line does)."""

    def __init__(self, db: Database, path: Path, *, wait: float | None = REBUILD_WAIT):
        self.db = db
        self.root = Path(path)
        self.wait = wait
        self.index: SearchIndex | None = None
        self.generation: str | None = None
        self.problem: str | None = None  # why the index is not in use, while it is not
        self._built_for: str | None = None  # the identity token of the open generation
        self._sizes: dict[str, int] = {}
        self._lock = threading.Lock()
        self._fresh: tuple[float, int, int] | None = None  # (when, changes noted here, last)
        self._rebuild: threading.Thread | None = None
        self._zone: tuple[float, str] | None = None
        self._stamp: tuple[int, int] | None = None
        self.root.mkdir(parents=True, exist_ok=True)
        with self._lock:
            self._open_current()

    @property
    def path(self) -> Path:
        """The folder of the generation in use (the root when there is none yet)."""
        return self.root / self.generation if self.generation else self.root

    # --- the generation in use -------------------------------------------------------------

    def _open_current(self) -> None:
        """Open the generation ``CURRENT`` names, if it is whole; else leave none open."""
        self._stamp = current_stamp(self.root)
        name = current_name(self.root)
        self.index, self.generation, self._built_for = None, name, None
        if name is None:
            self.problem = "no index built yet"
            return
        folder = self.root / name
        try:
            damage = damaged_files(folder)
            if damage:
                raise IndexUnusable(f"damaged files {', '.join(damage[:3])}")
            identity = json.loads((folder / BUILT_FOR).read_text())["identity"]
            self.index = SearchIndex(folder)
            self._built_for = identity
            self._sizes = segment_sizes(folder)
            self.problem = None
        except BaseException as exc:
            if not _recoverable(exc):
                raise
            self.index = None
            self.problem = f"index {name} unusable: {str(exc)[:200]}"
            log.warning("search index %s cannot be used (%s): rebuilding", folder, exc)

    def _check_open(self, identity: str | None) -> None:
        """Follow another process's swap; give up an index that was damaged under us (a
        segment shorter than when it was opened would kill the process on reading) or
        built from another database or epoch."""
        stamp = current_stamp(self.root)
        if stamp != self._stamp:
            if current_name(self.root) != self.generation:
                self._open_current()
            else:
                self._stamp = stamp
        if self.index is None:
            return
        if identity is not None and identity != self._built_for:
            self.index = None
            self.problem = "index built from another database or before a restore"
            log.warning("search index %s: %s; rebuilding", self.path, self.problem)
            return
        shrunk = [n for n, size in self._sizes.items() if 0 <= file_size(self.path / n) < size]
        if shrunk:
            self.index = None
            self.problem = f"index files cut short: {', '.join(shrunk[:3])}"
            log.warning("search index %s: %s; rebuilding", self.path, self.problem)

    def last_applied(self) -> int:
        return applied_in(self.path)

    # --- keeping current -------------------------------------------------------------------

    def catch_up(self, *, fresh_for: float = 0.0) -> CatchUp:
        """Apply the changes other writers recorded since the last catch-up and see other
        processes' commits. With ``fresh_for``, a catch-up less than that many seconds old
        is enough (searches: another worker's publish shows within that time), unless this
        process has recorded a change since. Raises IndexUnusable (a rebuild started) when
        the index cannot answer within ``wait``."""
        with self._lock:
            fresh = self._fresh
            if (
                self.index is not None
                and fresh is not None
                and fresh[1] == _noted_here
                and time.monotonic() - fresh[0] < fresh_for
            ):
                self._check_open(None)
                if self.index is not None:
                    return CatchUp(0, fresh[2])
            began, noted = time.monotonic(), _noted_here
            caught = self._catch_up_usable()
            if not caught.locked:  # else the writer's process applies them: look again soon
                self._fresh = (began, noted, caught.last_change)
            return caught

    def _catch_up_usable(self) -> CatchUp:
        identity = database_identity(self.db)
        self._check_open(identity)
        if self.index is None:
            self._await_rebuild()
            self._check_open(identity)
            if self.index is None:
                raise IndexUnusable(self.problem or "search index unusable")
        try:
            caught = self._catch_up()
            self._sizes = segment_sizes(self.path)
            return caught
        except BaseException as exc:  # a segment or meta.json went bad under us
            if isinstance(exc, SQLAlchemyError) or not _recoverable(exc):
                raise
            self.index = None
            self.problem = f"index {self.generation} failed: {str(exc)[:200]}"
            log.warning("search index %s failed (%s): rebuilding", self.path, exc)
            self._await_rebuild()
            self._check_open(identity)
            if self.index is None:
                raise IndexUnusable(self.problem) from None
            return self._catch_up()

    def _catch_up(self) -> CatchUp:
        index = self.index
        assert index is not None
        applied_before = self.last_applied()
        with self.db.reading() as session:
            last = session.scalar(select(func.max(SearchChange.id))) or 0
            if last <= applied_before:
                index.reload()
                return CatchUp(0, applied_before)
            pending = session.scalars(
                select(SearchChange.material_id)
                .where(SearchChange.id > applied_before, SearchChange.id <= last)
                .group_by(SearchChange.material_id)
                .order_by(func.min(SearchChange.id))
            ).all()
        try:
            index.writer()
        except ValueError:  # another process holds the writer and is applying them
            index.reload()
            return CatchUp(0, applied_before, locked=True)
        try:
            with self.db.reading() as session:
                for material_id in pending:
                    _apply(index, session, material_id)
            index.commit()
        except BaseException:
            index.release()
            raise
        remember_applied(self.path, last)
        return CatchUp(len(pending), last)

    # --- rebuilding ------------------------------------------------------------------------

    def timezone(self) -> str:
        """The publisher's time zone (search date filters are its days), read at most every
        ``ZONE_SECONDS``."""
        now = time.monotonic()
        if self._zone is None or now - self._zone[0] > ZONE_SECONDS:
            with self.db.reading() as session:
                self._zone = (now, PublisherSettings.load(session).timezone)
        return self._zone[1]

    def give_up(self, why: str) -> None:
        """Stop using the index (it failed under a query) and rebuild it in the background."""
        with self._lock:
            self.index, self.problem = None, why
            log.warning("search index %s: %s; rebuilding", self.path, why)
            if not self.rebuilding():
                self._rebuild = threading.Thread(
                    target=self._rebuild_quietly, name="wenxing-search-rebuild", daemon=True
                )
                self._rebuild.start()

    def rebuilding(self) -> bool:
        return self._rebuild is not None and self._rebuild.is_alive()

    def _await_rebuild(self) -> None:
        """Start a rebuild in the background (one per process; across processes the one
        holding the folder's rebuild lock builds, the others wait for its swap) and wait
        for it up to ``wait`` seconds."""
        if not self.rebuilding():
            self._rebuild = threading.Thread(
                target=self._rebuild_quietly, name="wenxing-search-rebuild", daemon=True
            )
            self._rebuild.start()
        assert self._rebuild is not None  # running, or started just above
        self._rebuild.join(self.wait)

    def _rebuild_quietly(self) -> None:
        try:
            self.build_generation(jobs=1, lock_wait=True)
        except Exception:
            log.exception("search index rebuild in %s failed", self.root)

    def build_generation(
        self,
        progress: Callable[[int, int], None] | None = None,
        *,
        jobs: int = 1,
        lock_wait: bool = True,
    ) -> CatchUp:
        """Build a fresh generation from the database and swap ``CURRENT`` to it. One
        process builds at a time (a lock file in the folder); one that waited for another's
        build finds it done and builds nothing when it is of this database and epoch."""
        before = current_name(self.root)
        with rebuild_lock(self.root, lock_wait):
            identity = database_identity(self.db)
            current = current_name(self.root)
            if (
                current != before
                and current is not None
                and built_for(self.root / current) == identity
                and not damaged_files(self.root / current)
            ):
                return CatchUp(0, 0)  # another process rebuilt it meanwhile
            name = f"{GEN}{time.strftime('%Y%m%d%H%M%S')}-{secrets.token_hex(4)}"
            folder = self.root / name
            try:
                applied, last = _fill(self.db, folder, jobs, progress)
                write_json(folder / BUILT_FOR, {"identity": identity})
                write_json(self.root / CURRENT, {"generation": name})
            except BaseException:
                shutil.rmtree(folder, ignore_errors=True)
                raise
            self._remove_old(name)
            log.info("search index rebuilt in %s (%d materials)", folder, applied)
            return CatchUp(applied, last)

    def _remove_old(self, keep: str) -> None:
        """Other generations and a pre-generation index's files go (processes that still
        have them open keep reading them until they follow the swap)."""
        for entry in self.root.iterdir():
            if entry.name in (keep, CURRENT, REBUILD_LOCK):
                continue
            if entry.name.startswith(GEN) and entry.is_dir():
                shutil.rmtree(entry, ignore_errors=True)
            elif entry.is_file() and not entry.name.startswith(".wenxing-"):
                entry.unlink(missing_ok=True)

    def reindex(
        self, progress: Callable[[int, int], None] | None = None, *, jobs: int | None = None
    ) -> CatchUp:
        """Rebuild the index from the database into a fresh generation (the one in use is
        never opened for it, so a damaged one is no obstacle) and swap it in, segmenting
        in ``jobs`` worker processes (default: one per CPU; see ``build``)."""
        with self._lock:
            self._fresh = None
            caught = self.build_generation(
                progress, jobs=jobs if jobs is not None else build.default_jobs()
            )
            self._open_current()
            if self.index is None:
                raise IndexUnusable(self.problem or "the rebuilt index cannot be opened")
            return caught


def _apply(index: SearchIndex, session: Session, material_id: int) -> None:
    material = session.get(Material, material_id)
    found = entry_for(session, material) if material is not None else None
    if found is None:
        index.remove_material(material_id)
    else:
        index.replace_material(*found)


def _fill(
    db: Database, folder: Path, jobs: int, progress: Callable[[int, int], None] | None
) -> tuple[int, int]:
    """Index every published material into a new folder; (materials, last change)."""
    with db.reading() as session:
        last = session.scalar(select(func.max(SearchChange.id))) or 0
    index = SearchIndex(folder)
    writer = index.writer(heap_mb=REINDEX_HEAP_MB, threads=REINDEX_THREADS)
    try:
        applied = build.build(writer.add_document, db, jobs, progress)
        index.commit()
    except BaseException:
        index.release()
        raise
    remember_applied(folder, last)
    return applied, last


def database_identity(db: Database) -> str | None:
    """The identity token of the database (None before ``init`` gave it one)."""
    with db.reading() as session:
        found = installation.identity(session)
    return found.token if found else None
