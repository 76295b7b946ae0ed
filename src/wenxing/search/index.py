"""The search index: tantivy over pre-segmented text.

Two kinds of document: one per material (``level`` 1: title, headings and body as sub-words,
to decide which materials match all the terms anywhere in them), and one per unit
(``level`` 0: a section or item, to find the sections that speak of them and to cut
snippets). A unit is indexed in three streams per field (see ``tokenize``): words with
positions (phrases), search-mode sub-words (乡村 finds 乡村振兴) and, for the body, single
characters and bigrams with positions (any run of characters is a phrase of its bigrams). Titles and headings weigh more at query time. The index lives in a folder on
the node; every process of a deployment opens it, one at a time holds the writer (``sync``
keeps it current from the database).
"""

from __future__ import annotations

import logging
import os
import shutil
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import tantivy

try:
    import fcntl
except ImportError:  # not on POSIX: opens are serialised within a process only
    fcntl = None  # type: ignore[assignment]  # every server wenxing runs on is POSIX

from wenxing.search.build import MATERIAL, UNIT, MaterialEntry, documents, prepare_units
from wenxing.search.units import Unit

__all__ = ["MATERIAL", "SCHEMA", "UNIT", "MaterialEntry", "SearchIndex", "material_documents"]

log = logging.getLogger(__name__)

# 3: characters with positions (phrases cut inside words); 4: public item headings;
# 5: bigrams with positions (runs of characters), characters without, kind and category
# stored and fast (facets), figures whole (6.5%)
SCHEMA_VERSION = 5
_MARKER = "wenxing-schema"  # the layout version of the folder's index
_OPEN_LOCK = ".wenxing-open.lock"  # held while a process opens (and perhaps rebuilds) it
_OPENING = threading.Lock()  # the same, between the threads of this process
_SPACE = "wx_space"  # pre-segmented text: split on spaces


def _schema() -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    builder.add_unsigned_field("material", stored=True, indexed=True, fast=True)
    builder.add_unsigned_field("level", indexed=True)
    builder.add_unsigned_field("version", stored=True)
    builder.add_unsigned_field("ordinal", stored=True, indexed=True, fast=True)
    builder.add_unsigned_field("start", stored=True)
    builder.add_integer_field("published", stored=True, indexed=True, fast=True)
    for field in ("title", "head"):
        builder.add_text_field(f"{field}_w", tokenizer_name=_SPACE, index_option="position")
        builder.add_text_field(f"{field}_s", tokenizer_name=_SPACE, index_option="freq")
    builder.add_text_field("body_w", tokenizer_name=_SPACE, index_option="position")
    builder.add_text_field("body_s", tokenizer_name=_SPACE, index_option="freq")
    builder.add_text_field("body_c", tokenizer_name=_SPACE, index_option="freq")
    builder.add_text_field("body_b", tokenizer_name=_SPACE, index_option="position")
    builder.add_text_field("title_b", tokenizer_name=_SPACE, index_option="position")
    for field in ("kind", "category"):
        builder.add_text_field(
            field, stored=True, fast=True, tokenizer_name="raw", index_option="basic"
        )
    builder.add_text_field("tag", tokenizer_name="raw", index_option="basic")
    builder.add_text_field("title", stored=True, tokenizer_name="raw", index_option="basic")
    builder.add_bytes_field("heading", stored=True, indexed=False)
    builder.add_bytes_field("text", stored=True, indexed=False)
    return builder.build()


def _register(index: tantivy.Index) -> None:
    index.register_tokenizer(
        _SPACE, tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.whitespace()).build()
    )


SCHEMA = _schema()


def material_documents(entry: MaterialEntry, units: Iterable[Unit]) -> list[tantivy.Document]:
    """The material's own document followed by one document per unit."""
    return documents(prepare_units(entry, units))


