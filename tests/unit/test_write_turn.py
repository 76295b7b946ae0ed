"""SQLite writers take turns across processes (db.engine.WriteTurn)."""

from __future__ import annotations

import multiprocessing
import threading
import time
from pathlib import Path

from sqlalchemy import text

from wenxing.db.engine import LOCK_SUFFIX, Database, WriteTurn, _sqlite_lock_path, make_engine


def _hold_turn(lock_path: str, held, release) -> None:
    turn = WriteTurn(Path(lock_path))
    with turn:
        held.set()
        release.wait(10)


def test_a_second_process_waits_for_the_turn_and_gets_it_when_released(tmp_path):
    lock = tmp_path / ("w.db" + LOCK_SUFFIX)
    ctx = multiprocessing.get_context("spawn")
    held, release = ctx.Event(), ctx.Event()
    holder = ctx.Process(target=_hold_turn, args=(str(lock), held, release))
    holder.start()
    try:
        assert held.wait(30)
        turn = WriteTurn(lock)
        acquired = []

        def take() -> None:
            with turn:
                acquired.append(time.monotonic())

        taker = threading.Thread(target=take)
        taker.start()
        time.sleep(0.3)
        assert acquired == []  # still the other process's turn
        released_at = time.monotonic()
        release.set()
        taker.join(10)
        assert acquired and acquired[0] - released_at < 1.0
    finally:
        release.set()
        holder.join(10)
    assert holder.exitcode == 0


def test_the_turn_is_reentrant_and_released_only_by_the_outermost_exit(tmp_path):
    lock = tmp_path / "x.lock"
    turn = WriteTurn(lock)
    ctx = multiprocessing.get_context("spawn")
    with turn:
        with turn:
            pass
        # still held: another process cannot take it now
        probe = ctx.Process(target=_try_once, args=(str(lock),))
        probe.start()
        probe.join(30)
        assert probe.exitcode == 1
    probe = ctx.Process(target=_try_once, args=(str(lock),))
    probe.start()
    probe.join(30)
    assert probe.exitcode == 0
    turn.close()


def _try_once(lock_path: str) -> None:
    import fcntl
    import os
    import sys

    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        sys.exit(1)
    sys.exit(0)


def test_the_lock_file_sits_beside_a_file_database_and_none_for_memory(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'lib.db'}")
    assert _sqlite_lock_path(engine) == tmp_path / ("lib.db" + LOCK_SUFFIX)
    assert _sqlite_lock_path(make_engine("sqlite://")) is None
    db = Database(f"sqlite:///{tmp_path / 'lib.db'}")
    with db.transaction() as session:
        session.execute(text("CREATE TABLE t (x INTEGER)"))
    assert (tmp_path / ("lib.db" + LOCK_SUFFIX)).exists()
    db.dispose()


def test_an_unwritable_lock_file_falls_back_to_a_turn_per_process(tmp_path, caplog):
    turn = WriteTurn(tmp_path / "missing-folder" / "x.lock")
    with turn, turn:
        pass
    assert "queue per process only" in caplog.text
