"""Tables that belong to the platform itself: publisher settings and server metadata."""

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from wenxing.db.base import Base


class SettingRow(Base):
    """One publisher setting, its value JSON-encoded."""

    __tablename__ = "settings"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class ServerMeta(Base):
    """Facts about this installation, such as the check value of the server secret."""

    __tablename__ = "server_meta"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
