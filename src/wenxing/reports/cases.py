"""Tracing a report: read each piece of evidence, find its material, name who leaked it.

Runs as a background job (``report.trace``). Reading and tracing happen outside any write
transaction (OCR takes seconds); the results are stored in one transaction at the end, so
a report is either still ``received`` or fully ``traced``. Running the job again (after a
crash) replaces what an earlier run stored.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import PurePath

import numpy as np
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from wenxing import audit, jobs, sandbox
from wenxing.db.base import utcnow
from wenxing.delivery.models import IssuedCopy
from wenxing.fingerprint.align import align, skeleton
from wenxing.materials import identify
from wenxing.materials.models import MaterialVersion
from wenxing.materials.readers import ReadError
from wenxing.members.models import AccountSession, Member
from wenxing.reports import evidence as evidence_reading
from wenxing.reports.evidence import Evidence
from wenxing.reports.intake import TRACE_JOB, format_receipt
from wenxing.reports.models import Accusation, Report, ReportEvidence, ReportTrace
from wenxing.reports.trace import (
    TAG_ALONE_POSITIONS,
    holds_version,
    identify_versions,
    trace_version,
)

log = logging.getLogger("wenxing.reports")

# Networks that say nothing about who is behind them: the server itself (a proxy that does
# not pass the client's address on).
_UNINFORMATIVE_NETWORKS = frozenset({"127.0.0.0/24", "::/48"})


@dataclass
class _Read:
    evidence_id: int
    evidence: Evidence | None
    detected: str | None
    error: str | None = None
    detail: str | None = None


def _tracing_failed(runtime, payload: dict, error: str) -> None:
    """Tracing failed for good: the report goes to the editors as it is, each piece of
    evidence not yet explained marked ``trace_failed``, so it is decided, not forgotten."""
    with runtime.db.transaction() as session:
        report = session.get(Report, int(payload["report_id"]), with_for_update=True)
        if report is None or report.state != "received":
            return
        for row in session.scalars(
            select(ReportEvidence).where(ReportEvidence.report_id == report.id)
        ):
            if row.error is None:
                row.error, row.error_detail = "trace_failed", error[:300]
        report.state, report.traced_at = "traced", utcnow()
        audit.record(
            session,
            audit.REPORT_TRACE_FAILED,
            actor="system",
            subject=format_receipt(report.receipt),
            error=error[:500],
        )


@jobs.handler(TRACE_JOB, on_give_up=_tracing_failed)
def trace_report_job(runtime, payload: dict) -> None:
    trace_report(runtime, int(payload["report_id"]))


def trace_report(runtime, report_id: int) -> None:
    """Read, identify and trace a report's evidence, then store the case."""
    publisher = runtime.publisher_settings()
    bound = float(publisher.accusation_bound)
    with runtime.db.reading() as session:
        report = session.get(Report, report_id)
        if report is None or report.state != "received":
            return  # decided already, or gone: nothing to trace
        items = session.execute(
            select(
                ReportEvidence.id,
                ReportEvidence.kind,
                ReportEvidence.filename,
                ReportEvidence.data,
                ReportEvidence.purged_at,
            )
            .where(ReportEvidence.report_id == report_id)
            .order_by(ReportEvidence.id)
        ).all()
    reads = _read_all(items, sandbox.Limits.of(runtime.settings))
    with runtime.db.reading() as session:
        traced = _trace_all(session, runtime.secret, reads, bound)
    with runtime.db.transaction() as session:
        report = session.get(Report, report_id, with_for_update=True)
        if report is None or report.state != "received":
            return
        _store(session, report, reads, traced)


def _read_all(items, limits: sandbox.Limits) -> list[_Read]:
    """Each evidence row read in the sandbox, within the report's reading time."""
    # One report may take twice one file's wall time in all: ten slow files cannot hold a
    # runner for ten times the limit.
    budget = time.monotonic() + 2 * limits.wall_seconds
    reads = []
    for row in items:
        if row.purged_at is not None:
            reads.append(_Read(row.id, None, None, "purged", "deleted after the retention period"))
            continue
        left = budget - time.monotonic()
        if left <= 1:
            reads.append(_Read(row.id, None, None, "timeout", "the report's reading time ran out"))
            continue
        mine = dataclasses.replace(limits, wall_seconds=min(limits.wall_seconds, left))
        reads.append(_read_one(row.id, row.kind, row.filename, row.data, mine))
    return reads


