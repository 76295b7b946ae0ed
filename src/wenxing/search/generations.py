"""A node's search folder on disk, apart from what is in it: which generation is in use
(``CURRENT``), what database a generation was built from, whether its files are whole (a
truncated segment would kill a process that mapped it), the rebuild lock and the atomic
JSON writes. ``search/sync.py`` keeps the index in step with the database through these."""

from __future__ import annotations

import fcntl
import json
import os
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

STATE = "wenxing-applied.json"  # {"last_change": id}: the last change a generation applied
CURRENT = "CURRENT"  # {"generation": "gen-…"}: the generation in use
GEN = "gen-"
BUILT_FOR = "wenxing-built-for.json"  # {"identity": the database identity token}
REBUILD_LOCK = ".wenxing-rebuild.lock"
_SEGMENT_FILE = re.compile(r"^[0-9a-f]{32}\.")
_FOOTER_MAGIC = 1337  # tantivy's footer ends every segment file with it


def current_name(root: Path) -> str | None:
    """The generation ``CURRENT`` names (None: none yet, or not readable)."""
    try:
        name = json.loads((root / CURRENT).read_text())["generation"]
    except (FileNotFoundError, ValueError, KeyError, TypeError):
        return None
    return name if isinstance(name, str) and name.startswith(GEN) else None


def current_stamp(root: Path) -> tuple[int, int] | None:
    """``CURRENT``'s inode and change time: a swap replaces the file (a new inode), so
    a search sees whether to look again with one ``stat``."""
    try:
        found = os.stat(root / CURRENT)
    except OSError:
        return None
    return found.st_ino, found.st_mtime_ns


def applied_in(folder: Path) -> int:
    """The id of the last search change a generation's folder applied (0: none)."""
    try:
        return int(json.loads((folder / STATE).read_text())["last_change"])
    except (FileNotFoundError, ValueError, KeyError, NotADirectoryError):
        return 0


def remember_applied(folder: Path, last_change: int) -> None:
    state = folder / STATE
    partial = state.with_name(state.name + f".{os.getpid()}")
    partial.write_text(json.dumps({"last_change": last_change}))
    partial.replace(state)


def built_for(folder: Path) -> str | None:
    try:
        return json.loads((folder / BUILT_FOR).read_text())["identity"]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def file_size(path: Path) -> int:
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
def rebuild_lock(root: Path, wait: bool) -> Iterator[None]:
    with open(root / REBUILD_LOCK, "a") as handle:
        flags = fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB
        try:
            fcntl.flock(handle.fileno(), flags)
        except BlockingIOError:
            raise SearchBusy("another process is rebuilding this node's search index") from None
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def write_json(path: Path, document: dict) -> None:
    partial = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    with partial.open("w") as handle:
        json.dump(document, handle)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(partial, path)


class SearchBusy(RuntimeError):
    """The index cannot be written now."""
