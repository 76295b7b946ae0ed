"""Atom feeds: a personal feed per account behind a secret, revocable URL, and a public feed.

A feed is a list of what was published, never what it says: titles, kinds, categories,
dates and links, and in the personal feed the first characters of each top-level section
heading. No feed carries 20 consecutive characters of a material's body (architecture rule
1: text leaves only through ``delivery/``), so a feed URL that leaks leaks no material.

The personal feed lists the newest materials the account may read now (``may_read``): a
suspended account's or an ended membership's feed is empty but stays valid, and fills
again when the account may read again. The URL's secret is 32 random bytes; only its
SHA-256 is stored, so the URL is shown once, when it is made. Making a new one revokes the
old; a revoked or unknown secret is a 404.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from wenxing.db.engine import rowcount
from wenxing.live.models import FeedToken
from wenxing.materials import catalog
from wenxing.members.entitlement import Plan, may_read
from wenxing.members.models import Member
from wenxing.members.subscriptions import account_view

ATOM = "http://www.w3.org/2005/Atom"
MEDIA_TYPE = "application/atom+xml; charset=utf-8"
FEED_SIZE = 50
HEADING_CHARS = 16  # of each section heading, after its marker: well under 20 body characters
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{43}$")  # token_urlsafe(32)
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")  # not allowed in XML 1.0
_EPOCH = datetime(2000, 1, 1)


@dataclass(frozen=True)
class FeedEntry:
    material_id: int
    title: str
    kind: str
    category: str | None
    published_at: datetime
    sections: tuple[str, ...] = ()  # shortened headings, personal feeds only


@dataclass(frozen=True)
class FeedInfo:
    """The feed's own facts; URLs are absolute, built from the request's base URL."""

    title: str
    self_url: str
    site_url: str
    author: str
    empty_since: datetime = _EPOCH  # the feed's updated time when it lists nothing


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("ascii", "replace")).hexdigest()


def open_feed(session: Session, member_id: int, now: datetime) -> str:
    """A new feed secret for the account (the previous one, if any, is revoked)."""
    close_feed(session, member_id, now)
    token = secrets.token_urlsafe(32)
    session.add(FeedToken(member_id=member_id, token_hash=token_hash(token), created_at=now))
    session.flush()
    return token


def close_feed(session: Session, member_id: int, now: datetime) -> int:
    """Revoke the account's feed secret; returns how many were revoked (0 or 1)."""
    return rowcount(
        session.execute(
            update(FeedToken)
            .where(FeedToken.member_id == member_id, FeedToken.revoked_at.is_(None))
            .values(revoked_at=now)
            .execution_options(synchronize_session=False)
        )
    )


def feed_opened_at(session: Session, member_id: int) -> datetime | None:
    """When the account's current feed secret was made (None: it has none)."""
    return session.scalar(
        select(FeedToken.created_at)
        .where(FeedToken.member_id == member_id, FeedToken.revoked_at.is_(None))
        .order_by(FeedToken.id.desc())
        .limit(1)
    )


def feed_owner(session: Session, token: str) -> tuple[Member, datetime] | None:
    """The account a feed secret belongs to and when it was made; None when the secret is
    malformed, unknown or revoked."""
    if not _TOKEN.match(token):
        return None
    row = session.execute(
        select(Member, FeedToken.created_at)
        .join(FeedToken, FeedToken.member_id == Member.id)
        .where(FeedToken.token_hash == token_hash(token), FeedToken.revoked_at.is_(None))
    ).first()
    return (row[0], row[1]) if row else None


def personal_entries(
    session: Session, member: Member, plans: dict[str, Plan], now: datetime
) -> list[FeedEntry]:
    """The newest published materials the account may read now, with shortened headings."""
    view = account_view(session, member)
    newest = catalog.list_materials(
        session, published_only=True, newest_first=True, limit=FEED_SIZE
    )
    readable = [
        m
        for m in newest
        if m.published_at is not None and may_read(view, m.published_at, now, plans).allowed
    ]
    headings = catalog.section_headings(session, [m.id for m in readable])
    return [
        FeedEntry(
            m.id,
            m.title,
            m.kind,
            m.category,
            m.published_at,  # type: ignore[arg-type]  # the readable are published
            tuple(_shortened(h) for h in headings.get(m.id, [])),
        )
        for m in readable
    ]


def public_entries(session: Session) -> list[FeedEntry]:
    """The newest published materials: titles, kinds, categories and dates only."""
    newest = catalog.list_materials(
        session, published_only=True, newest_first=True, limit=FEED_SIZE
    )
    return [
        FeedEntry(m.id, m.title, m.kind, m.category, m.published_at)
        for m in newest
        if m.published_at is not None
    ]


def _shortened(heading: str) -> str:
    marker = re.match(r"^[一二三四五六七八九十百]+、|^[（(][一二三四五六七八九十]+[)）]", heading)
    cut = len(marker.group(0)) if marker else 0
    rest = heading[cut:]
    return heading[: cut + HEADING_CHARS] + ("…" if len(rest) > HEADING_CHARS else "")


def _clean(text: str) -> str:
    return _NOT_XML.sub("", text)


def _stamp(moment: datetime) -> str:
    return moment.replace(microsecond=0).isoformat() + "Z"


def updated_at(info: FeedInfo, entries: list[FeedEntry]) -> datetime:
    return max((e.published_at for e in entries), default=info.empty_since)


def atom(info: FeedInfo, entries: list[FeedEntry], *, separator: str = "；") -> bytes:
    """The feed as an Atom 1.0 document (RFC 4287), UTF-8 with an XML declaration."""
    feed = ET.Element("feed", xmlns=ATOM)

    def child(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
        element = ET.SubElement(parent, tag, {k: _clean(v) for k, v in attrs.items()})
        if text is not None:
            element.text = _clean(text)
        return element

    site = info.site_url.rstrip("/")
    child(feed, "title", info.title)
    child(feed, "id", info.self_url)
    child(feed, "link", rel="self", type="application/atom+xml", href=info.self_url)
    child(feed, "link", rel="alternate", type="text/html", href=site + "/")
    child(feed, "updated", _stamp(updated_at(info, entries)))
    author = child(feed, "author")
    child(author, "name", info.author)
    child(feed, "generator", "wenxing")
    for entry in entries:
        url = f"{site}/materials/{entry.material_id}"
        item = child(feed, "entry")
        child(item, "title", entry.title, type="text")
        child(item, "id", url)
        child(item, "link", rel="alternate", type="text/html", href=url)
        child(item, "published", _stamp(entry.published_at))
        child(item, "updated", _stamp(entry.published_at))
        child(item, "category", term=entry.kind, label=entry.kind)
        if entry.category:
            child(
                item,
                "category",
                term=entry.category,
                label=entry.category,
                scheme=site + "/categories/",
            )
        if entry.sections:
            child(item, "summary", separator.join(entry.sections), type="text")
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True)


def entity_tag(document: bytes) -> str:
    return '"' + hashlib.sha256(document).hexdigest()[:32] + '"'
