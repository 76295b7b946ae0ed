"""wenxing as a deployment installs it: the wheel, its declared dependencies, nothing else.

The tests' own environment has the ``test`` extra, so an import of a test tool from the
package would pass every other test and fail only on a server. Here the package's imports
are checked against ``dependencies``, and the wheel is installed into a fresh environment
without extras, initialised, fed a material and served.
"""

from __future__ import annotations

import ast
import importlib.metadata
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import tomllib
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

import pytest

from tests.helpers import REPO, SAMPLE, stop_server
from tests.materials import COUNTY_2017

# The module's tests share one expensive module fixture: one xdist worker runs them all.
pytestmark = pytest.mark.xdist_group("packaging")
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text("utf-8"))
LOCK = REPO / "requirements.lock"


def _name(requirement: str) -> str:
    """The normalised distribution name of a requirement (``psycopg[binary]>=3`` → psycopg)."""
    return re.sub(r"[-_.]+", "-", re.match(r"[A-Za-z0-9._-]+", requirement).group()).lower()


def _imported_modules() -> dict[str, str]:
    """Top-level modules outside the standard library that src/wenxing imports, each with
    one file that imports it."""
    found: dict[str, str] = {}
    for path in sorted((REPO / "src" / "wenxing").rglob("*.py")):
        tree = ast.parse(path.read_text("utf-8"), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.partition(".")[0]
                if top != "wenxing" and top not in sys.stdlib_module_names:
                    found.setdefault(top, str(path.relative_to(REPO)))
    return found


def test_every_import_of_the_package_is_a_declared_dependency():
    declared = {_name(r) for r in PYPROJECT["project"]["dependencies"]}
    distributions = importlib.metadata.packages_distributions()
    undeclared = {}
    for module, where in _imported_modules().items():
        names = {_name(d) for d in distributions.get(module, [module])}
        if not names & declared:
            undeclared[module] = where
    assert not undeclared, f"imported but not in [project] dependencies: {undeclared}"


def test_the_test_extra_holds_no_package_the_code_imports():
    distributions = importlib.metadata.packages_distributions()
    imported = {
        _name(d) for module in _imported_modules() for d in distributions.get(module, [module])
    }
    test_only = {_name(r) for r in PYPROJECT["project"]["optional-dependencies"]["test"]}
    assert not imported & test_only


def test_the_lock_pins_every_requirement_to_a_version_it_allows():
    from packaging.requirements import Requirement

    pins = {}
    for line in LOCK.read_text("utf-8").splitlines():
        if line and not line.startswith((" ", "#")):
            name, _, version = line.partition("==")
            pins[_name(name)] = version.strip()
    project = PYPROJECT["project"]
    for raw in [*project["dependencies"], *project["optional-dependencies"]["test"]]:
        requirement = Requirement(raw)
        name = _name(requirement.name)
        assert name in pins, f"{name} is not in requirements.lock: run scripts/dev lock"
        assert requirement.specifier.contains(pins[name], prereleases=True), (
            f"requirements.lock pins {name}=={pins[name]}, pyproject.toml asks {raw}: "
            "run scripts/dev lock"
        )
    for name, version in pins.items():
        installed = importlib.metadata.version(name)
        assert installed == version, (
            f"{name} {installed} is installed, requirements.lock pins {version}: "
            "run scripts/dev setup"
        )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _run(*command: str | Path, cwd: Path, env: dict[str, str] | None = None, timeout: int = 600):
    result = subprocess.run(
        [str(c) for c in command],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert result.returncode == 0, f"{command}:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


def _get(url: str) -> tuple[int, str, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            body = response.read().decode("utf-8")
            return response.status, response.headers["Content-Type"], body
    except urllib.error.HTTPError as refused:
        return refused.code, refused.headers["Content-Type"], refused.read().decode()


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """A fresh virtual environment holding the wheel and its dependencies (no extras), at
    the versions of requirements.lock; returns its bin folder."""
    uv = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")
    assert uv, "uv is missing: run scripts/dev setup"
    work = tmp_path_factory.mktemp("wheel")
    source = work / "source"  # built from a copy, so the checkout gets no build/ or egg-info
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, source / name)
    shutil.copytree(
        REPO / "src",
        source / "src",
        ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", "*.pyc"),
    )
    _run(uv, "build", "--wheel", "--out-dir", work / "dist", source, cwd=work)
    [wheel] = (work / "dist").glob("wenxing-*.whl")
    (work / "wheel.txt").write_text("\n".join(zipfile.ZipFile(wheel).namelist()), "utf-8")
    _run(uv, "venv", "--no-project", "--python", sys.executable, work / "venv", cwd=work)
    python = work / "venv" / "bin" / "python"
    _run(
        uv, "pip", "install", "--compile-bytecode", "--python", python, "-c", LOCK, wheel, cwd=work
    )
    return python.parent


def test_the_wheel_holds_every_file_of_the_package(installed):
    packed = set((installed.parent.parent / "wheel.txt").read_text("utf-8").splitlines())
    tracked = subprocess.run(
        ["git", "ls-files", "src/wenxing"], cwd=REPO, capture_output=True, text=True, check=False
    ).stdout.split()
    if not tracked:  # not a git checkout (a source archive): every file there is the package's
        tracked = [
            str(p.relative_to(REPO))
            for p in (REPO / "src" / "wenxing").rglob("*")
            if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"
        ]
    missing = sorted(f for f in tracked if f.removeprefix("src/") not in packed)
    assert not missing, f"not in the wheel (add them to [tool.setuptools.package-data]): {missing}"


def test_the_installed_wheel_brings_no_test_tool(installed):
    for tool in ("pytest", "xdist", "hypothesis", "playwright", "mypy", "uv"):
        probe = subprocess.run(
            [str(installed / "python"), "-c", f"import {tool}"], capture_output=True, check=False
        )
        assert probe.returncode != 0, f"{tool} came with the wheel"


def test_the_installed_wheel_initialises_imports_serves_copies_and_traces(installed, tmp_path):
    home = tmp_path / "site"  # not the checkout: everything must come from the wheel
    home.mkdir()
    env = {
        "PATH": f"{installed}:/usr/bin:/bin",
        "HOME": str(tmp_path),
        "LANG": "C.UTF-8",
        "WENXING_DATABASE_URL": f"sqlite:///{home / 'wenxing.db'}",
        **{k: v for k, v in os.environ.items() if k.startswith("OPENBLAS")},
    }
    wenxing = installed / "wenxing"
    where = _run(
        installed / "python", "-c", "import wenxing; print(wenxing.__file__)", cwd=home, env=env
    ).stdout
    assert Path(where).resolve().is_relative_to(installed.parent), where

    init = _run(wenxing, "init", "--json", cwd=home, env=env)
    assert '"revision"' in init.stdout and (home / "wenxing.db.key").is_file()
    imported = _run(
        wenxing, "import", SAMPLE, COUNTY_2017, "--publish", "--json", cwd=home, env=env
    )
    assert imported.stdout.count('"id"') == 2, imported.stdout

    port = _free_port()
    server = subprocess.Popen(
        [str(wenxing), "serve", "--port", str(port)],
        cwd=home,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120  # a cold start of a fresh install, on a busy machine
        while True:
            assert server.poll() is None, server.communicate()[1][-3000:]
            assert time.monotonic() < deadline, "the installed server did not answer"
            try:
                # /readyz: 503 (an HTTPError, so an OSError) until the installation is ready
                status, _type, health = _get(base + "/readyz")
                break
            except OSError:
                time.sleep(0.2)
        assert status == 200 and '"materials":2' in health.replace(" ", "")
        status, content_type, home_page = _get(base + "/")
        assert status == 200 and content_type.startswith("text/html")
        assert "在全区重点工作推进会上的讲话" in home_page and "政府工作报告" in home_page
        assert "/static/site.css" in home_page
        status, _type, signin = _get(base + "/signin")
        assert status == 200 and "登录" in signin and 'name="password"' in signin
        status, content_type, css = _get(base + "/static/site.css")
        assert status == 200 and "css" in content_type and len(css) > 100
    finally:
        status, err = stop_server(server)
    assert status == 0, err[-3000:]
    assert "Traceback" not in err, err[-3000:]

    # Delivery and tracing read their data files (the wording variants) from the wheel too.
    _run(wenxing, "members", "add", "张三", cwd=home, env=env)
    copy = home / "copy.txt"
    issue = ["copy", "1", "--member", "WX-10001", "--format", "txt", "--out"]
    _run(wenxing, *issue, copy, cwd=home, env=env)
    traced = _run(wenxing, "trace", copy, "--json", cwd=home, env=env).stdout
    assert '"member": "WX-10001"' in traced, traced
