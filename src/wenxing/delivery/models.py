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


class WordingVeto(Base):
    """An editor's refusal of one wording-variant place in one material version."""

    __tablename__ = "wording_vetoes"

    version_id: Mapped[int] = mapped_column(
        ForeignKey("material_versions.id", ondelete="CASCADE"), primary_key=True
    )
    offset: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
