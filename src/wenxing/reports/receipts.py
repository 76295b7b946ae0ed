"""What a reporter is shown of a report, and who may open it.

A receipt view carries the report's state, how each piece of evidence was read, the
decision and the reward. It never carries the accused (number, name, copies), the abuse
flags or their details, nor the evidence's text: the reporter learns that the report was
acted on, not who leaked; the publisher confronts the leaker. Outcomes are codes here; the
web layer words them.

A receipt opens for the account that filed it, for a browser the site gave a signed
receipt cookie, or with its contact (phone or WeChat id). Wrong contacts are counted per
address in the audit log (``report:check-failed``), like failed sign-ins, so receipt
numbers cannot be tried against contacts at speed.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from wenxing import audit
from wenxing.limits import Subject, hold
from wenxing.reports.intake import (
    find_for_check,
    format_receipt,
    normalise_contact,
    normalise_receipt,
)
from wenxing.reports.models import Report, ReportEvidence

CHECK_FAILURES_PER_15_MIN = 10
PENDING_STATES = ("received", "traced")


@dataclass(frozen=True)
class EvidenceOutcome:
    name: str | None  # the file's name; None for pasted text
    kind: str  # file | text
    size: int
    # pending (not read yet), read (a material was found in it), no_material, unreadable
    outcome: str
    reason: str | None  # for unreadable: the reading's error code (empty, corrupt, no_text…)


@dataclass(frozen=True)
class ReceiptView:
    receipt: str  # as shown: JB-XXXX-XXXX-XX
    state: str
    platform: str
    created_at: datetime
    evidence: tuple[EvidenceOutcome, ...]
    decided_at: datetime | None
    rejection_reason: str | None  # the editor's reason, for a rejected report only
    # confirmed reports: membership | gift_code | none (rewarded before) | withheld |
    # thanks (warned, not suspended) | capped (the reporter's yearly rewards used up)
    reward: str | None
    reward_code: str | None
    reward_ends_at: datetime | None


def receipt_view(session: Session, report: Report, *, with_evidence: bool = True) -> ReceiptView:
    evidence: tuple[EvidenceOutcome, ...] = ()
    if with_evidence:
        rows = session.execute(
            select(
                ReportEvidence.kind,
                ReportEvidence.filename,
                ReportEvidence.size,
                ReportEvidence.error,
            )
            .where(ReportEvidence.report_id == report.id)
            .order_by(ReportEvidence.id)
        ).all()
        evidence = tuple(_outcome(report, row) for row in rows)
    confirmed = report.state == "confirmed"
    return ReceiptView(
        receipt=format_receipt(report.receipt),
        state=report.state,
        platform=report.platform,
        created_at=report.created_at,
        evidence=evidence,
        decided_at=report.decided_at,
        rejection_reason=report.decision_reason if report.state == "rejected" else None,
        reward=report.reward if confirmed else None,
        reward_code=report.reward_code if confirmed else None,
        reward_ends_at=report.reward_ends_at if confirmed else None,
    )


def _outcome(report: Report, row) -> EvidenceOutcome:
    outcome, reason = evidence_outcome(report.state, row.error)
    return EvidenceOutcome(
        row.filename if row.kind == "file" else None, row.kind, row.size, outcome, reason
    )


def evidence_outcome(report_state: str, error: str | None) -> tuple[str, str | None]:
    """(outcome, reason) of a piece of evidence from its reading's error code: pending,
    read (a material was found), no_material, or unreadable with the code as reason."""
    if error == "no_material":
        return "no_material", None
    if error:
        return "unreadable", error
    return ("pending" if report_state == "received" else "read"), None


def reports_of(session: Session, member_id: int, limit: int = 50) -> list[ReceiptView]:
    """The reports an account filed, newest first (without their evidence)."""
    rows = session.scalars(
        select(Report)
        .where(Report.reporter_id == member_id)
        .order_by(Report.created_at.desc(), Report.id.desc())
        .limit(limit)
    )
    return [receipt_view(session, r, with_evidence=False) for r in rows]


@dataclass(frozen=True)
class Warning:
    at: datetime
    reason: str


def warnings_for(session: Session, member_number: str) -> list[Warning]:
    """Warnings a member was given by confirmed reports (the ``warn`` sanction), newest
    first."""
    events = session.scalars(
        select(audit.AuditEvent)
        .where(
            audit.AuditEvent.type == audit.MEMBER_WARN,
            audit.AuditEvent.subject == member_number,
        )
        .order_by(audit.AuditEvent.at.desc())
        .limit(20)
    )
    return [Warning(e.at, json.loads(e.details or "{}").get("reason", "")) for e in events]


def pending_count(session: Session) -> int:
    """Reports not decided yet: being traced, or waiting for an editor."""
    return session.execute(
        select(func.count()).select_from(Report).where(Report.state.in_(PENDING_STATES))
    ).scalar_one()


class TooManyChecks(Exception):
    """This address gave too many wrong contacts lately."""


def open_by_contact(
    session: Session, receipt_entry: str, contact_entry: str, *, ip: str | None, now: datetime
) -> Report | None:
    """The report a receipt number and its contact open, or None (a wrong pair is
    recorded when the caller's transaction commits). Entries that are not a receipt number
    and a contact at all are refused without counting: guessing needs well-formed ones.
    Raises TooManyChecks when this address used up its failures."""
    if ip:
        hold(session, Subject("report-check", ip))  # counted and recorded one by one
    if ip and _failed_checks(session, ip, now) >= CHECK_FAILURES_PER_15_MIN:
        raise TooManyChecks(ip)
    receipt = normalise_receipt(receipt_entry)
    if receipt is None or normalise_contact(contact_entry) is None:
        return None
    report = find_for_check(session, receipt, contact_entry)
    if report is None:
        audit.record(
            session,
            audit.REPORT_CHECK_FAILED,
            actor="visitor",
            subject=format_receipt(receipt),
            ip=ip,
            at=now,
        )
    return report


def _failed_checks(session: Session, ip: str, now: datetime) -> int:
    return session.execute(
        select(func.count())
        .select_from(audit.AuditEvent)
        .where(
            audit.AuditEvent.type == audit.REPORT_CHECK_FAILED,
            audit.AuditEvent.ip == ip,
            audit.AuditEvent.at > now - timedelta(minutes=15),
        )
    ).scalar_one()


def promise_line(masthead: Iterable[str]) -> str | None:
    """The masthead's line promising reporters a reward, as the publisher wrote it."""
    return next((line.strip() for line in masthead if "举报" in line and line.strip()), None)
