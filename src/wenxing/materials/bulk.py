"""Changing many materials at once: publish, unpublish, set a category, add a tag, delete
drafts. One rule for the console, the API and the command line.

Each action is one transaction and one audit event naming the materials it changed
(``count`` and ``ids``); materials it leaves alone (already published, a draft that was
once published) are not counted. Publishing raises ``MaterialPublished`` per material under
one run key and ``ImportRunEnded`` at the end, so a hundred materials published together
are announced as one digest, exactly as a folder imported with 发布 is.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from wenxing import audit
from wenxing.errors import DomainError
from wenxing.events import ImportRunEnded, MaterialEdited, raise_
from wenxing.materials.catalog import set_published
from wenxing.materials.models import Material

ACTIONS = ("publish", "unpublish", "category", "tag", "delete")
MAX_BULK = 1000  # materials one action may change
MAX_CATEGORY = 100
MAX_TAG = 20
MAX_TAGS = 10


@dataclass(frozen=True)
class BulkResult:
    action: str
    changed: list[int]  # ids of the materials changed
    skipped: int  # asked for, left as they were


def _rows(session: Session, ids: Sequence[int]) -> list[Material]:
    if not ids:
        raise DomainError("material.bulk_none")
    if len(ids) > MAX_BULK:
        raise DomainError("material.bulk_too_many", limit=MAX_BULK)
    return list(
        session.scalars(select(Material).where(Material.id.in_(list(ids))).order_by(Material.id))
    )


def _clean_tag(value: str) -> str:
    tag = value.strip()
    if not tag or "," in tag or "，" in tag or len(tag) > MAX_TAG:
        raise DomainError("material.bad_tag", chars=MAX_TAG)
    return tag


def _publish(session: Session, rows: list[Material], published: bool) -> list[int]:
    wanted = "published" if published else "draft"
    changed = [m for m in rows if m.status != wanted]
    if published and len(changed) > 1:
        run = uuid.uuid4().hex  # one announcement for all of them (live/digests.py)
        for material in changed:
            set_published(session, material.id, True, run=run)
        raise_(session, ImportRunEnded(run))
    elif published:  # one material is announced as itself, once, not as a digest of one
        for material in changed:
            set_published(session, material.id, True)
    else:
        for material in changed:
            set_published(session, material.id, False)
    return [m.id for m in changed]


def _categorise(session: Session, rows: list[Material], value: str) -> list[int]:
    category = value.strip() or None
    if category and len(category) > MAX_CATEGORY:
        raise DomainError("material.bad_category", chars=MAX_CATEGORY)
    changed = [m for m in rows if m.category != category]
    for material in changed:
        material.category = category
        raise_(session, MaterialEdited(material.id))
    return [m.id for m in changed]


def _tag(session: Session, rows: list[Material], value: str) -> list[int]:
    tag = _clean_tag(value)
    changed = []
    for material in rows:
        tags = [t for t in (material.tags or "").split(",") if t]
        if tag in tags:
            continue
        if len(tags) >= MAX_TAGS:
            raise DomainError("material.too_many_tags", title=material.title, tags=MAX_TAGS)
        material.tags = ",".join([*tags, tag])
        raise_(session, MaterialEdited(material.id))
        changed.append(material.id)
    return changed


def _delete_drafts(session: Session, rows: list[Material]) -> list[int]:
    # Only a draft never published: nobody holds a copy of it, nothing was announced.
    doomed = [m.id for m in rows if m.status == "draft" and m.published_at is None]
    if doomed:
        session.execute(delete(Material).where(Material.id.in_(doomed)))
    return doomed


def apply(
    session: Session,
    action: str,
    ids: Sequence[int],
    *,
    actor: str,
    value: str = "",
    ip: str | None = None,
) -> BulkResult:
    """Do ``action`` to the materials ``ids`` (``value``: the category or the tag), in the
    caller's transaction, and record it in the audit log."""
    if action not in ACTIONS:
        raise DomainError("material.bulk_action")
    rows = _rows(session, ids)
    if action in ("publish", "unpublish"):
        changed = _publish(session, rows, action == "publish")
    elif action == "category":
        changed = _categorise(session, rows, value)
    elif action == "tag":
        changed = _tag(session, rows, value)
    else:
        changed = _delete_drafts(session, rows)
    if changed:
        audit.record(
            session,
            audit.MATERIAL_BULK[action],
            actor=actor,
            ip=ip,
            count=len(changed),
            ids=changed,
            value=value.strip() if action in ("category", "tag") else None,
        )
    return BulkResult(action, changed, len(ids) - len(changed))
