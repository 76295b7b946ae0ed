"""Code batches as the console manages them: the list with redemption counts, one code
looked up, a whole batch revoked, a batch's expiry date, redemptions per sales channel."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from wenxing import audit
from wenxing.db.daily import per_local_day
from wenxing.db.engine import rowcount
from wenxing.errors import DomainError
from wenxing.members.codes import format_code, normalise_code
from wenxing.members.models import ActivationCode, CodeBatch, Member
from wenxing.members.redemption import CodeNotFound, code_state


@dataclass(frozen=True)
class CodeLookup:
    code: str  # formatted (XXXX-XXXX-…)
    state: str  # issued, redeemed, revoked, expired
    plan: str
    batch: str | None
    channel: str | None
    redeemed_by: str | None  # member number
    redeemed_by_name: str | None
    redeemed_at: datetime | None
    revoked_at: datetime | None
    expires_at: datetime | None
    created_at: datetime


def _counts(session: Session, since: datetime | None = None) -> dict[int, dict[str, int]]:
    """Per batch: its codes (as many as were generated), how many were redeemed (and since
    ``since``), revoked. Each a range of the index on (batch, state, redeemed_at), counted
    without reading a code."""

    def counted(*conditions):
        return (
            select(func.count())
            .where(ActivationCode.batch_id == CodeBatch.id, *conditions)
            .scalar_subquery()
        )

    redeemed = ActivationCode.state == "redeemed"
    rows = session.execute(
        select(
            CodeBatch.id,
            CodeBatch.count,
            counted(redeemed),
            counted(redeemed, ActivationCode.redeemed_at >= since) if since else counted(redeemed),
            counted(ActivationCode.state == "revoked"),
        )
    ).all()
    return {
        batch_id: {"codes": codes, "redeemed": used, "recent": lately, "revoked": revoked}
        for batch_id, codes, used, lately, revoked in rows
    }


def batches(session: Session, counts: dict[int, dict[str, int]] | None = None) -> list[dict]:
    """Every batch, newest first, with how many of its codes were redeemed and revoked
    (``counts``: ``_counts``'s, when the caller has them already)."""
    counts = _counts(session) if counts is None else counts
    none = {"redeemed": 0, "revoked": 0}
    return [
        {
            "label": b.label,
            "plan": b.plan,
            "count": b.count,
            "redeemed": counts.get(b.id, none)["redeemed"],
            "revoked": counts.get(b.id, none)["revoked"],
            "channel": b.channel,
            "at": b.created_at,
            "expires_at": b.expires_at,
        }
        for b in session.scalars(select(CodeBatch).order_by(CodeBatch.id.desc()))
    ]


def lookup(session: Session, entry: str, now: datetime) -> CodeLookup:
    """One code as typed (any case, with or without dashes): its state, its batch, who
    redeemed it and when."""
    code = normalise_code(entry)
    row = session.execute(
        select(ActivationCode, CodeBatch, Member)
        .outerjoin(CodeBatch, CodeBatch.id == ActivationCode.batch_id)
        .outerjoin(Member, Member.id == ActivationCode.redeemed_by)
        .where(ActivationCode.code == code)
    ).one_or_none()
    if row is None:
        raise CodeNotFound("code.not_found")
    found, batch, member = row
    return CodeLookup(
        format_code(found.code),
        code_state(found, now),
        found.plan,
        batch.label if batch else None,
        batch.channel if batch else None,
        member.number if member else None,
        member.name if member else None,
        found.redeemed_at,
        found.revoked_at,
        found.expires_at,
        found.created_at,
    )


def _batch(session: Session, label: str) -> CodeBatch:
    batch = session.scalar(select(CodeBatch).where(CodeBatch.label == label))
    if batch is None:
        raise DomainError("code.no_batch", label=label)
    return batch


def revoke_batch(session: Session, label: str, *, actor: str, now: datetime) -> int:
    """Revoke every unused code of the batch (redeemed ones stay); returns how many."""
    batch = _batch(session, label)
    revoked = rowcount(
        session.execute(
            update(ActivationCode)
            .where(ActivationCode.batch_id == batch.id, ActivationCode.state == "issued")
            .values(state="revoked", revoked_at=now)
            .execution_options(synchronize_session=False)
        )
    )
    audit.record(session, audit.CODE_REVOKE, actor=actor, subject=label, batch=label, count=revoked)
    return revoked


def set_batch_expiry(
    session: Session, label: str, expires_at: datetime | None, *, actor: str, now: datetime
) -> int:
    """The last moment the batch's unused codes may be redeemed (None: never expire);
    returns how many codes it applies to."""
    if expires_at is not None and expires_at <= now:
        raise DomainError("code.expiry_past")
    batch = _batch(session, label)
    batch.expires_at = expires_at
    changed = rowcount(
        session.execute(
            update(ActivationCode)
            .where(ActivationCode.batch_id == batch.id, ActivationCode.state == "issued")
            .values(expires_at=expires_at)
            .execution_options(synchronize_session=False)
        )
    )
    audit.record(
        session, audit.CODE_EXPIRY, actor=actor, subject=label, expires_at=expires_at, count=changed
    )
    return changed


def per_channel(session: Session, since: datetime | None = None) -> list[dict]:
    """Per sales channel: codes generated, redeemed (since ``since`` when given), revoked;
    the channel with most redemptions first."""
    return _per_channel(session, _counts(session, since), recent=since is not None)


def batches_and_channels(session: Session, since: datetime) -> dict[str, list[dict]]:
    """``batches`` and ``per_channel(since)`` from one count of the codes (the codes page)."""
    counts = _counts(session, since)
    return {
        "batches": batches(session, counts),
        "channels": _per_channel(session, counts, recent=True),
    }


def _per_channel(session: Session, counts: dict[int, dict[str, int]], *, recent: bool) -> list:
    channels: dict[str, dict] = {}
    for batch_id, channel in session.execute(select(CodeBatch.id, CodeBatch.channel)):
        seen = counts[batch_id]
        if not seen["codes"]:
            continue  # a batch without codes
        row = channels.setdefault(
            channel, {"channel": channel, "codes": 0, "redeemed": 0, "revoked": 0}
        )
        row["codes"] += seen["codes"]
        row["redeemed"] += seen["recent"] if recent else seen["redeemed"]
        row["revoked"] += seen["revoked"]
    return sorted(channels.values(), key=lambda row: (-row["redeemed"], row["channel"]))


def redemptions_per_day(session: Session, days: list, timezone: str) -> list[int]:
    return per_local_day(session, ActivationCode.redeemed_at, days, timezone)


def redemptions_per_day_by_plan(
    session: Session, days: list, timezone: str, plan_codes: list[str]
) -> dict[str, list[int]]:
    """Codes of each plan redeemed on each local day (ranges of the (plan, redeemed_at)
    index)."""
    return {
        code: per_local_day(
            session, ActivationCode.redeemed_at, days, timezone, ActivationCode.plan == code
        )
        for code in plan_codes
    }
