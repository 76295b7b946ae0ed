"""Issuing copies: the one path that produces material text for a member.

``issue_copy`` finds (or makes) the marking plan, marks the body for the recipient, writes
the issuance-log row, renders the file and returns its bytes. Entitlement and quota checks
join here when members can read on their own (the publisher's CLI issues whatever it asks).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from wenxing import fingerprint
from wenxing.config import PublisherSettings
from wenxing.db.base import utcnow
from wenxing.delivery.marking import material_key, plan_for
from wenxing.delivery.models import IssuedCopy
from wenxing.delivery.render import FORMATS, RENDERERS, CopyContent, recipient_line
from wenxing.delivery.review import vetoes
from wenxing.materials.catalog import current_version
from wenxing.materials.models import Material
from wenxing.members.entitlement import daily_quota, may_read, quota_resets_at
from wenxing.members.models import Member
from wenxing.members.subscriptions import account_view, plans


class DeliveryError(ValueError):
    """A copy cannot be issued as asked; the message says why."""


class NotEntitled(DeliveryError):
    """The member may not have this copy now (``reason`` from the entitlement rule)."""

    def __init__(self, message: str, reason: str, resets_at: datetime | None = None):
        super().__init__(message)
        self.reason = reason
        self.resets_at = resets_at


@dataclass(frozen=True)
class IssuedFile:
    copy_id: int
    member_number: str
    format: str
    data: bytes
    filename: str


def issue_copy(
    session: Session,
    secret: bytes,
    publisher: PublisherSettings,
    member: Member,
    material: Material,
    fmt: str,
    *,
    actor: str,
    ip: str | None = None,
    user_agent: str | None = None,
) -> IssuedFile:
    if fmt not in FORMATS:
        raise DeliveryError(
            f"format {fmt!r} is not available yet; choose one of {', '.join(FORMATS)}"
        )
    if member.status != "active":
        raise DeliveryError(f"member {member.number} is {member.status}")
    version = current_version(session, material)
    if not actor.startswith("publisher"):
        _check_member_may_have(session, publisher, member, material)
    plan_row, plan = plan_for(session, secret, version, publisher, vetoes(session, version.id))
    key = material_key(secret, version.id)
    marked = fingerprint.mark(version.body, plan, key, member.number)
    log = IssuedCopy(
        member_id=member.id,
        material_id=material.id,
        version_id=version.id,
        plan_id=plan_row.id,
        format=fmt,
        actor=actor,
        ip=ip,
        user_agent=(user_agent or "")[:300] or None,
    )
    session.add(log)
    session.flush()
    content = CopyContent(
        title=version.title,
        body=marked,
        masthead=publisher.masthead_lines(),
        recipient_line=recipient_line(member.number, utcnow().strftime("%Y-%m-%d")),
        copy_tag=fingerprint.make_copy_tag(key, log.id),
    )
    data = RENDERERS[fmt](content)
    filename = f"{_safe(version.title)}-{member.number}.{fmt}"
    return IssuedFile(log.id, member.number, fmt, data, filename)


def _check_member_may_have(
    session: Session, publisher: PublisherSettings, member: Member, material: Material
) -> None:
    """Entitlement and the daily quota, for copies a member asks for themselves."""
    now = utcnow()
    known = plans(publisher)
    view = account_view(session, member)
    if material.status != "published" or material.published_at is None:
        raise NotEntitled("material is not published", "unpublished")
    decision = may_read(view, material.published_at, now, known)
    if not decision.allowed:
        raise NotEntitled(f"not entitled ({decision.reason})", decision.reason)
    quota = daily_quota(view, now, known)
    if quota is None:
        return
    resets_at = quota_resets_at(now, publisher["timezone"])
    day_start = resets_at - timedelta(days=1)
    used = (
        session.scalar(
            select(func.count())
            .select_from(IssuedCopy)
            .where(
                IssuedCopy.member_id == member.id,
                IssuedCopy.created_at >= day_start,
                ~IssuedCopy.actor.startswith("publisher"),
            )
        )
        or 0
    )
    if used >= quota:
        raise NotEntitled(
            f"daily quota of {quota} copies used; it resets at {resets_at:%Y-%m-%d %H:%M} UTC",
            "quota",
            resets_at,
        )


def _safe(title: str) -> str:
    return "".join(ch for ch in title if ch not in '\\/:*?"<>|\n\r\t')[:60] or "material"
