"""Read helpers over the issuance log for other packages and pages: a member's copies, and
who holds copies of a material's older versions."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from wenxing.actors import PUBLISHER_SPELLING
from wenxing.delivery.models import SNIPPET, IssuedCopy
from wenxing.materials.models import Material, MaterialVersion
from wenxing.members.models import Member


def copies_of(session: Session, member_id: int, limit: int = 50) -> list[dict]:
    """A member's most recent copies, newest first (their download history)."""
    rows = session.execute(
        select(IssuedCopy, Material.title)
        .join(Material, Material.id == IssuedCopy.material_id)
        .where(IssuedCopy.member_id == member_id, IssuedCopy.format != SNIPPET)
        .order_by(IssuedCopy.created_at.desc(), IssuedCopy.id.desc())
        .limit(limit)
    ).all()
    return [
        {
            "copy": copy.id,
            "material": copy.material_id,
            "title": title,
            "format": copy.format,
            "at": copy.created_at,
        }
        for copy, title in rows
    ]


def holders_of_older_versions(session: Session, material_id: int) -> list[int]:
    """Accounts that took a copy of a version of the material older than its current one
    (they are told of the new version)."""
    current = (
        select(MaterialVersion.id)
        .join(Material, Material.id == MaterialVersion.material_id)
        .where(Material.id == material_id, MaterialVersion.number == Material.current_version)
        .scalar_subquery()
    )
    return list(
        session.scalars(
            select(IssuedCopy.member_id)
            .where(IssuedCopy.material_id == material_id, IssuedCopy.version_id != current)
            .distinct()
            .order_by(IssuedCopy.member_id)
        )
    )


def copies_of_material(session: Session, material_id: int, limit: int = 50) -> list[dict]:
    """The most recent copies of one material, newest first, with who received them and
    how many there are in all (the console's material page)."""
    rows = session.execute(
        select(IssuedCopy, Member.number, Member.name)
        .join(Member, Member.id == IssuedCopy.member_id)
        .where(IssuedCopy.material_id == material_id, IssuedCopy.format != SNIPPET)
        .order_by(IssuedCopy.created_at.desc(), IssuedCopy.id.desc())
        .limit(limit)
    ).all()
    return [
        {"copy": c.id, "number": number, "name": name, "format": c.format, "at": c.created_at}
        for c, number, name in rows
    ]


def copies_count(session: Session, material_id: int) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(IssuedCopy)
            .where(IssuedCopy.material_id == material_id, IssuedCopy.format != SNIPPET)
        )
        or 0
    )


def asked_by_members():
    """The issuance log's copies members asked for, not those the publisher handed out
    (whose stored actor is spelled as ``actors.Actor.publisher`` spells it)."""
    return ~IssuedCopy.actor.startswith(PUBLISHER_SPELLING)
