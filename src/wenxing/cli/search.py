"""`wenxing search QUERY` and `wenxing search reindex`."""

from __future__ import annotations

import sys

import click

from wenxing.cli.base import CommandError, emit, guarded, runtime_for
from wenxing.search.generations import SearchBusy
from wenxing.search.query import QueryError
from wenxing.search.service import MAX_LIMIT, search
from wenxing.search.sync import IndexUnusable


@click.command("search")
@click.argument("words", nargs=-1, required=True)
@click.option(
    "--limit", default=10, show_default=True, help=f"Materials to show (at most {MAX_LIMIT})."
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
@click.option(
    "--jobs",
    type=click.IntRange(min=1),
    default=None,
    help="reindex: worker processes segmenting the text (default: one per CPU).",
)
@click.pass_context
@guarded
def search_command(
    ctx: click.Context, words: tuple[str, ...], limit: int, as_json: bool, jobs: int | None
) -> None:
    """Search published materials; `wenxing search reindex` rebuilds this node's index.

    Terms must all match; "quoted phrase", -excluded, kind:讲话, category:…, tag:…,
    year:2024, since:2024-03-01, until:2024-06-30.
    """
    if words == ("reindex",):
        _reindex(ctx, as_json, jobs)
        return
    if jobs is not None:
        raise CommandError("--jobs applies to `wenxing search reindex` only")
    if not 1 <= limit <= MAX_LIMIT:
        raise CommandError(f"--limit must be between 1 and {MAX_LIMIT}")
    with runtime_for(ctx) as runtime:
        try:
            results = search(runtime.search_index(), " ".join(words), limit=limit, member=True)
        except QueryError as exc:
            raise CommandError(str(exc)) from None
    result = results.as_dict()
    hits = result["hits"]

    def show() -> None:
        if not hits:
            click.echo("no published material matches")
        for hit in results.materials:
            click.echo(click.style(f"[{hit.material_id}] {hit.title}", bold=True))
            for section in hit.sections:
                if section.heading:
                    click.echo(f"    {section.heading}")
                click.echo(f"      {_marked(section.snippet, section.highlights)}")
        click.echo(f"({results.took_ms:.1f} ms)")

    emit(as_json, result, show)


def _marked(snippet: str, spans: list[tuple[int, int]]) -> str:
    out, cursor = [], 0
    for start, end in spans:
        out.append(snippet[cursor:start])
        out.append(click.style(snippet[start:end], fg="red", bold=True))
        cursor = end
    out.append(snippet[cursor:])
    return "".join(out)


def _reindex(ctx: click.Context, as_json: bool, jobs: int | None) -> None:
    with runtime_for(ctx) as runtime:
        node = runtime.search_index()
        show = not as_json and sys.stderr.isatty()
        last = [-1]

        def progress(done: int, total: int) -> None:
            percent = done * 100 // max(total, 1)
            if show and percent != last[0]:
                last[0] = percent
                click.echo(f"\rreindexing {done}/{total} materials", nl=False, err=True)

        try:
            result = node.reindex(progress, jobs=jobs)
        except (SearchBusy, IndexUnusable) as exc:
            raise CommandError(str(exc)) from None
        if show:
            click.echo("", err=True)
        size = node.index.size_bytes() if node.index is not None else 0
    emit(
        as_json,
        {"materials": result.applied, "index_bytes": size, "path": str(node.path)},
        lambda: click.echo(
            f"indexed {result.applied} published materials in {node.path} ({size / 1048576:.1f} MB)"
        ),
    )
