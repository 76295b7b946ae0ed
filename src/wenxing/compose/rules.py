"""The rules every basket and draft change shares: who may take a piece, the limits."""

from __future__ import annotations

from sqlalchemy.orm import Session

from wenxing.compose import pieces
from wenxing.config import PublisherSettings
from wenxing.db.base import utcnow
from wenxing.delivery.issue import NotEntitled, check_entitled
from wenxing.errors import DomainError
from wenxing.materials.models import Material, MaterialVersion
from wenxing.members.models import Member

BASKET_LIMIT = 60  # pieces in one basket
PARTS_LIMIT = 100  # parts (pieces and own paragraphs) in one draft
DRAFTS_LIMIT = 200  # drafts one account keeps
TITLE_LIMIT = 100
HEADING_LIMIT = 100
TEXT_LIMIT = 5000


def refusal(reason: str, title: str) -> DomainError:
    """The entitlement rule's refusal of a piece of ``title`` as a domain error."""
    if reason == "unpublished":
        return DomainError("compose.unpublished", title=title)
    if reason in ("preview-free", "preview-visitor"):
        return DomainError("compose.preview_free", title=title)
    if reason == "outside-window":
        return DomainError("compose.outside_window", title=title)
    if reason == "suspended":
        return DomainError("compose.suspended", title=title)
    if reason == "inactive":
        return DomainError("compose.inactive", title=title)
    return DomainError("compose.refused", title=title)


def check_may_read(
    session: Session, publisher: PublisherSettings, member: Member, material: Material
) -> None:
    """Raise the reason the member may not take pieces of ``material`` now, if any."""
    if member.status != "active":
        raise refusal(member.status, material.title)
    try:
        check_entitled(session, publisher, member, material, utcnow())
    except NotEntitled as refused:
        raise refusal(refused.reason, material.title) from None


def find_piece(
    session: Session, material_id: int, version_id: int, anchor: str
) -> tuple[Material, MaterialVersion, pieces.Extent]:
    """The material, version and extent a piece names, or ``compose.no_such_piece``."""
    material = session.get(Material, material_id)
    version = session.get(MaterialVersion, version_id)
    if material is None or version is None or version.material_id != material.id:
        raise DomainError("compose.no_such_piece", anchor=anchor)
    found = pieces.extent(version, anchor)
    if found is None:
        raise DomainError("compose.no_such_piece", anchor=anchor)
    return material, version, found


def clean_line(text: str, limit: int, code: str) -> str:
    """One line of the member's (a title, a heading): trimmed, 1 to ``limit`` characters."""
    line = " ".join(text.split())
    if not line or len(line) > limit:
        raise DomainError(code, limit=limit)
    return line


def clean_text(text: str) -> str:
    """A paragraph of the member's own: trimmed, its lines kept, 1 to TEXT_LIMIT characters."""
    lines = [" ".join(line.split()) for line in text.replace("\r", "").split("\n")]
    joined = "\n".join(line for line in lines if line)
    if not joined or len(joined) > TEXT_LIMIT:
        raise DomainError("compose.text", limit=TEXT_LIMIT)
    return joined
