"""Keeping a node's index in step with the database.

Whatever changes a material's searchable text or visibility writes a ``SearchChange`` row in
the same transaction (``note_change``). A node's index remembers the last change it applied
(a small file in the index folder, written after each commit) and ``catch_up`` applies the
rest in order: the material's current published version replaces its units, or the material
leaves the index. The same path serves the embedded default (one process) and PostgreSQL
with several workers: whichever process holds the index's writer lock applies the changes,
the others reload. ``reindex`` rebuilds the whole index from the database.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from wenxing.db.engine import Database
from wenxing.materials.catalog import current_version
from wenxing.materials.models import Material
from wenxing.search import build
from wenxing.search.build import MaterialEntry, make_entry
from wenxing.search.index import SearchIndex
from wenxing.search.models import SearchChange
from wenxing.search.units import units_of

log = logging.getLogger(__name__)
_STATE = "wenxing-applied.json"
NODE_OPENING = threading.Lock()  # Runtime.search_index: one NodeIndex per runtime
# The writer of a rebuild: one indexing thread with a large heap does the same work with
# less CPU than several (fewer segments to merge), and keeps up with the workers.
REINDEX_HEAP_MB = 512
REINDEX_THREADS = 1


_noted_here = 0  # changes this process has recorded (a search here must not wait for them)


def note_change(session: Session, material_id: int) -> None:
    """Record that a material's text or visibility changed (in the caller's transaction)."""
    global _noted_here
    _noted_here += 1
    session.add(SearchChange(material_id=material_id))


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


class NodeIndex:
    """This node's index of one database, shared by the threads of a process."""

    def __init__(self, db: Database, path: Path):
        self.db = db
        self.index = SearchIndex(path)
        self.path = Path(path)
        self._lock = threading.Lock()
        self._fresh: tuple[float, int, int] | None = None  # (when, changes noted here, last)

    def last_applied(self) -> int:
        try:
            return int(json.loads((self.path / _STATE).read_text())["last_change"])
        except (FileNotFoundError, ValueError, KeyError):
            return 0

    def _remember(self, last_change: int) -> None:
        state = self.path / _STATE
        partial = state.with_name(state.name + f".{os.getpid()}")
        partial.write_text(json.dumps({"last_change": last_change}))
        partial.replace(state)

    def catch_up(self, *, fresh_for: float = 0.0) -> CatchUp:
        """Apply the changes other writers recorded since the last catch-up and see other
        processes' commits. With ``fresh_for``, a catch-up less than that many seconds old
        is enough (searches: another worker's publish shows within that time), unless this
        process has recorded a change since."""
        with self._lock:
            fresh = self._fresh
            if (
                fresh is not None
                and fresh[1] == _noted_here
                and time.monotonic() - fresh[0] < fresh_for
            ):
                return CatchUp(0, fresh[2])
            began, noted = time.monotonic(), _noted_here
            caught = self._catch_up()
            if not caught.locked:  # else the writer's process applies them: look again soon
                self._fresh = (began, noted, caught.last_change)
            return caught

    def _catch_up(self) -> CatchUp:
        applied_before = self.last_applied()
        with self.db.reading() as session:
            last = session.scalar(select(func.max(SearchChange.id))) or 0
            if last <= applied_before:
                self.index.reload()
                return CatchUp(0, applied_before)
            pending = session.scalars(
                select(SearchChange.material_id)
                .where(SearchChange.id > applied_before, SearchChange.id <= last)
                .group_by(SearchChange.material_id)
                .order_by(func.min(SearchChange.id))
            ).all()
        try:
            self.index.writer()
        except ValueError:  # another process holds the writer and is applying them
            self.index.reload()
            return CatchUp(0, applied_before, locked=True)
        try:
            with self.db.reading() as session:
                for material_id in pending:
                    self._apply(session, material_id)
            self.index.commit()
        except BaseException:
            self.index.release()
            raise
        self._remember(last)
        return CatchUp(len(pending), last)

    def _apply(self, session: Session, material_id: int) -> None:
        material = session.get(Material, material_id)
        found = entry_for(session, material) if material is not None else None
        if found is None:
            self.index.remove_material(material_id)
        else:
            self.index.replace_material(*found)

    def reindex(
        self, progress: Callable[[int, int], None] | None = None, *, jobs: int | None = None
    ) -> CatchUp:
        """Rebuild the index from the database (every published material), segmenting in
        ``jobs`` worker processes (default: one per CPU; see ``build``). Nothing is
        visible until the end: on any error the writer is rolled back and the previous
        index stays as it was."""
        with self._lock:
            self._fresh = None
            with self.db.reading() as session:
                last = session.scalar(select(func.max(SearchChange.id))) or 0
            try:
                writer = self.index.writer(heap_mb=REINDEX_HEAP_MB, threads=REINDEX_THREADS)
            except ValueError:
                raise SearchBusy(
                    "the search index is being written by another process (a running server?)"
                ) from None
            try:
                self.index.clear()
                applied = build.build(
                    writer.add_document,
                    self.db,
                    jobs if jobs is not None else build.default_jobs(),
                    progress,
                )
                self.index.commit()
            except BaseException:
                self.index.release()
                raise
            self._remember(last)
            return CatchUp(applied, last)


class SearchBusy(RuntimeError):
    """The index cannot be written now."""
