"""The figures of copies: downloads per local day and per format (the dashboard), the
materials most taken (the dashboard and the home page's 近30天最多人读)."""

from __future__ import annotations

import time
from datetime import date, datetime

from sqlalchemy import func, select, union_all
from sqlalchemy.orm import Session

from wenxing.db.daily import per_local_day, utc_start
from wenxing.delivery.issue import copies_issued_here
from wenxing.delivery.models import DRAFT_FORMATS, SNIPPET, IssuedCopy, IssuedPiece
from wenxing.delivery.queries import asked_by_members
from wenxing.materials.models import Material

MOST_READ_SECONDS = 60  # how stale another worker's view of "most read" may be
_most_read_memo: dict[tuple, tuple[float, int, list[tuple[int, int]]]] = {}


def most_read(session: Session, since: datetime, limit: int = 8) -> list[tuple[int, int]]:
    """(material id, members) of the materials the most members took copies of since
    ``since`` (a member who opens a material again counts once; a draft counts for every
    material it holds a piece of).

    The count runs over the issuance log of the whole window, so it is kept for
    ``MOST_READ_SECONDS`` per database and window day; a copy issued by this process
    makes it count again at once (other workers' copies show within a minute)."""
    key = (str(session.get_bind().engine.url), since.date(), limit)
    now = time.monotonic()
    memo = _most_read_memo.get(key)
    if memo and memo[1] == copies_issued_here() and now - memo[0] < MOST_READ_SECONDS:
        return memo[2]
    # A draft (组稿) is a read of every material it holds a piece of, not of its first.
    copies = select(IssuedCopy.material_id, IssuedCopy.member_id).where(
        IssuedCopy.created_at >= since,
        IssuedCopy.format.not_in([SNIPPET, *DRAFT_FORMATS.values()]),
        asked_by_members(),
    )
    pieces = (
        select(IssuedPiece.material_id, IssuedCopy.member_id)
        .join(IssuedCopy, IssuedCopy.id == IssuedPiece.copy_id)
        .where(IssuedCopy.created_at >= since, asked_by_members())
    )
    taken = union_all(copies, pieces).subquery()
    readers = func.count(taken.c.member_id.distinct())
    rows = session.execute(
        select(taken.c.material_id, readers)
        .group_by(taken.c.material_id)
        .order_by(readers.desc(), taken.c.material_id)
        .limit(limit)
    ).all()
    found = [(material_id, count) for material_id, count in rows]
    if len(_most_read_memo) > 32:
        _most_read_memo.clear()
    _most_read_memo[key] = (now, copies_issued_here(), found)
    return found


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
