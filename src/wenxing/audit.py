"""The audit log: an append-only record of typed events. There is no update or delete path.

Event types are ``scope:action`` constants below; ``record`` is the one way to write one,
inside the caller's transaction, so an event is stored exactly when its change is.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, Integer, String, Text
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
WORDING_REVIEW = "wording:review"
WORDING_VETO = "wording:veto"
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
