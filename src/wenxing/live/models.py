"""Tables of the live domain: the event outbox, notifications, feed secrets, group robots and
their deliveries, and imports' held publications (the requests board's are in requests/)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
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
    """A group chat's robot announcing to one group: a webhook robot (企业微信, 钉钉, 飞书),
    a OneBot v11 framework's QQ account (onebot) or a QQ official platform bot (qqbot)."""

    __tablename__ = "bot_robots"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(60))
    platform: Mapped[str] = mapped_column(String(16))  # wecom | dingtalk | feishu | onebot | qqbot
    audience: Mapped[str] = mapped_column(String(16))  # member | free (which group)
    # Both sealed (bot_credentials): "v1:" + base64 of an AES-GCM nonce and ciphertext.
    webhook_url: Mapped[str] = mapped_column(Text)  # its key is in the URL
    secret: Mapped[str | None] = mapped_column(Text)  # signing secret (钉钉, 飞书)
    # QQ (revision 0021): the QQ group number (onebot) or group_openid (qqbot) spoken to,
    # the official bot's app id, and OneBot's event-report signing secret (sealed).
    target: Mapped[str | None] = mapped_column(String(64))
    app_id: Mapped[str | None] = mapped_column(String(32))
    event_secret: Mapped[str | None] = mapped_column(Text)
    # When an event report last came with a signature that did not match (shown in the
    # console: the framework's secret and this one differ); nothing else is written then.
    bad_signature_at: Mapped[datetime | None] = mapped_column(DateTime)
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


class QQLink(Base):
    """An account's QQ number: ``qq`` once verified (the member sent the one-time code to a
    group robot's QQ account in a private chat), ``pending_qq`` with the code's hash and
    expiry while it waits. One row per account; a verified number belongs to one account."""

    __tablename__ = "qq_links"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), unique=True)
    qq: Mapped[str | None] = mapped_column(String(16), unique=True)
    verified_at: Mapped[datetime | None] = mapped_column(DateTime)
    pending_qq: Mapped[str | None] = mapped_column(String(16), index=True)
    code_hash: Mapped[str | None] = mapped_column(String(64))
    code_expires_at: Mapped[datetime | None] = mapped_column(DateTime)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class QQSeat(Base):
    """A QQ number in a robot's group, as the door knows it: admitted by the door (or
    heard joining), reminded when its member's plan ended, removed after the grace period
    or gone by itself (``left_at``)."""

    __tablename__ = "qq_seats"
    __table_args__ = (UniqueConstraint("robot_id", "qq", name="uq_qq_seats"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    robot_id: Mapped[int] = mapped_column(ForeignKey("bot_robots.id"), index=True)
    qq: Mapped[str] = mapped_column(String(16))
    # let in by the door (an approved request): watched even when its QQ is no longer linked
    admitted: Mapped[bool] = mapped_column(Boolean, default=False)
    joined_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    reminded_at: Mapped[datetime | None] = mapped_column(DateTime)
    removed_at: Mapped[datetime | None] = mapped_column(DateTime)
    left_at: Mapped[datetime | None] = mapped_column(DateTime)


class QQDecision(Base):
    """One thing the door did in a group: approved, refused (with the reason), reminded,
    removed; the console lists them per group (the audit log has each too)."""

    __tablename__ = "qq_decisions"
    __table_args__ = (
        Index("ix_qq_decisions_robot", "robot_id", "id"),
        # a join request's flag: decided once however often the framework reports it
        UniqueConstraint("robot_id", "flag", name="uq_qq_decisions_flag"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    robot_id: Mapped[int] = mapped_column(ForeignKey("bot_robots.id"))
    flag: Mapped[str | None] = mapped_column(String(100))
    qq: Mapped[str] = mapped_column(String(16))
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    action: Mapped[str] = mapped_column(String(16))  # approved | refused | reminded | removed
    reason: Mapped[str] = mapped_column(String(40))  # a reason code (qq_door.REASONS)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
