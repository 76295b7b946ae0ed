"""`wenxing settings list|set`: the publisher settings kept in the database."""

from __future__ import annotations

import json
from pathlib import Path

import click

from wenxing import audit
from wenxing.cli.base import CommandError, emit, guarded, runtime_for
from wenxing.config import (
    PUBLISHER_SETTINGS,
    PublisherSettings,
    parse_setting,
    set_publisher_setting,
)

_SPECS = {spec.name: spec for spec in PUBLISHER_SETTINGS}

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
        values = dict(runtime.publisher_settings())
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
    if name not in _SPECS:
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
                before = PublisherSettings.load(session)[name]
                set_publisher_setting(session, name, parsed)
                session.flush()
                after = PublisherSettings.load(session)[name]
                if after != before:  # the same event as the console's settings page
                    audit.record(
                        session,
                        audit.SETTING_CHANGE,
                        actor=ACTOR,
                        subject=name,
                        before=before,
                        after=after,
                    )
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        stored = runtime.publisher_settings()[name]
    emit(as_json, {name: stored}, lambda: click.echo(f"{name} updated"))
