"""The events a resuming listener missed: those beyond the ``Last-Event-ID`` it sends,
read from the outbox (``live_events``), that this listener may see (at most
``hub.BACKLOG``, the newest).

The backlog leaves out what the reader may no longer see: for every role below editor,
events naming a material that has since been withdrawn (unpublished), including a digest
listing one and its notification.
"""

from __future__ import annotations

import json
import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from wenxing.live import hub
from wenxing.live.hub import Frame
from wenxing.live.models import DigestItem, LiveEvent
from wenxing.materials.models import Material

_MATERIAL_LINK = re.compile(r"^/materials/(\d+)$")
_DIGEST_LINK = re.compile(r"^/published/(\d+)$")


def missed(session: Session, after: int, member_id: int | None, role: str) -> list[Frame]:
    """The events beyond ``after`` this listener may see, oldest first, as frames."""
    rows = session.execute(
        select(LiveEvent.id, LiveEvent.type, LiveEvent.audience, LiveEvent.payload)
        .where(
            LiveEvent.id > after,
            LiveEvent.audience.in_(hub.audiences(member_id, role)),
        )
        .order_by(LiveEvent.id.desc())
        .limit(hub.BACKLOG)
    ).all()
    rows = [r for r in rows if hub.visible(r.type, r.audience, member_id, role)]
    if role not in hub.STAFF_ROLES:
        rows = _without_withdrawn(session, rows)
    return [Frame(r.id, hub.encode(r.id, r.type, r.payload)) for r in reversed(rows)]


def named(payload: dict) -> tuple[set[int], set[int]]:
    """(material ids, digest ids) an event's payload names: its material, the materials a
    digest lists, and the material or digest its link points to."""
    materials: set[int] = set()
    digests: set[int] = set()
    if isinstance(payload.get("material"), int):
        materials.add(payload["material"])
    for item in payload.get("materials") or []:
        if isinstance(item, dict) and isinstance(item.get("material"), int):
            materials.add(item["material"])
    if isinstance(payload.get("digest"), int):
        digests.add(payload["digest"])
    link = payload.get("link")
    if isinstance(link, str):
        if found := _MATERIAL_LINK.match(link):
            materials.add(int(found.group(1)))
        elif found := _DIGEST_LINK.match(link):
            digests.add(int(found.group(1)))
    return materials, digests


def _without_withdrawn(session: Session, rows: list) -> list:
    """The rows that name no withdrawn material (one that exists and is not published now)
    and no digest of which any material is withdrawn (its title names the first one)."""
    names = []
    for row in rows:
        try:
            payload = json.loads(row.payload)
        except ValueError:
            payload = {}
        names.append(named(payload) if isinstance(payload, dict) else (set(), set()))
    material_ids = set().union(*(m for m, _d in names)) if names else set()
    digest_ids = set().union(*(d for _m, d in names)) if names else set()
    withdrawn: set[int] = set()
    if material_ids:
        withdrawn = set(
            session.scalars(
                select(Material.id).where(
                    Material.id.in_(material_ids), Material.status != "published"
                )
            )
        )
    hidden_digests: set[int] = set()
    if digest_ids:
        hidden_digests = set(
            session.scalars(
                select(DigestItem.digest)
                .join(Material, Material.id == DigestItem.material_id)
                .where(DigestItem.digest.in_(digest_ids), Material.status != "published")
            )
        )
    return [
        row
        for row, (m, d) in zip(rows, names, strict=True)
        if not (m & withdrawn) and not (d & hidden_digests)
    ]
