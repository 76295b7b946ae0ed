"""Turning materials into index documents, in this process or in worker processes.

Most of indexing a material is Python's: cutting it into units, normalising and segmenting
every unit (``tokenize``). A rebuild of a large library does that in worker processes,
each with its own segmenter and jargon dictionary (loaded once, when the worker starts):
this process reads the published materials from the database in batches, hands them to
the workers a few at a time, and feeds what comes back to the index's single writer (the
tantivy ``Document`` objects are made here, from the workers' plain strings). At most a
few batches per worker are in flight, so memory stays bounded whatever the library's size.
An error in a worker stops the rebuild: the caller rolls the writer back and the previous
index stays as it was.

A material's change (``sync.catch_up``) and a small rebuild go through the same functions
in this process.
"""

from __future__ import annotations

import calendar
import multiprocessing
import os
import signal
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from datetime import datetime

import tantivy
from sqlalchemy import Select, and_, func, select

from wenxing.db.engine import Database
from wenxing.failures import die_with_parent
from wenxing.materials.models import Material, MaterialVersion
from wenxing.search import tokenize
from wenxing.search.units import Unit, units_of

READ_BATCH = 512  # materials read from the database at a time
TASK_MATERIALS = 16  # materials per task handed to a worker (about 100,000 characters)
IN_FLIGHT_PER_JOB = 4  # tasks queued or running per worker, at most
POOL_FROM = 64  # fewer published materials than this: no worker processes

UNIT, MATERIAL = 0, 1  # the ``level`` field: a section, or the material as a whole


@dataclass(frozen=True)
class MaterialEntry:
    """What the index knows of a material besides its units."""

    material_id: int
    version_id: int
    title: str
    kind: str
    category: str
    tags: tuple[str, ...]
    published: int  # Unix seconds


def make_entry(
    material_id: int,
    version_id: int,
    title: str,
    kind: str,
    category: str | None,
    tags: str | None,
    published_at: datetime | None,
) -> MaterialEntry:
    assert published_at is not None  # only published materials are searchable
    return MaterialEntry(
        material_id=material_id,
        version_id=version_id,
        title=title,
        kind=kind,
        category=category or "",
        tags=tuple(t.strip() for t in (tags or "").split(",") if t.strip()),
        published=calendar.timegm(published_at.timetuple()),  # stored as naive UTC
    )


# A unit ready for the index: ordinal, start, heading and text (UTF-8, as stored), and the
# token streams head_w, head_s, body_w, body_s, body_c, body_b (space-separated; see
# ``tokenize``).
PreparedUnit = tuple[int, int, bytes, bytes, str, str, str, str, str, str]


@dataclass(frozen=True)
class Prepared:
    """A material's index documents as plain strings (cheap to send between processes)."""

    entry: MaterialEntry
    title_w: str
    title_s: str
    units: list[PreparedUnit]
    title_b: str = ""


def prepare(entry: MaterialEntry, body: str, outline: str) -> Prepared:
    """Cut a material into units and segment every piece once (the expensive part)."""
    return prepare_units(entry, units_of(body, outline))


def prepare_units(entry: MaterialEntry, units: Iterable[Unit]) -> Prepared:
    title_w, title_s = tokenize.index_streams(entry.title)
    heads: dict[str, tuple[str, str]] = {"": ("", "")}  # a section's units share its heading
    prepared = []
    for unit in units:
        head = heads.get(unit.heading)
        if head is None:
            head = heads[unit.heading] = tokenize.index_streams(unit.heading)
        form = tokenize.index_form(unit.text)
        body_w, body_s = tokenize.form_streams(form)
        prepared.append(
            (
                unit.ordinal,
                unit.start,
                unit.heading.encode("utf-8"),
                unit.text.encode("utf-8"),
                *head,
                body_w,
                body_s,
                tokenize.chars_stream(form),
                tokenize.pairs_stream(form),
            )
        )
    title_b = tokenize.pairs_stream(tokenize.index_form(entry.title))
    return Prepared(entry, title_w, title_s, prepared, title_b)


def _common(document: tantivy.Document, entry: MaterialEntry, level: int) -> None:
    document.add_unsigned("material", entry.material_id)
    document.add_unsigned("level", level)
    document.add_unsigned("version", entry.version_id)
    document.add_integer("published", entry.published)
    document.add_text("kind", entry.kind)
    document.add_text("category", entry.category or "")
    for tag in entry.tags:
        document.add_text("tag", tag)
    document.add_text("title", entry.title)


