"""The live outbox: events for open pages, written to ``live_events`` in the caller's
transaction.

``emit`` is the one way to add one. (Packages outside live do not call it: they raise domain
events,
``wenxing.events``, which live/announce.py turns into outbox events and notifications, and
whose handlers are all that reacts in the transaction.) After the commit:

* this process's listeners of committed events (the SSE hub) are woken at once;
* on PostgreSQL a ``NOTIFY wenxing_events`` is sent with the commit, so the other workers
  wake too (a worker that missed it catches up from the table by id).
"""

from __future__ import annotations

import json
import threading
from typing import Any

from sqlalchemy import event as sa_event
from sqlalchemy import text
from sqlalchemy.orm import Session

from wenxing.db.engine import is_sqlite
from wenxing.live.models import LiveEvent

CHANNEL = "wenxing_events"

MATERIAL_PUBLISHED = "material.published"
MATERIAL_DIGEST = "material.digest"  # several materials published by one import run
MATERIAL_NEW_VERSION = "material.new_version"
REQUEST_CREATED = "request.created"
REQUEST_FULFILLED = "request.fulfilled"
REQUEST_DECLINED = "request.declined"
REPORT_DECIDED = "report.decided"
SUBSCRIPTION_EXPIRING = "subscription.expiring"
SUBSCRIPTION_GRANTED = "subscription.granted"
NOTIFICATION = "notification"  # a new notification row for one account (the bell)
EVENT_TYPES = frozenset(
    v for k, v in dict(globals()).items() if k.isupper() and isinstance(v, str) and "." in v
) | {NOTIFICATION}

AUDIENCES = ("public", "members", "staff")  # or f"member:{id}"

_committed = threading.Condition()
_committed_count = 0


def emit(session: Session, type_: str, audience: str, **payload: Any) -> LiveEvent:
    if type_ not in EVENT_TYPES:
        raise ValueError(f"unknown event type {type_!r}")
    if audience not in AUDIENCES and not audience.startswith("member:"):
        raise ValueError(f"unknown audience {audience!r}")
    row = LiveEvent(
        type=type_,
        audience=audience,
        payload=json.dumps(payload, ensure_ascii=False, default=str),
    )
    session.add(row)
    session.flush()
    if not is_sqlite(session.get_bind()):
        session.execute(
            text("SELECT pg_notify(:channel, :id)"), {"channel": CHANNEL, "id": str(row.id)}
        )
    if not session.info.get("wenxing_live_wake"):
        session.info["wenxing_live_wake"] = True

        @sa_event.listens_for(session, "after_commit", once=True)
        def _wake(_session) -> None:
            _session.info.pop("wenxing_live_wake", None)
            global _committed_count
            with _committed:
                _committed_count += 1
                _committed.notify_all()

        @sa_event.listens_for(session, "after_rollback", once=True)
        def _forget(_session) -> None:
            _session.info.pop("wenxing_live_wake", None)

    return row


def committed_count() -> int:
    """How many transactions with events this process has committed (for waiting on)."""
    with _committed:
        return _committed_count


def wait_for_commit(seen: int, timeout: float) -> int:
    """Wait until this process commits events beyond ``seen`` (or the timeout)."""
    with _committed:
        if _committed_count == seen:
            _committed.wait(timeout)
        return _committed_count
