"""The publisher's member list: importing it from CSV, suspending and reinstating."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from wenxing import audit, clock
from wenxing.members.accounts import end_all_sessions
from wenxing.members.entitlement import Plan
from wenxing.members.models import Member, Subscription
from wenxing.members.recovery import INVITE_DAYS, make_link
from wenxing.members.service import MemberError, add_member, normalise_phone
from wenxing.members.subscriptions import membership_end

HEADER = ["name", "phone", "paid_until"]


@dataclass(frozen=True)
class RowError:
    line: int
    error: str


def _parse_date(text: str) -> date:
    for fmt in ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y年%m月%d日"):
        try:
            return datetime.strptime(text.strip(), fmt).date()
        except ValueError:
            continue
    raise MemberError("member.paid_until", text=text)


def parse_roster(
    text: str,
) -> tuple[list[tuple[int, str, str | None, date | None]], list[RowError]]:
    """Rows (line, name, phone, paid_until) and the errors found, with CSV line numbers."""
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    rows: list[tuple[int, str, str | None, date | None]] = []
    errors: list[RowError] = []
    phone: str | None
    header = next(reader, None)
    if header is None or [h.strip().lower() for h in header] != HEADER:
        return [], [RowError(1, "the first line must be the header name,phone,paid_until")]
    phones: dict[str, int] = {}
    for line, fields in enumerate(reader, start=2):
        if not any(f.strip() for f in fields):
            continue
        if len(fields) != 3:
            errors.append(RowError(line, f"expected 3 fields, found {len(fields)}"))
            continue
        name, phone, paid = (f.strip() for f in fields)
        try:
            if not name:
                raise MemberError("member.name_missing")
            if len(name) > 100:
                raise MemberError("member.name_too_long")
            phone = normalise_phone(phone)
            if phone and phone in phones:
                raise MemberError("member.phone_repeated", phone=phone, line=phones[phone])
            if phone:
                phones[phone] = line
            rows.append((line, name, phone, _parse_date(paid) if paid else None))
        except MemberError as exc:
            errors.append(RowError(line, str(exc)))
    return rows, errors


def import_roster(
    session: Session, text: str, plan: Plan, *, actor: str, timezone: str, now: datetime
) -> tuple[list[Member], list[RowError]]:
    """Create every member of the list, or none: errors leave the caller to roll back."""
    rows, errors = parse_roster(text)
    created: list[Member] = []
    for line, name, phone, paid_until in rows:
        if phone and session.scalar(select(Member.id).where(Member.phone == phone)):
            errors.append(RowError(line, str(MemberError("member.phone_taken", phone=phone))))
            continue
        try:
            member = add_member(session, name, phone)
        except MemberError as exc:
            errors.append(RowError(line, str(exc)))
            continue
        created.append(member)
        if paid_until is not None:
            end_local = datetime.combine(paid_until + timedelta(days=1), time(0))
            ends_at = clock.stored(end_local, timezone)
            if ends_at > now:
                session.add(
                    Subscription(
                        member_id=member.id,
                        plan=plan.code,
                        starts_at=now,
                        ends_at=ends_at,
                        source="import",
                    )
                )
                member.membership_ends = ends_at
        audit.record(
            session,
            audit.MEMBER_IMPORT,
            actor=actor,
            subject=member.number,
            line=line,
            paid_until=paid_until,
        )
    return created, sorted(errors, key=lambda e: e.line)


def sign_out_everywhere(
    session: Session,
    member: Member,
    *,
    actor: str,
    now: datetime,
    ip: str | None = None,
    **details: object,
) -> int:
    """End every signed-in device of the member (API tokens too), recorded in the audit
    log with how many there were; returns that number."""
    ended = end_all_sessions(session, member.id, now)
    audit.record(
        session,
        audit.MEMBER_SIGN_OUT_ALL,
        actor=actor,
        subject=member.number,
        ip=ip,
        at=now,
        sessions=len(ended),
        **details,
    )
    return len(ended)


def suspend(
    session: Session,
    member: Member,
    reason: str,
    *,
    actor: str,
    now: datetime,
    sign_out: bool = True,
    ip: str | None = None,
    **details: object,
) -> None:
    """Suspend the account: the one way the console, the command line and a report's
    decision do it. ``sign_out`` ends its signed-in devices at once (every caller wants
    that; a caller that signs the member out itself says False). ``details`` (a report's
    receipt) go into the audit events."""
    if not reason.strip():
        raise MemberError("member.suspension_reason")
    if member.status == "suspended":
        raise MemberError("member.already_suspended", number=member.number)
    member.status, member.suspended_reason, member.suspended_at = "suspended", reason.strip(), now
    audit.record(
        session,
        audit.MEMBER_SUSPEND,
        actor=actor,
        subject=member.number,
        ip=ip,
        at=now,
        reason=reason.strip(),
        **details,
    )
    if sign_out:
        sign_out_everywhere(session, member, actor=actor, now=now, ip=ip, **details)


def reinstate(session: Session, member: Member, *, actor: str) -> None:
    if member.status != "suspended":
        raise MemberError("member.not_suspended", number=member.number)
    member.status, member.suspended_reason, member.suspended_at = "active", None, None
    audit.record(session, audit.MEMBER_REINSTATE, actor=actor, subject=member.number)


def export_roster(
    session: Session, *, actor: str, ip: str | None, now: datetime, timezone: str, base_url: str
) -> str:
    """The member list as CSV, the import's columns first (paid_until on the publisher's
    calendar), then whether the account has a password and, for those without one (imported
    members), a new personal invitation link to claim it (``recovery.make_link``; earlier
    invitations stop working, each new one is audited) and when it expires, in the zone the
    header names."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [*HEADER, "number", "has_password", "invitation_link", f"invitation_expires ({timezone})"]
    )
    expires = clock.show(now + timedelta(days=INVITE_DAYS), timezone)
    for member in session.scalars(select(Member).order_by(Member.id)):
        ends = membership_end(session, member.id, now)
        # paid_until is the last day paid for, as the import reads it
        paid = clock.show(ends - timedelta(seconds=1), timezone, clock.DATE) if ends else ""
        link = until = ""
        if not member.password_hash:
            secret = make_link(session, member, kind="invite", actor=actor, ip=ip, now=now)
            link, until = f"{base_url.rstrip('/')}/reset/{secret}", expires
        row = [member.name, member.phone or "", paid, member.number]
        writer.writerow([*row, "yes" if member.password_hash else "no", link, until])
    return out.getvalue()
