"""A node's search index heals itself: rebuilt after a restore, after damage to its folder
(segments deleted, meta.json garbled, a segment cut short), searches answering meanwhile
from the database with a notice; no process dies of a damaged index."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import TEST_SECRET
from tests.helpers import SAMPLE
from wenxing.config import Settings
from wenxing.materials.importer import ImportOptions, MaterialImporter
from wenxing.runtime import open_runtime
from wenxing.search.service import search
from wenxing.search.sync import NodeIndex

RIVER = Path(__file__).resolve().parent.parent / "fixtures" / "river_chief_speech.txt"


def _import(runtime, path: Path) -> None:
    importer = MaterialImporter(runtime.db, runtime.settings, runtime.publisher_settings())
    report = importer.run([path], ImportOptions(publish=True))
    assert not report.failed, report.failed


def _titles(results) -> list[str]:
    return [hit.title for hit in results.materials]


def test_a_restored_database_never_trusts_the_index_that_saw_more(runtime, cli, tmp_path):
    _import(runtime, SAMPLE)
    node = runtime.search_index()
    assert search(node, "乡村振兴").materials
    assert cli("backup", str(tmp_path / "backup")).code == 0
    _import(runtime, RIVER)  # after the backup: lost with the restore
    assert _titles(search(node, "巡河")) == ["在全县河湖长制工作会议上的讲话"]
    runtime.close()
    assert cli("restore", str(tmp_path / "backup"), "--yes").code == 0

    again = open_runtime(runtime.settings)  # a worker started after the restore
    try:
        node = again.search_index()
        assert _titles(search(node, "巡河")) == []  # the index was rebuilt, not trusted
        assert search(node, "乡村振兴").materials
        _import(again, RIVER)  # publications after the restore are indexed
        assert _titles(search(node, "巡河")) == ["在全县河湖长制工作会议上的讲话"]
    finally:
        again.close()


def _segment_files(node: NodeIndex) -> list[Path]:
    return sorted(p for p in node.path.iterdir() if len(p.stem.split(".")[0]) == 32)


def _damage(node: NodeIndex, how: str) -> None:
    if how == "deleted segments":
        for path in _segment_files(node):
            path.unlink()
    elif how == "garbled meta.json":
        (node.path / "meta.json").write_text('{"segments": [garbled')
    else:
        store = next(p for p in _segment_files(node) if p.suffix == ".store")
        with store.open("r+b") as handle:
            handle.truncate(store.stat().st_size // 3)


@pytest.mark.parametrize("how", ["deleted segments", "garbled meta.json"])
def test_a_damaged_folder_is_rebuilt_while_searches_answer(runtime, how, monkeypatch):
    _import(runtime, SAMPLE)
    _import(runtime, RIVER)
    node = runtime.search_index()
    expected = _titles(search(node, "河湖长制"))
    assert len(expected) == 2
    broken = node.generation
    _damage(node, how)
    import wenxing.search.service as service

    monkeypatch.setattr(service, "FRESH_SECONDS", 0.0)
    started = time.monotonic()
    # A fresh worker opening the damaged folder, and this one, which had it open.
    fresh = NodeIndex(runtime.db, node.root, wait=0.0)
    for worker in (fresh, node):
        found = search(worker, "河湖长制")
        assert sorted(_titles(found)) == sorted(expected)
    deadline = time.monotonic() + 30
    while (fresh.rebuilding() or node.rebuilding()) and time.monotonic() < deadline:
        time.sleep(0.1)
    found = search(node, "河湖长制")
    assert found.notice is None and sorted(_titles(found)) == sorted(expected)
    assert node.generation != broken and time.monotonic() - started < 30


_TRUNCATED = """
import json, sys, time
from pathlib import Path
from wenxing.config import Settings
from wenxing.runtime import open_runtime
from wenxing.search import service
from wenxing.search.service import search

service.FRESH_SECONDS = 0.0
runtime = open_runtime(Settings(database_url=sys.argv[1], secret=sys.argv[2],
                                search_dir=sys.argv[3]))
runtime.search_wait = 0.0  # as the server: never wait for the rebuild
node = runtime.search_index()
first = [h.title for h in search(node, "河湖长制").materials]
store = next(p for p in node.path.iterdir() if p.suffix == ".store")
with store.open("r+b") as handle:  # cut short under the open index, as a full disk might
    handle.truncate(store.stat().st_size // 3)
answers = []
for _ in range(300):
    found = search(node, "河湖长制")
    answers.append([sorted(h.title for h in found.materials), found.notice is not None])
    if not node.rebuilding() and not answers[-1][1]:
        break
    time.sleep(0.1)
print(json.dumps({"first": sorted(first), "answers": answers}))
runtime.close()
"""


def test_a_segment_cut_short_under_an_open_index_kills_no_process(runtime):
    _import(runtime, SAMPLE)
    _import(runtime, RIVER)
    runtime.search_index().catch_up()
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            _TRUNCATED,
            runtime.settings.database_url,
            TEST_SECRET,
            str(runtime.settings.search_path()),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]  # a SIGBUS would be -7
    result = json.loads(done.stdout)
    assert len(result["first"]) == 2
    assert all(titles == result["first"] for titles, _notice in result["answers"])
    assert result["answers"][-1][1] is False  # answered from the rebuilt index at the end


def test_cli_reindex_repairs_a_damaged_folder(cli, runtime):
    _import(runtime, SAMPLE)
    node = runtime.search_index()
    node.catch_up()
    (node.path / "meta.json").write_text("not json")
    done = cli("search", "reindex", "--json")
    assert done.code == 0, done
    assert done.json()["materials"] == 1
    assert Settings  # (imported for the subprocess test's settings)
    found = cli("search", "乡村振兴", "--json")
    assert found.code == 0 and found.json()["hits"] and "notice" not in found.json()


def test_the_search_page_says_when_it_answers_from_the_database(runtime, monkeypatch):
    from fastapi.testclient import TestClient

    from wenxing.web.app import create_app

    _import(runtime, SAMPLE)
    _import(runtime, RIVER)
    client = TestClient(create_app(runtime))
    node = runtime.search_index()
    node.catch_up()
    node.wait = 0.0
    monkeypatch.setattr(NodeIndex, "_rebuild_quietly", lambda self: time.sleep(3))  # slow
    (node.path / "meta.json").write_text("{garbled")
    node.give_up("damaged under test")
    page = client.get("/search", params={"q": "巡河"})
    assert page.status_code == 200
    assert "搜索索引正在重建" in page.text and "在全县河湖长制工作会议上的讲话" in page.text
    api = client.get("/api/v1/search", params={"q": "巡河"})
    assert api.status_code == 200 and "notice" in api.json()
