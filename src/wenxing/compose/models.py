"""The basket (素材篮) and the drafts (组稿) of each account.

A piece is a section of one material version, named by the reader page's heading anchor
(``s3``: the third entry of the version's table of contents) and by its outline path as the
member saw it. A draft holds parts in order: pieces (their heading kept or renamed, set at a
heading level of the draft) and the member's own paragraphs between them. Neither holds
material text: the text is cut from the version, marked for the member, when a draft is
exported (``compose.export``).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from wenxing.db.base import Base, utcnow

PIECE, OWN_TEXT = "piece", "text"  # DraftPart.kind


class BasketPiece(Base):
    """One section a member put in their basket, in the basket's order."""

    __tablename__ = "basket_pieces"
    __table_args__ = (
        UniqueConstraint("member_id", "version_id", "anchor", name="uq_basket_pieces_place"),
        Index("ix_basket_pieces_member_position", "member_id", "position"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    material_id: Mapped[int] = mapped_column(
        ForeignKey("materials.id", ondelete="CASCADE"), index=True
    )
    version_id: Mapped[int] = mapped_column(
        ForeignKey("material_versions.id", ondelete="CASCADE"), index=True
    )
    anchor: Mapped[str] = mapped_column(String(16))
    path: Mapped[str] = mapped_column(String(400))  # the outline path, "一、… › （二）…"
    position: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Draft(Base):
    """A member's draft: a title and its parts (``DraftPart``) in order."""

    __tablename__ = "drafts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class DraftPart(Base):
    """One part of a draft: a piece of a material (``kind`` piece: material, version,
    anchor, path; ``heading`` the member's own wording of its heading or None to keep it;
    ``level`` the draft's heading level it is set at, 1 一、 to 4 （1）) or a paragraph of the
    member's own (``kind`` text: ``text``)."""

    __tablename__ = "draft_parts"
    __table_args__ = (Index("ix_draft_parts_draft_position", "draft_id", "position"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    draft_id: Mapped[int] = mapped_column(ForeignKey("drafts.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(8))
    material_id: Mapped[int | None] = mapped_column(
        ForeignKey("materials.id", ondelete="CASCADE"), index=True
    )
    version_id: Mapped[int | None] = mapped_column(
        ForeignKey("material_versions.id", ondelete="CASCADE")
    )
    anchor: Mapped[str | None] = mapped_column(String(16))
    path: Mapped[str | None] = mapped_column(String(400))
    heading: Mapped[str | None] = mapped_column(String(200))
    level: Mapped[int] = mapped_column(Integer, default=1)
    text: Mapped[str | None] = mapped_column(Text)