def documents(prepared: Prepared) -> list[tantivy.Document]:
    """The material's own document followed by one document per unit."""
    entry = prepared.entry
    found = []
    for unit in prepared.units:
        ordinal, start, heading, text, head_w, head_s, body_w, body_s, body_c, body_b = unit
        document = tantivy.Document()
        _common(document, entry, UNIT)
        document.add_unsigned("ordinal", ordinal)
        document.add_unsigned("start", start)
        document.add_text("title_w", prepared.title_w)
        document.add_text("title_s", prepared.title_s)
        document.add_text("title_b", prepared.title_b)
        document.add_text("head_w", head_w)
        document.add_text("head_s", head_s)
        document.add_text("body_w", body_w)
        document.add_text("body_s", body_s)
        document.add_text("body_c", body_c)
        document.add_text("body_b", body_b)
        document.add_bytes("heading", heading)
        document.add_bytes("text", text)
        found.append(document)
    whole = tantivy.Document()
    _common(whole, entry, MATERIAL)
    whole.add_text("title_s", prepared.title_s)
    # Headings repeat along a section's units: each distinct heading path counts once.
    whole.add_text("head_s", " ".join(dict.fromkeys(u[5] for u in prepared.units if u[5])))
    whole.add_text("body_s", " ".join(u[7] for u in prepared.units))
    return [whole, *found]


# --- reading the library -------------------------------------------------------------------

Source = tuple[MaterialEntry, str, str]  # entry, body, outline JSON


def published_count(db: Database) -> int:
    with db.reading() as session:
        return session.execute(
            select(func.count()).select_from(Material).where(_searchable())
        ).scalar_one()


def _searchable():
    return and_(Material.status == "published", Material.published_at.is_not(None))


def searchable_with_text(*columns) -> Select:
    """``columns`` of every searchable material joined with its current version."""
    return (
        select(*columns)
        .join(
            MaterialVersion,
            and_(
                MaterialVersion.material_id == Material.id,
                MaterialVersion.number == Material.current_version,
            ),
        )
        .where(_searchable())
    )


def published_batches(db: Database, size: int = READ_BATCH) -> Iterator[list[Source]]:
    """Every searchable material with its current version's text, ``size`` at a time, in
    id order: one query per batch, each in its own short read transaction."""
    after = 0
    while True:
        with db.reading() as session:
            rows = session.execute(
                searchable_with_text(
                    Material.id,
                    MaterialVersion.id,
                    Material.title,
                    Material.kind,
                    Material.category,
                    Material.tags,
                    Material.published_at,
                    MaterialVersion.body,
                    MaterialVersion.outline,
                )
                .where(Material.id > after)
                .order_by(Material.id)
                .limit(size)
            ).all()
        if not rows:
            return
        yield [(make_entry(*row[:7]), row[7], row[8]) for row in rows]
        after = rows[-1][0]


# --- workers -------------------------------------------------------------------------------


def _worker_start(parent: int) -> None:
    """In each worker, once: the segmenter with the jargon dictionary, and OpenCC. Ctrl+C
    is for the main process, which stops the workers itself; its death (kill -9) ends
    them too."""
    die_with_parent(parent)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    tokenize.warm_up()


def _prepare_task(sources: list[Source]) -> list[Prepared]:
    return [prepare(*source) for source in sources]


def default_jobs() -> int:
    return os.cpu_count() or 1


def prepared_materials(
    batches: Iterable[list[Source]], jobs: int, *, total: int
) -> Iterator[list[Prepared]]:
    """The materials of ``batches`` prepared for the index, a task's worth at a time, in
    order. With ``jobs`` > 1 and a library of at least POOL_FROM materials the work is done
    by that many worker processes; an error in one is raised here, after the others are
    stopped."""
    tasks = (
        batch[at : at + TASK_MATERIALS]
        for batch in batches
        for at in range(0, len(batch), TASK_MATERIALS)
    )
    if jobs <= 1 or total < POOL_FROM:
        tokenize.warm_up()
        for task in tasks:
            yield _prepare_task(task)
        return
    context = multiprocessing.get_context("spawn")  # never fork a process with threads
    pool = ProcessPoolExecutor(
        max_workers=jobs, mp_context=context, initializer=_worker_start, initargs=(os.getpid(),)
    )
    pending: deque[Future] = deque()
    try:
        for task in tasks:
            pending.append(pool.submit(_prepare_task, task))
            if len(pending) >= jobs * IN_FLIGHT_PER_JOB:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    finally:
        for future in pending:
            future.cancel()
        pool.shutdown(wait=True, cancel_futures=True)


def build(
    writer_add: Callable[[tantivy.Document], object],
    db: Database,
    jobs: int,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Add every searchable material of ``db`` through ``writer_add``; the number added."""
    total = published_count(db)
    done = 0
    for prepared in prepared_materials(published_batches(db), jobs, total=total):
        for material in prepared:
            for document in documents(material):
                writer_add(document)
        done += len(prepared)
        if progress is not None:
            progress(done, max(total, done))
    return done
