"""Tables of the live domain: the event outbox, notifications, feed secrets, group robots and
their deliveries, imports' held publications, and the requests board."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from wenxing.db.base import Base, utcnow


class LiveEvent(Base):
    """A domain event, written in the transaction of the change that caused it (the outbox).
    Its id orders events and is the SSE event id a client resumes from."""

    __tablename__ = "live_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    type: Mapped[str] = mapped_column(String(40), index=True)
    # Who may see it: public, members (anyone entitled to member materials), staff, or
    # member:<id> (one account)
    audience: Mapped[str] = mapped_column(String(40), index=True)
    payload: Mapped[str] = mapped_column(Text, default="{}")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)


class Notification(Base):
    """A message to one account (the bell). ``dedupe`` makes a reminder or notice that more
    than one worker might raise exist once."""

    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_member_unread", "member_id", "read_at", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    kind: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str | None] = mapped_column(Text)
    link: Mapped[str | None] = mapped_column(String(300))
    event_id: Mapped[int | None] = mapped_column(ForeignKey("live_events.id"))
    dedupe: Mapped[str | None] = mapped_column(String(120), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(DateTime)


class FeedToken(Base):
    """The secret of an account's personal feed URL (only its hash is kept); revocable."""

    __tablename__ = "feed_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)


class Robot(Base):
    """A group chat's webhook robot (企业微信, 钉钉 or 飞书) announcing to one group."""

    __tablename__ = "bot_robots"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(60))
    platform: Mapped[str] = mapped_column(String(16))  # wecom | dingtalk | feishu
    audience: Mapped[str] = mapped_column(String(16))  # member | free (which group)
    # Both sealed (bot_credentials): "v1:" + base64 of an AES-GCM nonce and ciphertext.
    webhook_url: Mapped[str] = mapped_column(Text)  # its key is in the URL
    secret: Mapped[str | None] = mapped_column(Text)  # signing secret (钉钉, 飞书)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class BotDelivery(Base):
    """One announcement of one event by one robot: pending → sending → sent | failed, with
    retries and a growing delay between them. One row per (robot, event): never sent twice."""

    __tablename__ = "bot_deliveries"
    __table_args__ = (UniqueConstraint("robot_id", "event_id", name="uq_bot_deliveries"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    robot_id: Mapped[int] = mapped_column(ForeignKey("bot_robots.id"), index=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("live_events.id"))
    state: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime)
    last_status: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class DigestItem(Base):
    """A material published by an import run of several files, held for the run's one
    announcement (live/announce.py: a digest). ``run`` names the import run; the item is
    pending until ``announced_at``, when it is announced with the other pending items of its
    run, as a digest named ``digest`` (the first of those items' id). ``digest`` stays empty
    for a material announced on its own (the run published only it) or unpublished by
    then."""

    __tablename__ = "live_digest_items"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run: Mapped[str] = mapped_column(String(32), index=True)
    material_id: Mapped[int] = mapped_column(ForeignKey("materials.id"))
    # the material's own (held) material.published event
    event_id: Mapped[int] = mapped_column(ForeignKey("live_events.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    announced_at: Mapped[datetime | None] = mapped_column(DateTime, index=True)
    digest: Mapped[int | None] = mapped_column(Integer, index=True)


class MaterialRequest(Base):
    """A member's request (需求) for a material: open → fulfilled (a published material
    linked) | declined (with a reason)."""

    __tablename__ = "material_requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    topic: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str | None] = mapped_column(String(16))
    occasion: Mapped[str | None] = mapped_column(String(200))
    deadline: Mapped[date | None] = mapped_column(Date)
    state: Mapped[str] = mapped_column(String(16), default="open", index=True)
    supporters: Mapped[int] = mapped_column(Integer, default=0)
    material_id: Mapped[int | None] = mapped_column(ForeignKey("materials.id"))
    answer: Mapped[str | None] = mapped_column(Text)
    answered_by: Mapped[str | None] = mapped_column(String(64))
    answered_at: Mapped[datetime | None] = mapped_column(DateTime)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)


class RequestSupport(Base):
    """A member's support (+1) of a request; once per member."""

    __tablename__ = "request_supports"
    __table_args__ = (UniqueConstraint("request_id", "member_id", name="uq_request_supports"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("material_requests.id"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
