"""Drafts (组稿): a title and parts in order, the member's own to arrange.

A draft is made from the basket (its pieces in the basket's order, each set at the draft's
first heading level) and then arranged: parts move up and down one place at a time (a phone
has no drag) or to any place (a drag on a desktop), a piece's heading is kept or renamed
and set at a level (一、（一）1.（1）), paragraphs of the member's own go between pieces.
Every change is the owner's: another account's draft is not found.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from wenxing import limits
from wenxing.compose import numbering
from wenxing.compose.basket import basket_rows, empty_basket
from wenxing.compose.models import OWN_TEXT, PIECE, Draft, DraftPart
from wenxing.compose.rules import (
    DRAFTS_LIMIT,
    HEADING_LIMIT,
    PARTS_LIMIT,
    TITLE_LIMIT,
    clean_line,
    clean_text,
)
from wenxing.db.base import utcnow
from wenxing.errors import DomainError
from wenxing.materials.models import MaterialVersion


@dataclass(frozen=True)
class PartView:
    id: int
    kind: str
    material_id: int | None
    version_id: int | None
    anchor: str | None
    path: str | None
    heading: str | None
    level: int
    text: str | None
    source_title: str | None


@dataclass(frozen=True)
class DraftSummary:
    id: int
    title: str
    pieces: int
    updated_at: datetime


@dataclass(frozen=True)
class DraftView:
    id: int
    title: str
    updated_at: datetime
    parts: tuple[PartView, ...]


def get_draft(session: Session, member_id: int, draft_id: int) -> Draft:
    draft = session.get(Draft, draft_id)
    if draft is None or draft.member_id != member_id:
        raise DomainError("compose.no_such_draft")
    return draft


def parts_of(session: Session, draft_id: int) -> list[DraftPart]:
    return list(
        session.scalars(
            select(DraftPart)
            .where(DraftPart.draft_id == draft_id)
            .order_by(DraftPart.position, DraftPart.id)
        )
    )


def start_draft(session: Session, member_id: int, title: str) -> Draft:
    """A new draft of the basket's pieces, in order; the basket is emptied."""
    title = clean_line(title, TITLE_LIMIT, "compose.title")
    pieces = basket_rows(session, member_id)
    if not pieces:
        raise DomainError("compose.empty_basket")
    draft = _new_draft(session, member_id, title)
    for position, piece in enumerate(pieces[:PARTS_LIMIT]):
        session.add(
            DraftPart(
                draft_id=draft.id,
                position=position,
                kind=PIECE,
                material_id=piece.material_id,
                version_id=piece.version_id,
                anchor=piece.anchor,
                path=piece.path,
                level=1,
            )
        )
    empty_basket(session, member_id)
    session.flush()
    return draft


def _new_draft(session: Session, member_id: int, title: str) -> Draft:
    limits.hold(session, limits.Subject("drafts", member_id))
    kept = session.scalar(
        select(func.count()).select_from(Draft).where(Draft.member_id == member_id)
    )
    if (kept or 0) >= DRAFTS_LIMIT:
        raise DomainError("compose.too_many_drafts", limit=DRAFTS_LIMIT)
    draft = Draft(member_id=member_id, title=title, created_at=utcnow(), updated_at=utcnow())
    session.add(draft)
    session.flush()
    return draft


def drafts_of(session: Session, member_id: int) -> list[DraftSummary]:
    """The member's drafts, the last changed first, with how many pieces each holds."""
    pieces = (
        select(DraftPart.draft_id, func.count().label("n"))
        .where(DraftPart.kind == PIECE)
        .group_by(DraftPart.draft_id)
        .subquery()
    )
    rows = session.execute(
        select(Draft, func.coalesce(pieces.c.n, 0))
        .outerjoin(pieces, pieces.c.draft_id == Draft.id)
        .where(Draft.member_id == member_id)
        .order_by(Draft.updated_at.desc(), Draft.id.desc())
    ).all()
    return [DraftSummary(d.id, d.title, n, d.updated_at) for d, n in rows]


def draft_view(session: Session, member_id: int, draft_id: int) -> DraftView:
    draft = get_draft(session, member_id, draft_id)
    parts = parts_of(session, draft.id)
    ids = {p.version_id for p in parts if p.version_id is not None}
    titles = dict(
        session.execute(
            select(MaterialVersion.id, MaterialVersion.title).where(MaterialVersion.id.in_(ids))
        ).all()
    )
    views = tuple(
        PartView(
            p.id,
            p.kind,
            p.material_id,
            p.version_id,
            p.anchor,
            p.path,
            p.heading,
            p.level,
            p.text,
            titles.get(p.version_id) if p.version_id is not None else None,
        )
        for p in parts
    )
    return DraftView(draft.id, draft.title, draft.updated_at, views)


