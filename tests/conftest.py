"""Fixtures shared by all tests: databases on both backends, an initialised installation.

Every test that takes ``database_url`` (or anything built on it) runs twice: on a fresh
SQLite file and on a fresh PostgreSQL database, each a copy of a database migrated once per
run (a file copy on SQLite, ``CREATE DATABASE … TEMPLATE`` on PostgreSQL). PostgreSQL is
not optional: when it cannot be reached the tests fail, unless WENXING_TEST_BACKENDS names
only sqlite (for a laptop without PostgreSQL; CI always runs both).

PostgreSQL is a throwaway server of the installed version started for the run, its data in
memory and fsync off (``tests/postgres.py``), or the server at ``WENXING_TEST_POSTGRES``.
Passwords are hashed at the cheap test cost (``WENXING_PASSWORD_COST=test``); one test in
test_accounts.py checks the standard cost servers use.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner
from hypothesis import settings as hypothesis_settings
from psycopg import sql

from tests import cpu_record, postgres
from tests.browser import CHROMIUM_PROCESS
from tests.materials import CORPUS_HINT, build_library, corpus_root
from wenxing.config import Settings
from wenxing.db import migrate
from wenxing.db.engine import make_engine
from wenxing.runtime import Runtime, initialise

TEST_SECRET = "test-secret-" + "0123456789abcdef" * 3

BACKENDS = [
    b.strip()
    for b in os.environ.get("WENXING_TEST_BACKENDS", "sqlite,postgresql").split(",")
    if b.strip()
]
# Before anything hashes a password, in this process and in every one it starts.
os.environ.setdefault("WENXING_PASSWORD_COST", "test")

# Property tests draw new examples on every run, so a developer's runs keep exploring; CI
# (.ci/run sets WENXING_HYPOTHESIS_PROFILE=ci) draws the same examples each time, so its
# verdict is the code's, not the draw's. A counterexample found anywhere becomes a test.
hypothesis_settings.register_profile("ci", derandomize=True, print_blob=True)
hypothesis_settings.load_profile(os.environ.get("WENXING_HYPOTHESIS_PROFILE", "default"))


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--corpus",
        metavar="PATH",
        help="the public corpus of official writing (default: $WENXING_CORPUS); "
        "turns on the tests that need it",
    )


_SERVER = pytest.StashKey[postgres.ThrowawayServer]()
_SERVER_NOTE = pytest.StashKey[str]()


def _is_xdist_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


def pytest_configure(config: pytest.Config) -> None:
    cpu_record.register(config)  # WENXING_TEST_CPU=DIR: each test's CPU (docs/testing.md)
    given = config.getoption("--corpus")
    if given:  # tests and helpers read the one place, the environment
        os.environ["WENXING_CORPUS"] = str(Path(given).resolve())
    # One throwaway PostgreSQL for the run, started here (by xdist's controller, before its
    # workers, which inherit the address) unless a server was named.
    if (
        "postgresql" in BACKENDS
        and not _is_xdist_worker(config)
        and not os.environ.get("WENXING_TEST_POSTGRES")
        and not config.getoption("collectonly")
    ):
        try:
            server = postgres.start_for_run()
        except (OSError, RuntimeError) as exc:  # the tests then use the machine's server
            config.stash[_SERVER_NOTE] = f"no throwaway server ({exc})".splitlines()[0]
        else:
            if server is not None:
                config.stash[_SERVER] = server
                os.environ["WENXING_TEST_POSTGRES"] = server.url


def pytest_unconfigure(config: pytest.Config) -> None:
    server = config.stash.get(_SERVER, None)
    if server is not None:
        server.stop()
        os.environ.pop("WENXING_TEST_POSTGRES", None)


def pytest_report_header(config: pytest.Config) -> str | None:
    if "postgresql" not in BACKENDS:
        return "databases: sqlite only (WENXING_TEST_BACKENDS)"
    server = config.stash.get(_SERVER, None)
    if server is not None:
        return f"postgresql: throwaway server in {server.folder} (fsync off), {server.url}"
    note = config.stash.get(_SERVER_NOTE, "")
    return f"postgresql: {pg_admin_url()} {note}".rstrip()


E2E = Path(__file__).parent / "e2e"


def _shares_a_module_world(item: pytest.Item) -> bool:
    info = getattr(item, "_fixtureinfo", None)
    return info is not None and any(
        definitions[-1].scope == "module" for definitions in info.name2fixturedefs.values()
    )


def _browser_halves(items: list[pytest.Item]) -> dict[str, str]:
    """The browser modules in two groups of about as many tests each (whole modules, the
    larger first), one per worker: two Chromiums launched, not one per module."""
    sizes: dict[str, int] = {}
    for item in items:
        if item.path.is_relative_to(E2E):
            module = item.nodeid.partition("::")[0]
            sizes[module] = sizes.get(module, 0) + 1
    halves = {"e2e-1": 0, "e2e-2": 0}
    chosen = {}
    for module in sorted(sizes, key=lambda m: (-sizes[m], m)):
        half = min(halves, key=lambda h: (halves[h], h))
        halves[half] += sizes[module]
        chosen[module] = half
    return chosen


@pytest.hookimpl(tryfirst=True)  # before xdist's own, which reads the groups set here
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # xdist (--dist loadgroup) runs a group's tests on one worker, the largest groups handed
    # out first, and every other test on whichever worker is free. A module's world (a
    # module-scoped fixture) is built by each worker that runs its tests, so the tests that
    # share one are grouped by module; the browser tests go in two halves, one per worker,
    # each half's modules one after another on the worker's one Chromium.
    halves = _browser_halves(items)
    for item in items:
        if "corpus" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.corpus)
        module = item.nodeid.partition("::")[0]
        if module in halves:
            item.add_marker(pytest.mark.e2e)
        if item.get_closest_marker("xdist_group") is not None:
            continue  # grouped by its module already
        if module in halves:
            item.add_marker(pytest.mark.xdist_group(halves[module]))
        elif _shares_a_module_world(item):
            item.add_marker(pytest.mark.xdist_group(module))


def pytest_collection_finish(session: pytest.Session) -> None:
    """xdist marks a group by appending ``@group`` to its tests' ids; where it cannot (pytest
    9.2 keeps ids where xdist 3.8 does not write), --dist loadgroup quietly becomes --dist
    load: every worker builds every module world and a module's tests split. Stop instead."""
    if not getattr(session.config.option, "loadgroup", False):  # set on xdist's workers
        return
    lost = [
        item.nodeid
        for item in session.items
        if item.get_closest_marker("xdist_group") is not None and "@" not in item.nodeid
    ]
    if lost:
        raise pytest.UsageError(
            f"xdist did not mark the group of {len(lost)} tests (such as {lost[0]}): "
            f"pytest {pytest.__version__} with this pytest-xdist runs them ungrouped"
        )


