"""A process's polling threads: rounds of work until stopped, a wait between them that
something in the process can cut short (the job runner, the group robots' sender)."""

from __future__ import annotations

import logging
import threading

from sqlalchemy.exc import OperationalError


class PollingThread:
    """A daemon thread that works in rounds until stopped.

    A round notes what would wake it early (``_mark``), works (``_round``), then waits
    (``_wait``) until woken or ``poll_seconds`` pass. A round that raises is logged with its
    traceback (``failed`` on ``log``) and the next one comes as usual. ``stop`` sets the
    stop event, cuts the wait short (``_wake``) and waits ``stop_seconds`` for the thread.
    Subclasses name the thread and the log and give the round; the wait by default sleeps
    until stopped or ``poll_seconds`` pass."""

    thread_name: str
    stop_seconds: float
    log: logging.Logger
    failed: str  # what the log says when a round raises

    def __init__(self, poll_seconds: float):
        self.poll_seconds = poll_seconds
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name=self.thread_name, daemon=True)
            self._thread.start()

    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def stop(self, timeout: float | None = None) -> None:
        self._stop.set()
        self._wake()
        if self._thread is not None:
            self._thread.join(self.stop_seconds if timeout is None else timeout)
            self._thread = None

    def _loop(self) -> None:
        while not self._stop.is_set():
            seen = self._mark()
            try:
                self._round()
            except OperationalError as exc:  # the database is away: one line, no traceback
                self.log.warning("%s (database unreachable: %s)", self.failed, first_line(exc))
            except Exception:
                self.log.exception(self.failed)
            self._wait(seen)

    def _round(self) -> None:
        raise NotImplementedError

    def _mark(self) -> int:
        """What ``_wait`` compares with to see whether it was woken since (a count)."""
        return 0

    def _wait(self, seen: int) -> None:
        self._stop.wait(self.poll_seconds)

    def _wake(self) -> None:
        """Cut a wait short (``stop`` has set the stop event)."""


def first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0][:200] if text else exc.__class__.__name__
