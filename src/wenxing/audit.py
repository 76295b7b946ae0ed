"""The audit log: an append-only record of typed events. There is no update or delete path.

Event types are ``scope:action`` constants below; ``record`` is the one way to write one,
inside the caller's transaction, so an event is stored exactly when its change is.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, Integer, String, Text, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from wenxing.db.base import Base, utcnow

CODE_GENERATE = "code:generate"
CODE_REDEEM = "code:redeem"
CODE_REDEEM_FAILED = "code:redeem-failed"
CODE_REVOKE = "code:revoke"
MEMBER_CREATE = "member:create"
MEMBER_IMPORT = "member:import"
MEMBER_SUSPEND = "member:suspend"
MEMBER_REINSTATE = "member:reinstate"
MEMBER_SIGN_IN = "member:sign-in"
MEMBER_SIGN_IN_FAILED = "member:sign-in-failed"
MEMBER_SIGN_UP_FAILED = "member:sign-up-failed"
MEMBER_SHARING_FLAG = "member:sharing-flag"
MEMBER_ROLE = "member:role"
MEMBER_PASSWORD = "member:password"
MEMBER_PASSWORD_RESET = "member:password-reset"
MEMBER_RESET_LINK = "member:reset-link"
MEMBER_RESET_CODE = "member:reset-code"
MEMBER_SIGNUP_CODE = "member:signup-code"
MEMBER_RESET_FAILED = "member:reset-failed"
SUBSCRIPTION_GRANT = "subscription:grant"
GIFT_CODE = "code:gift"
CODE_EXPORT = "code:export"
SETTING_CHANGE = "setting:change"
REQUEST_FULFIL = "request:fulfil"
REQUEST_DECLINE = "request:decline"
REPORT_SUBMIT = "report:submit"
REPORT_TRACE = "report:trace"
REPORT_CONFIRM = "report:confirm"
REPORT_REJECT = "report:reject"
REPORT_REWARD = "report:reward"
REPORT_REWARD_WITHHELD = "report:reward-withheld"
REPORT_FLAG = "report:flag"
REPORT_CHECK_FAILED = "report:check-failed"
REPORT_EVIDENCE_DOWNLOAD = "report:evidence-download"
REPORT_TRACE_FAILED = "report:trace-failed"
REPORT_EVIDENCE_PURGED = "report:evidence-purged"
MEMBER_WARN = "member:warn"
MEMBER_SIGN_OUT_ALL = "member:sign-out-all"
ROBOT_ADD = "robot:add"
ROBOT_ENABLE = "robot:enable"
ROBOT_DISABLE = "robot:disable"
ROBOT_DELETE = "robot:delete"
ROBOT_TEST = "robot:test"
ROBOT_WEBHOOK = "robot:webhook"
QQ_LINK = "qq:link"
QQ_UNLINK = "qq:unlink"
QQ_APPROVE = "qq:approve"
QQ_REFUSE = "qq:refuse"
QQ_REMIND = "qq:remind"
QQ_REMOVE = "qq:remove"
WORDING_REVIEW = "wording:review"
WORDING_VETO = "wording:veto"
MEMBER_EXPORT = "member:export"
CODE_EXPIRY = "code:expiry"
MATERIAL_PUBLISH = "material:publish"
MATERIAL_UNPUBLISH = "material:unpublish"
MATERIAL_CATEGORY = "material:category"
MATERIAL_TAG = "material:tag"
MATERIAL_DELETE = "material:delete"
EVENT_TYPES = frozenset(v for k, v in dict(globals()).items() if k.isupper() and ":" in str(v))


class AuditEvent(Base):
    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    type: Mapped[str] = mapped_column(String(40), index=True)
    actor: Mapped[str] = mapped_column(String(64), index=True)
    subject: Mapped[str | None] = mapped_column(String(64), index=True)
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    ip: Mapped[str | None] = mapped_column(String(45), index=True)
    details: Mapped[str] = mapped_column(Text, default="{}")


def record(
    session: Session,
    type_: str,
    *,
    actor: str,
    subject: str | None = None,
    ip: str | None = None,
    at: datetime | None = None,
    **details: Any,
) -> AuditEvent:
    """Add one event to the caller's transaction."""
    if type_ not in EVENT_TYPES:
        raise ValueError(f"unknown audit event type {type_!r}")
    event = AuditEvent(
        type=type_,
        actor=actor,
        subject=subject,
        ip=ip,
        at=at or utcnow(),
        details=json.dumps(details, ensure_ascii=False, default=str),
    )
    session.add(event)
    return event


# The audit event of each of the console's actions on materials (materials/bulk.py).
MATERIAL_BULK = {
    "publish": MATERIAL_PUBLISH,
    "unpublish": MATERIAL_UNPUBLISH,
    "category": MATERIAL_CATEGORY,
    "tag": MATERIAL_TAG,
    "delete": MATERIAL_DELETE,
}


def about(session: Session, subject: str, limit: int = 50) -> list[AuditEvent]:
    """The latest events about ``subject`` (a member's number, a batch's label), newest
    first."""
    return list(
        session.scalars(
            select(AuditEvent)
            .where(AuditEvent.subject == subject)
            .order_by(AuditEvent.id.desc())
            .limit(limit)
        )
    )


def _where(filters: dict[str, str], since: datetime | None, until: datetime | None) -> list:
    where = [getattr(AuditEvent, name) == value for name, value in filters.items() if value]
    if since is not None:
        where.append(AuditEvent.at >= since)
    if until is not None:
        where.append(AuditEvent.at < until)
    return where


def count_events(
    session: Session,
    filters: dict[str, str],
    since: datetime | None = None,
    until: datetime | None = None,
) -> int:
    """Events matching ``filters`` (type, actor, subject: equal when given) in the range."""
    query = select(func.count()).select_from(AuditEvent).where(*_where(filters, since, until))
    return session.scalar(query) or 0


def events(
    session: Session,
    filters: dict[str, str],
    *,
    limit: int,
    offset: int = 0,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[AuditEvent]:
    """A page of the matching events, newest first by id (one order across pages, however
    many events share a moment)."""
    return list(
        session.scalars(
            select(AuditEvent)
            .where(*_where(filters, since, until))
            .order_by(AuditEvent.id.desc())
            .limit(limit)
            .offset(offset)
        )
    )