def pytest_runtest_setup(item: pytest.Item) -> None:
    if "browser" not in getattr(item, "fixturenames", ()):
        CHROMIUM_PROCESS.close()  # its event loop would stand in the way of asyncio.run


def pytest_sessionfinish() -> None:
    CHROMIUM_PROCESS.close()


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


def pg_admin_url() -> str:
    return os.environ.get("WENXING_TEST_POSTGRES") or postgres.SYSTEM_URL


def _pg_conninfo(dbname: str) -> str:
    base, _, _ = pg_admin_url().rpartition("/")
    return f"{base}/{dbname}"


def _sqlalchemy_pg(dbname: str) -> str:
    return _pg_conninfo(dbname).replace("postgresql://", "postgresql+psycopg://", 1)


def _pg_admin() -> psycopg.Connection:
    try:
        return psycopg.connect(pg_admin_url(), autocommit=True)
    except psycopg.OperationalError as exc:
        pytest.fail(f"PostgreSQL is not reachable at {pg_admin_url()}: {exc}", pytrace=False)


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    """A migrated database that every PostgreSQL test database is cloned from."""
    name = f"wenxing_tpl_{uuid.uuid4().hex[:10]}"
    with _pg_admin() as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    engine = make_engine(_sqlalchemy_pg(name))
    migrate.upgrade(engine)
    engine.dispose()
    yield name
    with _pg_admin() as admin:
        admin.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file that every SQLite test database is copied from."""
    path = tmp_path_factory.mktemp("sqlite-template") / "wenxing.db"
    engine = make_engine(f"sqlite:///{path}")
    migrate.upgrade(engine)
    engine.dispose()  # the last connection checkpoints the WAL into the file
    assert not path.with_name(path.name + "-wal").exists()
    return path


@contextmanager
def _fresh_database(request: pytest.FixtureRequest, backend: str, folder: Path) -> Iterator[str]:
    """A migrated database of its own: a copy of the template on either backend."""
    if backend == "sqlite":
        path = folder / "wenxing.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    template = request.getfixturevalue("pg_template")
    name = f"wenxing_t_{uuid.uuid4().hex[:12]}"
    with _pg_admin() as admin:
        admin.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                sql.Identifier(name), sql.Identifier(template)
            )
        )
    try:
        yield _sqlalchemy_pg(name)
    finally:
        with _pg_admin() as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def _settings(database_url: str, folder: Path) -> Settings:
    return Settings(
        database_url=database_url,
        secret=TEST_SECRET,
        secret_file=folder / "k",
        search_dir=folder / "search",
    )


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, migrated database of its own for one test."""
    with _fresh_database(request, request.param, tmp_path) as url:
        yield url


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return _settings(database_url, tmp_path)


