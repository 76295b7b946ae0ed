"""The basket (素材篮): the pieces a member gathers while reading, kept per account.

Adding checks that the member may read the material now (refused with the reason) and that
the version has the section; adding a piece already there changes nothing. The basket is
then made into a draft (``compose.drafts.start_draft``), which empties it.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from wenxing import limits
from wenxing.compose.models import BasketPiece
from wenxing.compose.rules import BASKET_LIMIT, check_may_read, find_piece
from wenxing.config import PublisherSettings
from wenxing.errors import DomainError
from wenxing.materials.models import MaterialVersion
from wenxing.members.models import Member


@dataclass(frozen=True)
class PieceView:
    id: int
    material_id: int
    version_id: int
    anchor: str
    path: str
    source_title: str


def add_piece(
    session: Session,
    publisher: PublisherSettings,
    member: Member,
    material_id: int,
    version_id: int,
    anchor: str,
) -> int:
    """Put a section in the member's basket (at its end); the number of pieces after."""
    material, version, extent = find_piece(session, material_id, version_id, anchor)
    check_may_read(session, publisher, member, material)
    limits.hold(session, limits.Subject("basket", member.id))
    count = pieces_in_basket(session, member.id)
    there = session.scalar(
        select(BasketPiece.id).where(
            BasketPiece.member_id == member.id,
            BasketPiece.version_id == version.id,
            BasketPiece.anchor == extent.anchor,
        )
    )
    if there is not None:
        return count
    if count >= BASKET_LIMIT:
        raise DomainError("compose.basket_full", limit=BASKET_LIMIT)
    last = session.scalar(
        select(func.max(BasketPiece.position)).where(BasketPiece.member_id == member.id)
    )
    session.add(
        BasketPiece(
            member_id=member.id,
            material_id=material.id,
            version_id=version.id,
            anchor=extent.anchor,
            path=extent.path[:400],
            position=(last if last is not None else -1) + 1,
        )
    )
    session.flush()
    return count + 1


def pieces_in_basket(session: Session, member_id: int) -> int:
    return (
        session.scalar(
            select(func.count()).select_from(BasketPiece).where(BasketPiece.member_id == member_id)
        )
        or 0
    )


def basket(session: Session, member_id: int) -> list[PieceView]:
    """The member's pieces in order, each with its material's title."""
    rows = session.execute(
        select(BasketPiece, MaterialVersion.title)
        .join(MaterialVersion, MaterialVersion.id == BasketPiece.version_id)
        .where(BasketPiece.member_id == member_id)
        .order_by(BasketPiece.position, BasketPiece.id)
    ).all()
    return [
        PieceView(p.id, p.material_id, p.version_id, p.anchor, p.path, title) for p, title in rows
    ]


def basket_rows(session: Session, member_id: int) -> list[BasketPiece]:
    return list(
        session.scalars(
            select(BasketPiece)
            .where(BasketPiece.member_id == member_id)
            .order_by(BasketPiece.position, BasketPiece.id)
        )
    )


def remove_piece(session: Session, member_id: int, piece_id: int) -> None:
    """Take a piece out of the member's basket (someone else's piece is not found)."""
    done = session.execute(
        delete(BasketPiece).where(BasketPiece.id == piece_id, BasketPiece.member_id == member_id)
    )
    if not done.rowcount:  # type: ignore[attr-defined]
        raise DomainError("compose.no_such_basket_piece")


def move_piece(session: Session, member_id: int, piece_id: int, step: int) -> None:
    """Move a piece one place up (-1) or down (+1) in the basket."""
    if step not in (-1, 1):
        raise DomainError("compose.move")
    rows = basket_rows(session, member_id)
    at = next((n for n, row in enumerate(rows) if row.id == piece_id), None)
    if at is None:
        raise DomainError("compose.no_such_basket_piece")
    other = at + step
    if 0 <= other < len(rows):
        rows[at], rows[other] = rows[other], rows[at]
    for position, row in enumerate(rows):
        row.position = position
    session.flush()


def empty_basket(session: Session, member_id: int) -> None:
    session.execute(delete(BasketPiece).where(BasketPiece.member_id == member_id))
