"""`wenxing backup` and `wenxing restore`."""

from __future__ import annotations

from pathlib import Path

import click

from wenxing import backup as backups
from wenxing.cli.base import CommandError, emit, guarded, runtime_for, settings_for
from wenxing.db.engine import DatabaseUrlError


@click.command("backup")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
@click.pass_context
@guarded
def backup_command(ctx: click.Context, path: Path, as_json: bool) -> None:
    """Write a consistent snapshot of the running database into the new folder PATH.

    The folder holds the database (SQLite's backup API, or pg_dump -Fc), the publisher
    settings and a manifest (revision, counts, the secret's check value). The server
    secret is never in it: keep the key file apart. Safe while wenxing serves.
    """
    with runtime_for(ctx) as runtime:
        try:
            manifest = backups.backup(runtime.db, runtime.secret, path)
        except backups.BackupError as exc:
            raise CommandError(str(exc)) from None
    result = {"path": str(path), **{k: manifest[k] for k in ("created_at", "revision", "counts")}}
    result["installation"] = manifest["installation"]
    emit(
        as_json,
        result,
        lambda: click.echo(
            f"backup of revision {manifest['revision']} written to {path} "
            f"({manifest['counts']['materials']} materials, "
            f"{manifest['counts']['issued_copies']} copies issued)"
        ),
    )


@click.command("restore")
@click.argument("path", type=click.Path(path_type=Path, exists=True, file_okay=False))
@click.option(
    "--member-gap",
    type=click.IntRange(min=0),
    default=backups.DEFAULT_MEMBER_GAP,
    show_default=True,
    help="Member numbers to skip: more than the members who joined after the backup.",
)
@click.option("--yes", is_flag=True, help="Replace the configured database without asking.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
@click.pass_context
@guarded
def restore_command(
    ctx: click.Context, path: Path, member_gap: int, yes: bool, as_json: bool
) -> None:
    """Replace the configured database with the backup in PATH (stop the service first).

    Refuses a backup made under another server secret. The installation gets a new epoch,
    so every node's search index rebuilds itself, and member numbers move on by
    --member-gap so that no number given out after the backup names someone else.
    """
    settings = settings_for(ctx)
    try:
        manifest = backups.read_manifest(path)
    except backups.BackupError as exc:
        raise CommandError(str(exc)) from None
    if not yes:
        if as_json or not click.get_text_stream("stdin").isatty():  # type: ignore[operator]  # typed object
            raise CommandError("restore replaces the database: pass --yes to confirm")
        click.confirm(
            f"replace the database with the backup of {manifest['created_at']}?", abort=True
        )
    try:
        done = backups.restore(settings, path, member_gap=member_gap)
    except (backups.BackupError, DatabaseUrlError) as exc:
        raise CommandError(str(exc)) from None
    result = {
        "restored": str(path),
        "created_at": manifest["created_at"],
        "epoch": done.epoch,
        "revision": done.revision,
        "member_number_offset": done.member_offset,
        "counts": manifest["counts"],
    }
    emit(
        as_json,
        result,
        lambda: click.echo(
            f"restored the backup of {manifest['created_at']}; installation epoch {done.epoch}, "
            f"revision {done.revision}; search indexes rebuild themselves"
        ),
    )
