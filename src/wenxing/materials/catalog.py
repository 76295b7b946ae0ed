"""Reading and publishing materials: the library as the rest of wenxing sees it."""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import event, false, func, literal, select
from sqlalchemy.orm import Session, object_session

from wenxing.db.base import utcnow
from wenxing.errors import DomainError
from wenxing.events import MaterialEdited, MaterialPublished, MaterialUnpublished, raise_
from wenxing.materials.models import KINDS, Material, MaterialVersion
from wenxing.materials.outline import public_heading
from wenxing.materials.queries import MaterialNotFound as MaterialNotFound
from wenxing.materials.queries import current_version as current_version
from wenxing.materials.queries import get_material as get_material

PREVIEW_CHARS = 300
_CHANGED = "wenxing_catalog_changed"
_changed_here = 0  # transactions of this process that changed materials (caches go stale)


@dataclass(frozen=True)
class MaterialSummary:
    id: int
    title: str
    kind: str
    category: str | None
    status: str
    version: int
    chars: int
    published_at: datetime | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "kind": self.kind,
            "category": self.category,
            "status": self.status,
            "version": self.version,
            "chars": self.chars,
            "published_at": iso(self.published_at),
        }


def changes_here() -> int:
    """How many committed transactions of this process have written materials or their
    versions: a list kept in memory is stale when this has moved."""
    return _changed_here


def _written(_mapper, _connection, target) -> None:
    session = object_session(target)
    if session is not None:
        session.info[_CHANGED] = True


for _model in (Material, MaterialVersion):
    for _when in ("after_insert", "after_update", "after_delete"):
        event.listen(_model, _when, _written)


@event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:
    # A savepoint's release fires this too, before anything is visible to other sessions:
    # counted then, a page reloading meanwhile kept the old lists as the new ones.
    global _changed_here
    if not session.in_nested_transaction() and session.info.pop(_CHANGED, False):
        _changed_here += 1


@event.listens_for(Session, "after_rollback")
def _rolled_back(session: Session) -> None:
    if not session.in_nested_transaction():  # a savepoint rolled back: the rest may commit
        session.info.pop(_CHANGED, None)


def iso(moment: datetime | None) -> str | None:
    return moment.isoformat(timespec="seconds") + "Z" if moment else None


def _shelved(query, category: str | None, tag: str | None, ids: Collection[int] | None = None):
    """Only materials in ``category``, carrying ``tag`` and among ``ids`` (each when
    given)."""
    if ids is not None:
        query = query.where(Material.id.in_(list(ids)))
    if category is not None:
        query = query.where(Material.category == category)
    if tag is not None:
        if not tag or "," in tag:
            return query.where(false())  # tags are kept as "a,b": no tag holds a comma
        listed = literal(",") + Material.tags + literal(",")
        query = query.where(listed.contains(f",{tag},", autoescape=True))
    return query


def list_materials(
    session: Session,
    *,
    published_only: bool = False,
    newest_first: bool = False,
    limit: int = 100,
    offset: int = 0,
    category: str | None = None,
    tag: str | None = None,
    ids: Collection[int] | None = None,
) -> list[MaterialSummary]:
    query = (
        select(Material, MaterialVersion.chars)
        .join(
            MaterialVersion,
            (MaterialVersion.material_id == Material.id)
            & (MaterialVersion.number == Material.current_version),
        )
        .order_by(
            *(
                (Material.published_at.desc(), Material.id.desc())
                if newest_first
                else (Material.id,)
            )
        )
        .limit(limit)
        .offset(offset)
    )
    if published_only:
        query = query.where(Material.status == "published")
    query = _shelved(query, category, tag, ids)
    return [
        MaterialSummary(
            m.id, m.title, m.kind, m.category, m.status, m.current_version, chars, m.published_at
        )
        for m, chars in session.execute(query).all()
    ]


def count_materials(
    session: Session,
    *,
    published_only: bool = False,
    category: str | None = None,
    tag: str | None = None,
    ids: Collection[int] | None = None,
) -> int:
    query = select(func.count()).select_from(Material)
    if published_only:
        query = query.where(Material.status == "published")
    return session.scalar(_shelved(query, category, tag, ids)) or 0


def material_document(session: Session, material_id: int) -> dict[str, Any]:
    """The full current version with body and outline (for the publisher; never a member)."""
    material = get_material(session, material_id)
    version = current_version(session, material)
    return {
        "id": material.id,
        "version": version.number,
        "versions": material.current_version,
        "title": version.title,
        "kind": version.kind,
        "category": material.category,
        "tags": [t for t in (material.tags or "").split(",") if t],
        "status": material.status,
        "published_at": iso(material.published_at),
        "source": {
            "name": version.source_name,
            "format": version.source_format,
            "encoding": version.source_encoding,
        },
        "chars": version.chars,
        "keywords": json.loads(version.keywords),
        "body": version.body,
        "outline": json.loads(version.outline),
    }


