"""Fixtures shared by all tests: databases on both backends, an initialised installation.

Every test that takes ``database_url`` (or anything built on it) runs twice: on a fresh
SQLite file and on a fresh PostgreSQL database cloned from a migrated template. PostgreSQL
is not optional: when it cannot be reached the tests fail, unless WENXING_TEST_BACKENDS
names only sqlite (for a laptop without PostgreSQL; CI always runs both).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner
from psycopg import sql

from tests.materials import CORPUS_HINT, build_library, corpus_root
from wenxing.config import Settings
from wenxing.db import migrate
from wenxing.db.engine import make_engine
from wenxing.runtime import Runtime, initialise

TEST_SECRET = "test-secret-" + "0123456789abcdef" * 3

PG_ADMIN_URL = os.environ.get(
    "WENXING_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres"
)
BACKENDS = [
    b.strip()
    for b in os.environ.get("WENXING_TEST_BACKENDS", "sqlite,postgresql").split(",")
    if b.strip()
]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--corpus",
        metavar="PATH",
        help="the public corpus of official writing (default: $WENXING_CORPUS); "
        "turns on the tests that need it",
    )


def pytest_configure(config: pytest.Config) -> None:
    given = config.getoption("--corpus")
    if given:  # tests and helpers read the one place, the environment
        os.environ["WENXING_CORPUS"] = str(Path(given).resolve())


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "corpus" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.corpus)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    """Every corpus skip is reported at one place, so ``-ra`` folds them into one line."""
    report = yield
    if report.skipped and isinstance(report.longrepr, tuple):
        _path, _line, reason = report.longrepr
        if reason.endswith(CORPUS_HINT):
            report.longrepr = (__file__, None, reason)
    return report


@pytest.fixture(scope="session")
def corpus() -> Path:
    """The public corpus (``WENXING_CORPUS``); the test is skipped without it."""
    root = corpus_root()
    if root is None:
        pytest.skip(CORPUS_HINT)
    if not root.is_dir():
        pytest.fail(f"WENXING_CORPUS={root} is not a folder", pytrace=False)
    return root


@pytest.fixture(scope="session")
def fixture_library(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fixture materials with their encoded and Word twins, in a folder of their own
    (read-only for tests: copy before changing anything in it)."""
    return build_library(tmp_path_factory.mktemp("library"))


def _pg_conninfo(dbname: str) -> str:
    base, _, _ = PG_ADMIN_URL.rpartition("/")
    return f"{base}/{dbname}"


def _sqlalchemy_pg(dbname: str) -> str:
    return _pg_conninfo(dbname).replace("postgresql://", "postgresql+psycopg://", 1)


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    """A migrated database that every PostgreSQL test database is cloned from."""
    name = f"wenxing_tpl_{uuid.uuid4().hex[:10]}"
    try:
        admin = psycopg.connect(PG_ADMIN_URL, autocommit=True)
    except psycopg.OperationalError as exc:
        pytest.fail(f"PostgreSQL is not reachable at {PG_ADMIN_URL}: {exc}", pytrace=False)
    with admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    engine = make_engine(_sqlalchemy_pg(name))
    migrate.upgrade(engine)
    engine.dispose()
    yield name
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
        admin.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty (but migrated, on PostgreSQL) database for one test."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'wenxing.db'}"
        return
    template = request.getfixturevalue("pg_template")
    name = f"wenxing_t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
        admin.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                sql.Identifier(name), sql.Identifier(template)
            )
        )
    yield _sqlalchemy_pg(name)
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
        admin.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=database_url,
        secret=TEST_SECRET,
        secret_file=tmp_path / "k",
        search_dir=tmp_path / "search",
    )


@pytest.fixture
def runtime(settings: Settings) -> Iterator[Runtime]:
    rt, _revision = initialise(settings)
    yield rt
    rt.close()


class Cli:
    """Runs the real command line in-process against one database."""

    def __init__(self, database_url: str, env: dict[str, str]):
        self.database_url = database_url
        self.env = env
        self.runner = CliRunner()

    def __call__(self, *args: str) -> CliResult:
        from wenxing.cli import cli

        result = self.runner.invoke(
            cli, ["--db", self.database_url, *args], env=self.env, catch_exceptions=True
        )
        return CliResult(result.exit_code, result.stdout, result.stderr, result.exception)


class CliResult:
    def __init__(self, code: int, stdout: str, stderr: str, exception: BaseException | None):
        self.code = code
        self.stdout = stdout
        self.stderr = stderr
        self.exception = exception

    def json(self):
        import json

        return json.loads(self.stdout)

    def __repr__(self) -> str:
        return f"CliResult(code={self.code}, stdout={self.stdout[:300]!r}, stderr={self.stderr[:300]!r})"


@pytest.fixture
def cli(database_url: str, tmp_path: Path) -> Cli:
    env = {
        "WENXING_SECRET": TEST_SECRET,
        "WENXING_DATABASE_URL": database_url,
        "WENXING_SEARCH_DIR": str(tmp_path / "search"),
    }
    runner = Cli(database_url, env)
    result = runner("init", "--json")
    assert result.code == 0, result
    return runner
