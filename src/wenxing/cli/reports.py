"""`wenxing reports` (the resale reports on record) and `wenxing jobs run` (a job worker)."""

from __future__ import annotations

import json
import signal
import threading
from typing import Any

import click

from wenxing import jobs
from wenxing.cli.base import CommandError, emit, guarded, runtime_for
from wenxing.db.base import utcnow
from wenxing.reports import queries, retention
from wenxing.reports.intake import by_receipt, format_receipt
from wenxing.reports.models import STATES


@click.group()
def reports() -> None:
    """Resale reports (举报): list them, show one case."""


@reports.command("list")
@click.option("--state", type=click.Choice(STATES), help="Only reports in this state.")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 10_000))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
@click.pass_context
@guarded
def list_reports(ctx: click.Context, state: str | None, limit: int, as_json: bool) -> None:
    """Reports, newest first."""
    with runtime_for(ctx) as runtime, runtime.db.reading() as session:
        rows = queries.newest_reports(session, state, limit)
        accused = queries.accused_counts(session, [r.id for r in rows])
    items = [
        {
            "receipt": format_receipt(r.receipt),
            "state": r.state,
            "platform": r.platform,
            "created_at": r.created_at.isoformat(timespec="seconds"),
            "accused": accused.get(r.id, 0),
            "reward": r.reward,
        }
        for r in rows
    ]
    emit(
        as_json,
        {"reports": items},
        lambda: [
            click.echo(
                f"{i['receipt']}  {i['state']:<9} {i['platform']:<7} {i['created_at']}  "
                f"accused {i['accused']}  reward {i['reward'] or '-'}"
            )
            for i in items
        ],
    )


@reports.command("show")
@click.argument("receipt")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
@click.pass_context
@guarded
def show_report(ctx: click.Context, receipt: str, as_json: bool) -> None:
    """One report: its evidence, what tracing found, the decision."""
    with runtime_for(ctx) as runtime, runtime.db.reading() as session:
        report = by_receipt(session, receipt)
        if report is None:
            raise CommandError(f"no report {receipt}")
        document = _report_document(session, report)

    def text() -> None:
        click.echo(f"{document['receipt']}  {document['state']}  {document['platform']}")
        for e in document["evidence"]:
            outcome = e["error"] or f"{e['chars']} characters"
            click.echo(f"  evidence {e['filename'] or '(pasted text)'}: {outcome}")
        for t in document["traces"]:
            click.echo(
                f"  material {t['material']['id']} {t['material']['title']}: "
                f"coverage {t['coverage']:.0%}, {t['recipients_checked']} recipients checked"
            )
        for a in document["accused"]:
            click.echo(
                f"  accused {a['member']} ({a['basis']}) score {a['score']} / {a['threshold']}"
                + (f"  flag {a['flag']}" if a["flag"] else "")
            )

    emit(as_json, document, text)


def _report_document(session, report) -> dict[str, Any]:
    """One report as `wenxing reports show` prints it (read through reports/queries.py)."""
    evidence = queries.evidence_of(session, report.id)
    traces = queries.traces_of(session, report.id)
    accused = queries.accused_rows(session, report.id)
    return {
        "receipt": format_receipt(report.receipt),
        "state": report.state,
        "platform": report.platform,
        "link": report.link,
        "created_at": report.created_at.isoformat(timespec="seconds"),
        "evidence": [
            {
                "kind": e.kind,
                "filename": e.filename,
                "size": e.size,
                "sha256": e.sha256,
                "detected": e.detected,
                "chars": e.chars,
                "error": e.error,
            }
            for e in evidence
        ],
        "traces": [json.loads(t.result) | {"took_ms": t.took_ms} for t in traces],
        "accused": [
            {
                "member": number,
                "material": a.material_id,
                "basis": a.basis,
                "score": a.score,
                "threshold": a.threshold,
                "log10_bound": a.log10_bound,
                "flag": a.flag,
                "copies": json.loads(a.copies),
                "confirmed": a.confirmed,
            }
            for a, number, _name, _status in accused
        ],
        "decision": None
        if report.decided_at is None
        else {
            "state": report.state,
            "by": report.decided_by,
            "at": report.decided_at.isoformat(timespec="seconds"),
            "reason": report.decision_reason,
            "sanction": report.sanction,
            "reward": report.reward,
        },
    }


@reports.command("purge")
@click.option(
    "--days",
    type=click.IntRange(0, 100_000),
    help="Keep evidence this many days after the decision (default: evidence_retention_days).",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
@click.pass_context
@guarded
def purge_evidence(ctx: click.Context, days: int | None, as_json: bool) -> None:
    """Delete the evidence files of reports decided longer ago than the retention period,
    keeping their hashes, sizes and traces (run it daily)."""
    with runtime_for(ctx) as runtime:
        keep = (
            days if days is not None else int(runtime.publisher_settings().evidence_retention_days)
        )
        with runtime.db.transaction() as session:
            done = retention.purge(session, days=keep, now=utcnow(), actor="cli")
    document = {
        "retention_days": keep,
        "reports": [{"receipt": p.receipt, "files": p.files, "bytes": p.bytes} for p in done],
        "files": sum(p.files for p in done),
        "bytes": sum(p.bytes for p in done),
    }

    def text() -> None:
        for p in done:
            click.echo(f"{p.receipt}  {p.files} files  {p.bytes} bytes deleted")
        click.echo(
            f"purged {document['files']} evidence files ({document['bytes']} bytes) of "
            f"{len(done)} reports decided more than {keep} days ago"
        )

    emit(as_json, document, text)


@click.group("jobs")
def jobs_group() -> None:
    """Background jobs (tracing reports)."""


@jobs_group.command("run")
@click.option("--once", is_flag=True, help="Run what is waiting now, then exit.")
@click.option("--json", "as_json", is_flag=True, help="With --once: print one JSON document.")
@click.pass_context
@guarded
def run_jobs(ctx: click.Context, once: bool, as_json: bool) -> None:
    """Run background jobs (tracing reports) and group robots' announcements: what is due
    now (--once) or until stopped (Ctrl+C, SIGTERM).

    Each `wenxing serve` worker does both itself unless WENXING_JOBS=false; run this where
    they should not (a separate worker machine with PostgreSQL)."""
    from wenxing.live import bot_sender

    with runtime_for(ctx) as runtime:
        if once:
            done = jobs.run_pending(runtime)
            sent = bot_sender.send_due(runtime)
            emit(
                as_json,
                {"ran": done, "announcements": sent},
                lambda: click.echo(f"ran {done} job(s), {sent} announcement(s)"),
            )
            return
        stopped = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stopped.set())
        workers = [jobs.Runner(runtime), bot_sender.Sender(runtime)]
        for worker in workers:
            worker.start()
        click.echo("running jobs and announcements; Ctrl+C stops", err=True)
        stopped.wait()
        for worker in workers:
            worker.stop()
