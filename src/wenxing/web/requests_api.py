"""The requests board in the JSON API: read the board, post a request, support one.

Signed in as the rest of the API is (``web/api.py``: a bearer token, or the site's cookie
with the ``X-CSRF-Token`` header for calls that change something); the board is readable
without signing in, as ``/requests`` is. Refusals are ``{"error": …}`` with the site's
words (``requests_page.REFUSALS``).
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from wenxing import requests as board
from wenxing.db.base import utcnow
from wenxing.i18n import N_
from wenxing.materials import catalog
from wenxing.materials.models import KINDS
from wenxing.members.models import Member
from wenxing.runtime import Runtime
from wenxing.web.api_callers import ApiError, CallerDep, OptionalCallerDep
from wenxing.web.api_schemas import errors
from wenxing.web.deps import RuntimeDep
from wenxing.web.paging import MAX_PAGE, Page
from wenxing.web.requests_page import PER_PAGE, local_today, per_day, refusal

MAX_PER_PAGE = 100


class RequestIn(BaseModel):
    topic: str = Field(
        max_length=1000,
        description=f"what material is needed (required, at most {board.TOPIC_CHARS} characters)",
        examples=[N_("乡镇党委书记在河湖长制工作会议上的讲话")],
    )
    kind: str = Field(
        "", max_length=40, description="one of " + ", ".join(KINDS) + "; empty: any kind"
    )
    occasion: str = Field(
        "", max_length=1000, description=f"where it will be used (at most {board.OCCASION_CHARS})"
    )
    deadline: date | None = Field(
        None, description="needed by (ISO date); not before today in the publisher's time zone"
    )


class RequestOut(BaseModel):
    id: int
    topic: str
    kind: str | None
    occasion: str | None
    deadline: date | None
    state: Literal["open", "fulfilled", "declined"]
    supporters: int = Field(description="members who added their support (the requester aside)")
    created_at: str = Field(description="UTC, ISO 8601")
    material_id: int | None = Field(description="the material that fulfilled it")
    material_title: str | None = Field(description="its title, while it is published")
    answer: str | None = Field(description="the editor's note, or the reason for declining")
    answered_at: str | None = Field(description="UTC, ISO 8601")
    mine: bool = Field(description="posted by the calling account")
    supported: bool = Field(description="supported by the calling account")


class RequestsOut(BaseModel):
    requests: list[RequestOut] = Field(description="one page of the tab (empty past the last)")
    page: int = Field(description="the page shown, from 1")
    per_page: int = Field(description="requests to a page")
    pages: int = Field(description="pages of per_page in the tab, at least 1")
    total: int = Field(description="requests in the tab, over all pages")


class SupportOut(BaseModel):
    request: int
    supported: bool = Field(description="whether the calling account supports it now")
    supporters: int


def _out(row: board.RequestRow) -> RequestOut:
    fields = asdict(row)
    fields |= {
        "created_at": catalog.iso(row.created_at),
        "answered_at": catalog.iso(row.answered_at),
    }
    return RequestOut.model_validate(fields)  # the requester's number is left out


def _refused(refused: board.RequestRefused) -> ApiError:
    status, message = refusal(refused)
    return ApiError(status, message)


router = APIRouter(prefix="/api/v1", tags=["api"])


@router.get(
    "/requests",
    response_model=RequestsOut,
    summary="The requests board",
    responses=errors(400),
    openapi_extra={"security": [{}]},
)
def list_requests(
    who: OptionalCallerDep,
    runtime: RuntimeDep,
    tab: Annotated[
        Literal["popular", "newest", "fulfilled", "declined"],
        Query(
            description="open requests most supported first or newest first; or the "
            "fulfilled or declined ones, most recently answered first"
        ),
    ] = "popular",
    page: Annotated[int, Query(ge=1, le=MAX_PAGE, description="which page of the tab, from 1")] = 1,
    per_page: Annotated[
        int,
        Query(
            ge=1,
            le=MAX_PER_PAGE,
            description=f"requests to a page: 1 to {MAX_PER_PAGE} ({PER_PAGE}, as on "
            "the site, when omitted)",
        ),
    ] = PER_PAGE,
) -> RequestsOut:
    """The board as ``/requests`` shows it, a page at a time; anyone may read it (never
    who asked). ``pages`` and ``total`` tell how far the tab goes; a page past the last
    is an empty list."""
    with runtime.db.reading() as session:
        shown = Page(page, per_page, board.counts(session)[board.TAB_STATES[tab]])
        rows = []
        if not shown.past_the_end:
            viewer = who.member_id if who else None
            rows = board.board(session, tab, viewer, limit=per_page, offset=shown.offset)
    return RequestsOut(
        requests=[_out(r) for r in rows],
        page=page,
        per_page=per_page,
        pages=shown.count,
        total=shown.total,
    )


@router.post(
    "/requests",
    response_model=RequestOut,
    status_code=201,
    summary="Post a request",
    responses=errors(
        400,
        401,
        403,
        429,
        notes={
            403: "not a member now (members, editors and admins post), or a cookie call "
            "without the X-CSRF-Token header",
            429: "the publisher's requests_per_day (5 by default) in the last 24 hours already",
        },
    ),
)
def post_request(body: RequestIn, who: CallerDep, runtime: RuntimeDep) -> RequestOut:
    """Posts a request as the board's form does: the same checks and messages."""
    timezone = runtime.publisher_settings().timezone
    try:
        with runtime.db.transaction() as session:
            row = board.post_request(
                session,
                session.get(Member, who.member_id),
                topic=body.topic,
                kind=body.kind,
                occasion=body.occasion,
                deadline=body.deadline,
                per_day=per_day(runtime),
                today=local_today(timezone),
                now=utcnow(),
            )
            [shown] = board.rows_of(session, [row], who.member_id)
    except board.RequestRefused as refused:
        raise _refused(refused) from None
    return _out(shown)


def _change(runtime: Runtime, request_id: int, who, add: bool) -> SupportOut:
    try:
        with runtime.db.transaction() as session:
            member = session.get(Member, who.member_id)
            act = board.support if add else board.withdraw_support
            supporters = act(session, member, request_id, utcnow())
    except board.RequestRefused as refused:
        raise _refused(refused) from None
    return SupportOut(request=request_id, supported=add, supporters=supporters)


_SUPPORT_ERRORS = errors(
    400,
    401,
    403,
    404,
    notes={
        400: "one's own request, or one already fulfilled or declined",
        403: "not a member now, or a cookie call without the X-CSRF-Token header",
        404: "no request has that id",
    },
)


@router.post(
    "/requests/{request_id}/support",
    response_model=SupportOut,
    summary="Support a request (+1)",
    responses=_SUPPORT_ERRORS,
)
def support(request_id: int, who: CallerDep, runtime: RuntimeDep) -> SupportOut:
    """Adds the calling account's support to someone else's open request; supporting
    it again changes nothing."""
    return _change(runtime, request_id, who, add=True)


@router.delete(
    "/requests/{request_id}/support",
    response_model=SupportOut,
    summary="Take a support back",
    responses=_SUPPORT_ERRORS,
)
def withdraw(request_id: int, who: CallerDep, runtime: RuntimeDep) -> SupportOut:
    """Takes the calling account's support back from an open request."""
    return _change(runtime, request_id, who, add=False)
