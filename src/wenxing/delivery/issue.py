"""Issuing copies: the one path that produces material text for a member.

``issue_copy`` checks that the member may have the copy (entitlement and the daily quota,
unless the publisher is the one asking), finds the version's marking plan, writes the
issuance-log row, marks the body for the recipient and renders the format from the
version's prepared base. Web pages, downloads, the API and the CLI all come through here;
the web takes the two halves apart (``record_copy`` in a short write transaction, then
``PendingCopy.render`` after the commit).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from wenxing import clock, fingerprint, limits, metrics
from wenxing.actors import Actor
from wenxing.config import PublisherSettings
from wenxing.db.base import utcnow
from wenxing.delivery.cache import PREPARED
from wenxing.delivery.docx import DocxFormat
from wenxing.delivery.html import HtmlFormat
from wenxing.delivery.layout import CopyContent, Layout, fill, layout_of
from wenxing.delivery.marking import material_key, plan_for, stored_plan
from wenxing.delivery.models import SNIPPET, IssuedCopy, random_copy_id
from wenxing.delivery.pdf import PdfFormat
from wenxing.delivery.queries import asked_by_members
from wenxing.delivery.render import Format, TxtFormat, recipient_line
from wenxing.delivery.review import vetoes
from wenxing.i18n import N_, _
from wenxing.materials.models import Material, MaterialVersion
from wenxing.materials.queries import current_version
from wenxing.members.entitlement import daily_quota, may_read, quota_resets_at
from wenxing.members.models import Member
from wenxing.members.subscriptions import account_view, plans
from wenxing.serverkey import derive_key

# A copy logged but not marked delivered counts against the daily downloads for this long
# (its delivery may still be under way); after it, the download is given back.
DELIVERY_GRACE = timedelta(minutes=2)

FORMATS: dict[str, Format] = {
    f.name: f for f in (HtmlFormat(), TxtFormat(), DocxFormat(), PdfFormat())
}


class DeliveryError(ValueError):
    """A copy cannot be issued as asked; the message says why (English, for logs/CLI)."""

    @property
    def user_message(self) -> str:
        """What the member is told, in the site's language."""
        return _("暂时无法提供这份材料")


class NotEntitled(DeliveryError):
    """The member may not have this copy now (``reason`` from the entitlement rule)."""

    def __init__(
        self, message: str, reason: str, resets_at: datetime | None = None, timezone: str = ""
    ):
        super().__init__(message)
        self.reason = reason
        self.resets_at = resets_at
        self.timezone = timezone

    @property
    def user_message(self) -> str:
        """What the member is told, in the site's language, with the reset time where there
        is one."""
        if self.reason == "quota" and self.resets_at is not None:
            local = clock.local(self.resets_at, self.timezone)
            return _(
                "今日下载次数已用完，%(year)d年%(month)02d月%(day)02d日 %(hour)02d:%(minute)02d 恢复。"
            ) % {
                "year": local.year,
                "month": local.month,
                "day": local.day,
                "hour": local.hour,
                "minute": local.minute,
            }
        if self.reason in _REFUSALS:
            return _(_REFUSALS[self.reason])
        return _("您暂时不能获取这份材料。")


_REFUSALS = {  # translated where shown
    "preview-visitor": N_("登录并开通会员后即可阅读全文和下载。"),
    "preview-free": N_("这份材料仅对会员开放，开通会员后即可阅读全文和下载。"),
    "outside-window": N_("这份材料不在您当前会员权益的时间范围内，续费或升级套餐后即可获取。"),
    "suspended": N_("您的账号已被暂停，暂时不能获取材料。如有疑问请联系管理员。"),
    "unpublished": N_("这份材料尚未发布或已下架。"),
    "inactive": N_("您的账号已停用，暂时不能获取材料。"),
}


@dataclass(frozen=True)
class IssuedFile:
    copy_id: int
    member_number: str
    format: str
    data: bytes
    filename: str
    media_type: str


