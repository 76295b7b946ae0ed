"""Taking a report in: checks, the receipt number, evidence stored as received, a tracing job.

Everything here happens in the submitting request's one transaction: the report, its
evidence and its tracing job are stored together or not at all. Reading the evidence
(OCR can take seconds) is the job's work, not the request's.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from wenxing import audit, jobs
from wenxing.limits import Subject, hold
from wenxing.members.accounts import network_of
from wenxing.members.models import Member
from wenxing.members.service import normalise_phone
from wenxing.reports.models import Report, ReportEvidence

PLATFORMS = ("xianyu", "taobao", "pan", "group", "other")
MAX_FILES = 10
MAX_TEXT_CHARS = 100_000
MAX_NOTE_CHARS = 2_000
TRACE_JOB = "report.trace"
# Receipt numbers: JB + 10 characters of an alphabet without look-alikes (about 50 bits),
# shown grouped (JB-7K3M-9QXD-2W); typed in any case, with or without the dashes.
_RECEIPT_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
_WECHAT_ID = re.compile(r"^[A-Za-z][-_A-Za-z0-9]{5,19}$")


class ReportRefused(ValueError):
    """The report cannot be taken as it is; ``code`` names why (the site words it in
    Chinese), the message says it in English for logs and the API."""

    def __init__(self, code: str, message: str, **details):
        super().__init__(message)
        self.code = code
        self.details = details


@dataclass(frozen=True)
class EvidenceFile:
    filename: str
    data: bytes
    content_type: str | None = None


@dataclass
class Submission:
    platform: str
    link: str = ""
    note: str = ""
    contact: str = ""
    text: str = ""
    files: list[EvidenceFile] = field(default_factory=list)


@dataclass(frozen=True)
class Limits:
    max_file_bytes: int
    per_hour_ip: int
    per_day_contact: int
    max_report_bytes: int = 30 * 1048576  # every file of one report together
    max_day_bytes_ip: int = 100 * 1048576  # evidence one address may send in 24 hours


def recent_from(session: Session, ip: str, now: datetime) -> tuple[int, int]:
    """(reports from ``ip`` in the last hour, evidence bytes from it in the last 24 hours)."""
    reports = session.execute(
        select(func.count())
        .select_from(Report)
        .where(Report.ip == ip, Report.created_at > now - timedelta(hours=1))
    ).scalar_one()
    stored = session.execute(
        select(func.coalesce(func.sum(ReportEvidence.size), 0))
        .select_from(ReportEvidence)
        .join(Report, Report.id == ReportEvidence.report_id)
        .where(Report.ip == ip, Report.created_at > now - timedelta(days=1))
    ).scalar_one()
    return int(reports), int(stored)


def normalise_contact(raw: str) -> str | None:
    """A phone number (digits only, +86 dropped) or a WeChat id (lower case); None when it
    is neither."""
    text = raw.strip()
    if not text:
        return None
    try:
        phone = normalise_phone(text)
    except ValueError:
        phone = None
    if phone:
        return phone
    if _WECHAT_ID.match(text):
        return text.lower()
    return None


def format_receipt(canonical: str) -> str:
    body = canonical[2:]
    return f"JB-{body[:4]}-{body[4:8]}-{body[8:]}"


def normalise_receipt(entry: str) -> str | None:
    cleaned = re.sub(r"[\s\-]", "", entry).upper()
    if len(cleaned) != 12 or not cleaned.startswith("JB"):
        return None
    if any(c not in _RECEIPT_ALPHABET for c in cleaned[2:]):
        return None
    return cleaned


def _new_receipt() -> str:
    return "JB" + "".join(secrets.choice(_RECEIPT_ALPHABET) for _ in range(10))


def submit(
    session: Session,
    form: Submission,
    *,
    reporter: Member | None,
    ip: str | None,
    user_agent: str | None,
    limits: Limits,
    now: datetime,
) -> Report:
    """Check and store a report with its evidence and queue its tracing (caller commits)."""
    checked = _check(form, reporter, limits)
    _check_rate(session, ip, checked.contact, limits, now, checked.total)
    report = Report(
        receipt=_unused_receipt(session),
        state="received",
        reporter_id=reporter.id if reporter else None,
        contact=checked.contact,
        platform=checked.platform,
        link=checked.link or None,
        note=checked.note or None,
        ip=ip,
        network=network_of(ip),
        user_agent=(user_agent or "")[:300] or None,
        created_at=now,
    )
    session.add(report)
    session.flush()
    _store_evidence(session, report, checked)
    audit.record(
        session,
        audit.REPORT_SUBMIT,
        actor=reporter.number if reporter else "visitor",
        subject=format_receipt(report.receipt),
        ip=ip,
        at=now,
        platform=checked.platform,
        files=len(checked.files),
        text_chars=len(checked.text),
    )
    jobs.enqueue(session, TRACE_JOB, report_id=report.id)
    return report


@dataclass(frozen=True)
class _Checked:
    """A submission's fields as they are stored, once every rule has passed."""

    platform: str
    contact: str | None
    link: str
    note: str
    text: str
    files: list[EvidenceFile]

    @property
    def total(self) -> int:
        return sum(len(item.data) for item in self.files)