def _trace_all(
    session, secret: bytes, reads: list[_Read], bound: float
) -> list[tuple[dict, list[int], float, int]]:
    """The materials the evidence holds, each traced with all the evidence of it joined:
    (the result, the evidence ids, milliseconds taken, the version id) per material."""
    traced: list[tuple[dict, list[int], float, int]] = []
    groups: dict[int, list[_Read]] = defaultdict(list)
    versions: dict[int, tuple[MaterialVersion, float]] = {}
    for item in reads:
        if item.evidence is None:
            continue
        found = identify_versions(session, item.evidence.text)
        if not found:
            item.error, item.detail = "no_material", "no published material found in it"
            continue
        for version, coverage, _chars in found:  # a file may hold several materials
            groups[version.id].append(item)
            versions[version.id] = version, coverage
    share = bound / max(1, len(groups))  # the union bound over every material traced
    for version_id, members in groups.items():
        pieces = [m.evidence for m in members if m.evidence is not None]  # all of them
        joined = Evidence(
            "\n".join(e.text for e in pieces),
            tuple(sorted({t for e in pieces for t in e.copy_tags})),
        )
        version, coverage = versions[version_id]
        if len(members) > 1:  # the joined evidence covers more than each piece
            coverage = max(coverage, _coverage(session, version, joined.text))
        started = time.perf_counter()
        result = trace_version(session, secret, joined, version, coverage, share)
        took = (time.perf_counter() - started) * 1000
        traced.append((result.as_dict(), [m.evidence_id for m in members], took, version_id))
    return traced


def _coverage(session, version: MaterialVersion, text: str) -> float:
    fold = identify.t2s_fold()
    mapping = align(skeleton(version.body, fold).text, skeleton(text, fold).text)
    return float(np.mean(mapping >= 0)) if len(mapping) else 0.0


def _read_one(
    evidence_id: int, kind: str, filename: str | None, data: bytes, limits: sandbox.Limits
) -> _Read:
    """One piece of evidence read in the sandbox (pasted text too: it is short, and one
    path for all keeps the rules in one place)."""
    try:
        if kind == "text":
            found = evidence_reading.read_sandboxed(data, "evidence.txt", limits)
            detected = "text"
        else:
            suffix = PurePath(filename or "").suffix.lower()
            found = evidence_reading.read_sandboxed(data, "evidence" + suffix, limits)
            detected = getattr(found, "detected", None) or suffix[1:]
    except ReadError as exc:
        return _Read(
            evidence_id,
            None,
            getattr(exc, "detected", None),
            getattr(exc, "reason", "unreadable"),
            str(exc)[:300],
        )
    except Exception as exc:  # (one bad file never stops the report)
        log.exception("evidence %s could not be read", evidence_id)
        return _Read(evidence_id, None, None, "unreadable", exc.__class__.__name__)
    if not found.text.strip():
        return _Read(evidence_id, None, detected, "no_text", "no text in it")
    return _Read(evidence_id, found, detected, detail=found.note)


def _store(
    session: Session,
    report: Report,
    reads: list[_Read],
    traced: list[tuple[dict, list[int], float, int]],
) -> None:
    session.execute(delete(Accusation).where(Accusation.report_id == report.id))
    session.execute(delete(ReportTrace).where(ReportTrace.report_id == report.id))
    for item in reads:
        stored = session.get(ReportEvidence, item.evidence_id)
        assert stored is not None  # the report's evidence, read in this job
        stored.detected = item.detected
        stored.error, stored.error_detail = item.error, item.detail
        if item.evidence is not None and item.error is None:
            stored.text, stored.chars = item.evidence.text, len(item.evidence.text)
    named = 0
    for result, evidence_ids, took, version_id in traced:
        row = ReportTrace(
            report_id=report.id,
            material_id=result["material"]["id"],
            version_id=version_id,
            evidence_ids=",".join(map(str, evidence_ids)),
            coverage=result["coverage"],
            recipients_checked=result["recipients_checked"],
            result=json.dumps(result, ensure_ascii=False, default=str),
            took_ms=round(took, 1),
        )
        session.add(row)
        session.flush()
        for accusation in _accusations(session, result, version_id):
            accusation.report_id, accusation.trace_id = report.id, row.id
            accusation.material_id = row.material_id
            accusation.flag, accusation.flag_detail = abuse_flag(session, report, accusation)
            session.add(accusation)
            named += 1
    now = utcnow()
    report.state, report.traced_at = "traced", now
    audit.record(
        session,
        audit.REPORT_TRACE,
        actor="system",
        subject=format_receipt(report.receipt),
        at=now,
        materials=[t[0]["material"]["id"] for t in traced],
        accused=named,
        unreadable=sum(1 for r in reads if r.error and r.error != "no_material"),
    )