@dataclass(frozen=True)
class PendingCopy:
    """A copy whose issuance is recorded (the log row has its id) but not yet rendered.

    Rendering needs no database: the web issues copies by recording one in a short write
    transaction and rendering it after the commit, so that marking and building the file
    do not hold the write lock (SQLite's is one per database) while others wait."""

    copy_id: int
    member_number: str
    form: Format
    version_id: int
    tag_key: bytes
    title: str
    body: str
    plan: fingerprint.Plan
    key: bytes
    layout: Layout
    masthead: tuple[str, ...]
    issued_on: str
    links: tuple[tuple[str, str], ...]
    # False when the member had this copy earlier today and is handed it again (the ledger
    # line is that earlier one's: it must not be taken back if this rendering fails).
    new: bool = True

    def render(self) -> IssuedFile:
        pieces = fingerprint.mark_spans(
            self.body, self.plan, self.key, self.member_number, self.layout.cuts
        )
        content = CopyContent(
            title=self.title,
            blocks=fill(self.layout, pieces),
            toc=self.layout.toc,
            masthead=self.masthead,
            recipient_line=recipient_line(self.member_number, self.issued_on),
            member_number=self.member_number,
            issued_on=self.issued_on,
            copy_tag=fingerprint.sign_copy(
                self.tag_key, self.copy_id, self.member_number, self.version_id
            ),
            copy_id=self.copy_id,
            links=self.links,
            visual_key=self.key,
        )
        prepared = PREPARED.get(self.form, self.version_id, self.layout, self.masthead)
        data = self.form.render(prepared, content)
        filename = f"{_safe(self.title)}-{self.member_number}.{self.form.name}"
        return IssuedFile(
            self.copy_id, self.member_number, self.form.name, data, filename, self.form.media_type
        )


def issue_copy(*args, **kwargs) -> IssuedFile:
    """Issue one logged, fingerprinted copy: :func:`record_copy` (same arguments) and then
    its rendering, both inside the caller's transaction."""
    return record_copy(*args, **kwargs).render()


def record_copy(
    session: Session,
    secret: bytes,
    publisher: PublisherSettings,
    member: Member,
    material: Material,
    fmt: str,
    *,
    actor: Actor | str,
    ip: str | None = None,
    user_agent: str | None = None,
    links: tuple[tuple[str, str], ...] = (),
) -> PendingCopy:
    """Check that ``member`` may have a copy of ``material`` in ``fmt``, find the version's
    marking plan and write the issuance-log row (or find the member's copy of today); the
    copy is rendered by :meth:`PendingCopy.render`, which needs no session. The publisher
    (``actor.is_publisher``; a spelling is read by ``Actor.of``) skips the member's
    entitlement, quota and same-day reuse. Raises
    ``NotEntitled``/``DeliveryError`` before anything is written."""
    form = FORMATS.get(fmt)
    if form is None:
        raise DeliveryError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    if member.status != "active":
        raise NotEntitled(f"member {member.number} is {member.status}", member.status)
    version = current_version(session, material)
    now = utcnow()
    zone = publisher.timezone
    actor = Actor.of(actor)
    if not actor.is_publisher:
        check_entitled(session, publisher, member, material, now)
        # The member's ledger is held from here to the commit: two parallel first opens of
        # the same material make one copy, and the quota is counted one copy at a time.
        limits.hold(session, limits.Subject("quota", member.id))
        earlier = todays_copy(session, member.id, version.id, fmt, now, zone)
        if earlier is not None:
            plan = stored_plan(session, earlier.plan_id)
            return _pending(secret, publisher, member, form, version, earlier.id, plan, links, now)
        check_quota(session, publisher, member, now)
    plan_row, plan = plan_for(session, secret, version, publisher, vetoes(session, version.id))
    global _copies_issued_here
    _copies_issued_here += 1
    metrics.COPIES.labels(fmt).inc()
    log = IssuedCopy(
        id=new_copy_id(session),
        member_id=member.id,
        material_id=material.id,
        version_id=version.id,
        plan_id=plan_row.id,
        format=fmt,
        actor=str(actor),
        ip=ip,
        user_agent=(user_agent or "")[:300] or None,
    )
    session.add(log)
    session.flush()
    pending = _pending(secret, publisher, member, form, version, log.id, plan, links, now)
    return replace(pending, new=True)


def _pending(
    secret: bytes,
    publisher: PublisherSettings,
    member: Member,
    form: Format,
    version: MaterialVersion,
    copy_id: int,
    plan: fingerprint.Plan,
    links: tuple[tuple[str, str], ...],
    now: datetime,
) -> PendingCopy:
    return PendingCopy(
        copy_id=copy_id,
        member_number=member.number,
        form=form,
        version_id=version.id,
        tag_key=copy_tag_key(secret),
        title=version.title,
        body=version.body,
        plan=plan,
        key=material_key(secret, version.id),
        layout=version_layout(version),
        masthead=tuple(publisher.masthead_lines()),
        issued_on=_local_date(now, publisher.timezone),
        links=links,
        new=False,
    )


def todays_copy(
    session: Session, member_id: int, version_id: int, fmt: str, now: datetime, zone: str
) -> IssuedCopy | None:
    """The copy of this version in this format the member asked for earlier this
    publisher-local day, if any: opened again, it is the same copy (the same id, plan and
    date, so the same bytes), one ledger line per member, material, format and day."""
    day_start = quota_resets_at(now, zone) - timedelta(days=1)
    return session.scalar(
        select(IssuedCopy)
        .where(
            IssuedCopy.member_id == member_id,
            IssuedCopy.created_at >= day_start,
            IssuedCopy.version_id == version_id,
            IssuedCopy.format == fmt,
            asked_by_members(),
        )
        .order_by(IssuedCopy.created_at)
        .limit(1)
    )


