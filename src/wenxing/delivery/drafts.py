"""Issuing a copy that holds pieces of several materials (a member's draft, ``compose``).

The same rules as :func:`delivery.issue.record_copy`, for every material a piece comes
from: the member must be active and may read each one (the first refusal is raised, with
its reason, before anything is written), and the copy counts once against the daily
downloads however many pieces it holds. The ledger gets one ``IssuedCopy`` line for the
copy (named after its first piece's version, which its copy tag signs) and one
``IssuedPiece`` per piece with the marking plan of the piece's own version: tracing reads
each piece with that plan and finds the member among that version's recipients.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from wenxing import clock, fingerprint, limits, metrics
from wenxing.actors import Actor
from wenxing.config import PublisherSettings
from wenxing.db.base import utcnow
from wenxing.delivery.issue import (
    DeliveryError,
    NotEntitled,
    check_quota,
    copy_tag_key,
    new_copy_id,
)
from wenxing.delivery.marking import material_key, plan_for
from wenxing.delivery.models import DRAFT_FORMATS, IssuedCopy, IssuedPiece
from wenxing.delivery.queries import asked_by_members
from wenxing.delivery.review import vetoes
from wenxing.materials.models import Material, MaterialVersion
from wenxing.members.entitlement import may_read, quota_resets_at
from wenxing.members.models import Member
from wenxing.members.subscriptions import account_view, plans


class PieceRefused(NotEntitled):
    """The member may not read the material of one of the pieces (``title`` names it)."""

    def __init__(self, title: str, reason: str):
        super().__init__(f"not entitled to {title!r} ({reason})", reason)
        self.title = title


@dataclass(frozen=True)
class PieceSource:
    """Where one piece of the copy comes from."""

    material: Material
    version: MaterialVersion
    anchor: str


@dataclass(frozen=True)
class VersionMarking:
    """What marking a version's pieces for the member needs (no database)."""

    plan: fingerprint.Plan
    key: bytes


@dataclass(frozen=True)
class AssembledCopy:
    copy_id: int
    member_number: str
    copy_tag: str
    issued_on: str  # YYYY-MM-DD, the publisher's day
    masthead: tuple[str, ...]
    markings: dict[int, VersionMarking]  # by version id
    # False when the member exported the same pieces in this format earlier today and is
    # handed that copy again (its ledger lines stand; nothing counted, nothing to take back).
    new: bool = True


def record_assembled(
    session: Session,
    secret: bytes,
    publisher: PublisherSettings,
    member: Member,
    sources: Sequence[PieceSource],
    fmt: str,
    *,
    actor: Actor | str,
    ip: str | None = None,
    user_agent: str | None = None,
) -> AssembledCopy:
    """Check, hold the member's ledger, count the quota once and write the ledger lines of
    one copy made of ``sources``; the caller renders it (needing no session) and commits.
    Raises ``NotEntitled``/``DeliveryError`` before anything is written."""
    if fmt not in DRAFT_FORMATS:
        raise DeliveryError(f"unknown format {fmt!r}; choose one of {', '.join(DRAFT_FORMATS)}")
    if not sources:
        raise DeliveryError("a copy of pieces needs at least one piece")
    if member.status != "active":
        raise NotEntitled(f"member {member.number} is {member.status}", member.status)
    now = utcnow()
    actor = Actor.of(actor)
    if not actor.is_publisher:
        _check_all(session, publisher, member, sources, now)
        limits.hold(session, limits.Subject("quota", member.id))
        earlier = todays_assembled(session, member.id, sources, fmt, now, publisher.timezone)
        if earlier is None:
            check_quota(session, publisher, member, now)
    else:
        earlier = None
    markings, plan_ids = _markings(session, secret, publisher, sources)
    if earlier is None:
        copy_id = _write_ledger(session, member, sources, plan_ids, fmt, actor, ip, user_agent)
    else:
        copy_id = earlier
    first = sources[0]
    if earlier is None:  # a copy handed out again is not a new one (as record_copy counts)
        metrics.COPIES.labels(DRAFT_FORMATS[fmt]).inc()
    return AssembledCopy(
        copy_id=copy_id,
        member_number=member.number,
        copy_tag=fingerprint.sign_copy(
            copy_tag_key(secret), copy_id, member.number, first.version.id
        ),
        issued_on=clock.day_of(now, publisher.timezone),
        masthead=tuple(publisher.masthead_lines()),
        markings=markings,
        new=earlier is None,
    )