def public_view(session: Session, material_id: int) -> dict[str, Any]:
    """What a visitor may see: title, kind, outline headings and the first 300 characters."""
    document = material_document(session, material_id)
    return {
        "id": document["id"],
        "title": document["title"],
        "kind": document["kind"],
        "category": document["category"],
        "tags": document["tags"],
        "published_at": document["published_at"],
        "chars": document["chars"],
        "keywords": document["keywords"],
        "preview": document["body"][:PREVIEW_CHARS],
        "outline": _headings_only(document["outline"]),
    }


def _headings_only(nodes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            "type": node["type"],
            "level": node["level"],
            "marker": node["marker"],
            "heading": public_heading(node),
            "children": _headings_only(node["children"]),
        }
        for node in nodes
        if node["type"] in ("section", "item")
    ]


def set_published(
    session: Session, material_id: int, published: bool, *, run: str | None = None
) -> Material:
    """Publish or unpublish; ``run`` holds the announcement for a run's digest."""
    material = get_material(session, material_id)
    if published and material.status != "published":
        material.status = "published"
        # Republishing keeps the first publication date: the archive window follows it, so
        # unpublishing and republishing must not move an old material into every window.
        material.published_at = material.published_at or utcnow()
        raise_(session, MaterialPublished(material.id, run=run))
    elif not published and material.status == "published":
        material.status = "draft"
        raise_(session, MaterialUnpublished(material.id))
    return material


MAX_TITLE = 300
MAX_TAGS = 10
MAX_TAG_CHARS = 20


def edit_material(
    session: Session, material_id: int, *, title: str, kind: str, category: str, tags: str
) -> Material:
    """Change a material's title, kind, category and tags (``tags``: separated by commas,
    ASCII or full-width); its text is untouched. Bad input changes nothing."""
    clean_tags = [t.strip() for t in tags.replace("，", ",").split(",") if t.strip()]
    if not title.strip() or len(title.strip()) > MAX_TITLE:
        raise DomainError("material.title", chars=MAX_TITLE)
    if kind not in KINDS:
        raise DomainError("material.kind")
    if len(clean_tags) > MAX_TAGS or any(len(t) > MAX_TAG_CHARS for t in clean_tags):
        raise DomainError("material.tags", tags=MAX_TAGS, chars=MAX_TAG_CHARS)
    material = get_material(session, material_id)
    material.title, material.kind = title.strip(), kind
    material.category = category.strip()[:100] or None
    material.tags = ",".join(dict.fromkeys(clean_tags))
    # Copies print the version's title: the current one follows the edit.
    current_version(session, material).title = material.title
    raise_(session, MaterialEdited(material_id))
    return material


def categories(session: Session) -> list[tuple[str, int]]:
    """Categories of published materials with their counts, largest first."""
    rows = session.execute(
        select(Material.category, func.count())
        .where(Material.status == "published", Material.category.is_not(None))
        .group_by(Material.category)
        .order_by(func.count().desc(), Material.category)
    ).all()
    return [(name, count) for name, count in rows if name]


def versions(session: Session, material_id: int) -> list[dict[str, Any]]:
    """Every version of a material, newest first, with the current one marked."""
    material = get_material(session, material_id)
    rows = session.execute(
        select(
            MaterialVersion.number,
            MaterialVersion.title,
            MaterialVersion.chars,
            MaterialVersion.created_at,
            MaterialVersion.source_name,
            MaterialVersion.source_format,
        )
        .where(MaterialVersion.material_id == material_id)
        .order_by(MaterialVersion.number.desc())
    ).all()
    return [
        {
            "number": number,
            "title": title,
            "chars": chars,
            "created_at": created_at,
            "source": source,
            "format": fmt,
            "current": number == material.current_version,
        }
        for number, title, chars, created_at, source, fmt in rows
    ]


def section_headings(session: Session, material_ids: list[int]) -> dict[int, list[str]]:
    """The top-level section headings (marker and heading) of each material's current
    version, for listings that describe a material without its text."""
    if not material_ids:
        return {}
    rows = session.execute(
        select(MaterialVersion.material_id, MaterialVersion.outline)
        .join(
            Material,
            (Material.id == MaterialVersion.material_id)
            & (MaterialVersion.number == Material.current_version),
        )
        .where(Material.id.in_(material_ids))
    ).all()
    return {
        material_id: [
            node["marker"] + node["heading"]
            for node in json.loads(outline)
            if node["type"] == "section"
        ]
        for material_id, outline in rows
    }


def titles(session: Session, material_ids: list[int]) -> dict[int, str]:
    """Titles of the given materials that are published, by id."""
    if not material_ids:
        return {}
    rows = session.execute(
        select(Material.id, Material.title).where(
            Material.id.in_(material_ids), Material.status == "published"
        )
    ).all()
    return dict(rows)
