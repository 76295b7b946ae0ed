"""`wenxing copy` and `wenxing trace`."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from wenxing import sandbox
from wenxing.actors import Actor
from wenxing.cli.base import CommandError, emit, guarded, runtime_for
from wenxing.delivery.issue import FORMATS, DeliveryError, issue_copy, mark_delivered
from wenxing.materials import catalog
from wenxing.materials.readers import ReadError
from wenxing.members.service import MemberError, MemberNotFound, find_member
from wenxing.reports.evidence import read_evidence_file
from wenxing.reports.trace import trace_all


@click.command("copy")
@click.argument("material_id")
@click.option(
    "--member",
    "member_refs",
    multiple=True,
    required=True,
    metavar="ID",
    help="Member id or number (WX-…); repeat for several members.",
)
@click.option("--format", "fmt", required=True, type=click.Choice(list(FORMATS)))
@click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(path_type=Path),
    help="A file for one member, a folder for several.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
@click.pass_context
@guarded
def copy_command(
    ctx: click.Context,
    material_id: str,
    member_refs: tuple[str, ...],
    fmt: str,
    out: Path,
    as_json: bool,
) -> None:
    """Issue fingerprinted, logged copies of a material (as the publisher)."""
    if not material_id.isdigit():
        raise CommandError(f"material id must be a number, got {material_id!r}")
    several = len(member_refs) > 1
    if several and out.exists() and not out.is_dir():
        raise CommandError(f"{out} is a file; several members need a folder")
    with runtime_for(ctx) as runtime:
        publisher = runtime.publisher_settings()
        try:
            with runtime.db.transaction() as session:
                material = catalog.get_material(session, int(material_id))
                people = [find_member(session, ref) for ref in member_refs]
                files = [
                    issue_copy(
                        session,
                        runtime.secret,
                        publisher,
                        person,
                        material,
                        fmt,
                        actor=Actor.publisher("cli"),
                    )
                    for person in people
                ]
                written = _write(files, out, several)
                mark_delivered(session, [f.copy_id for f in files])
        except catalog.MaterialNotFound:
            raise CommandError(f"no material with id {material_id}") from None
        except MemberNotFound as exc:
            raise CommandError(f"no member {exc.args[0]}") from None
        except (MemberError, DeliveryError, OSError) as exc:
            raise CommandError(str(exc)) from None
    result = {"copies": written}
    emit(
        as_json,
        result,
        lambda: [click.echo(f"{c['member']}: {c['path']} (copy {c['copy_id']})") for c in written],
    )


def _write(files, out: Path, several: bool) -> list[dict]:
    """Write all files or none: each goes to a partial file first, renamed when all are
    written (the caller's transaction rolls back the log on failure)."""
    if several:
        out.mkdir(parents=True, exist_ok=True)
    elif not out.parent.exists():
        raise OSError(f"folder {out.parent} does not exist")
    targets = [out / f.filename if several else out for f in files]
    partials = [t.with_name(t.name + ".part") for t in targets]
    try:
        for file, partial in zip(files, partials, strict=True):
            partial.write_bytes(file.data)
        for partial, target in zip(partials, targets, strict=True):
            partial.replace(target)
    finally:
        for partial in partials:
            partial.unlink(missing_ok=True)
    return [
        {"member": f.member_number, "path": str(t), "copy_id": f.copy_id}
        for f, t in zip(files, targets, strict=True)
    ]


@click.command("trace")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
@click.pass_context
@guarded
def trace_command(ctx: click.Context, file: Path, as_json: bool) -> None:
    """Trace evidence (.txt .html .docx .doc .wps .rtf .odt .epub .pdf .png .jpg .tif) to the
    material and the member(s) who leaked it.

    The file's content decides its format, whatever its name; images and PDFs without a text
    layer are read by OCR (Tesseract, chi_sim), which takes a few seconds a page (a TIFF
    scan's pages each); .doc and .wps are converted by LibreOffice (a few seconds).
    """
    with runtime_for(ctx) as runtime:
        try:
            evidence = read_evidence_file(
                file, runtime.settings.max_file_bytes, sandbox.Limits.of(runtime.settings)
            )
        except ReadError as exc:
            raise CommandError(f"{file}: {exc}") from None
        publisher = runtime.publisher_settings()
        with runtime.db.reading() as session:
            results = trace_all(
                session, runtime.secret, evidence, float(publisher.accusation_bound)
            )
    emit(as_json, trace_document(results), lambda: [_print_trace(r) for r in results])


def trace_document(results) -> dict:
    """The JSON of a trace: the best-matching material's trace at the top (the contract's
    fields), every material's trace under ``materials``, and ``accused`` listing everyone
    accused in any of them (each with its ``material``)."""
    document = results[0].as_dict()
    document["materials"] = [r.as_dict() for r in results if r.material is not None]
    document["accused"] = sorted(
        (a for r in results for a in r.accused), key=lambda a: (a["log10_bound"], -a["score"])
    )
    document["forgery_suspected"] = any(r.forgery_suspected for r in results)
    return document


def _tag_line(tag: dict) -> str:
    named = f"copy {tag['copy_id']}" + (f" issued to {tag['member']}" if tag.get("member") else "")
    if tag["issuance"] == "agrees":
        return f"copy tag: {named}; the issuance log agrees"
    if tag["issuance"] == "missing":
        then = (
            "its member is scored by the marks"
            if tag.get("scored_by_marks")
            else "the member cannot be traced by it"
        )
        return (
            f"copy tag: {named}, but the issuance log has no such copy (lost with a restore?): "
            f"the tag accuses no one; {then}"
        )
    return (
        f"copy tag: {named}, but the issuance log says otherwise "
        f"({tag.get('row_member')}): the tag accuses no one"
    )


def _print_trace(result) -> None:
    if result.material is None:
        click.echo("no material in the library matches this evidence")
        _print_leads(result)
        return
    m = result.material
    click.echo(
        f"material #{m['id']} {m['title']} (version {m['version']}), "
        f"evidence covers {result.coverage:.0%} of it"
    )
    click.echo(
        f"{result.positions} code positions read {result.layers}; "
        f"{result.recipients_checked} recipients checked"
    )
    for tag in result.copy_tags:
        click.echo(_tag_line(tag))
    if not result.accused:
        click.echo(f"no one accused (false-accusation bound {result.total_bound:g})")
    for a in result.accused:
        click.echo(
            f"ACCUSED {a['member']}: score {a['score']} ≥ threshold {a['threshold']}, "
            f"probability an innocent scores this ≤ 1e{a['log10_bound']:.0f} "
            f"(layers {', '.join(a['basis'])})"
        )
    _print_leads(result)
    sys.stdout.flush()


def _print_leads(result) -> None:
    for lead in result.leads:
        standing = {
            "agrees": "the marks agree",
            "contradicted": "the marks name someone else: POSSIBLE FORGERY, nobody accused by it",
            "unsupported": "the marks do not back it: POSSIBLE FORGERY, nobody accused by it",
        }[lead["standing"]]
        click.echo(f"visible member number {lead['member']} (a lead only): {standing}")