def rename_draft(session: Session, member_id: int, draft_id: int, title: str) -> None:
    draft = get_draft(session, member_id, draft_id)
    draft.title = clean_line(title, TITLE_LIMIT, "compose.title")
    draft.updated_at = utcnow()


def duplicate_draft(session: Session, member_id: int, draft_id: int, title: str) -> Draft:
    """A copy of the draft (its parts, headings and own paragraphs) under ``title``."""
    source = get_draft(session, member_id, draft_id)
    copy = _new_draft(session, member_id, clean_line(title, TITLE_LIMIT, "compose.title"))
    for part in parts_of(session, source.id):
        session.add(
            DraftPart(
                draft_id=copy.id,
                position=part.position,
                kind=part.kind,
                material_id=part.material_id,
                version_id=part.version_id,
                anchor=part.anchor,
                path=part.path,
                heading=part.heading,
                level=part.level,
                text=part.text,
            )
        )
    session.flush()
    return copy


def delete_draft(session: Session, member_id: int, draft_id: int) -> None:
    draft = get_draft(session, member_id, draft_id)
    session.execute(delete(DraftPart).where(DraftPart.draft_id == draft.id))
    session.delete(draft)


def _part(session: Session, member_id: int, draft_id: int, part_id: int):
    draft = get_draft(session, member_id, draft_id)
    parts = parts_of(session, draft.id)
    at = next((n for n, p in enumerate(parts) if p.id == part_id), None)
    if at is None:
        raise DomainError("compose.no_such_part")
    draft.updated_at = utcnow()
    return draft, parts, at


def move_part(session: Session, member_id: int, draft_id: int, part_id: int, step: int) -> None:
    """Move a part one place up (``step`` -1) or down (1)."""
    if step not in (-1, 1):
        raise DomainError("compose.move")
    _draft, parts, at = _part(session, member_id, draft_id, part_id)
    _place(session, parts, at, at + step)


def move_part_to(session: Session, member_id: int, draft_id: int, part_id: int, to: int) -> None:
    """Move a part to place ``to`` (0 first; beyond the ends: the nearest end), the others
    keeping their order: a drag and drop."""
    _draft, parts, at = _part(session, member_id, draft_id, part_id)
    _place(session, parts, at, to)


def _place(session: Session, parts: list[DraftPart], at: int, to: int) -> None:
    moving = parts.pop(at)
    parts.insert(max(0, min(to, len(parts))), moving)
    for position, part in enumerate(parts):
        part.position = position
    session.flush()


def set_heading(
    session: Session, member_id: int, draft_id: int, part_id: int, heading: str | None, level: int
) -> None:
    """Rename a piece's heading (None or blank: keep the source's) and set its level."""
    _draft, parts, at = _part(session, member_id, draft_id, part_id)
    part = parts[at]
    if part.kind != PIECE:
        raise DomainError("compose.no_such_part")
    if level not in numbering.LEVELS:
        raise DomainError("compose.level")
    wording = (heading or "").strip()
    part.heading = clean_line(wording, HEADING_LIMIT, "compose.heading") if wording else None
    part.level = level


def add_text(
    session: Session, member_id: int, draft_id: int, after_part_id: int | None, text: str
) -> DraftPart:
    """A paragraph of the member's own after a part (None: at the start)."""
    draft = get_draft(session, member_id, draft_id)
    parts = parts_of(session, draft.id)
    if len(parts) >= PARTS_LIMIT:
        raise DomainError("compose.draft_full", limit=PARTS_LIMIT)
    at = 0
    if after_part_id is not None:
        found = next((n for n, p in enumerate(parts) if p.id == after_part_id), None)
        if found is None:
            raise DomainError("compose.no_such_part")
        at = found + 1
    own = DraftPart(draft_id=draft.id, position=at, kind=OWN_TEXT, text=clean_text(text), level=1)
    parts.insert(at, own)
    session.add(own)
    for position, part in enumerate(parts):
        part.position = position
    draft.updated_at = utcnow()
    session.flush()
    return own


def edit_text(session: Session, member_id: int, draft_id: int, part_id: int, text: str) -> None:
    _draft, parts, at = _part(session, member_id, draft_id, part_id)
    if parts[at].kind != OWN_TEXT:
        raise DomainError("compose.no_such_part")
    parts[at].text = clean_text(text)


def remove_part(session: Session, member_id: int, draft_id: int, part_id: int) -> None:
    _draft, parts, at = _part(session, member_id, draft_id, part_id)
    session.delete(parts[at])
    for position, part in enumerate(parts[:at] + parts[at + 1 :]):
        part.position = position
    session.flush()
