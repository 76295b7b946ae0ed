"""`wenxing serve` and `wenxing demo`."""

from __future__ import annotations

import logging
import os
import secrets
import shutil
import signal
import sys
from importlib import resources
from pathlib import Path

import click

from wenxing.cli.base import CommandError, guarded, settings_for
from wenxing.config import Settings
from wenxing.db.base import utcnow
from wenxing.db.engine import DatabaseUrlError
from wenxing.materials.importer import ImportOptions, MaterialImporter
from wenxing.members import accounts
from wenxing.members.subscriptions import grant, plans
from wenxing.runtime import DatabaseDown, NotReady, initialise, open_runtime

GRACE_SECONDS = 20  # on SIGTERM: stop accepting, let running requests finish this long
# uvicorn's supervisor kills a worker that leaves its ping unanswered this long. Its default
# (5 s) killed workers that were only busy with a burst on a loaded 2-core machine, and every
# request then met a worker starting again (503); a hung worker still goes within 30 s.
HEALTHCHECK_SECONDS = 30


def _serve(settings: Settings, host: str, port: int, workers: int) -> None:
    # The web server and app load only for `serve`, not a circle: the other commands
    # start without their seconds of imports.
    import uvicorn

    from wenxing.web import logs

    logs.configure()

    try:  # a database that is not fit to serve is the operator's to fix: say so at once
        runtime = open_runtime(settings)
    except DatabaseDown as exc:  # one that is away may come back: the workers wait for it
        runtime = None
        logging.getLogger("wenxing.web").warning("%s; serving once it answers", exc)
    except (NotReady, DatabaseUrlError) as exc:
        raise CommandError(str(exc)) from exc
    if workers > 1 or runtime is None:
        if runtime is not None:
            runtime.close()
        # Each worker opens the installation from the environment (SQLite in WAL mode takes
        # several processes; their writes queue on the database's lock), waiting for the
        # database when it cannot be reached (web/starting.py).
        os.environ["WENXING_DATABASE_URL"] = settings.database_url
        _share_metrics()
        uvicorn.run(
            "wenxing.web.asgi:app",
            host=host,
            port=port,
            workers=workers,
            log_level="warning",
            log_config=None,  # keep the JSON lines configured above
            timeout_graceful_shutdown=GRACE_SECONDS,
            timeout_worker_healthcheck=HEALTHCHECK_SECONDS,
        )
        return
    from wenxing.web.app import create_app

    click.echo(f"wenxing serving on http://{host}:{port}  (Ctrl+C stops)", err=True)
    # uvicorn ends a graceful shutdown by raising the signal that asked for it again with
    # the handler it found in place; with Python's default the process would die of
    # SIGTERM (exit 143) before the runtime is closed. This handler turns that last SIGTERM
    # (or one that comes before uvicorn listens) into a normal exit through `finally`.
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        uvicorn.run(
            create_app(runtime),
            host=host,
            port=port,
            log_level="warning",
            log_config=None,
            timeout_graceful_shutdown=GRACE_SECONDS,
        )
    finally:
        runtime.close()


def _share_metrics() -> None:
    """Workers write their metrics into one folder that any of them adds up for a scrape
    (prometheus-client's multiprocess mode); emptied at every start."""
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if folder:
        shutil.rmtree(folder, ignore_errors=True)
        Path(folder).mkdir(parents=True, exist_ok=True)
    else:
        import tempfile

        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="wenxing-metrics-")


def _exit_on_sigterm(_signum, _frame) -> None:
    sys.exit(0)


@click.command()
@click.option("--host", default=None, help="Address to listen on (default 127.0.0.1).")
@click.option("--port", default=None, type=click.IntRange(1, 65535), help="Port (default 8000).")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64))
@click.pass_context
@guarded
def serve(ctx: click.Context, host: str | None, port: int | None, workers: int) -> None:
    """Run the web app."""
    settings = settings_for(ctx)
    _serve(settings, host or settings.host, port or settings.port, workers)


DEMO_ACCOUNTS = (  # username, name, what the account shows
    ("member", "演示会员", "一年会员（可读全文、下载）"),
    ("free", "演示用户", "免费用户（只看目录和试读）"),
    ("admin", "演示管理员", "管理员"),
)


def _demo_accounts(runtime) -> list[tuple[str, str, str]]:
    """A member with a year's plan, a free user and an admin, with fresh random passwords."""

    made = []
    with runtime.db.transaction() as session:
        for username, name, what in DEMO_ACCOUNTS:
            password = secrets.token_urlsafe(9)
            member = accounts.sign_up(session, name=name, password=password, username=username)
            session.flush()
            if username == "member":
                year = plans(runtime.publisher_settings())["year"]
                grant(session, member.id, year, actor="demo", reason="demo account", now=utcnow())
            if username == "admin":
                member.role = "admin"
            made.append((username, password, what))
    return made


@click.command()
@click.option(
    "--dir",
    "folder",
    default="wenxing-demo",
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for the demo database (emptied first).",
)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--no-serve", is_flag=True, help="Build the demo database and stop.")
@click.pass_context
@guarded
def demo(ctx: click.Context, folder: Path, host: str, port: int, no_serve: bool) -> None:
    """A fresh demo database with the sample material, then serve it."""
    if folder.exists():
        if not (folder / "wenxing.db").exists() and any(folder.iterdir()):
            raise CommandError(f"{folder} is not a wenxing demo folder; choose another --dir")
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    settings = Settings(
        database_url=f"sqlite:///{folder.resolve() / 'wenxing.db'}", secret=None, secret_file=None
    )
    runtime, _revision = initialise(settings)
    try:
        importer = MaterialImporter(runtime.db, settings, runtime.publisher_settings())
        sample = resources.files("wenxing.demo").joinpath("sample.txt")
        with resources.as_file(sample) as path:
            report = importer.run([path], ImportOptions(category="讲话", publish=True))
        if report.failed:
            raise CommandError(f"demo sample failed to import: {report.failed[0]['error']}")
        accounts = _demo_accounts(runtime)
        runtime.search_index().catch_up()
    finally:
        runtime.close()
    click.echo(f"demo database: {settings.database_url}", err=True)
    click.echo("demo accounts (username / password):", err=True)
    for username, password, what in accounts:
        click.echo(f"  {username:8} {password:14} {what}", err=True)
    if not no_serve:
        _serve(settings, host, port, 1)
