"""The API's notifications: list them, mark them read (the bell for scripts and apps)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from wenxing.live.notify import mark_read, notifications_of, unread_count
from wenxing.materials import catalog
from wenxing.web.api_callers import CallerDep
from wenxing.web.api_schemas import errors
from wenxing.web.deps import RuntimeDep

MAX_LIMIT = 100


class NotificationOut(BaseModel):
    id: int
    kind: str = Field(
        description="material, version, report, sanction, subscription, expiry, request"
    )
    title: str
    body: str | None = None
    link: str | None = Field(None, description="the site path it is about")
    created_at: str = Field(description="UTC, ISO 8601")
    read: bool


class NotificationsOut(BaseModel):
    unread: int = Field(description="the account's unread notifications (the bell's count)")
    total: int = Field(description="notifications listed by this query, over all pages")
    items: list[NotificationOut] = Field(description="newest first")


class MarkReadIn(BaseModel):
    id: int | None = Field(None, description="one notification; omitted: all of them")


class MarkReadOut(BaseModel):
    marked: int = Field(description="notifications that were unread and now are read")
    unread: int


router = APIRouter(prefix="/api/v1", tags=["api"])


@router.get(
    "/notifications",
    response_model=NotificationsOut,
    summary="The account's notifications",
    responses=errors(400, 401),
)
def notifications(
    who: CallerDep,
    runtime: RuntimeDep,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 20,
    offset: Annotated[int, Query(ge=0)] = 0,
    unread: bool = False,
) -> NotificationsOut:
    """Newest first, ``limit`` at a time from ``offset``; ``unread=true`` lists only
    the unread ones. Live updates come from ``GET /events`` (Server-Sent Events)."""
    with runtime.db.reading() as session:
        total, rows = notifications_of(
            session, who.member_id, offset=offset, limit=limit, unread_only=unread
        )
        count = unread_count(session, who.member_id)
    items = [
        NotificationOut(**{**row, "created_at": catalog.iso(row["created_at"])}) for row in rows
    ]
    return NotificationsOut(unread=count, total=total, items=items)


@router.post(
    "/notifications/read",
    response_model=MarkReadOut,
    summary="Mark notifications read",
    responses=errors(400, 401, 403),
)
def read(who: CallerDep, runtime: RuntimeDep, body: MarkReadIn | None = None) -> MarkReadOut:
    """Marks one notification (``id``) or all of the account's notifications read. A
    cookie call needs the ``X-CSRF-Token`` header."""
    with runtime.db.transaction() as session:
        marked = mark_read(session, who.member_id, body.id if body else None)
        count = unread_count(session, who.member_id)
    return MarkReadOut(marked=marked, unread=count)
