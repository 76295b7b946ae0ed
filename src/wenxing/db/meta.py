"""Tables that belong to the platform itself: publisher settings and server metadata."""

from sqlalchemy import LargeBinary, String, Text
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


class SettingImage(Base):
    """An image a publisher setting refers to by its SHA-256 (a plan's payment QR code),
    kept in the database so that a backup of it holds the whole site."""

    __tablename__ = "setting_images"

    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    media_type: Mapped[str] = mapped_column(String(32))
    data: Mapped[bytes] = mapped_column(LargeBinary)