def _check(form: Submission, reporter: Member | None, limits: Limits) -> _Checked:
    """The form's rules, in the order they are told: platform, contact, link, note, then
    the evidence (``ReportRefused`` names the first broken)."""
    platform = form.platform.strip()
    if platform not in PLATFORMS:
        raise ReportRefused("platform", f"unknown platform {platform!r}")
    contact = normalise_contact(form.contact)
    if form.contact.strip() and contact is None:
        raise ReportRefused("contact_invalid", "contact is neither a phone number nor a WeChat id")
    if reporter is None and contact is None:
        raise ReportRefused("contact_needed", "a report without an account needs a contact")
    link = form.link.strip()
    if len(link) > 500:
        raise ReportRefused("link_too_long", "the link is longer than 500 characters")
    note = form.note.strip()
    if len(note) > MAX_NOTE_CHARS:
        raise ReportRefused("note_too_long", f"the note is longer than {MAX_NOTE_CHARS} characters")
    text = form.text.strip()
    files = [f for f in form.files if f.filename or f.data]
    _check_evidence(text, files, limits)
    return _Checked(platform, contact, link, note, text, files)


def _check_evidence(text: str, files: list[EvidenceFile], limits: Limits) -> None:
    if not text and not files:
        raise ReportRefused("no_evidence", "a report needs a file or pasted text as evidence")
    if len(text) > MAX_TEXT_CHARS:
        raise ReportRefused(
            "text_too_long", f"pasted text is longer than {MAX_TEXT_CHARS} characters"
        )
    if len(files) > MAX_FILES:
        raise ReportRefused("too_many_files", f"at most {MAX_FILES} files a report")
    for item in files:
        if len(item.data) > limits.max_file_bytes:
            raise ReportRefused(
                "file_too_large",
                f"{item.filename} is larger than the "
                f"{limits.max_file_bytes / 1048576:.0f} MB limit",
                filename=item.filename,
                mb=round(limits.max_file_bytes / 1048576),
            )
    total = sum(len(item.data) for item in files)
    if total > limits.max_report_bytes:
        raise ReportRefused(
            "report_too_large",
            f"the files add up to more than {limits.max_report_bytes / 1048576:g} MB",
            mb=round(limits.max_report_bytes / 1048576),
        )


def _store_evidence(session: Session, report: Report, checked: _Checked) -> None:
    """Each file, then the pasted text, as the report's evidence rows."""
    for item in checked.files:
        session.add(
            ReportEvidence(
                report_id=report.id,
                kind="file",
                filename=_safe_name(item.filename),
                content_type=(item.content_type or "")[:100] or None,
                size=len(item.data),
                sha256=hashlib.sha256(item.data).hexdigest(),
                data=item.data,
            )
        )
    if checked.text:
        data = checked.text.encode("utf-8")
        session.add(
            ReportEvidence(
                report_id=report.id,
                kind="text",
                size=len(data),
                sha256=hashlib.sha256(data).hexdigest(),
                data=data,
            )
        )


def _check_rate(
    session: Session,
    ip: str | None,
    contact: str | None,
    limits: Limits,
    now: datetime,
    new_bytes: int = 0,
) -> None:
    # Counted and then written in the caller's transaction, holding the address and the
    # contact so parallel reports count one by one (``wenxing.limits``).
    if ip:
        hold(session, Subject("reports:ip", ip))
    if contact:
        hold(session, Subject("reports:contact", contact))
    if ip:
        recent, stored = recent_from(session, ip, now)
        if recent >= limits.per_hour_ip:
            raise ReportRefused("rate_ip", "too many reports from this address in the last hour")
        if stored + new_bytes > limits.max_day_bytes_ip:
            raise ReportRefused(
                "rate_bytes", "this address sent more evidence than allowed in 24 hours"
            )
    if contact:
        recent = session.execute(
            select(func.count())
            .select_from(Report)
            .where(Report.contact == contact, Report.created_at > now - timedelta(days=1))
        ).scalar_one()
        if recent >= limits.per_day_contact:
            raise ReportRefused("rate_contact", "too many reports with this contact today")


def _unused_receipt(session: Session) -> str:
    while True:
        receipt = _new_receipt()
        if session.scalar(select(Report.id).where(Report.receipt == receipt)) is None:
            return receipt


def _safe_name(name: str) -> str:
    """The file's name without any folder part or control characters, at most 255 long."""
    base = re.split(r"[\\/]", name or "")[-1]
    base = "".join(c for c in base if c.isprintable()).strip()
    return (base or "evidence")[-255:]


def find_for_check(session: Session, receipt_entry: str, contact_entry: str) -> Report | None:
    """The report a receipt number and the contact given with it open (None when they don't
    match, without saying which is wrong)."""
    receipt = normalise_receipt(receipt_entry)
    contact = normalise_contact(contact_entry)
    if receipt is None or contact is None:
        return None
    report = session.scalar(select(Report).where(Report.receipt == receipt))
    if report is None or report.contact is None:
        return None
    if not hmac.compare_digest(report.contact, contact):
        return None
    return report


def by_receipt(session: Session, receipt_entry: str) -> Report | None:
    receipt = normalise_receipt(receipt_entry)
    if receipt is None:
        return None
    return session.scalar(select(Report).where(Report.receipt == receipt))
