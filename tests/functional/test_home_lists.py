"""The home page's lists kept a second per worker: this process's changes show at once,
another process's within the second."""

from __future__ import annotations

import pytest
from sqlalchemy import update

from tests.helpers import SAMPLE
from wenxing.db.base import utcnow
from wenxing.materials import catalog
from wenxing.materials.importer import ImportOptions, MaterialImporter
from wenxing.materials.models import Material
from wenxing.web import home as home_module
from wenxing.web.home import HOME_SECONDS, HomeCache


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def reads(monkeypatch) -> list[int]:
    """Every read of the lists from the database."""
    made: list[int] = []
    real = home_module.read_home_lists

    def counting(session):
        made.append(1)
        return real(session)

    monkeypatch.setattr(home_module, "read_home_lists", counting)
    return made


def _import(runtime, *, publish: bool) -> None:
    importer = MaterialImporter(runtime.db, runtime.settings, runtime.publisher_settings())
    assert not importer.run([SAMPLE], ImportOptions(publish=publish)).failed


def titles(cache: HomeCache) -> list[str]:
    return [m.title for m in cache.lists().newest]


def test_the_lists_are_read_once_a_second(runtime, reads):
    _import(runtime, publish=True)
    clock = Clock()
    cache = HomeCache(runtime.db, clock=clock)
    for _ in range(5):
        assert titles(cache) == ["在全区重点工作推进会上的讲话"]
    assert len(reads) == 1
    clock.now += HOME_SECONDS
    assert titles(cache) == ["在全区重点工作推进会上的讲话"]
    assert len(reads) == 2


def test_a_change_committed_here_shows_at_once(runtime, reads):
    _import(runtime, publish=False)
    cache = HomeCache(runtime.db, clock=Clock())
    assert titles(cache) == [] and cache.lists().categories == []
    with runtime.db.transaction() as session:
        catalog.set_published(session, 1, True)
    assert titles(cache) == ["在全区重点工作推进会上的讲话"]
    with runtime.db.transaction() as session:
        catalog.get_material(session, 1).category = "讲话"
    assert cache.lists().categories == [("讲话", 1)]
    assert len(reads) == 3


def test_a_change_rolled_back_or_a_read_keeps_the_lists(runtime, reads):
    _import(runtime, publish=True)
    cache = HomeCache(runtime.db, clock=Clock())
    cache.lists()
    before = catalog.changes_here()
    with pytest.raises(RuntimeError), runtime.db.transaction() as session:
        catalog.get_material(session, 1).title = "改了又撤回"
        session.flush()
        raise RuntimeError("rolled back")
    with runtime.db.reading() as session:
        catalog.get_material(session, 1)
    assert catalog.changes_here() == before
    assert titles(cache) == ["在全区重点工作推进会上的讲话"] and len(reads) == 1


def test_savepoints_inside_a_change_neither_count_it_early_nor_lose_it(runtime, reads):
    _import(runtime, publish=False)
    cache = HomeCache(runtime.db, clock=Clock())
    assert titles(cache) == []
    with runtime.db.transaction() as session:
        catalog.set_published(session, 1, True)
        session.flush()
        with session.begin_nested():  # released: nothing is committed yet
            pass
        with pytest.raises(RuntimeError), session.begin_nested():  # the change stays
            raise RuntimeError("rolled back to the savepoint")
        assert titles(cache) == []  # a page meanwhile reads what is committed
    assert titles(cache) == ["在全区重点工作推进会上的讲话"]


def test_another_process_change_shows_within_the_second(runtime, reads):
    _import(runtime, publish=False)
    clock = Clock()
    cache = HomeCache(runtime.db, clock=clock)
    assert titles(cache) == []
    with runtime.db.transaction() as session:  # as another worker would: no ORM object here
        session.execute(
            update(Material.__table__)
            .where(Material.__table__.c.id == 1)
            .values(status="published", published_at=utcnow())
        )
    assert titles(cache) == []
    clock.now += HOME_SECONDS
    assert titles(cache) == ["在全区重点工作推进会上的讲话"]


def test_a_copy_issued_here_recounts_the_most_read(runtime, reads, monkeypatch):
    _import(runtime, publish=True)
    cache = HomeCache(runtime.db, clock=Clock())
    cache.lists()
    issued = home_module.copies_issued_here() + 1
    monkeypatch.setattr(home_module, "copies_issued_here", lambda: issued)
    cache.lists()
    cache.lists()
    assert len(reads) == 2
