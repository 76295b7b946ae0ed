"""Notifications: messages to accounts, shown under the bell and pushed to open pages."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from wenxing.db.base import utcnow
from wenxing.db.engine import is_sqlite, rowcount
from wenxing.live import events
from wenxing.live.models import Notification


def notify(
    session: Session,
    member_ids: Iterable[int],
    kind: str,
    title: str,
    *,
    body: str | None = None,
    link: str | None = None,
    event_id: int | None = None,
    dedupe: str | None = None,
) -> int:
    """Add a notification for each account (in the caller's transaction) and a
    ``notification`` event for each, so open pages update their bell. ``dedupe`` (a key,
    suffixed with the account id) makes a repeat a no-op. Returns how many were added."""
    added = 0
    now = utcnow()
    for member_id in dict.fromkeys(member_ids):
        values = {
            "member_id": member_id,
            "kind": kind,
            "title": title[:200],
            "body": body,
            "link": link,
            "event_id": event_id,
            "dedupe": dedupe_key(dedupe, member_id) if dedupe else None,
            "created_at": now,
        }
        insert = sqlite_insert if is_sqlite(session.get_bind()) else pg_insert
        statement = insert(Notification).values(**values)
        if dedupe:
            statement = statement.on_conflict_do_nothing(index_elements=["dedupe"])
        result = session.execute(statement.returning(Notification.id))
        notification_id = result.scalar()
        if notification_id is None:
            continue
        added += 1
        events.emit(
            session,
            events.NOTIFICATION,
            f"member:{member_id}",
            id=notification_id,
            kind=kind,
            title=title,
            link=link,
        )
    return added


def dedupe_key(dedupe: str, member_id: int) -> str:
    """The once-only key ``notify`` stores for ``dedupe`` and one account."""
    return f"{dedupe}:{member_id}"[:120]


def already_notified(session: Session, keys: Iterable[str]) -> set[str]:
    """Which of these once-only keys (``dedupe_key``) a notification holds already: a
    periodic sender skips them in one read instead of trying an insert for each."""
    wanted = list(dict.fromkeys(keys))
    found: set[str] = set()
    for at in range(0, len(wanted), 500):
        found.update(
            session.scalars(
                select(Notification.dedupe).where(Notification.dedupe.in_(wanted[at : at + 500]))
            )
        )
    return found


def unread_count(session: Session, member_id: int) -> int:
    return session.execute(
        select(func.count())
        .select_from(Notification)
        .where(Notification.member_id == member_id, Notification.read_at.is_(None))
    ).scalar_one()


def mark_read(session: Session, member_id: int, notification_id: int | None = None) -> int:
    """Mark one notification (or all) of the account read; returns how many changed."""
    query = update(Notification).where(
        Notification.member_id == member_id, Notification.read_at.is_(None)
    )
    if notification_id is not None:
        query = query.where(Notification.id == notification_id)
    return rowcount(
        session.execute(query.values(read_at=utcnow()).execution_options(synchronize_session=False))
    )


def notifications_of(
    session: Session, member_id: int, *, offset: int = 0, limit: int = 20, unread_only=False
) -> tuple[int, list[dict]]:
    """(how many the account has, one page of them newest first)."""
    condition = [Notification.member_id == member_id]
    if unread_only:
        condition.append(Notification.read_at.is_(None))
    total = session.execute(
        select(func.count()).select_from(Notification).where(*condition)
    ).scalar_one()
    rows = session.scalars(
        select(Notification)
        .where(*condition)
        .order_by(Notification.id.desc())
        .offset(offset)
        .limit(limit)
    )
    return total, [
        {
            "id": n.id,
            "kind": n.kind,
            "title": n.title,
            "body": n.body,
            "link": n.link,
            "created_at": n.created_at,
            "read": n.read_at is not None,
        }
        for n in rows
    ]
