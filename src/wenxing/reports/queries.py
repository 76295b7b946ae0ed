"""What the console reads of reports: the materials that were reported, the reports about
one material, the list of reports and what one report's page shows (its evidence,
traces, accusations and audit events). The console words them (``web/console_reports.py``)."""

from __future__ import annotations

from sqlalchemy import Row, Select, case, func, select
from sqlalchemy.orm import Session

from wenxing import audit
from wenxing.materials.models import Material, MaterialVersion
from wenxing.members.models import Member
from wenxing.reports.models import Accusation, Report, ReportEvidence, ReportTrace
from wenxing.reports.receipts import PENDING_STATES


def reported_material_ids() -> Select:
    """A subquery of the ids of materials some report's evidence was traced to (the
    materials list's filter 有举报)."""
    return select(ReportTrace.material_id).distinct()


def reports_on_material(session: Session, material_id: int, limit: int = 50) -> list[dict]:
    """The reports whose evidence was traced to the material, newest first."""
    rows = session.execute(
        select(Report.id, Report.receipt, Report.state, Report.platform, Report.created_at)
        .join(ReportTrace, ReportTrace.report_id == Report.id)
        .where(ReportTrace.material_id == material_id)
        .group_by(Report.id, Report.receipt, Report.state, Report.platform, Report.created_at)
        .order_by(Report.id.desc())
        .limit(limit)
    ).all()
    return [
        {"id": i, "receipt": receipt, "state": state, "platform": platform, "at": at}
        for i, receipt, state, platform, at in rows
    ]


# --- the console's list of reports and one report's case ----------------------------------


def _in_state(query: Select, state: str) -> Select:
    """``state``: one of the report states, "pending" (received or traced), or "" (all)."""
    if state == "pending":
        return query.where(Report.state.in_(PENDING_STATES))
    if state:
        return query.where(Report.state == state)
    return query


def count_reports(session: Session, state: str = "") -> int:
    """Reports in ``state`` (``_in_state``)."""
    query = _in_state(select(func.count()).select_from(Report), state)
    return session.scalar(query) or 0


def list_reports(session: Session, state: str, *, offset: int, limit: int) -> list[Report]:
    """A page of the reports in ``state``: those waiting for an editor first (traced, then
    received), then the newest."""
    waiting = case((Report.state == "traced", 0), (Report.state == "received", 1), else_=2)
    query = _in_state(select(Report), state)
    return list(
        session.scalars(
            query.order_by(waiting, Report.created_at.desc(), Report.id.desc())
            .offset(offset)
            .limit(limit)
        )
    )


def evidence_counts(session: Session, report_ids: list[int]) -> dict[int, int]:
    """How many pieces of evidence each report has."""
    return _per_report(session, ReportEvidence, report_ids)


def accused_counts(session: Session, report_ids: list[int]) -> dict[int, int]:
    """How many accounts each report accuses."""
    return _per_report(session, Accusation, report_ids)


def _per_report(session: Session, model, ids: list[int]) -> dict[int, int]:
    return dict(
        session.execute(
            select(model.report_id, func.count())
            .where(model.report_id.in_(ids))
            .group_by(model.report_id)
        ).all()
    )


def events_about(session: Session, receipt: str) -> list[audit.AuditEvent]:
    """The audit events about a report (their subject is its formatted receipt)."""
    return list(
        session.scalars(
            select(audit.AuditEvent)
            .where(audit.AuditEvent.subject == receipt)
            .order_by(audit.AuditEvent.id)
        )
    )


def evidence_rows(session: Session, report_id: int, preview_chars: int) -> list[Row]:
    """A report's evidence, oldest first, without the files: what was read of each, and
    the first ``preview_chars`` of its text (``preview``)."""
    return list(
        session.execute(
            select(
                ReportEvidence.id,
                ReportEvidence.kind,
                ReportEvidence.filename,
                ReportEvidence.size,
                ReportEvidence.sha256,
                ReportEvidence.detected,
                ReportEvidence.error,
                ReportEvidence.error_detail,
                ReportEvidence.chars,
                ReportEvidence.purged_at,
                func.substr(ReportEvidence.text, 1, preview_chars).label("preview"),
            )
            .where(ReportEvidence.report_id == report_id)
            .order_by(ReportEvidence.id)
        ).all()
    )


def trace_rows(session: Session, report_id: int) -> list[tuple[ReportTrace, str, int]]:
    """A report's traces, each with its material's title and the version's number."""
    rows = session.execute(
        select(ReportTrace, Material.title, MaterialVersion.number)
        .join(Material, Material.id == ReportTrace.material_id)
        .join(MaterialVersion, MaterialVersion.id == ReportTrace.version_id)
        .where(ReportTrace.report_id == report_id)
        .order_by(ReportTrace.id)
    ).all()
    return [(trace, title, number) for trace, title, number in rows]


def accused_rows(session: Session, report_id: int) -> list[tuple[Accusation, str, str, str]]:
    """A report's accusations, each with the account's number, name and status."""
    rows = session.execute(
        select(Accusation, Member.number, Member.name, Member.status)
        .join(Member, Member.id == Accusation.member_id)
        .where(Accusation.report_id == report_id)
        .order_by(Accusation.id)
    ).all()
    return [(accusation, number, name, status) for accusation, number, name, status in rows]


def newest_reports(session: Session, state: str | None, limit: int) -> list[Report]:
    """The newest ``limit`` reports (in ``state`` when given), newest first."""
    query = select(Report).order_by(Report.created_at.desc(), Report.id.desc()).limit(limit)
    if state:
        query = query.where(Report.state == state)
    return list(session.scalars(query))


def evidence_of(session: Session, report_id: int) -> list[ReportEvidence]:
    """A report's evidence rows, in the order received."""
    query = select(ReportEvidence).where(ReportEvidence.report_id == report_id)
    return list(session.scalars(query.order_by(ReportEvidence.id)))


def traces_of(session: Session, report_id: int) -> list[ReportTrace]:
    """A report's traces, in the order made."""
    query = select(ReportTrace).where(ReportTrace.report_id == report_id)
    return list(session.scalars(query.order_by(ReportTrace.id)))
