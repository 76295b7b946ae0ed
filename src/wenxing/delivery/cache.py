"""The unmarked base of each version, prepared once per format.

Preparing a format (building a Word package, laying out fonts) is the expensive part of a
copy and is the same for every recipient of a version, so it is kept here, keyed by the
format, the version and the masthead in force. A copy then costs only marking and packaging.
Versions never change, so entries only ever go stale by the masthead changing, which is part
of the key; old entries age out of the bounded LRU.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

from wenxing.delivery.layout import Layout
from wenxing.delivery.render import Format

_LIMIT = 64  # prepared versions kept per process (a .docx base is ~100 KB, a .pdf's less)


class PreparedCache:
    def __init__(self, limit: int = _LIMIT) -> None:
        self._limit = limit
        self._items: OrderedDict[tuple, Any] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, fmt: Format, version_id: int, layout: Layout, masthead: tuple[str, ...]) -> Any:
        key = (fmt.name, version_id, masthead)
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                self.hits += 1
                return self._items[key]
        prepared = fmt.prepare(layout, masthead)  # outside the lock: other versions go on
        with self._lock:
            self.misses += 1
            self._items[key] = prepared
            self._items.move_to_end(key)
            while len(self._items) > self._limit:
                self._items.popitem(last=False)
        return prepared

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


PREPARED = PreparedCache()
