"""Reading one material and its current version: the helpers other packages read with.

Kept apart from ``catalog`` (which publishes and raises events) so that a package that only
reads materials — delivery, search, the live announcements — depends on the tables and
nothing else of the materials package.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from wenxing.materials.models import Material, MaterialVersion


class MaterialNotFound(LookupError):
    """No material has that id."""


def get_material(session: Session, material_id: int) -> Material:
    material = session.get(Material, material_id)
    if material is None:
        raise MaterialNotFound(material_id)
    return material


def current_version(session: Session, material: Material) -> MaterialVersion:
    return session.scalars(
        select(MaterialVersion).where(
            MaterialVersion.material_id == material.id,
            MaterialVersion.number == material.current_version,
        )
    ).one()
