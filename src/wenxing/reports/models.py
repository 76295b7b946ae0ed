"""Resale reports: what a reporter sent, what tracing found, what the publisher decided."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    DateTime,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, deferred, mapped_column

from wenxing.db.base import Base, utcnow

# A report's life: received (tracing queued) → traced (waiting for an editor's decision)
# → confirmed | rejected.
STATES = ("received", "traced", "confirmed", "rejected")


class Report(Base):
    """One report (举报), with its receipt number the reporter checks it by."""

    __tablename__ = "reports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    receipt: Mapped[str] = mapped_column(String(20), unique=True)
    state: Mapped[str] = mapped_column(String(16), default="received", index=True)
    reporter_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"), index=True)
    contact: Mapped[str | None] = mapped_column(String(60), index=True)
    platform: Mapped[str] = mapped_column(String(20))
    link: Mapped[str | None] = mapped_column(String(500))
    note: Mapped[str | None] = mapped_column(Text)
    ip: Mapped[str | None] = mapped_column(String(45), index=True)
    network: Mapped[str | None] = mapped_column(String(45))
    user_agent: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    traced_at: Mapped[datetime | None] = mapped_column(DateTime)
    # The decision
    decided_at: Mapped[datetime | None] = mapped_column(DateTime)
    decided_by: Mapped[str | None] = mapped_column(String(64))
    decision_reason: Mapped[str | None] = mapped_column(Text)
    sanction: Mapped[str | None] = mapped_column(String(16))  # suspend | warn
    # The reward: membership (added to the reporter's account), gift_code (shown on the
    # receipt page), none (nothing new to reward: the leak was rewarded before), withheld
    # (abuse flag; reward_note says why)
    reward: Mapped[str | None] = mapped_column(String(16))
    reward_code: Mapped[str | None] = mapped_column(String(32))
    reward_ends_at: Mapped[datetime | None] = mapped_column(DateTime)
    reward_note: Mapped[str | None] = mapped_column(Text)


class ReportEvidence(Base):
    """One piece of evidence as received: a file (kept byte for byte, with its hash) or
    pasted text, and the text read from it (or why none could be)."""

    __tablename__ = "report_evidence"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id"), index=True)
    kind: Mapped[str] = mapped_column(String(8))  # file | text
    filename: Mapped[str | None] = mapped_column(String(255))
    content_type: Mapped[str | None] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    data: Mapped[bytes] = deferred(mapped_column(LargeBinary))
    # What reading found: the detected format, the text (None until read), an error code
    detected: Mapped[str | None] = mapped_column(String(16))
    text: Mapped[str | None] = deferred(mapped_column(Text))
    chars: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(String(20))
    error_detail: Mapped[str | None] = mapped_column(String(300))
    # When the file (and the text read from it) was deleted after the retention period;
    # the hash, the size and the trace stay (``retention.py``).
    purged_at: Mapped[datetime | None] = mapped_column(DateTime)


class ReportTrace(Base):
    """Tracing of the report's evidence of one material version (evidence of the same
    version is traced together: three screenshots of one copy say more than one)."""

    __tablename__ = "report_traces"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id"), index=True)
    material_id: Mapped[int] = mapped_column(ForeignKey("materials.id"), index=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("material_versions.id"))
    evidence_ids: Mapped[str] = mapped_column(String(200))  # comma-separated
    coverage: Mapped[float] = mapped_column(Float)
    recipients_checked: Mapped[int] = mapped_column(Integer)
    result: Mapped[str] = mapped_column(Text)  # the trace as JSON (what `wenxing trace` prints)
    took_ms: Mapped[float] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Accusation(Base):
    """A member a trace names, on what basis, with the copies of that version they got."""

    __tablename__ = "report_accusations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id"), index=True)
    trace_id: Mapped[int] = mapped_column(ForeignKey("report_traces.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    material_id: Mapped[int] = mapped_column(ForeignKey("materials.id"))
    # marks (the fingerprint's score is over its threshold), copy_tag (an exact copy tag was
    # in the file), visible_line (the copy's printed recipient line names them, and they
    # were issued this version)
    basis: Mapped[str] = mapped_column(String(16))
    score: Mapped[float | None] = mapped_column(Float)
    threshold: Mapped[float | None] = mapped_column(Float)
    log10_bound: Mapped[float | None] = mapped_column(Float)
    copies: Mapped[str] = mapped_column(Text, default="[]")  # [{"id","format","at","ip"}]
    # Why the reporter is not rewarded for this one, when tracing already sees it:
    # own_copy (the reporter is the accused), shared (same device, network or phone)
    flag: Mapped[str | None] = mapped_column(String(16))
    flag_detail: Mapped[str | None] = mapped_column(String(300))
    confirmed: Mapped[bool | None] = mapped_column()


class Leak(Base):
    """A confirmed leak: one accused account and one material. The first confirmed report
    of it is the one rewarded; the unique key makes that hold under concurrent decisions."""

    __tablename__ = "report_leaks"
    __table_args__ = (UniqueConstraint("member_id", "material_id", name="uq_report_leaks"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    material_id: Mapped[int] = mapped_column(ForeignKey("materials.id"))
    first_report_id: Mapped[int] = mapped_column(ForeignKey("reports.id"))
    confirmed_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
