"""A member's reading beside the copies: the place last read on the reader page, the
materials opened lately (最近阅读) and the favourites (收藏).

None of this is a copy and none of it touches the issuance log: 下载记录 lists copies,
these lists list materials. The place is kept on the server so that a member who reads on
the phone and then opens the same material on a computer starts where they stopped; the
reader page keeps a local copy too (``static/reader.js``) and the newer of the two wins.

A place is ``"block:fraction"``: the number of the block of the reader page's article
(paragraph or heading, counted from 0) at the top of the screen and how far into it, from
0 to 1. Blocks are the same on every screen width, so the place survives another device.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from wenxing.delivery.models import ReadingState
from wenxing.errors import DomainError
from wenxing.materials.models import Material

_PLACE = re.compile(r"(\d{1,6}):(0(?:\.\d{1,4})?|1(?:\.0{1,4})?)")
LIST_LENGTH = 50  # entries on the account's 收藏 and 最近阅读 pages


@dataclass(frozen=True)
class Place:
    position: str | None
    at: datetime | None
    favourite: bool


@dataclass(frozen=True)
class Entry:
    material_id: int
    title: str
    kind: str
    at: datetime
    position: str | None


def checked_position(text: str) -> str:
    """``text`` as a stored place, or DomainError ``reading.position``."""
    text = (text or "").strip()
    if not _PLACE.fullmatch(text):
        raise DomainError("reading.position", text=text[:40])
    return text


def place_of(session: Session, member_id: int, material_id: int) -> Place:
    state = _state(session, member_id, material_id)
    if state is None:
        return Place(None, None, False)
    return Place(state.position, state.position_at, state.favourite_at is not None)


def save_place(
    session: Session, member_id: int, material_id: int, position: str, now: datetime
) -> None:
    """Remember where the member is; an older report (a second device that sends late) does
    not overwrite a newer one."""
    position = checked_position(position)
    state = _state(session, member_id, material_id, create=True)
    assert state is not None
    if state.position_at is None or state.position_at <= now:
        state.position, state.position_at = position, now


def note_opened(session: Session, member_id: int, material_id: int, now: datetime) -> None:
    """The member opened the material on the reader page (its 最近阅读 entry moves up)."""
    state = _state(session, member_id, material_id, create=True)
    assert state is not None
    state.opened_at = now


def set_favourite(
    session: Session, member_id: int, material_id: int, favourite: bool, now: datetime
) -> bool:
    """Add or remove a favourite; returns whether it is one now."""
    state = _state(session, member_id, material_id, create=favourite)
    if state is not None:
        if not favourite:
            state.favourite_at = None
        elif state.favourite_at is None:
            state.favourite_at = now
    return favourite


def favourites(session: Session, member_id: int, limit: int = LIST_LENGTH) -> list[Entry]:
    """The member's favourites among published materials, the latest added first."""
    return _listed(session, member_id, ReadingState.favourite_at, limit)


def recently_read(session: Session, member_id: int, limit: int = LIST_LENGTH) -> list[Entry]:
    """What the member opened on the reader page, the latest first."""
    return _listed(session, member_id, ReadingState.opened_at, limit)


def _listed(session: Session, member_id: int, column, limit: int) -> list[Entry]:
    rows = session.execute(
        select(ReadingState, Material.title, Material.kind, column)
        .join(Material, Material.id == ReadingState.material_id)
        .where(
            ReadingState.member_id == member_id,
            column.is_not(None),
            Material.status == "published",
        )
        .order_by(column.desc(), ReadingState.id.desc())
        .limit(limit)
    ).all()
    return [
        Entry(state.material_id, title, kind, at, state.position) for state, title, kind, at in rows
    ]


def _state(
    session: Session, member_id: int, material_id: int, *, create: bool = False
) -> ReadingState | None:
    """The member's row for the material; a new one when ``create`` (two devices creating
    it at once: the second finds the first's row, inside a savepoint that rolls back)."""
    query = select(ReadingState).where(
        ReadingState.member_id == member_id, ReadingState.material_id == material_id
    )
    state = session.scalars(query).first()
    if state is None and create:
        try:
            with session.begin_nested():
                state = ReadingState(member_id=member_id, material_id=material_id)
                session.add(state)
        except IntegrityError:
            state = session.scalars(query).one()
    return state
