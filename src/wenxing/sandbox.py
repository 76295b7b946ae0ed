"""Reading untrusted files in a child process with hard limits.

Evidence files come from anyone, with no account; imported files from an editor's upload.
Their parsers (python-docx, pypdf, Pillow, Tesseract) are not written to survive hostile
input: a 31 KB .docx can ask for gigabytes, a small PDF for minutes of CPU. So every such
file is read by :func:`call` in a child process forked from a ``forkserver`` (the parsers
are imported there once, so a child starts in milliseconds) under:

* ``RLIMIT_AS``: address space (``WENXING_SANDBOX_MEMORY_MB``, 512 MB by default): an
  allocation past it fails inside the child, never in the server;
* ``RLIMIT_CPU``: CPU seconds (``WENXING_SANDBOX_CPU_SECONDS``, 60): the kernel stops the
  child at the limit; Tesseract, started by the child, inherits both limits;
* wall time (``WENXING_SANDBOX_WALL_SECONDS``, 300): the parent kills the child (and its
  process group: Tesseract too) when it has not answered in time;
* output size (``WENXING_SANDBOX_OUTPUT_CHARS``): text longer than that is refused;
* a lower CPU priority (nice 10): while a file keeps a core busy, pages and searches of
  the same server are scheduled first.

The parent receives the result or one reason and never a traceback: a :class:`SandboxError`
whose ``reason`` is ``too_large`` (memory or output), ``timeout`` (CPU or wall time) or
``crashed`` (the child died another way), and an English message for the log. Errors the
reader raises on purpose come back as themselves: exceptions whose class says
``sandbox_passes = True`` (``materials.source.ReadError`` and its kin, ``EvidenceError``
with its reason), pickled. Any other exception is ``crashed``, with only its class name.

This module imports nothing of wenxing: the domains tell it what to preload
(:func:`preload`) and name the function a child runs as ``module:function``.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import multiprocessing
import os
import pickle
import resource
import signal
import threading
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

log = logging.getLogger("wenxing.sandbox")

REASONS = frozenset({"too_large", "timeout", "crashed"})
NICENESS = 10
# Imported once in the fork server, so each child has them already (``preload``).
_PRELOAD: list[str] = []
_context_lock = threading.Lock()
_context: Any = None


@dataclass(frozen=True)
class Limits:
    memory_mb: int = 512
    cpu_seconds: int = 60
    wall_seconds: float = 300.0
    output_chars: int = 20_000_000

    @classmethod
    def of(cls, settings) -> Limits:
        """The limits a process's settings (``config.Settings``) ask for."""
        return cls(
            memory_mb=int(settings.sandbox_memory_mb),
            cpu_seconds=int(settings.sandbox_cpu_seconds),
            wall_seconds=float(settings.sandbox_wall_seconds),
            output_chars=int(settings.sandbox_output_chars),
        )


class SandboxError(Exception):
    """The child gave no result; ``reason`` is one of REASONS, str(err) English."""

    def __init__(self, message: str, reason: str) -> None:
        assert reason in REASONS, reason
        super().__init__(message)
        self.reason = reason


_no_main = threading.local()


def _preparation_without_main(original):
    """``spawn.get_preparation_data`` that, for sandbox children, leaves the parent's
    ``__main__`` out: a child needs only the preloaded readers, and re-running the main
    script (a server's, a benchmark's, a test runner's) in every child would cost time
    and run code that was never meant to run twice."""

    def prepared(name):
        data = original(name)
        if getattr(_no_main, "on", False):
            data.pop("init_main_from_path", None)
            data.pop("init_main_from_name", None)
        return data

    prepared.wenxing_sandbox = True
    return prepared


def preload(*modules: str) -> None:
    """Have the fork server import these modules before its first child (the readers a
    domain runs here register themselves when imported); once it runs, children import
    what they need themselves."""
    with _context_lock:
        for module in modules:
            if module not in _PRELOAD:
                _PRELOAD.append(module)


def _mp_context():
    global _context
    with _context_lock:
        if _context is None:
            from multiprocessing import spawn

            if not getattr(spawn.get_preparation_data, "wenxing_sandbox", False):
                spawn.get_preparation_data = _preparation_without_main(spawn.get_preparation_data)
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(list(_PRELOAD))
            _context = context
        return _context


