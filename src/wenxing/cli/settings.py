"""`wenxing settings list|set`: the publisher settings kept in the database."""

from __future__ import annotations

import json
from pathlib import Path

import click

from wenxing import settings as publisher_settings
from wenxing.cli.base import CommandError, emit, guarded, runtime_for
from wenxing.config.publisher import SPECS, parse_setting
from wenxing.config.sms import shown_setting

ACTOR = "publisher:cli"  # who the audit log names for changes made here


@click.group()
def settings() -> None:
    """Show and change publisher settings (masthead, groups, marking …)."""


@settings.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
@click.pass_context
@guarded
def list_command(ctx: click.Context, as_json: bool) -> None:
    """Every publisher setting with its current value."""
    with runtime_for(ctx) as runtime:
        values = {k: shown_setting(k, v) for k, v in runtime.publisher_settings().as_json().items()}
    emit(
        as_json,
        values,
        lambda: [
            click.echo(f"{k} = {json.dumps(v, ensure_ascii=False)}") for k, v in values.items()
        ],
    )


@settings.command("set")
@click.argument("name")
@click.argument("value", required=False)
@click.option(
    "--file",
    "file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Read the value from a UTF-8 file (lists: one item per line).",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
@click.pass_context
@guarded
def set_command(
    ctx: click.Context, name: str, value: str | None, file: Path | None, as_json: bool
) -> None:
    """Set one publisher setting, checked before it is stored."""
    if name not in SPECS:
        raise CommandError(f"unknown setting {name!r}; see `wenxing settings list`")
    if (value is None) == (file is None):
        raise CommandError("give either a VALUE or --file")
    if file is not None:
        try:
            value = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise CommandError(f"cannot read {file}: {exc}") from None
    assert value is not None
    try:
        parsed = parse_setting(name, value, lines=file is not None)
    except ValueError as exc:
        raise CommandError(str(exc)) from None
    with runtime_for(ctx) as runtime:
        try:
            with runtime.db.transaction() as session:
                publisher_settings.change(session, name, parsed, actor=ACTOR)
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        stored = runtime.publisher_settings().json_value(name)
    emit(as_json, {name: shown_setting(name, stored)}, lambda: click.echo(f"{name} updated"))