def new_copy_id(session: Session) -> int:
    """A random copy id no copy in this database has (a repeat is astronomically unlikely,
    but checked: the id is the copy's name in its tag)."""
    while True:
        candidate = random_copy_id()
        if session.get(IssuedCopy, candidate) is None:
            return candidate


def copy_tag_key(secret: bytes) -> bytes:
    """The key every ``WX2`` copy tag is signed with (one per installation, so a tag can
    be checked before its material is known)."""
    return derive_key(secret, "copy-tag")


def mark_delivered(session: Session, copy_ids: list[int]) -> None:
    """Record that these copies reached their member (their bytes were sent or written)."""
    if copy_ids:
        session.execute(
            update(IssuedCopy)
            .where(IssuedCopy.id.in_(copy_ids), IssuedCopy.delivered_at.is_(None))
            .values(delivered_at=utcnow())
        )


def unrecord_copy(session: Session, copy_id: int) -> None:
    """Take back the log row of a copy that could not be rendered (it was never handed out)."""
    row = session.get(IssuedCopy, copy_id)
    if row is not None:
        session.delete(row)


_copies_issued_here = 0  # bumped by every copy this process issues


def copies_issued_here() -> int:
    """Copies this process has issued (a most-read list kept in memory is then stale)."""
    return _copies_issued_here


def version_layout(version: MaterialVersion) -> Layout:
    return layout_of(version.title, version.body, version.outline)


def _local_date(now_utc: datetime, timezone: str) -> str:
    return clock.day_of(now_utc, timezone)


def check_entitled(
    session: Session,
    publisher: PublisherSettings,
    member: Member,
    material: Material,
    now: datetime,
) -> None:
    """Entitlement, for copies a member asks for themselves."""
    if material.status != "published" or material.published_at is None:
        raise NotEntitled("material is not published", "unpublished")
    decision = may_read(account_view(session, member), material.published_at, now, plans(publisher))
    if not decision.allowed:
        raise NotEntitled(f"not entitled ({decision.reason})", decision.reason)


def check_may_take(
    session: Session,
    publisher: PublisherSettings,
    member: Member,
    material: Material,
    fmt: str,
) -> None:
    """Raise what :func:`record_copy` would refuse a member now, writing nothing (before a
    download link is made for them: a link that could only fail is never handed out)."""
    if member.status != "active":
        raise NotEntitled(f"member {member.number} is {member.status}", member.status)
    now = utcnow()
    check_entitled(session, publisher, member, material, now)
    version = current_version(session, material)
    if todays_copy(session, member.id, version.id, fmt, now, publisher.timezone) is None:
        check_quota(session, publisher, member, now)


def copies_left_today(
    session: Session, publisher: PublisherSettings, member: Member, now: datetime
) -> int | None:
    """New copies the member may still take today (None: no limit, for staff). A copy
    opened again the same day is not a new one and is not counted twice."""
    quota = daily_quota(account_view(session, member), now, plans(publisher))
    if quota is None:
        return None
    return max(quota - _counted_today(session, publisher, member, now), 0)


def _counted_today(
    session: Session, publisher: PublisherSettings, member: Member, now: datetime
) -> int:
    day_start = quota_resets_at(now, publisher.timezone) - timedelta(days=1)
    used = (
        session.scalar(
            select(func.count())
            .select_from(IssuedCopy)
            .where(
                IssuedCopy.member_id == member.id,
                IssuedCopy.created_at >= day_start,
                IssuedCopy.format != SNIPPET,
                asked_by_members(),
                # Delivered, or still being delivered: a copy whose worker died before it
                # was sent gives its download back once the grace has passed.
                or_(
                    IssuedCopy.delivered_at.is_not(None),
                    IssuedCopy.created_at > now - DELIVERY_GRACE,
                ),
            )
        )
        or 0
    )
    return used


def check_quota(
    session: Session, publisher: PublisherSettings, member: Member, now: datetime
) -> None:
    """The daily quota, for a new copy a member asks for (the caller holds their ledger)."""
    quota = daily_quota(account_view(session, member), now, plans(publisher))
    if quota is None or _counted_today(session, publisher, member, now) < quota:
        return
    zone = publisher.timezone
    resets_at = quota_resets_at(now, zone)
    raise NotEntitled(
        f"daily quota of {quota} copies used; it resets at {resets_at:%Y-%m-%d %H:%M} UTC",
        "quota",
        resets_at,
        zone,
    )


def _safe(title: str) -> str:
    return "".join(ch for ch in title if ch not in '\\/:*?"<>|\n\r\t')[:60] or "material"
