"""Issuing copies: the one path that produces material text for a member.

``issue_copy`` finds (or makes) the marking plan, marks the body for the recipient, writes
the issuance-log row, renders the file and returns its bytes. Entitlement and quota checks
join here when members can read on their own (the publisher's CLI issues whatever it asks).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from wenxing import fingerprint
from wenxing.config import PublisherSettings
from wenxing.db.base import utcnow
from wenxing.delivery.marking import material_key, plan_for
from wenxing.delivery.models import IssuedCopy
from wenxing.delivery.render import FORMATS, RENDERERS, CopyContent, recipient_line
from wenxing.delivery.review import vetoes
from wenxing.materials.models import Material, MaterialVersion
from wenxing.members.models import Member


class DeliveryError(ValueError):
    """A copy cannot be issued as asked; the message says why."""


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
    version = session.get(MaterialVersion, _current_version_id(session, material))
    assert version is not None
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


def _current_version_id(session: Session, material: Material) -> int:
    from sqlalchemy import select

    return session.scalars(
        select(MaterialVersion.id).where(
            MaterialVersion.material_id == material.id,
            MaterialVersion.number == material.current_version,
        )
    ).one()


def _safe(title: str) -> str:
    return "".join(ch for ch in title if ch not in '\\/:*?"<>|\n\r\t')[:60] or "material"
