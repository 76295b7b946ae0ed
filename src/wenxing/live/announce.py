"""What the other domains' events announce, in the transaction of their change: the outbox
event and the notifications it causes. The domains raise domain events (``wenxing.events``);
the handlers at the end of this module turn them into announcements. Payloads carry titles,
kinds, dates, links and counts, never a material's body text (they go to browsers over SSE
and to visitors for public events).

The notification texts are written here, in the site's language (``_``), when they are
added.

Publishing a material notifies every account with a subscription active now (all of them
may read a material published now) in one ``INSERT … SELECT``, with one ``notification``
event for the ``members`` audience rather than one per account: publishing stays one
short transaction for thousands of members.

An import run of several files with ``--publish`` announces once (``live/digests.py``):
each material's ``material.published`` event is raised in its file's transaction marked
``held`` (open pages hear of it; no notification, no robot), and when the run ends its
materials are announced together by ``materials_published``: one ``material.digest``
event, one notification per account, one announcement per robot.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import String, cast, literal, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from wenxing import clock
from wenxing.config import PublisherSettings
from wenxing.db.base import utcnow
from wenxing.db.engine import is_sqlite, rowcount
from wenxing.delivery.queries import holders_of_older_versions
from wenxing.events import (
    MaterialPublished,
    MaterialRevised,
    PublicationAnnounced,
    ReportDecided,
    SubscriptionGranted,
    handles,
    raise_,
)
from wenxing.i18n import _
from wenxing.live import events
from wenxing.live.models import DigestItem, Notification
from wenxing.live.notify import notify
from wenxing.materials.queries import get_material
from wenxing.members.subscriptions import subscribed_now

NEW_MATERIAL = "material"
NEW_VERSION = "version"
REPORT = "report"
SANCTION = "sanction"
SUBSCRIPTION = "subscription"
EXPIRY = "expiry"


DIGEST_TITLES = 5  # materials a digest's event names (its page lists them all)
DIGEST_TITLE_CHARS = 60  # of the first material's title in the digest's notification


def material_link(material_id: int) -> str:
    return f"/materials/{material_id}"


def digest_link(digest_id: int) -> str:
    return f"/published/{digest_id}"


def material_published(session: Session, material, *, run: str | None = None) -> None:
    """A material became public: an event for every open page, a notification for every
    account with a subscription now. With ``run`` (an import run of several files), the
    event is marked ``held`` and the material waits for the run's digest instead of
    being notified and announced by the robots on its own."""
    link = material_link(material.id)
    published = material.published_at or utcnow()
    held = {"held": True} if run else {}
    event = events.emit(
        session,
        events.MATERIAL_PUBLISHED,
        "public",
        material=material.id,
        title=material.title,
        kind=material.kind,
        date=published.date().isoformat(),
        link=link,
        **held,
    )
    raise_(session, PublicationAnnounced(event.id, event.audience, held=bool(run)))
    if run:
        session.add(DigestItem(run=run, material_id=material.id, event_id=event.id))
        session.flush()
        _version_notices(session, material, event_id=event.id)
        return
    if not _in_announced_digest(session, material.id):  # members heard of it there
        title = _("新材料：%(title)s") % {"title": material.title}
        _notify_subscribers(session, title, link, event.id, f"published:{material.id}")
    _version_notices(session, material, event_id=event.id)


def _in_announced_digest(session: Session, material_id: int) -> bool:
    """Whether members were told of the material in a digest (live/digests.py)."""
    return (
        session.scalar(
            select(DigestItem.id)
            .where(DigestItem.material_id == material_id, DigestItem.digest.is_not(None))
            .limit(1)
        )
        is not None
    )


def materials_published(session: Session, digest_id: int, materials: list) -> None:
    """Several materials published by one import run, announced together: one
    ``material.digest`` event (its count, the first materials' titles, kinds, dates and
    links, and the link to the digest's page), one notification for every account with a
    subscription now, and (a listener in live/bots.py) one announcement per robot."""
    link = digest_link(digest_id)
    first = materials[0].title
    if len(first) > DIGEST_TITLE_CHARS:
        first = first[:DIGEST_TITLE_CHARS] + "…"
    title = _("新材料 %(n)s 份：《%(title)s》等") % {"n": len(materials), "title": first}
    event = events.emit(
        session,
        events.MATERIAL_DIGEST,
        "public",
        digest=digest_id,
        count=len(materials),
        title=title[:200],
        link=link,
        materials=[
            {
                "material": m.id,
                "title": m.title,
                "kind": m.kind,
                "date": (m.published_at or utcnow()).date().isoformat(),
                "link": material_link(m.id),
            }
            for m in materials[:DIGEST_TITLES]
        ],
    )
    raise_(session, PublicationAnnounced(event.id, event.audience))
    _notify_subscribers(session, title, link, event.id, f"digest:{digest_id}")


def _notify_subscribers(session: Session, title: str, link: str, event_id: int, dedupe: str) -> int:
    """A new-material notification for every account with a subscription now (once per
    ``dedupe`` key), and one ``notification`` event for the ``members`` audience when any
    was added; how many were added."""
    now = utcnow()
    members = subscribed_now(now).subquery()
    rows = select(
        members.c.id,
        literal(NEW_MATERIAL),
        literal(title[:200]),
        literal(link),
        literal(event_id),
        literal(f"{dedupe}:") + cast(members.c.id, String),
        literal(now),
    ).where(literal(True))  # (SQLite's parser needs a WHERE before ON CONFLICT)
    insert = sqlite_insert if is_sqlite(session.get_bind()) else pg_insert
    statement = (
        insert(Notification)
        .from_select(
            ["member_id", "kind", "title", "link", "event_id", "dedupe", "created_at"], rows
        )
        .on_conflict_do_nothing(index_elements=["dedupe"])
    )
    added = rowcount(session.execute(statement)) or 0
    if added:
        events.emit(
            session, events.NOTIFICATION, "members", kind=NEW_MATERIAL, title=title[:200], link=link
        )
    return added


def new_version(session: Session, material, number: int) -> None:
    """A published material has a new version: an event for every open page and a notice
    to each account that took a copy of an older version."""
    event = events.emit(
        session,
        events.MATERIAL_NEW_VERSION,
        "public",
        material=material.id,
        title=material.title,
        kind=material.kind,
        version=number,
        link=material_link(material.id),
    )
    _version_notices(session, material, event_id=event.id)


def _version_notices(session: Session, material, *, event_id: int) -> int:
    """Notify the holders of older versions' copies, once per version (a republished
    material with a version they already heard of adds nothing)."""
    holders = holders_of_older_versions(session, material.id)
    if not holders:
        return 0
    number = material.current_version
    return notify(
        session,
        holders,
        NEW_VERSION,
        _("《%(title)s》有新版本（第 %(n)s 版），请重新下载")
        % {"title": material.title, "n": number},
        link=material_link(material.id),
        event_id=event_id,
        dedupe=f"version:{material.id}:{number}",
    )


def report_decided(
    session: Session,
    *,
    report_id: int,
    receipt: str,
    state: str,
    reporter_id: int | None,
    sanctioned: Sequence[tuple[int, str]] = (),
) -> None:
    """A report was confirmed or rejected: the staff's pages, the reporter's account, and
    each sanctioned member (``(member id, "warn" | "suspend")``)."""
    event = events.emit(
        session, events.REPORT_DECIDED, "staff", report=report_id, receipt=receipt, state=state
    )
    if reporter_id is not None:
        title = (
            _("你的举报 %(receipt)s 已确认，感谢支持")
            if state == "confirmed"
            else _("你的举报 %(receipt)s 未被确认")
        ) % {"receipt": receipt}
        notify(
            session,
            [reporter_id],
            REPORT,
            title,
            link=f"/report/{receipt}",
            event_id=event.id,
            dedupe=f"report:{report_id}",
        )
    for member_id, sanction in sanctioned:
        title = (
            _("你的账号因外传材料已被暂停")
            if sanction == "suspend"
            else _("警告：你领取的材料被发现外传")
        )
        notify(
            session,
            [member_id],
            SANCTION,
            title,
            link="/account",
            event_id=event.id,
            dedupe=f"sanction:{report_id}",
        )


def subscription_granted(
    session: Session, member_id: int, plan: str, plan_name: str, ends_at: datetime
) -> None:
    """A membership was granted or a code redeemed."""
    event = events.emit(
        session,
        events.SUBSCRIPTION_GRANTED,
        f"member:{member_id}",
        plan=plan,
        ends_at=ends_at.isoformat(),
        link="/account",
    )
    # The title names the plan only: the end date in the publisher's time zone would cost
    # a settings read on every redemption; the account page shows it.
    notify(
        session,
        [member_id],
        SUBSCRIPTION,
        _("会员已开通：%(plan)s") % {"plan": plan_name},
        link="/account",
        event_id=event.id,
    )


def local_date(moment: datetime, timezone: str) -> str:
    """A UTC moment as the publisher's calendar date (2026-12-01)."""
    return clock.day_of(moment, timezone)


def publisher_timezone(session: Session) -> str:
    return PublisherSettings.load(session).timezone


# The domain events this module announces (installed by ``wiring.install()``).


@handles(MaterialPublished)
def _on_material_published(session: Session, event: MaterialPublished) -> None:
    material_published(session, get_material(session, event.material_id), run=event.run)


@handles(MaterialRevised)
def _on_material_revised(session: Session, event: MaterialRevised) -> None:
    new_version(session, get_material(session, event.material_id), event.number)


@handles(SubscriptionGranted)
def _on_subscription_granted(session: Session, event: SubscriptionGranted) -> None:
    subscription_granted(session, event.member_id, event.plan, event.plan_name, event.ends_at)


@handles(ReportDecided)
def _on_report_decided(session: Session, event: ReportDecided) -> None:
    report_decided(
        session,
        report_id=event.report_id,
        receipt=event.receipt,
        state=event.state,
        reporter_id=event.reporter_id,
        sanctioned=event.sanctioned,
    )
