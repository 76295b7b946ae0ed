"""Database: engine and sessions, declarative base, migrations."""

from wenxing.db.base import Base
from wenxing.db.engine import Database, make_engine

__all__ = ["Base", "Database", "make_engine"]
