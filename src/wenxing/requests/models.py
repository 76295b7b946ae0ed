"""Tables of the requests board: members' requests (需求) and their supports."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from wenxing.db.base import Base, utcnow


class MaterialRequest(Base):
    """A member's request (需求) for a material: open → fulfilled (a published material
    linked) | declined (with a reason)."""

    __tablename__ = "material_requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    topic: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str | None] = mapped_column(String(16))
    occasion: Mapped[str | None] = mapped_column(String(200))
    deadline: Mapped[date | None] = mapped_column(Date)
    state: Mapped[str] = mapped_column(String(16), default="open", index=True)
    supporters: Mapped[int] = mapped_column(Integer, default=0)
    material_id: Mapped[int | None] = mapped_column(ForeignKey("materials.id"))
    answer: Mapped[str | None] = mapped_column(Text)
    answered_by: Mapped[str | None] = mapped_column(String(64))
    answered_at: Mapped[datetime | None] = mapped_column(DateTime)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)


class RequestSupport(Base):
    """A member's support (+1) of a request; once per member."""

    __tablename__ = "request_supports"
    __table_args__ = (UniqueConstraint("request_id", "member_id", name="uq_request_supports"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("material_requests.id"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
