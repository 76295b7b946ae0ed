"""`wenxing import` and `wenxing materials …`."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from wenxing.cli.base import CommandError, emit, guarded, refresh_search, runtime_for
from wenxing.delivery import review
from wenxing.materials import bulk, catalog
from wenxing.materials.importer import ImportOptions, MaterialImporter, collect_files

ACTOR = "publisher:cli"  # who the audit log names for changes made here


@click.command("import")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--category", metavar="C", help="Put the imported materials in category C.")
@click.option(
    "--tag", "tags", multiple=True, metavar="T", help="Tag the imported materials (repeatable)."
)
@click.option("--publish", is_flag=True, help="Publish the imported materials at once.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
@click.pass_context
@guarded
def import_command(
    ctx: click.Context,
    paths: tuple[Path, ...],
    category: str | None,
    tags: tuple[str, ...],
    publish: bool,
    as_json: bool,
) -> None:
    """Import .docx/.txt/.md/.pdf files or folders (recursively)."""
    clean_tags = tuple(dict.fromkeys(t.strip() for t in tags if t.strip()))
    if len(clean_tags) > 10 or any("," in t or len(t) > 20 for t in clean_tags):
        raise CommandError("at most 10 tags, each of at most 20 characters and no comma")
    options = ImportOptions(
        category=category.strip() if category else None, tags=clean_tags, publish=publish
    )
    with runtime_for(ctx) as runtime:
        importer = MaterialImporter(runtime.db, runtime.settings, runtime.publisher_settings())
        show_bar = not as_json and sys.stderr.isatty()
        if show_bar:
            total = sum(1 for item in collect_files(paths) if isinstance(item, Path))
            with _progress() as progress:
                task = progress.add_task("importing", total=total)
                report = importer.run(paths, options, lambda _p: progress.advance(task))
        else:
            report = importer.run(paths, options)
        if report.imported:
            refresh_search(runtime)
    emit(as_json, report.as_dict(), lambda: _print_report(report))
    if report.stopped:
        click.echo(f"error: import stopped: {report.stopped}", err=True)
        sys.exit(1)
    if report.failed:
        noun = "file" if len(report.failed) == 1 else "files"
        click.echo(f"error: {len(report.failed)} {noun} failed to import", err=True)
        sys.exit(1)


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    )


def _print_report(report) -> None:
    for item in report.imported:
        version = f" (version {item['version']})" if item.get("version", 1) > 1 else ""
        click.echo(f"imported  #{item['id']} {item['title']}{version}  ← {item['path']}")
    for item in report.skipped:
        click.echo(f"skipped   {item['path']}: {item['reason']}")
    for item in report.failed:
        click.echo(f"failed    {item['path']}: {item['error']}")
    click.echo(
        f"{len(report.imported)} imported, {len(report.skipped)} skipped, "
        f"{len(report.failed)} failed"
    )


@click.group()
def materials() -> None:
    """List, show and publish materials."""


@materials.command("list")
@click.option("--published", is_flag=True, help="Only published materials.")
@click.option("--limit", default=100, show_default=True, type=click.IntRange(1, 10_000))
@click.option("--offset", default=0, type=click.IntRange(0))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
@click.pass_context
@guarded
def list_command(
    ctx: click.Context, published: bool, limit: int, offset: int, as_json: bool
) -> None:
    """List materials with their current version."""
    with runtime_for(ctx) as runtime, runtime.db.reading() as session:
        rows = catalog.list_materials(session, published_only=published, limit=limit, offset=offset)
        total = catalog.count_materials(session, published_only=published)

    def table() -> None:
        view = Table("id", "title", "kind", "status", "version", "chars")
        for row in rows:
            view.add_row(
                str(row.id), row.title, row.kind, row.status, str(row.version), str(row.chars)
            )
        Console().print(view)
        click.echo(f"{len(rows)} of {total} materials")

    emit(as_json, {"materials": [r.as_dict() for r in rows], "total": total}, table)


def _material_id(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise CommandError(f"material id must be a number, got {value!r}") from None
    if number < 1:
        raise CommandError(f"material id must be positive, got {number}")
    return number


@materials.command("show")
@click.argument("material_id")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
@click.pass_context
@guarded
def show_command(ctx: click.Context, material_id: str, as_json: bool) -> None:
    """Show a material's clean body and outline (latest version)."""
    number = _material_id(material_id)
    with runtime_for(ctx) as runtime, runtime.db.reading() as session:
        try:
            document = catalog.material_document(session, number)
        except catalog.MaterialNotFound:
            raise CommandError(f"no material with id {number}") from None
    emit(as_json, document, lambda: _print_document(document))


