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

import fcntl
import json
import logging
import os
import re
import secrets
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
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
from wenxing.search.index import SearchIndex
from wenxing.search.models import SearchChange
from wenxing.search.units import units_of

log = logging.getLogger(__name__)
_STATE = "wenxing-applied.json"
_CURRENT = "CURRENT"  # {"generation": "gen-…"}: the generation in use
_GEN = "gen-"
_BUILT_FOR = "wenxing-built-for.json"  # {"identity": the database identity token}
_REBUILD_LOCK = ".wenxing-rebuild.lock"
_SEGMENT_FILE = re.compile(r"^[0-9a-f]{32}\.")
_FOOTER_MAGIC = 1337  # tantivy's footer ends every segment file with it
# How long a search waits for a rebuild it started before answering from the database.
REBUILD_WAIT = 5.0
ZONE_SECONDS = 5.0  # how stale the publisher's time zone may be for search date filters


def _recoverable(exc: BaseException) -> bool:
    """An error of a damaged index: any Exception, or a panic of tantivy's Rust code (which
    reaches Python as ``pyo3_runtime.PanicException``, a BaseException)."""
    return isinstance(exc, Exception) or type(exc).__name__ == "PanicException"


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

    def _current_name(self) -> str | None:
        try:
            name = json.loads((self.root / _CURRENT).read_text())["generation"]
        except (FileNotFoundError, ValueError, KeyError, TypeError):
            return None
        return name if isinstance(name, str) and name.startswith(_GEN) else None

    def _current_stamp(self) -> tuple[int, int] | None:
        """``CURRENT``'s inode and change time: a swap replaces the file (a new inode), so
        a search sees whether to look again with one ``stat``."""
        try:
            found = os.stat(self.root / _CURRENT)
        except OSError:
            return None
        return found.st_ino, found.st_mtime_ns

    def _open_current(self) -> None:
        """Open the generation ``CURRENT`` names, if it is whole; else leave none open."""
        self._stamp = self._current_stamp()
        name = self._current_name()
        self.index, self.generation, self._built_for = None, name, None
        if name is None:
            self.problem = "no index built yet"
            return
        folder = self.root / name
        try:
            damage = damaged_files(folder)
            if damage:
                raise IndexUnusable(f"damaged files {', '.join(damage[:3])}")
            built_for = json.loads((folder / _BUILT_FOR).read_text())["identity"]
            self.index = SearchIndex(folder)
            self._built_for = built_for
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
        stamp = self._current_stamp()
        if stamp != self._stamp:
            if self._current_name() != self.generation:
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
        shrunk = [n for n, size in self._sizes.items() if 0 <= _size(self.path / n) < size]
        if shrunk:
            self.index = None
            self.problem = f"index files cut short: {', '.join(shrunk[:3])}"
            log.warning("search index %s: %s; rebuilding", self.path, self.problem)

    def last_applied(self) -> int:
        try:
            return int(json.loads((self.path / _STATE).read_text())["last_change"])
        except (FileNotFoundError, ValueError, KeyError, NotADirectoryError):
            return 0

    def _remember(self, last_change: int, folder: Path | None = None) -> None:
        state = (folder or self.path) / _STATE
        partial = state.with_name(state.name + f".{os.getpid()}")
        partial.write_text(json.dumps({"last_change": last_change}))
        partial.replace(state)

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
        self._remember(last)
        return CatchUp(len(pending), last)

    # --- rebuilding ------------------------------------------------------------------------

    def timezone(self) -> str:
        """The publisher's time zone (search date filters are its days), read at most every
        ``ZONE_SECONDS``."""
        now = time.monotonic()
        if self._zone is None or now - self._zone[0] > ZONE_SECONDS:
            with self.db.reading() as session:
                self._zone = (now, PublisherSettings.load(session)["timezone"])
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
        before = self._current_name()
        with _rebuild_lock(self.root, lock_wait):
            identity = database_identity(self.db)
            current = self._current_name()
            if (
                current != before
                and current is not None
                and _built_for(self.root / current) == identity
                and not damaged_files(self.root / current)
            ):
                return CatchUp(0, 0)  # another process rebuilt it meanwhile
            name = f"{_GEN}{time.strftime('%Y%m%d%H%M%S')}-{secrets.token_hex(4)}"
            folder = self.root / name
            try:
                applied, last = _fill(self.db, folder, jobs, progress)
                _write_json(folder / _BUILT_FOR, {"identity": identity})
                _write_json(self.root / _CURRENT, {"generation": name})
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
            if entry.name in (keep, _CURRENT, _REBUILD_LOCK):
                continue
            if entry.name.startswith(_GEN) and entry.is_dir():
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
    state = folder / _STATE
    state.write_text(json.dumps({"last_change": last}))
    return applied, last


def database_identity(db: Database) -> str | None:
    """The identity token of the database (None before ``init`` gave it one)."""
    with db.reading() as session:
        found = installation.identity(session)
    return found.token if found else None


def _built_for(folder: Path) -> str | None:
    try:
        return json.loads((folder / _BUILT_FOR).read_text())["identity"]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return -1  # gone: an open reader keeps it; a reload reports it if still needed


def segment_sizes(folder: Path) -> dict[str, int]:
    """The index's segment files and their sizes (what a reader may be reading)."""
    sizes = {}
    for entry in os.scandir(folder):
        if _SEGMENT_FILE.match(entry.name):
            try:
                sizes[entry.name] = entry.stat().st_size
            except OSError:
                continue
    return sizes


def damaged_files(folder: Path) -> list[str]:
    """The index files of ``folder`` that cannot be read safely: a segment file missing,
    or one whose footer (a length and tantivy's magic number at its very end) is not there,
    as in a truncated file; a ``meta.json`` that is not JSON. Reading a truncated file
    through its memory map would kill the process (SIGBUS); this never maps it."""
    meta_path = folder / "meta.json"
    try:
        meta = json.loads(meta_path.read_text())
        segments = [s["segment_id"].replace("-", "") for s in meta.get("segments", [])]
    except FileNotFoundError:
        return ["meta.json"]
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return ["meta.json"]
    bad = []
    names = {e.name for e in os.scandir(folder)}
    for segment in segments:
        files = [n for n in names if n.startswith(segment + ".")]
        if not any(n.endswith(".store") for n in files) or not any(
            n.endswith(".term") for n in files
        ):
            bad.append(f"{segment}.*")
        for name in files:
            if not _footer_ok(folder / name):
                bad.append(name)
    return bad


def _footer_ok(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            if size < 8:
                return False
            handle.seek(size - 8)
            tail = handle.read(8)
    except OSError:
        return False
    length = int.from_bytes(tail[:4], "little")
    return int.from_bytes(tail[4:], "little") == _FOOTER_MAGIC and length + 8 <= size


@contextmanager
def _rebuild_lock(root: Path, wait: bool) -> Iterator[None]:
    with open(root / _REBUILD_LOCK, "a") as handle:
        flags = fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB
        try:
            fcntl.flock(handle.fileno(), flags)
        except BlockingIOError:
            raise SearchBusy("another process is rebuilding this node's search index") from None
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _write_json(path: Path, document: dict) -> None:
    partial = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    with partial.open("w") as handle:
        json.dump(document, handle)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(partial, path)


class SearchBusy(RuntimeError):
    """The index cannot be written now."""
