from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from wenxing.db.base import Base, utcnow

KINDS = ("讲话", "报告", "总结", "心得体会", "方案", "通知", "调研报告", "其他")


class Material(Base):
    """A material in the library; its text lives in versions, the newest is current."""

    __tablename__ = "materials"
    # The console's list: pages by id within a state or a kind (migration 0015).
    __table_args__ = (
        Index("ix_materials_status_id", "status", "id"),
        Index("ix_materials_kind_id", "kind", "id"),
        Index("ix_materials_category_kind_id", "category", "kind", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(16))
    category: Mapped[str | None] = mapped_column(String(100), index=True)
    tags: Mapped[str] = mapped_column(String(300), default="", server_default="")  # "a,b"
    source_path: Mapped[str | None] = mapped_column(String(1000), index=True)
    status: Mapped[str] = mapped_column(String(16), default="draft")
    published_at: Mapped[datetime | None] = mapped_column(DateTime, index=True)
    current_version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)

    versions: Mapped[list[MaterialVersion]] = relationship(
        back_populates="material", order_by="MaterialVersion.number", cascade="all, delete-orphan"
    )


class MaterialVersion(Base):
    """One imported text of a material, kept when a newer one arrives."""

    __tablename__ = "material_versions"
    __table_args__ = (
        UniqueConstraint("material_id", "number", name="uq_material_versions_number"),
        # Lists read a version's length without touching its row: on SQLite `chars` sits
        # behind the body's overflow pages.
        Index("ix_material_versions_listing", "material_id", "number", "chars"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    material_id: Mapped[int] = mapped_column(
        ForeignKey("materials.id", ondelete="CASCADE"), index=True
    )
    number: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(16))
    source_name: Mapped[str] = mapped_column(String(300))
    source_format: Mapped[str] = mapped_column(String(8))
    source_encoding: Mapped[str | None] = mapped_column(String(16))
    content_hash: Mapped[str] = mapped_column(String(64), index=True)
    body_hash: Mapped[str] = mapped_column(String(64), index=True)
    body: Mapped[str] = mapped_column(Text)
    chars: Mapped[int] = mapped_column(Integer)
    outline: Mapped[str] = mapped_column(Text)
    keywords: Mapped[str] = mapped_column(Text)
    minhash: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    material: Mapped[Material] = relationship(back_populates="versions")


class ShingleBand(Base):
    """Locality-sensitive hash bands of a version's shingles, to find near-duplicates fast."""

    __tablename__ = "material_shingle_bands"
    __table_args__ = (Index("ix_material_shingle_bands_band_value", "band", "value"),)

    version_id: Mapped[int] = mapped_column(
        ForeignKey("material_versions.id", ondelete="CASCADE"), primary_key=True
    )
    band: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    value: Mapped[int] = mapped_column(BigInteger)


class MaterialGram(Base):
    """Winnowed character n-grams of a version's text: finds the material behind an excerpt."""

    __tablename__ = "material_grams"
    __table_args__ = (Index("ix_material_grams_value", "value"),)

    version_id: Mapped[int] = mapped_column(
        ForeignKey("material_versions.id", ondelete="CASCADE"), primary_key=True
    )
    value: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