def _print_document(document: dict) -> None:
    click.echo(
        f"#{document['id']} {document['title']}  [{document['kind']}] "
        f"version {document['version']}, {document['chars']} characters, "
        f"{document['status']}"
    )
    click.echo("keywords: " + "、".join(document["keywords"]))
    click.echo("outline:")

    def walk(nodes: list, depth: int) -> None:
        for node in nodes:
            label = node["marker"] or f"[{node['type']}]"
            click.echo(f"{'  ' * depth}  {label} {node['heading'][:50]}")
            walk(node["children"], depth + 1)

    walk(document["outline"], 0)
    click.echo("")
    click.echo(document["body"])


def _publish(ctx: click.Context, material_id: str, as_json: bool, published: bool) -> None:
    number = _material_id(material_id)
    with runtime_for(ctx) as runtime:
        with runtime.db.transaction() as session:
            try:
                material = catalog.get_material(session, number)
            except catalog.MaterialNotFound:
                raise CommandError(f"no material with id {number}") from None
            # The console's rule and audit event (materials/bulk.py), for one material.
            bulk.apply(session, "publish" if published else "unpublish", [number], actor=ACTOR)
            result = {
                "id": material.id,
                "status": material.status,
                "published_at": catalog.iso(material.published_at),
            }
        refresh_search(runtime)
    emit(as_json, result, lambda: click.echo(f"material {number} is {result['status']}"))


@materials.command("publish")
@click.argument("material_id")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
@click.pass_context
@guarded
def publish_command(ctx: click.Context, material_id: str, as_json: bool) -> None:
    """Publish a material: members can read it from now on."""
    _publish(ctx, material_id, as_json, True)


@materials.command("unpublish")
@click.argument("material_id")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
@click.pass_context
@guarded
def unpublish_command(ctx: click.Context, material_id: str, as_json: bool) -> None:
    """Withdraw a material from members (it stays in the library as a draft)."""
    _publish(ctx, material_id, as_json, False)


@materials.command("variants")
@click.argument("material_id")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
@click.pass_context
@guarded
def variants_command(ctx: click.Context, material_id: str, as_json: bool) -> None:
    """List the places where copies may use a wording variant, for review."""
    number = _material_id(material_id)
    with runtime_for(ctx) as runtime, runtime.db.reading() as session:
        publisher = runtime.publisher_settings()
        version = _current_version(session, number)
        places = review.wording_places(session, version, publisher)
        version_number = version.number
    document = {
        "material": number,
        "version": version_number,
        "places": [
            {
                "offset": p.offset,
                "form": p.form,
                "alternatives": list(p.alternatives),
                "context": p.context,
                "vetoed": p.vetoed,
            }
            for p in places
        ],
    }

    def text() -> None:
        for p in places:
            mark = "✗" if p.vetoed else " "
            click.echo(f"{mark} {p.offset:>6}  {'/'.join(p.alternatives):<12} {p.context}")
        click.echo(f"{len(places)} places, {sum(p.vetoed for p in places)} vetoed")

    emit(as_json, document, text)


@materials.command("veto")
@click.argument("material_id")
@click.argument("offsets", nargs=-1, required=True, type=click.IntRange(0))
@click.option("--undo", is_flag=True, help="Allow these places again.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
@click.pass_context
@guarded
def veto_command(
    ctx: click.Context, material_id: str, offsets: tuple[int, ...], undo: bool, as_json: bool
) -> None:
    """Refuse (or with --undo allow) wording variants at OFFSETS (from `materials variants`)."""
    number = _material_id(material_id)
    with runtime_for(ctx) as runtime:
        publisher = runtime.publisher_settings()
        with runtime.db.transaction() as session:
            version = _current_version(session, number)
            known = {p.offset for p in review.wording_places(session, version, publisher)}
            unknown = sorted(set(offsets) - known)
            if unknown:
                raise CommandError(f"no wording place at offset(s) {unknown}")
            review.set_vetoes(session, version.id, list(offsets), not undo)
            vetoed = sorted(review.vetoes(session, version.id))
    emit(
        as_json,
        {"material": number, "version": version.number, "vetoed": vetoed},
        lambda: click.echo(f"{len(vetoed)} places vetoed; later copies follow this"),
    )


def _current_version(session, number: int):
    try:
        material = catalog.get_material(session, number)
    except catalog.MaterialNotFound:
        raise CommandError(f"no material with id {number}") from None
    return catalog.current_version(session, material)
