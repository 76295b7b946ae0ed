"""What every command shares: errors, logging, opening the installation, JSON output."""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import Any

import click

from wenxing.config import Settings
from wenxing.db.engine import DatabaseUrlError
from wenxing.failures import DISK_FULL, is_disk_full
from wenxing.runtime import NotReady, Runtime, open_runtime


class CommandError(click.ClickException):
    """Bad input: printed as one line on stderr, exit status 1."""

    def show(self, file: Any = None) -> None:
        click.echo(f"error: {self.format_message()}", err=True)


def setup_logging() -> None:
    debug = os.environ.get("WENXING_DEBUG") == "1"

    class OneLine(logging.Formatter):
        def formatException(self, ei) -> str:
            return super().formatException(ei) if debug else ""

        def format(self, record: logging.LogRecord) -> str:
            text = super().format(record)
            return text if debug else text.rstrip()

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(OneLine("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if debug else logging.WARNING)
    # pypdf reports every oddity of a damaged PDF; the import already names the file's problem.
    logging.getLogger("pypdf").setLevel(logging.DEBUG if debug else logging.CRITICAL)


def settings_for(ctx: click.Context) -> Settings:
    overrides = {}
    if ctx.obj and ctx.obj.get("db"):
        overrides["database_url"] = ctx.obj["db"]
    try:
        return Settings(**overrides)
    except ValueError as exc:
        raise CommandError(f"bad setting: {str(exc).splitlines()[-1].strip()}") from exc


@contextmanager
def runtime_for(ctx: click.Context) -> Iterator[Runtime]:
    try:
        runtime = open_runtime(settings_for(ctx))
    except (NotReady, DatabaseUrlError) as exc:
        raise CommandError(str(exc)) from exc
    try:
        yield runtime
    finally:
        runtime.close()


log = logging.getLogger("wenxing.cli")


def refresh_search(runtime: Runtime) -> None:
    """Apply pending changes to this node's search index now; a running server would do it
    at its next search anyway, so a failure here is only logged."""
    try:
        runtime.search_index().catch_up()
    except Exception as exc:  # best effort: the server catches up at its next search
        log.warning("search index not brought up to date: %s", exc)


def emit(as_json: bool, document: Any, text: Callable[[], object]) -> None:
    if as_json:
        click.echo(json.dumps(document, ensure_ascii=False, indent=None))
    else:
        text()


def guarded(command: Callable[..., Any]) -> Callable[..., Any]:
    """Unexpected errors become one line on stderr (exit 2), never a traceback."""

    @wraps(command)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except KeyboardInterrupt:
            raise click.Abort() from None
        except BrokenPipeError:
            raise  # the reader of our output went away (| head); main() ends quietly
        except Exception as exc:
            if is_disk_full(exc):
                log.error("command failed: disk full")
                click.echo(f"error: {DISK_FULL}", err=True)
                sys.exit(1)
            if os.environ.get("WENXING_DEBUG") == "1":
                log.exception("command failed")
            click.echo(
                f"error: internal error ({exc.__class__.__name__}: {str(exc)[:200]}); "
                "set WENXING_DEBUG=1 for details",
                err=True,
            )
            sys.exit(2)

    return run
