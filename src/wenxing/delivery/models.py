from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from wenxing.db.base import Base, utcnow


class MarkingPlan(Base):
    """Where one material version's copies carry their code, under one marking profile.

    Immutable: tracing reads the plan a copy was made with, whatever changed since.
    """

    __tablename__ = "marking_plans"
    __table_args__ = (UniqueConstraint("version_id", "profile", name="uq_marking_plans_profile"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version_id: Mapped[int] = mapped_column(
        ForeignKey("material_versions.id", ondelete="CASCADE"), index=True
    )
    profile: Mapped[str] = mapped_column(String(80))
    plan: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


FIRST_RANDOM_COPY_ID = 2**32  # ids below are the first scheme's row numbers


def random_copy_id() -> int:
    """A random copy id in [2³², 2⁶³): never a row number a restored database would hand
    out again (``IssuedCopy.id``'s default, so every kind of ledger row gets one)."""
    return FIRST_RANDOM_COPY_ID + secrets.randbelow(2**63 - FIRST_RANDOM_COPY_ID)


SNIPPET = "snippet"  # ``IssuedCopy.format`` of a search snippet released to a member


class IssuedCopy(Base):
    """The issuance log: one row per copy of a material handed to a member.

    ``id`` is random (``delivery.issue.new_copy_id``), never the next row number: a restored
    database must not hand an id out twice. ``delivered_at`` is set when the copy reached
    the member (its bytes were sent or written); a copy logged but never delivered does not
    count against the member's daily downloads."""

    __tablename__ = "issued_copies"
    # A member's copies by time: the daily quota and download history read this range.
    __table_args__ = (Index("ix_issued_copies_member_created", "member_id", "created_at"),)

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"),
        primary_key=True,
        autoincrement=False,
        default=random_copy_id,
    )
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    material_id: Mapped[int] = mapped_column(ForeignKey("materials.id"), index=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("material_versions.id"), index=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("marking_plans.id"))
    format: Mapped[str] = mapped_column(String(8))
    actor: Mapped[str] = mapped_column(String(32))
    ip: Mapped[str | None] = mapped_column(String(45))
    user_agent: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime)


DRAFT_FORMATS = {"docx": "d-docx", "txt": "d-txt"}  # ``IssuedCopy.format`` of a draft


class IssuedPiece(Base):
    """A piece of a material in a copy that holds pieces of several (a member's draft,
    ``compose``): one ledger line per draft (its ``IssuedCopy``, counted once against the
    daily downloads) and one of these per piece, so tracing finds the member among the
    recipients of every version the draft holds a piece of, under that version's plan."""

    __tablename__ = "issued_pieces"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    copy_id: Mapped[int] = mapped_column(
        ForeignKey("issued_copies.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    material_id: Mapped[int] = mapped_column(ForeignKey("materials.id"))
    version_id: Mapped[int] = mapped_column(ForeignKey("material_versions.id"), index=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("marking_plans.id"))
    anchor: Mapped[str] = mapped_column(String(16))


class DownloadTicket(Base):
    """A single-use, short-lived link to one copy for one member, for a browser that holds
    no session (the system browser a member opens from WeChat). Only the SHA-256 of the
    link's token is kept; the copy is logged when the link is used, not when it is made."""

    __tablename__ = "download_tickets"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    material_id: Mapped[int] = mapped_column(ForeignKey("materials.id"))
    format: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    used_at: Mapped[datetime | None] = mapped_column(DateTime)


class WordingVeto(Base):
    """An editor's refusal of one wording-variant place in one material version."""

    __tablename__ = "wording_vetoes"

    version_id: Mapped[int] = mapped_column(
        ForeignKey("material_versions.id", ondelete="CASCADE"), primary_key=True
    )
    offset: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class ReadingState(Base):
    """Where a member stands with one material on the reader page: the place last read
    (kept on the server so another device opens there), when it was last opened (最近阅读)
    and whether it is a favourite (收藏). Kept apart from the issuance log (下载记录):
    none of it is a copy."""

    __tablename__ = "reading_states"
    __table_args__ = (
        UniqueConstraint("member_id", "material_id", name="uq_reading_states_member_material"),
        Index("ix_reading_states_opened", "member_id", "opened_at"),
        Index("ix_reading_states_favourite", "member_id", "favourite_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    material_id: Mapped[int] = mapped_column(
        ForeignKey("materials.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[str | None] = mapped_column(String(40))  # "block:fraction", see reading.py
    position_at: Mapped[datetime | None] = mapped_column(DateTime)
    opened_at: Mapped[datetime | None] = mapped_column(DateTime)
    favourite_at: Mapped[datetime | None] = mapped_column(DateTime)
