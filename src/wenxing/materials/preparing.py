"""Which files an import reads and reading them: ``collect_files`` walks folders in a
stable order (hidden files and Word's lock files left out, unsupported ones skipped with a
reason); ``prepare_all`` reads and cleans each, in forked worker processes when there are
many, with at most a few files in flight so memory stays flat. ``importer.py`` stores
what they give."""

from __future__ import annotations

import gc
import logging
import multiprocessing
import os
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from wenxing.errors import DomainError
from wenxing.failures import die_with_parent
from wenxing.materials import keywords
from wenxing.materials.cleaning import Cleaner
from wenxing.materials.pipeline import Failure, Limits, Prepared, prepare_file
from wenxing.materials.readers import SUPPORTED_SUFFIXES

log = logging.getLogger(__name__)

_PARALLEL_FROM = 8  # files; below this, worker start-up costs more than it saves


@dataclass(frozen=True)
class Skip:
    path: str
    reason: DomainError


def collect_files(paths: Iterable[Path]) -> Iterator[Path | Skip | Failure]:
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


def _walk(folder: Path) -> Iterator[Path | Skip]:
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError as exc:
        yield Skip(
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
            yield Skip(str(path), _unsupported(path))


def _unsupported(path: Path) -> DomainError:
    if path.suffix:
        return DomainError("import.unsupported_type", suffix=path.suffix)
    return DomainError("import.no_extension")


def prepare_all(
    files: list[Path],
    workers: int | None,
    limits: Limits,
    cleaner: Cleaner,
    cleaner_args: tuple[list[str], list[str]],
    *,
    sandboxed: bool = False,
) -> Iterator[Prepared | Failure]:
    """Each file read and cleaned, in order: here, or in forked worker processes when there
    are many (``cleaner_args`` build each worker's cleaner)."""
    if sandboxed:
        workers = 1  # each file is read in its own sandbox child already
    if workers is None:
        workers = min(os.cpu_count() or 1, 4) if len(files) >= _PARALLEL_FROM else 1
    if workers <= 1:
        for path in files:
            yield prepare_guarded(path, limits, cleaner)
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
        initargs=(*cleaner_args, os.getpid()),
    ) as pool:
        yield from _bounded_map(pool, files, limits, ahead=workers * 4)


_worker_cleaner: Cleaner | None = None


def _worker_init(masthead: list[str], promo: list[str], parent: int) -> None:
    global _worker_cleaner
    die_with_parent(parent)  # a killed import leaves no worker behind
    _worker_cleaner = Cleaner(masthead, promo)


def _worker_prepare(path: Path, limits: Limits) -> Prepared | Failure:
    assert _worker_cleaner is not None
    result = prepare_guarded(path, limits, _worker_cleaner)
    if path.suffix.lower() == ".docx":
        # python-docx documents are reference cycles holding large XML trees; free them now
        # rather than at the collector's leisure, so a worker's memory stays flat.
        gc.collect()
    return result


def prepare_guarded(path: Path, limits: Limits, cleaner: Cleaner) -> Prepared | Failure:
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
