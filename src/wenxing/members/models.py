from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from wenxing.db.base import Base, utcnow

FIRST_NUMBER = 10001
ROLES = ("user", "editor", "admin")


class Member(Base):
    """An account. ``number`` (WX-10034) is printed on copies and keys the fingerprint.

    ``role`` is what the account may do on the console (user, editor, admin); whether a
    user is a member or a free user follows from their subscriptions.
    """

    __tablename__ = "members"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(16), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    phone: Mapped[str | None] = mapped_column(String(20), unique=True)
    username: Mapped[str | None] = mapped_column(String(40), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16), default="user")
    status: Mapped[str] = mapped_column(String(16), default="active", index=True)
    suspended_reason: Mapped[str | None] = mapped_column(String(300))
    suspended_at: Mapped[datetime | None] = mapped_column(DateTime)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    # The end of the member's last period of membership (None: never had one), kept with
    # every period written (subscriptions.extend, roster import): the console filters and
    # counts members by it without reading their periods.
    membership_ends: Mapped[datetime | None] = mapped_column(DateTime, index=True)


class Subscription(Base):
    """A period of membership; periods stack end to end, and history is kept."""

    __tablename__ = "subscriptions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    plan: Mapped[str] = mapped_column(String(16))
    starts_at: Mapped[datetime] = mapped_column(DateTime)
    ends_at: Mapped[datetime] = mapped_column(DateTime, index=True)
    source: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class CodeBatch(Base):
    """Codes generated together for one sales channel."""

    __tablename__ = "code_batches"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    label: Mapped[str] = mapped_column(String(60), unique=True)
    channel: Mapped[str] = mapped_column(String(60))
    plan: Mapped[str] = mapped_column(String(16))
    count: Mapped[int] = mapped_column(Integer)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class ActivationCode(Base):
    """One code (卡密). State: issued, redeemed or revoked; expiry is a date, not a state."""

    __tablename__ = "activation_codes"
    # The console's batches and channels count a batch's codes by state without the rows.
    __table_args__ = (
        Index("ix_activation_codes_batch_state", "batch_id", "state", "redeemed_at"),
        # The dashboard's redemptions (and revenue) per plan and day (migration 0019).
        Index("ix_activation_codes_plan_redeemed", "plan", "redeemed_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(17), unique=True)
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("code_batches.id"), index=True)
    plan: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16), default="issued")
    expires_at: Mapped[datetime | None] = mapped_column(DateTime)
    redeemed_by: Mapped[int | None] = mapped_column(ForeignKey("members.id"), index=True)
    redeemed_at: Mapped[datetime | None] = mapped_column(DateTime, index=True)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class AccountSession(Base):
    """A signed-in device. The cookie holds a token; only its hash is stored."""

    __tablename__ = "account_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime)
    ip: Mapped[str | None] = mapped_column(String(45))
    network: Mapped[str | None] = mapped_column(String(45))
    user_agent: Mapped[str | None] = mapped_column(String(300))


class RecoveryToken(Base):
    """A way back into an account: an SMS code (``sms``), a reset link an editor made in
    the console (``link``, 24 hours) or an imported member's invitation (``invite``).
    Only the SHA-256 of the code or link is kept; each is used at most once, and an SMS
    code dies after a few wrong guesses (``attempts``)."""

    __tablename__ = "recovery_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    phone: Mapped[str | None] = mapped_column(String(20), index=True)
    secret_hash: Mapped[str] = mapped_column(String(64), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    used_at: Mapped[datetime | None] = mapped_column(DateTime)
    created_by: Mapped[str] = mapped_column(String(40))
    ip: Mapped[str | None] = mapped_column(String(45), index=True)