@pytest.fixture
def runtime(settings: Settings) -> Iterator[Runtime]:
    rt, _revision = initialise(settings)
    yield rt
    rt.close()


@pytest.fixture(scope="module", params=BACKENDS)
def module_runtime(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Runtime]:
    """An initialised installation shared by the tests of one module (one per backend), for
    a world that is expensive to build and that those tests only read: build it in a
    module-scoped fixture on top of this one. A test that changes anything takes
    ``runtime``."""
    folder = tmp_path_factory.mktemp(f"module-{request.param}")
    with installation(request, request.param, folder) as rt:
        yield rt


@contextmanager
def installation(request: pytest.FixtureRequest, backend: str, folder: Path) -> Iterator[Runtime]:
    """An initialised installation of its own on ``backend`` in ``folder``, for a module
    world that cannot share ``module_runtime``'s (another library in it)."""
    with _fresh_database(request, backend, folder) as url:
        rt, _revision = initialise(_settings(url, folder))
        try:
            yield rt
        finally:
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


def _cli(database_url: str, search_dir: Path) -> Cli:
    env = {
        "WENXING_SECRET": TEST_SECRET,
        "WENXING_DATABASE_URL": database_url,
        "WENXING_SEARCH_DIR": str(search_dir),
    }
    return Cli(database_url, env)


@pytest.fixture
def cli(database_url: str, tmp_path: Path) -> Cli:
    runner = _cli(database_url, tmp_path / "search")
    result = runner("init", "--json")
    assert result.code == 0, result
    return runner


@pytest.fixture(scope="module")
def module_cli(module_runtime: Runtime) -> Cli:
    """The real command line against ``module_runtime``'s installation: build a module's
    world with it in a module-scoped fixture; the tests then only read (``wenxing trace``)."""
    return installation_cli(module_runtime)


def installation_cli(runtime: Runtime) -> Cli:
    """The real command line, in-process, against ``runtime``'s installation."""
    return _cli(runtime.settings.database_url, runtime.settings.search_dir)
