"""The publisher's command line.

Contract (see docs/cli.md): ``--db URL`` before the command or ``WENXING_DATABASE_URL``
chooses the database; ``--json`` prints one JSON document on stdout and nothing else;
exit 0 on success, 1 with a one-line error on stderr for bad input, never a traceback.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import Any

import click

from wenxing import __version__
from wenxing.cli.base import CommandError, emit, guarded, settings_for, setup_logging
from wenxing.cli.materials import import_command, materials
from wenxing.cli.members import codes, members
from wenxing.cli.operations import backup_command, restore_command
from wenxing.cli.reports import jobs_group, reports
from wenxing.cli.search import search_command
from wenxing.cli.serve import demo, serve
from wenxing.cli.settings import settings
from wenxing.cli.tracing import copy_command, trace_command
from wenxing.db.engine import DatabaseUrlError
from wenxing.runtime import NotReady, initialise


class WenxingGroup(click.Group):
    """Usage errors follow the contract too: one line on stderr, exit status 1."""

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        try:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.UsageError as exc:
            click.echo(f"error: {exc.format_message()} (see --help)", err=True)
            sys.exit(1)
        except click.ClickException as exc:
            exc.show()
            sys.exit(exc.exit_code)
        except click.Abort:
            click.echo("error: aborted", err=True)
            sys.exit(1)


@click.group(cls=WenxingGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--db", metavar="URL", help="Database URL (default: WENXING_DATABASE_URL).")
@click.version_option(__version__, prog_name="wenxing")
@click.pass_context
def cli(ctx: click.Context, db: str | None) -> None:
    """文行 wenxing: the publisher's command line."""
    ctx.ensure_object(dict)
    ctx.obj["db"] = db


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
@click.pass_context
@guarded
def init(ctx: click.Context, as_json: bool) -> None:
    """Create or migrate the database and set up the server secret."""
    settings = settings_for(ctx)
    try:
        runtime, revision = initialise(settings)
    except (NotReady, DatabaseUrlError) as exc:
        raise CommandError(str(exc)) from exc
    runtime.close()
    url = runtime.db.engine.url.render_as_string(hide_password=True)
    emit(
        as_json,
        {"database": url, "revision": revision},
        lambda: click.echo(f"database {url} is at revision {revision}"),
    )


cli.add_command(import_command)
cli.add_command(materials)
cli.add_command(serve)
cli.add_command(demo)
cli.add_command(members)
cli.add_command(reports)
cli.add_command(jobs_group)
cli.add_command(copy_command)
cli.add_command(trace_command)
cli.add_command(settings)
cli.add_command(codes)
cli.add_command(search_command)
cli.add_command(backup_command)
cli.add_command(restore_command)


def main() -> None:
    setup_logging()
    try:
        cli.main(prog_name="wenxing", standalone_mode=True)
    except BrokenPipeError:
        # Output piped into a command that stopped reading (| head): not an error to report.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        sys.exit(0)