def _accusations(session, result: dict, version_id: int) -> list[Accusation]:
    """The members a trace names: the fingerprint's marks, then an exact copy tag where the
    marks do not contradict it (they name the same member, or could not be read). A member
    number printed in the evidence is a lead shown with the trace, never an accusation:
    anyone can type it."""
    found: dict[str, Accusation] = {}
    for item in result["accused"]:
        found[item["member"]] = Accusation(
            basis="marks",
            score=item["score"],
            threshold=item["threshold"],
            log10_bound=item["log10_bound"],
        )
    marks_silent = result.get("positions", 0) < TAG_ALONE_POSITIONS and not result["accused"]
    for tag in result.get("copy_tags", []):
        # Only a tag whose issuance row agrees with it names a member (reports.trace), and
        # only where the marks name the same member or could not be read.
        member = tag.get("member")
        if tag["issuance"] == "agrees" and member and (member in found or marks_silent):
            found.setdefault(member, Accusation(basis="copy_tag"))
    people = {
        m.number: m for m in session.scalars(select(Member).where(Member.number.in_(list(found))))
    }
    accusations = []
    for number, accusation in found.items():
        member = people.get(number)
        if member is None:
            continue
        accusation.member_id = member.id
        copies = session.execute(
            select(IssuedCopy.id, IssuedCopy.format, IssuedCopy.created_at, IssuedCopy.ip)
            .where(IssuedCopy.member_id == member.id, holds_version(version_id))
            .order_by(IssuedCopy.created_at)
        ).all()
        accusation.copies = json.dumps(
            [{"id": c.id, "format": c.format, "at": c.created_at, "ip": c.ip} for c in copies],
            default=str,
        )
        accusations.append(accusation)
    return accusations


def abuse_flag(
    session: Session, report: Report, accusation: Accusation
) -> tuple[str | None, str | None]:
    """Why this report's reporter should not be rewarded for exposing this member, if they
    look like the same person: the same account, the same phone, a shared device or
    network. (None, None) when nothing ties them."""
    accused = session.get(Member, accusation.member_id)
    if accused is None:
        return None, None
    if report.reporter_id == accused.id:
        return "own_copy", "the reporter is the accused account"
    if report.contact and accused.phone and report.contact == accused.phone:
        return "own_copy", "the report's contact is the accused account's phone"
    accused_sessions = session.execute(
        select(AccountSession.network, AccountSession.user_agent).where(
            AccountSession.member_id == accused.id, AccountSession.network.is_not(None)
        )
    ).all()
    accused_networks = {n for n, _ua in accused_sessions} - _UNINFORMATIVE_NETWORKS
    accused_devices = {(n, ua) for n, ua in accused_sessions if ua} - {
        (n, ua) for n, ua in accused_sessions if n in _UNINFORMATIVE_NETWORKS
    }
    if report.reporter_id is not None:
        reporter = session.get(Member, report.reporter_id)
        if reporter is not None and reporter.phone and reporter.phone == accused.phone:
            return "shared", "the reporter's account has the accused account's phone"
        mine = session.execute(
            select(AccountSession.network, AccountSession.user_agent).where(
                AccountSession.member_id == report.reporter_id,
                AccountSession.network.is_not(None),
            )
        ).all()
        if {(n, ua) for n, ua in mine if ua} & accused_devices:
            return "shared", "the reporter signs in from a device the accused account uses"
        if {n for n, _ua in mine} & accused_networks:
            return "shared", "the reporter signs in from a network the accused account uses"
    if report.network and report.network in accused_networks:
        return "shared", f"the report came from {report.network}, a network the accused uses"
    return None, None
