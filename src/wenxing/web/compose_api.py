"""组稿 in the JSON API: the basket (list, add, remove) and a draft's list and export.
Signed in as the rest of the API is (``web/api.py``: a bearer token, or the site's cookie
with the ``X-CSRF-Token`` header for calls that change something). Refusals are
``{"error": …}`` with the site's words (``web/error_messages.py``); an export is a file
marked for the caller, logged and counted once like a download (``compose.export``).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from wenxing.compose import basket, drafts, export
from wenxing.delivery.issue import DeliveryError
from wenxing.errors import DomainError
from wenxing.i18n import _
from wenxing.members.models import Member
from wenxing.web import auth
from wenxing.web.api_callers import ApiError, CallerDep
from wenxing.web.api_schemas import errors
from wenxing.web.compose_pages import send_draft
from wenxing.web.deps import RuntimeDep
from wenxing.web.error_messages import user_message

router = APIRouter(prefix="/api/v1", tags=["api"])


def _export_responses() -> dict:
    """The export's 200: a file whose media type follows the format."""
    binary = {"schema": {"type": "string", "format": "binary"}}
    forms = export.EXPORT_FORMATS
    listed = ", ".join(f"{name}: {form.media_type}" for name, form in forms.items())
    return {
        200: {
            "description": f"the draft as a file ({listed})",
            "content": {form.media_type.split(";")[0]: binary for form in forms.values()},
            "headers": {
                "X-Wenxing-Copy": {
                    "description": "the draft's copy number in the issuance log",
                    "schema": {"type": "integer"},
                }
            },
        },
        **errors(400, 401, 403),
    }


class PieceIn(BaseModel):
    material: int = Field(description="the material's id")
    version: int = Field(description="the version the reader page showed (its id)")
    anchor: str = Field(
        max_length=16,
        description=(
            "the heading's id on the reader page (s1, s2, …: its section), or p<first>-<last>:"
            " a run of at most 60 paragraphs by their index among the reader page's article"
            " blocks"
        ),
    )


class PieceOut(BaseModel):
    id: int
    material: int
    version: int
    anchor: str
    path: str = Field(description="the section's outline path, headings from the top")
    source_title: str


class BasketOut(BaseModel):
    pieces: list[PieceOut]


class DraftOut(BaseModel):
    id: int
    title: str
    pieces: int = Field(description="pieces of materials the draft holds")
    updated_at: str = Field(description="UTC, ISO 8601")


class DraftIn(BaseModel):
    title: str = Field(max_length=200, description="the draft's title (1 to 100 characters)")


class DraftsOut(BaseModel):
    drafts: list[DraftOut]


def _member(session, member_id: int) -> Member:
    member = session.get(Member, member_id)
    if member is None:  # the account was removed since the token was read
        raise ApiError(401, _("请先登录"))
    return member


def _basket(runtime, member_id: int) -> BasketOut:
    with runtime.db.reading() as session:
        rows = basket.basket(session, member_id)
    return BasketOut(
        pieces=[
            PieceOut(
                id=p.id,
                material=p.material_id,
                version=p.version_id,
                anchor=p.anchor,
                path=p.path,
                source_title=p.source_title,
            )
            for p in rows
        ]
    )


@router.get(
    "/basket", response_model=BasketOut, summary="The basket of pieces", responses=errors(401)
)
def get_basket(runtime: RuntimeDep, who: CallerDep) -> BasketOut:
    """The calling account's basket: its pieces in order, each with its source's title."""
    return _basket(runtime, who.member_id)


@router.post(
    "/basket",
    response_model=BasketOut,
    summary="Put a section in the basket",
    responses=errors(400, 401, 403),
)
def add_piece(runtime: RuntimeDep, body: PieceIn, who: CallerDep) -> BasketOut:
    """Adds the section a reader-page heading names to the basket (a piece already there
    stays as it is). Refused, with the reason, for a material the caller may not read."""
    try:
        with runtime.db.transaction() as session:
            member = _member(session, who.member_id)
            basket.add_piece(
                session, runtime.publisher_settings(), member, body.material, body.version,
                body.anchor,
            )  # fmt: skip
    except DomainError as error:
        raise ApiError(400, user_message(error)) from None
    return _basket(runtime, who.member_id)


@router.delete(
    "/basket/{piece_id}",
    response_model=BasketOut,
    summary="Take a piece out of the basket",
    responses=errors(400, 401, 403),
)
def remove_piece(runtime: RuntimeDep, piece_id: int, who: CallerDep) -> BasketOut:
    """Takes one of the caller's pieces out of their basket; the basket after."""
    try:
        with runtime.db.transaction() as session:
            basket.remove_piece(session, who.member_id, piece_id)
    except DomainError as error:
        raise ApiError(400, user_message(error)) from None
    return _basket(runtime, who.member_id)


@router.get(
    "/drafts", response_model=DraftsOut, summary="The account's drafts", responses=errors(401)
)
def list_drafts(runtime: RuntimeDep, who: CallerDep) -> DraftsOut:
    """The caller's drafts, the last changed first (made and arranged on the site's
    素材篮 and 组稿 pages)."""
    with runtime.db.reading() as session:
        rows = drafts.drafts_of(session, who.member_id)
    return DraftsOut(
        drafts=[
            DraftOut(id=d.id, title=d.title, pieces=d.pieces, updated_at=d.updated_at.isoformat())
            for d in rows
        ]
    )


@router.post(
    "/drafts",
    response_model=DraftOut,
    status_code=201,
    summary="Make a draft of the basket's pieces",
    responses=errors(400, 401, 403),
)
def start_draft(runtime: RuntimeDep, body: DraftIn, who: CallerDep) -> DraftOut:
    """A new draft of the basket's pieces in the basket's order (the basket is emptied),
    as the site's 开始组稿 button makes; arranged on the site's 组稿 page."""
    try:
        with runtime.db.transaction() as session:
            draft = drafts.start_draft(session, who.member_id, body.title)
            made = next(d for d in drafts.drafts_of(session, who.member_id) if d.id == draft.id)
    except DomainError as error:
        raise ApiError(400, user_message(error)) from None
    return DraftOut(
        id=made.id, title=made.title, pieces=made.pieces, updated_at=made.updated_at.isoformat()
    )


@router.post(
    "/drafts/{draft_id}/export",
    response_class=Response,
    summary="A draft as a .docx or .txt marked for the caller",
    responses=_export_responses(),
)
def export_draft(
    request: Request,
    runtime: RuntimeDep,
    draft_id: int,
    who: CallerDep,
    format: Annotated[
        str, Query(description="the file's format", json_schema_extra={"enum": ["docx", "txt"]})
    ] = "docx",
) -> Response:
    """The draft with every piece marked for the caller under its own material's plan,
    logged as one copy and counted once against the daily downloads."""
    try:
        with runtime.db.transaction() as session:
            pending = export.record_export(
                session,
                runtime.secret,
                runtime.publisher_settings(),
                _member(session, who.member_id),
                draft_id,
                format,
                actor="member:api",
                ip=auth.client_ip(request),
                user_agent=request.headers.get("user-agent"),
            )
    except DomainError as error:
        raise ApiError(400, user_message(error)) from None
    except DeliveryError as refusal:
        raise ApiError(403, refusal.user_message) from None
    return send_draft(runtime, pending)
