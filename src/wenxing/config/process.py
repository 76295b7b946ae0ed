"""Process settings: what a process needs before it can open the database.

:class:`Settings` is read from ``WENXING_*`` environment variables (database URL, secret,
size limits, the server's address …); ``docs/settings.md`` is generated from its fields.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite:///./wenxing.db"


class Settings(BaseSettings):
    """Process settings, from ``WENXING_*`` environment variables."""

    model_config = SettingsConfigDict(env_prefix="WENXING_", extra="ignore")

    database_url: str = Field(DEFAULT_DATABASE_URL, description="SQLAlchemy URL of the database")
    secret: str | None = Field(
        None,
        description="server secret; when unset, a key file beside the database is used",
        repr=False,
    )
    secret_file: Path | None = Field(
        None, description="where the server secret is kept when WENXING_SECRET is unset"
    )
    max_file_mb: float = Field(20.0, description="largest source file import accepts, in MB")
    max_unpacked_mb: float = Field(
        200.0, description="largest uncompressed size of a .docx archive, in MB"
    )
    search_dir: Path | None = Field(
        None,
        description="folder of this node's search index; by default beside the SQLite "
        "database, or ./wenxing-search-DBNAME for PostgreSQL",
    )
    locale: str = Field(
        "zh_CN", description="language of the site (a catalogue in src/wenxing/locale/)"
    )
    threads: int = Field(
        16,
        ge=1,
        le=256,
        description="requests one `wenxing serve` worker works on at once; more wait their turn",
    )
    jobs: bool = Field(
        True,
        description="whether each `wenxing serve` worker runs background jobs (tracing "
        "reports); turn off when `wenxing jobs run` processes do it",
    )
    public_url: str = Field(
        "http://127.0.0.1:8000",
        description="the site's address as members reach it (links in group robots' announcements)",
    )
    bot_retry_seconds: float = Field(
        5.0,
        gt=0,
        description="first delay before a failed group-robot delivery is tried again; it "
        "doubles with every failure, up to 60 times the first (5 minutes by default)",
    )
    environment: str = Field(
        "production",
        pattern="^(production|development)$",
        description="`development` makes every start compare the database's schema with the "
        "models (what `alembic check` does) and refuse a database that drifted",
    )
    password_cost: Literal["standard", "test"] = Field(
        "standard",
        description="argon2id cost of password hashes: standard (argon2's recommended "
        "parameters), or test (cheap, for test suites only: never on a server)",
    )
    sandbox_memory_mb: int = Field(
        512,
        ge=64,
        description="address space of the child process that reads each evidence file or "
        "console upload, in MB (a file needing more is refused as too large)",
    )
    sandbox_cpu_seconds: int = Field(
        60, ge=1, description="CPU seconds that child process may use (then: timed out)"
    )
    sandbox_wall_seconds: float = Field(
        300.0, gt=0, description="seconds that child process may take in all before it is killed"
    )
    sandbox_output_chars: int = Field(
        20_000_000, ge=1000, description="characters of text one file may give"
    )
    webhook_private_networks: str = Field(
        "",
        description="networks (CIDR, comma-separated) a group robot's webhook may resolve to "
        "although they are private, loopback or link-local (an in-house receiver); empty: none",
    )
    webhook_ca_file: Path | None = Field(
        None,
        description="extra certificate authorities (PEM) trusted for group robots' webhooks "
        "(an in-house receiver's); the system's are always trusted",
    )
    host: str = Field("127.0.0.1", description="address `wenxing serve` listens on")
    port: int = Field(8000, description="port `wenxing serve` listens on")

    @property
    def max_file_bytes(self) -> int:
        return int(self.max_file_mb * 1024 * 1024)

    @property
    def max_unpacked_bytes(self) -> int:
        return int(self.max_unpacked_mb * 1024 * 1024)

    def _beside_database(self, suffix: str) -> tuple[Path | None, str]:
        """(the SQLite file + suffix, or None for a server database; the database name)."""
        from sqlalchemy.engine import make_url

        url = make_url(self.database_url)
        if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
            db_path = Path(url.database)
            return db_path.with_name(db_path.name + suffix), url.database
        return None, url.database or "default"

    def search_path(self) -> Path:
        """This node's search index folder."""
        if self.search_dir is not None:
            return self.search_dir
        beside, name = self._beside_database(".search")
        return beside or Path(f"wenxing-search-{name}")

    def key_file(self) -> Path:
        """Where the server secret lives when it is not given in the environment."""
        if self.secret_file is not None:
            return self.secret_file
        return self._beside_database(".key")[0] or Path("wenxing.key")
