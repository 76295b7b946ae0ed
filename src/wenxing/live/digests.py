"""One announcement for an import run that publishes several materials (a digest).

``wenxing import --publish DIR`` and the console's folder upload with 发布 store one file per
transaction. With more than one file, the run has a key (a random hex string, as ``new_run``
makes) and each material it publishes is held (``MaterialPublished(…, run=key)``, announced
by ``announce.material_published(…, run=key)``): its ``material.published``
event is raised as usual, marked ``held`` (open pages hear of it; no notification, no robot),
and a ``live_digest_items`` row records it, in the same transaction as the publication.

When the run ends — finished, or stopped by an error — the importer raises
``ImportRunEnded`` and ``announce_run`` announces what the run published and is still
published: one material as a single publication
(``announce.material_published``, exactly as the console's 发布 does), several as one
digest (``announce.materials_published``: one notification per account, one announcement
per robot, linking to ``/published/<digest>``, the page listing them). A run whose process
died before announcing (killed, the database gone at the end) is announced by any app
process's hub once nothing has been added to it for ``ABANDONED_SECONDS``
(``announce_abandoned``).

Announcing claims the run's pending rows (an update of rows not yet announced), so a run
is announced once however many processes try at the same moment; a run that goes on
after its rows were claimed (an import that paused that long) adds new rows, announced by
its end as a second digest. Nothing published is left out and nothing is announced twice.
"""

from __future__ import annotations

import json
import logging
import uuid
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from wenxing import clock
from wenxing.db.base import utcnow
from wenxing.db.engine import Database
from wenxing.events import RUN_ABANDONED_SECONDS, ImportRunEnded, handles
from wenxing.i18n import _
from wenxing.live import announce
from wenxing.live.bot_formats import Message
from wenxing.live.models import DigestItem, LiveEvent
from wenxing.materials.models import Material

log = logging.getLogger("wenxing.live")

ABANDONED_SECONDS = RUN_ABANDONED_SECONDS  # a run with nothing new this long: the hub announces it
ANNOUNCED_TITLES = 5  # materials a robot's digest announcement names


def new_run() -> str:
    """A key for an import run whose publications are held for one announcement."""
    return uuid.uuid4().hex


def announce_run(session: Session, run: str, now: datetime | None = None) -> int:
    """Announce the run's held publications not announced yet (in the caller's
    transaction); returns how many materials were announced."""
    claimed = session.execute(
        update(DigestItem)
        .where(DigestItem.run == run, DigestItem.announced_at.is_(None))
        .values(announced_at=now or utcnow())
        .returning(DigestItem.id, DigestItem.material_id)
        .execution_options(synchronize_session=False)
    ).all()
    if not claimed:
        return 0
    claimed = sorted(claimed)
    materials = _published(session, [material_id for _item, material_id in claimed])
    if len(materials) == 1:
        announce.material_published(session, materials[0])
    elif materials:
        # The digest is named by its first item; only the items announced in it carry its
        # name (a material unpublished meanwhile is not in it, and members never heard
        # of it: its republication is notified on its own).
        included = {m.id for m in materials}
        items = [item for item, material in claimed if material in included]
        digest_id = items[0]
        session.execute(
            update(DigestItem)
            .where(DigestItem.id.in_(items))
            .values(digest=digest_id)
            .execution_options(synchronize_session=False)
        )
        announce.materials_published(session, digest_id, materials)
    return len(materials)


@handles(ImportRunEnded)
def _on_run_ended(session: Session, event: ImportRunEnded) -> None:
    """The import run ended: announce it now (``announce_run``)."""
    count = announce_run(session, event.run)
    if count:
        log.info("announced %d published materials", count)


def announce_abandoned(db: Database, now: datetime | None = None) -> int:
    """Announce the runs nothing has been added to for ``ABANDONED_SECONDS`` that are
    still waiting (their import died before announcing); how many materials."""
    now = now or utcnow()
    with db.reading() as session:
        runs = session.scalars(
            select(DigestItem.run)
            .where(DigestItem.announced_at.is_(None))
            .group_by(DigestItem.run)
            .having(func.max(DigestItem.created_at) < now - timedelta(seconds=ABANDONED_SECONDS))
        ).all()
    announced = 0
    for run in runs:
        with db.transaction() as session:
            count = announce_run(session, run, now)
        log.info("announced %d materials of an import run that ended unannounced", count)
        announced += count
    return announced


def _published(session: Session, material_ids: list[int]) -> list:
    """The materials of ``material_ids`` that are published, in the given order."""
    found = {
        m.id: m
        for m in session.scalars(
            select(Material).where(Material.id.in_(material_ids), Material.status == "published")
        )
    }
    return [found[i] for i in dict.fromkeys(material_ids) if i in found]


def material_ids(session: Session, digest_id: int) -> list[int]:
    """The materials a digest announced (published or not now), in the run's order."""
    return list(
        session.scalars(
            select(DigestItem.material_id)
            .where(DigestItem.digest == digest_id)
            .order_by(DigestItem.id)
        )
    )


def announcement(
    session: Session, event: LiveEvent, base_url: str, timezone: str
) -> Message | None:
    """What a robot says about a digest, from its materials as they are now: how many, the
    first few titles with kind and date, and the link to the digest's page (either group:
    the page lists titles; members read from there). None when none is published now."""
    digest_id = json.loads(event.payload).get("digest")
    if not isinstance(digest_id, int):
        return None
    materials = _published(session, material_ids(session, digest_id))
    if not materials:
        return None
    lines = []
    for material in materials[:ANNOUNCED_TITLES]:
        published = material.published_at or event.created_at
        day = clock.day_of(published, timezone)
        lines.append(
            _("《%(title)s》 %(kind)s · %(date)s")
            % {"title": material.title, "kind": material.kind, "date": day}
        )
    if len(materials) > ANNOUNCED_TITLES:
        lines.append(_("……共 %(n)s 份") % {"n": len(materials)})
    return Message(
        title=_("新材料 %(n)s 份") % {"n": len(materials)},
        lines=tuple(lines),
        link=base_url.rstrip("/") + announce.digest_link(digest_id),
        link_text=_("查看全部 %(n)s 份") % {"n": len(materials)},
    )