def call(target: str, *args: Any, limits: Limits, label: str = "file") -> Any:
    """``module:function(*args)`` run in a limited child; its return value.

    Raises what the function raised when it is a ReadError (EvidenceError, with its
    reason); SandboxError when the child ran out of memory or time, or died."""
    context = _mp_context()
    receiving, sending = context.Pipe(duplex=False)
    child = context.Process(
        target=_child, args=(sending, target, args, limits), name="wenxing-sandbox", daemon=True
    )
    started = time.monotonic()
    _no_main.on = True
    try:
        child.start()
    finally:
        _no_main.on = False
    sending.close()
    try:
        answer = _wait(receiving, child, limits.wall_seconds)
    finally:
        receiving.close()
    took = time.monotonic() - started
    if answer is None:
        overran = time.monotonic() - started >= limits.wall_seconds
        if not overran:
            child.join(2)  # it died: let its exit status arrive
        _kill(child)
        code = child.exitcode
        if overran:
            log.warning("sandbox: %s killed after %.0f s (wall-clock limit)", label, took)
            raise SandboxError(f"reading took longer than {limits.wall_seconds:g} s", "timeout")
        if code == -signal.SIGXCPU or (code == -signal.SIGKILL and took < limits.wall_seconds):
            log.warning("sandbox: %s stopped at the %s s CPU limit", label, limits.cpu_seconds)
            raise SandboxError(f"reading used more than {limits.cpu_seconds} s of CPU", "timeout")
        log.warning("sandbox: %s: the reading process died (exit code %s)", label, code)
        raise SandboxError(f"the reading process died (exit code {code})", "crashed")
    child.join(5)
    if child.exitcode is None:
        _kill(child)
    status, value = answer
    if status == "ok":
        return value
    if status == "memory":
        log.warning("sandbox: %s ran out of its %s MB of memory", label, limits.memory_mb)
        raise SandboxError(f"reading needed more than {limits.memory_mb} MB of memory", "too_large")
    if status == "output":
        log.warning("sandbox: %s gave more than %s characters", label, limits.output_chars)
        raise SandboxError(f"more than {limits.output_chars} characters of text", "too_large")
    if status == "read_error":
        raise value
    log.warning("sandbox: %s: the reader failed (%s)", label, value)
    raise SandboxError(f"the reader failed ({value})", "crashed")


def _wait(receiving: Connection, child, wall_seconds: float) -> tuple[str, Any] | None:
    """The child's answer, or None when it died or the wall-clock limit passed."""
    deadline = time.monotonic() + wall_seconds
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        try:
            if receiving.poll(min(left, 1.0)):
                return receiving.recv()
        except (EOFError, OSError):
            return None  # the child died before answering
        if not child.is_alive() and not receiving.poll(0):
            return None


def _kill(child) -> None:
    if child.pid is not None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(child.pid, signal.SIGKILL)  # the child and whatever it started
    child.kill()
    child.join(5)


def _child(sending: Connection, target: str, args: tuple, limits: Limits) -> None:
    """In the child: limits first, then the reader, then one answer on the pipe."""
    os.setpgid(0, 0)  # its own process group, so a kill reaches Tesseract as well
    os.nice(NICENESS)  # pages and searches come first when a file keeps the CPU busy
    memory = limits.memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_seconds, limits.cpu_seconds + 5))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    answer: tuple[str, Any]
    try:
        module, name = target.split(":")
        result = getattr(importlib.import_module(module), name)(*args)
        too_long = _chars(result) > limits.output_chars
        answer = ("output", None) if too_long else ("ok", result)
    except MemoryError:
        answer = ("memory", None)
    except Exception as exc:
        answer = _read_error(exc)
    try:
        sending.send(answer)
    except MemoryError:
        sending.send(("memory", None))
    sending.close()


def _read_error(exc: Exception) -> tuple[str, Any]:
    if getattr(type(exc), "sandbox_passes", False):
        try:
            pickle.loads(pickle.dumps(exc))  # it must travel whole, or not at all
        except Exception:
            return "failed", exc.__class__.__name__
        return "read_error", exc
    return "failed", exc.__class__.__name__


def _chars(result: Any) -> int:
    text = getattr(result, "text", result)
    return len(text) if isinstance(text, str) else 0
