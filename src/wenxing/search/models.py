from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from wenxing.db.base import Base, utcnow


class SearchChange(Base):
    """A material whose searchable text or visibility changed (publish, unpublish, new
    version), written in the same transaction as the change. Every node's index applies
    these in order, so it never misses one and a rebuilt index starts from the last."""

    __tablename__ = "search_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    material_id: Mapped[int] = mapped_column(Integer, index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class SearchUsage(Base):
    """Searches per account or address per minute, to stop scraping through the search box."""

    __tablename__ = "search_usage"

    subject: Mapped[str] = mapped_column(String(64), primary_key=True)
    minute: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    count: Mapped[int] = mapped_column(Integer, default=0)
