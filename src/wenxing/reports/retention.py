"""Deleting decided reports' evidence files after the retention period.

A resale report's files are kept as received while the report is open and for
``evidence_retention_days`` (publisher setting, 180 by default) after its decision; then
``wenxing reports purge`` (run it daily, from cron or a timer) deletes their bytes and the
text read from them. What stays: each file's name, size and SHA-256 hash (so a file
produced later can be shown to be the one received), the trace, the decision and the
audit log, which records each purge (``report:evidence-purged``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from wenxing import audit
from wenxing.reports.intake import format_receipt
from wenxing.reports.models import Report, ReportEvidence

DECIDED = ("confirmed", "rejected")


@dataclass(frozen=True)
class Purged:
    receipt: str
    files: int
    bytes: int


def purge(session: Session, *, days: int, now: datetime, actor: str = "system") -> list[Purged]:
    """Delete the evidence of reports decided more than ``days`` days before ``now``
    (the caller commits); what was deleted, per report."""
    cutoff = now - timedelta(days=days)
    rows = session.execute(
        select(Report.id, Report.receipt, ReportEvidence.id, ReportEvidence.size)
        .join(ReportEvidence, ReportEvidence.report_id == Report.id)
        .where(
            Report.state.in_(DECIDED),
            Report.decided_at < cutoff,
            ReportEvidence.purged_at.is_(None),
        )
        .order_by(Report.id, ReportEvidence.id)
    ).all()
    per_report: dict[int, tuple[str, list[int], int]] = {}
    for report_id, receipt, evidence_id, size in rows:
        receipt_, ids, total = per_report.get(report_id, (receipt, [], 0))
        ids.append(evidence_id)
        per_report[report_id] = (receipt_, ids, total + size)
    done = []
    for receipt, ids, total in per_report.values():
        session.execute(
            update(ReportEvidence)
            .where(ReportEvidence.id.in_(ids))
            .values(data=b"", text=None, purged_at=now)
            .execution_options(synchronize_session=False)
        )
        shown = format_receipt(receipt)
        audit.record(
            session,
            audit.REPORT_EVIDENCE_PURGED,
            actor=actor,
            subject=shown,
            at=now,
            files=len(ids),
            bytes=total,
            retention_days=days,
            kept="sha256, size, trace",
        )
        done.append(Purged(shown, len(ids), total))
    return done
