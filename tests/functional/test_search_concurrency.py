"""The search index under concurrency: opening one folder from many threads and processes,
the rate limiter counting parallel searches, the segmenter built once."""

from __future__ import annotations

import multiprocessing
import subprocess
import sys
from datetime import datetime

import pytest
from sqlalchemy import select

from tests.helpers import SAMPLE, in_threads
from wenxing.materials.importer import ImportOptions, MaterialImporter
from wenxing.search import index as index_module
from wenxing.search import service
from wenxing.search.index import SCHEMA_VERSION, SearchIndex
from wenxing.search.models import SearchUsage
from wenxing.search.service import RateLimited, count_search, search

THREADS, ROUNDS = 16, 20


@pytest.fixture
def node(runtime):
    importer = MaterialImporter(runtime.db, runtime.settings, runtime.publisher_settings())
    report = importer.run([SAMPLE], ImportOptions(publish=True))
    assert not report.failed
    node = runtime.search_index()
    assert search(node, "乡村振兴").materials
    return node


_OPENER = """
import sys, threading
from wenxing.search.index import SearchIndex
path, rounds = sys.argv[1], int(sys.argv[2])
def work():
    for _ in range(rounds):
        assert SearchIndex(path).searcher().num_docs > 0
threads = [threading.Thread(target=work) for _ in range(4)]
[t.start() for t in threads]
[t.join() for t in threads]
"""


