"""Failures that have a name: a full disk, told apart from any other database error.

SQLite says ``database or disk is full`` (SQLITE_FULL) when it cannot grow its file or
journal; PostgreSQL raises SQLSTATE 53100 (disk_full) or reports ``No space left on
device``; the operating system raises ENOSPC for files wenxing writes itself. Each is
reported as what it is, in the command line, the site and the logs, instead of
``OperationalError`` or an internal error.
"""

from __future__ import annotations

import ctypes
import errno
import os
import signal

DISK_FULL = "disk full: free space on the database's disk and try again"


def is_disk_full(exc: BaseException | None) -> bool:
    """Whether ``exc`` (or what it wraps) is a full disk."""
    seen = 0
    while exc is not None and seen < 5:
        if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
            return True
        if getattr(exc, "sqlstate", None) == "53100":  # psycopg: disk_full
            return True
        text = str(exc).lower()
        if "database or disk is full" in text or "no space left on device" in text:
            return True
        exc = getattr(exc, "orig", None) or exc.__cause__ or exc.__context__
        seen += 1
    return False


_PR_SET_PDEATHSIG = 1


def die_with_parent(parent_pid: int) -> None:
    """Ask Linux to kill this (worker) process when its parent dies, whatever kills the
    parent (``kill -9`` included): pool workers never outlive an import or a reindex. The
    signal comes when the thread that started the worker ends, so pools are started from
    the main thread. Elsewhere than Linux this does nothing."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        return
    if os.getppid() != parent_pid:  # the parent died before the request was made
        os._exit(1)