class SearchIndex:
    """One index folder: open it, add and remove materials, search it."""

    def __init__(self, path: Path):
        self.path = Path(path)
        with _opening(self.path):
            marker = self.path / _MARKER
            found = _layout_version(marker)
            if isinstance(found, int) and found != SCHEMA_VERSION:
                # A definite other layout (an older wenxing's): rebuilt from the database.
                log.warning(
                    "search index in %s has layout %s, this wenxing uses %s: starting afresh",
                    self.path,
                    found,
                    SCHEMA_VERSION,
                )
                _empty_folder(self.path)
                found = None
            self.index = tantivy.Index(SCHEMA, path=str(self.path), reuse=True)
            _register(self.index)
            if found != SCHEMA_VERSION:
                _write_atomically(marker, str(SCHEMA_VERSION))
        self._writer: tantivy.IndexWriter | None = None

    @classmethod
    def in_memory(cls) -> SearchIndex:
        self = cls.__new__(cls)
        self.path = None  # type: ignore[assignment]  # an index in memory has no folder
        self.index = tantivy.Index(SCHEMA)
        _register(self.index)
        self._writer = None
        return self

    def writer(self, heap_mb: int = 128, threads: int = 0) -> tantivy.IndexWriter:
        """The index's writer (the folder's lock: ValueError when another process has it)."""
        if self._writer is None:
            self._writer = self.index.writer(heap_size=heap_mb * 1024 * 1024, num_threads=threads)
        return self._writer

    def replace_material(self, entry: MaterialEntry, units: Iterable[Unit]) -> None:
        writer = self.writer()
        writer.delete_documents_by_query(self._material(entry.material_id))
        for document in material_documents(entry, units):
            writer.add_document(document)

    def remove_material(self, material_id: int) -> None:
        self.writer().delete_documents_by_query(self._material(material_id))

    @staticmethod
    def _material(material_id: int) -> tantivy.Query:
        return tantivy.Query.term_query(SCHEMA, "material", material_id)

    def clear(self) -> None:
        self.writer().delete_all_documents()

    def commit(self) -> None:
        if self._writer is not None:
            self._writer.commit()
            self._writer.wait_merging_threads()
            self._writer = None
        self.index.reload()

    def release(self) -> None:
        """Give the writer lock back without committing (pending changes are dropped)."""
        if self._writer is not None:
            self._writer.rollback()
            self._writer = None

    def searcher(self) -> tantivy.Searcher:
        return self.index.searcher()

    def reload(self) -> None:
        self.index.reload()

    def size_bytes(self) -> int:
        if self.path is None:
            return 0
        return sum(f.stat().st_size for f in self.path.rglob("*") if f.is_file())


@contextmanager
def _opening(path: Path) -> Iterator[None]:
    """One opener of an index folder at a time: among this process's threads, and among
    processes through an exclusive lock on a file in the folder (kept when it is emptied)."""
    with _OPENING:
        path.mkdir(parents=True, exist_ok=True)
        with open(path / _OPEN_LOCK, "a") as handle:
            if fcntl is not None:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                if fcntl is not None:
                    fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _layout_version(marker: Path, attempts: int = 20, pause: float = 0.05) -> int | str | None:
    """The layout version a folder's marker holds; None when there is no marker (a new
    folder, or one from before markers). A marker that reads empty or garbled (an older
    wenxing rewriting it in place at this moment) is read again a few times; if it stays so
    the text is returned as it is, which never counts as another layout: the folder is
    only emptied on a definite other version."""
    text = ""
    for attempt in range(attempts):
        try:
            text = marker.read_text().strip()
        except FileNotFoundError:
            return None
        except OSError:
            text = ""
        if text.isdigit():
            return int(text)
        if attempt + 1 < attempts:
            time.sleep(pause)
    log.warning("search index marker %s unreadable (%r): index kept", marker, text)
    return text


def _write_atomically(path: Path, text: str) -> None:
    """Readers see the old content or the new one, never a partly written file."""
    partial = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    partial.write_text(text)
    os.replace(partial, path)


def _empty_folder(path: Path) -> None:
    """Remove everything in an index folder but the openers' lock file."""
    for entry in path.iterdir():
        if entry.name == _OPEN_LOCK:
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink(missing_ok=True)