def test_opening_the_index_at_once_from_threads_and_processes_deletes_nothing(runtime, node):
    path = node.path
    documents = node.index.searcher().num_docs
    expected = [hit.material_id for hit in search(node, "乡村振兴").materials]
    # Another process opening the same folder meanwhile (a second server worker).
    others = [
        subprocess.Popen(
            [sys.executable, "-c", _OPENER, str(path), "10"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for _ in range(2)
    ]
    seen: list[int] = []

    def open_many(_number: int) -> None:
        for _ in range(ROUNDS):
            seen.append(SearchIndex(path).searcher().num_docs)

    errors = in_threads(THREADS, open_many)
    for other in others:
        _out, err = other.communicate(timeout=300)
        assert other.returncode == 0, err.decode()
    assert not errors, errors[:3]
    assert seen and min(seen) == documents  # no opener ever found the folder emptied
    assert (path / "wenxing-schema").read_text() == str(SCHEMA_VERSION)
    again = type(node)(runtime.db, node.root)
    assert again.index.searcher().num_docs == documents
    assert [hit.material_id for hit in search(again, "乡村振兴").materials] == expected


def test_runtime_opens_one_node_index_for_all_threads(runtime, node):
    runtime._search = None  # as a freshly started server worker
    opened: list[object] = []
    errors = in_threads(THREADS, lambda _n: opened.append(runtime.search_index()))
    assert not errors, errors[:3]
    assert len({id(n) for n in opened}) == 1
    assert search(opened[0], "乡村振兴").materials


def test_only_a_definite_other_layout_empties_the_folder(node, monkeypatch):
    path = node.path
    documents = node.index.searcher().num_docs
    marker = path / "wenxing-schema"
    monkeypatch.setattr(index_module, "_layout_version", _quick(index_module._layout_version))
    for unreadable in ("", "  ", "2x"):  # mid-write by an older wenxing, or damaged
        marker.write_text(unreadable)
        assert SearchIndex(path).searcher().num_docs == documents
        assert marker.read_text() == str(SCHEMA_VERSION)
    marker.write_text(str(SCHEMA_VERSION - 1))  # an older layout: rebuilt from the database
    assert SearchIndex(path).searcher().num_docs == 0
    assert marker.read_text() == str(SCHEMA_VERSION)


def _quick(read):
    return lambda marker: read(marker, attempts=2, pause=0.01)


def test_parallel_searches_are_each_counted(runtime):
    per_minute = 40
    now = datetime(2026, 3, 1, 12, 0, 30)
    allowed: list[int] = []
    refused: list[int] = []

    def one(number: int) -> None:
        for _attempt in range(6):
            try:
                with runtime.db.transaction() as session:
                    count_search(session, "ip:10.0.0.1", per_minute, now)
            except RateLimited as limited:
                assert 1 <= limited.retry_after <= 60
                refused.append(number)
            else:
                allowed.append(number)

    errors = in_threads(THREADS, one)
    assert not errors, errors[:3]
    assert len(allowed) == per_minute
    assert len(refused) == THREADS * 6 - per_minute
    with runtime.db.reading() as session:
        counted = session.scalars(
            select(SearchUsage.count).where(SearchUsage.subject == "ip:10.0.0.1")
        ).all()
    assert counted == [per_minute]


def test_the_rate_limit_starts_afresh_each_minute_and_per_subject(runtime):
    first = datetime(2026, 3, 1, 12, 0, 59)
    for subject in ("A0001", "ip:10.0.0.2"):
        for _ in range(2):
            with runtime.db.transaction() as session:
                count_search(session, subject, 2, first)
        with pytest.raises(RateLimited), runtime.db.transaction() as session:
            count_search(session, subject, 2, first)
    with runtime.db.transaction() as session:
        count_search(session, "A0001", 2, datetime(2026, 3, 1, 12, 1, 0))


def _count(runtime, subject: str, at: datetime, address: str | None = None) -> None:
    with runtime.db.transaction() as session:
        count_search(session, subject, 3, at, address=address)


def test_a_day_allows_some_minutes_worth_per_account_and_more_per_address(runtime, monkeypatch):
    """Probing the library a character at a time costs searches: a day ends it, per account
    and, whichever accounts search from it, per address."""
    monkeypatch.setattr(service, "DAY_MINUTES", 2)  # 6 a day at 3 a minute
    monkeypatch.setattr(service, "ADDRESS_ACCOUNTS", 2)  # 12 a day from one address
    for minute in range(2):
        for _ in range(3):
            _count(runtime, "A0001", datetime(2026, 3, 1, 10, minute), "ip:10.0.0.9")
    with pytest.raises(RateLimited) as refused:
        _count(runtime, "A0001", datetime(2026, 3, 1, 10, 2), "ip:10.0.0.9")
    assert refused.value.user_message == "今天的搜索次数已用完，请明天再试"
    # until the publisher's midnight: 16:00 UTC is 00:00 in Beijing (the default zone)
    assert refused.value.retry_after == 5 * 3600 + 58 * 60
    with runtime.db.reading() as session:  # the refused search counted nowhere
        rows = dict(
            session.execute(
                select(SearchUsage.subject, SearchUsage.count).where(
                    SearchUsage.minute == 10 * 60 + 2 + 1440 * 20513
                )
            ).all()
        )
    assert rows == {}
    for minute in range(2):  # another account from the same address: the address's rest
        for _ in range(3):
            _count(runtime, "A0002", datetime(2026, 3, 1, 11, minute), "ip:10.0.0.9")
    with pytest.raises(RateLimited):  # a third account: the address has had its day
        _count(runtime, "A0003", datetime(2026, 3, 1, 12), "ip:10.0.0.9")
    _count(runtime, "A0003", datetime(2026, 3, 1, 12), "ip:10.0.0.10")  # another address
    with pytest.raises(RateLimited):  # 23:59 in Beijing: still the publisher's day
        _count(runtime, "A0001", datetime(2026, 3, 1, 15, 59), "ip:10.0.0.10")
    _count(runtime, "A0001", datetime(2026, 3, 1, 16, 0), "ip:10.0.0.9")  # Beijing's next day
    # A publisher on UTC: the day turns over at UTC's midnight instead.
    for at in [datetime(2026, 3, 1, 20, minute) for minute in (0, 0, 0, 1, 1, 1)]:
        with runtime.db.transaction() as session:
            count_search(session, "A0009", 3, at, zone="UTC")
    for at, allowed in ((datetime(2026, 3, 1, 23, 59), False), (datetime(2026, 3, 2), True)):
        with runtime.db.transaction() as session:
            if allowed:
                count_search(session, "A0009", 3, at, zone="UTC")
            else:
                with pytest.raises(RateLimited):
                    count_search(session, "A0009", 3, at, zone="UTC")


def test_the_segmenter_is_built_once_for_threads_that_ask_at_once(monkeypatch):
    import rjieba

    from wenxing.search import tokenize

    built: list[int] = []
    real = rjieba.Jieba

    def counting():
        built.append(1)
        return real()

    monkeypatch.setattr(tokenize, "_SEGMENTER", None)
    monkeypatch.setattr(rjieba, "Jieba", counting)  # tokenize imports rjieba when it builds
    found: list[object] = []
    errors = in_threads(8, lambda _n: found.append(tokenize._segmenter()))
    assert not errors, errors[:3]
    assert len(built) == 1 and len({id(s) for s in found}) == 1
    assert tokenize.words("推行河湖长制") == ["推行", "河湖长制"]


def _library(runtime):
    from tests.materials import REPORTS

    files = [SAMPLE, *REPORTS]
    importer = MaterialImporter(runtime.db, runtime.settings, runtime.publisher_settings())
    report = importer.run(files, ImportOptions(publish=True))
    assert not report.failed
    return runtime.search_index(), len(files)


QUERIES = ["乡村振兴", "营商环境 改革", '"一企一策"', "kind:讲话", "镇", "河湖长制 -旅游"]


def _answers(node) -> dict[str, list[tuple[int, list[int]]]]:
    return {
        q: [(h.material_id, [s.ordinal for s in h.sections]) for h in search(node, q).materials]
        for q in QUERIES
    }


def test_a_rebuild_in_worker_processes_answers_like_one_in_this_process(runtime, monkeypatch):
    from wenxing.search import build

    node, count = _library(runtime)
    before = _answers(node)
    documents = node.index.searcher().num_docs
    monkeypatch.setattr(build, "POOL_FROM", 0)  # worker processes even for a small library
    monkeypatch.setattr(build, "TASK_MATERIALS", 2)
    seen: list[tuple[int, int]] = []
    assert node.reindex(lambda done, total: seen.append((done, total)), jobs=2).applied == count
    assert seen[-1] == (count, count) and [d for d, _t in seen] == sorted(d for d, _t in seen)
    assert node.index.searcher().num_docs == documents
    assert _answers(node) == before
    assert not multiprocessing.active_children()  # the workers are gone
    assert node.reindex(jobs=1).applied == count
    assert _answers(node) == before


@pytest.mark.parametrize("jobs", [1, 2])
def test_an_error_while_rebuilding_leaves_the_previous_index(runtime, monkeypatch, jobs):
    from sqlalchemy import update

    from wenxing.materials.models import MaterialVersion
    from wenxing.search import build

    node, _count = _library(runtime)
    before = _answers(node)
    documents = node.index.searcher().num_docs
    monkeypatch.setattr(build, "POOL_FROM", 0)
    with runtime.db.transaction() as session:  # one material the rebuild cannot cut into units
        session.execute(
            update(MaterialVersion).where(MaterialVersion.material_id == 3).values(outline="[{")
        )
    with pytest.raises(ValueError):  # json's error, from the worker
        node.reindex(jobs=jobs)
    assert not multiprocessing.active_children()
    assert node.index.searcher().num_docs == documents
    assert _answers(node) == before
    again = type(node)(runtime.db, node.root)  # the folder as another process finds it
    assert _answers(again) == before
    node.index.writer()  # the writer's lock was given back
    node.index.release()


def test_cli_reindex_takes_a_number_of_jobs(cli):
    assert cli("import", str(SAMPLE), "--publish", "--json").code == 0
    rebuilt = cli("search", "reindex", "--jobs", "2", "--json")
    assert rebuilt.code == 0, rebuilt
    assert rebuilt.json()["materials"] == 1
    assert cli("search", "reindex", "--jobs", "0").code != 0
    assert cli("search", "乡村振兴", "--jobs", "2").code == 1
    assert cli("search", "乡村振兴", "--json").json()["hits"]
