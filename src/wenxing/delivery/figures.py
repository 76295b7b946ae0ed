"""The dashboard's figures of copies: downloads per local day and per format, the
materials most taken."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from wenxing.db.daily import per_local_day, utc_start
from wenxing.delivery.issue import most_read
from wenxing.delivery.models import SNIPPET, IssuedCopy
from wenxing.materials.models import Material


def downloads_per_day(session: Session, days: list[date], timezone: str) -> list[int]:
    """Copies members took on each local day (not the marked search snippets the ledger
    also records)."""
    return per_local_day(
        session, IssuedCopy.created_at, days, timezone, IssuedCopy.format != SNIPPET
    )


def downloads_by_format(session: Session, days: list[date], timezone: str) -> dict[str, int]:
    since = utc_start(days[0], timezone)
    rows = session.execute(
        select(IssuedCopy.format, func.count())
        .where(IssuedCopy.created_at >= since, IssuedCopy.format != SNIPPET)
        .group_by(IssuedCopy.format)
        .order_by(func.count().desc())
    ).all()
    return dict(rows)


def top_materials(session: Session, since: datetime, limit: int = 10) -> list[dict]:
    """The materials members took most copies of since ``since``, with their titles."""
    ranked = most_read(session, since, limit)
    titles = (
        dict(
            session.execute(
                select(Material.id, Material.title).where(Material.id.in_([m for m, _ in ranked]))
            ).all()
        )
        if ranked
        else {}
    )
    return [{"id": m, "title": titles.get(m, ""), "copies": n} for m, n in ranked]