def todays_assembled(
    session: Session,
    member_id: int,
    sources: Sequence[PieceSource],
    fmt: str,
    now: datetime,
    zone: str,
) -> int | None:
    """The id of the copy in this format holding exactly these pieces (the same versions
    and sections, in any order) that the member asked for earlier this publisher-local day,
    if any: exported again — reordered, retitled, with other own paragraphs — it is the same
    copy under the same marks, as a material opened again is, and counts no second time."""
    day_start = quota_resets_at(now, zone) - timedelta(days=1)
    wanted = sorted((source.version.id, source.anchor) for source in sources)
    copies = session.scalars(
        select(IssuedCopy.id)
        .where(
            IssuedCopy.member_id == member_id,
            IssuedCopy.created_at >= day_start,
            IssuedCopy.format == DRAFT_FORMATS[fmt],
            asked_by_members(),
        )
        .order_by(IssuedCopy.created_at)
    ).all()
    if not copies:
        return None
    held: dict[int, list[tuple[int, str]]] = {copy_id: [] for copy_id in copies}
    for copy_id, version_id, anchor in session.execute(
        select(IssuedPiece.copy_id, IssuedPiece.version_id, IssuedPiece.anchor).where(
            IssuedPiece.copy_id.in_(copies)
        )
    ):
        held[copy_id].append((version_id, anchor))
    for copy_id in copies:
        if sorted(held[copy_id]) == wanted:
            return copy_id
    return None


def _check_all(
    session: Session,
    publisher: PublisherSettings,
    member: Member,
    sources: Sequence[PieceSource],
    now: datetime,
) -> None:
    """The entitlement rule for every material the pieces come from (the account read
    once); the first refusal names its material."""
    view = account_view(session, member)
    offered = plans(publisher)
    for material in {s.material.id: s.material for s in sources}.values():
        if material.status != "published" or material.published_at is None:
            raise PieceRefused(material.title, "unpublished")
        decision = may_read(view, material.published_at, now, offered)
        if not decision.allowed:
            raise PieceRefused(material.title, decision.reason)


def _markings(
    session: Session, secret: bytes, publisher: PublisherSettings, sources: Sequence[PieceSource]
) -> tuple[dict[int, VersionMarking], dict[int, int]]:
    """Each version's plan (made on first use, as for any copy) and key, and plan ids."""
    markings: dict[int, VersionMarking] = {}
    plan_ids: dict[int, int] = {}
    for source in sources:
        version = source.version
        if version.id not in markings:
            row, plan = plan_for(session, secret, version, publisher, vetoes(session, version.id))
            markings[version.id] = VersionMarking(plan, material_key(secret, version.id))
            plan_ids[version.id] = row.id
    return markings, plan_ids


def _write_ledger(
    session: Session,
    member: Member,
    sources: Sequence[PieceSource],
    plan_ids: dict[int, int],
    fmt: str,
    actor: Actor,
    ip: str | None,
    user_agent: str | None,
) -> int:
    """One ledger line for the copy and one per piece; the copy's id."""
    first = sources[0]
    log = IssuedCopy(
        id=new_copy_id(session),
        member_id=member.id,
        material_id=first.material.id,
        version_id=first.version.id,
        plan_id=plan_ids[first.version.id],
        format=DRAFT_FORMATS[fmt],
        actor=str(actor),
        ip=ip,
        user_agent=(user_agent or "")[:300] or None,
    )
    session.add(log)
    session.flush()
    for position, source in enumerate(sources):
        session.add(
            IssuedPiece(
                copy_id=log.id,
                position=position,
                material_id=source.material.id,
                version_id=source.version.id,
                plan_id=plan_ids[source.version.id],
                anchor=source.anchor,
            )
        )
    session.flush()
    return log.id
