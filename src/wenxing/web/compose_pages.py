"""组稿 on the site: the basket (素材篮), the draft page and the account's drafts.

``POST /basket`` (form fields ``material``, ``version``, ``anchor``, ``csrf_token``) puts a
section in the signed-in member's basket: the reader page's 加入素材篮 buttons, search
results and 相似段落 post it; it answers a redirect back, or ``{"pieces": n}`` when the
request accepts JSON. Every other change is a form posted from these pages that redirects
back to them, so reordering (上移/下移) works on a phone without drag or script. Exports go
through ``compose.export``: recorded in a write transaction, rendered after it.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import quote, urlsplit

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.background import BackgroundTask

from wenxing.compose import basket, drafts, export, numbering
from wenxing.delivery.issue import DeliveryError, mark_delivered, unrecord_copy
from wenxing.errors import DomainError
from wenxing.i18n import _
from wenxing.runtime import Runtime
from wenxing.web import auth
from wenxing.web.copies import PageError
from wenxing.web.deps import RuntimeDep, csrf_checked, deliberate_form, render
from wenxing.web.error_messages import user_message

router = APIRouter(include_in_schema=False)
# The heading levels a piece is set at, shown as their first marker: 一、（一）1.（1）
LEVEL_CHOICES = tuple((str(level), numbering.marker(level, 1)) for level in numbering.LEVELS)


def _wants_json(request: Request) -> bool:
    return "application/json" in request.headers.get("accept", "")


def _back(request: Request, fallback: str) -> str:
    """The page the form was posted from when it is this site's, else ``fallback``."""
    referer = urlsplit(request.headers.get("referer", ""))
    if referer.netloc and referer.netloc != request.url.netloc:
        return fallback
    path = referer.path or fallback
    if not path.startswith("/") or path.startswith("//"):
        return fallback
    return path + (f"?{referer.query}" if referer.query else "")


def _as_member(runtime: Runtime, request: Request, work: Callable, back: str) -> Response:
    """``work(session, member)`` in one write transaction for the signed-in member; a
    redirect to ``back`` (or to the page it returned), the sign-in page when signed out,
    and the refusal's Chinese sentence on an error page."""
    try:
        with runtime.db.transaction() as session:
            member = auth.current_member(session, request)
            if member is None:
                return RedirectResponse(f"/signin?next={quote(back)}", status_code=303)
            target = work(session, member)
    except DomainError as error:
        raise PageError(400, user_message(error)) from None
    return RedirectResponse(target if isinstance(target, str) else back, status_code=303)


@router.post("/basket", dependencies=[Depends(csrf_checked)])
def add_to_basket(
    request: Request,
    runtime: RuntimeDep,
    material: int | None = Form(None),
    version: int | None = Form(None),
    anchor: str = Form(""),
) -> Response:
    publisher = runtime.publisher_settings()
    try:
        with runtime.db.transaction() as session:
            member = auth.current_member(session, request)
            if member is None:  # (asked first: a visitor is sent to sign in, whatever the form)
                if _wants_json(request):
                    return JSONResponse({"error": _("请先登录")}, status_code=401)
                back = quote(_back(request, f"/materials/{material}" if material else "/"))
                return RedirectResponse(f"/signin?next={back}", status_code=303)
            if material is None or version is None or not anchor:
                raise DomainError("compose.no_such_piece", anchor=anchor[:16])
            count = basket.add_piece(session, publisher, member, material, version, anchor[:16])
    except DomainError as error:
        if _wants_json(request):
            return JSONResponse({"error": user_message(error)}, status_code=400)
        raise PageError(400, user_message(error)) from None
    if _wants_json(request):
        return JSONResponse({"pieces": count})
    return RedirectResponse(_back(request, "/basket"), status_code=303)


@router.get("/basket", response_class=HTMLResponse)
def basket_page(request: Request, runtime: RuntimeDep) -> Response:
    with runtime.db.reading() as session:
        member = auth.current_member(session, request)
        if member is None:
            return RedirectResponse("/signin?next=/basket", status_code=303)
        pieces = basket.basket(session, member.id)
        listed = drafts.drafts_of(session, member.id)[:5]
        who = auth.who(member)
    context = {"who": who, "pieces": pieces, "drafts": listed}
    return render(request, "basket.html", context)


@router.post("/basket/{piece_id}/move", dependencies=[Depends(csrf_checked)])
def move_piece(
    request: Request, runtime: RuntimeDep, piece_id: int, step: int | None = Form(None)
) -> Response:
    def work(session, member):
        basket.move_piece(session, member.id, piece_id, step or 0)

    return _as_member(runtime, request, work, "/basket")


@router.post("/basket/{piece_id}/remove", dependencies=[Depends(csrf_checked)])
def remove_piece(request: Request, runtime: RuntimeDep, piece_id: int) -> Response:
    return _as_member(
        runtime, request, lambda s, m: basket.remove_piece(s, m.id, piece_id), "/basket"
    )


@router.post("/drafts", dependencies=[Depends(csrf_checked)])
def start_draft(request: Request, runtime: RuntimeDep, title: str = Form("")) -> Response:
    def work(session, member):
        draft = drafts.start_draft(session, member.id, title or _("未命名草稿"))
        return f"/drafts/{draft.id}"

    return _as_member(runtime, request, work, "/basket")


@router.get("/drafts/{draft_id}", response_class=HTMLResponse)
def draft_page(request: Request, runtime: RuntimeDep, draft_id: int) -> Response:
    with runtime.db.reading() as session:
        member = auth.current_member(session, request)
        if member is None:
            return RedirectResponse(f"/signin?next=/drafts/{draft_id}", status_code=303)
        try:
            view = drafts.draft_view(session, member.id, draft_id)
        except DomainError as error:
            raise PageError(404, user_message(error)) from None
        who = auth.who(member)
    context = {"who": who, "draft": view, "levels": LEVEL_CHOICES}
    return render(request, "draft.html", context)


@router.post("/drafts/{draft_id}/title", dependencies=[Depends(csrf_checked)])
def rename(request: Request, runtime: RuntimeDep, draft_id: int, title: str = Form("")):
    def work(session, member):
        drafts.rename_draft(session, member.id, draft_id, title)

    return _as_member(runtime, request, work, _back(request, f"/drafts/{draft_id}"))


@router.post("/drafts/{draft_id}/parts/{part_id}/move", dependencies=[Depends(csrf_checked)])
def move_part(
    request: Request,
    runtime: RuntimeDep,
    draft_id: int,
    part_id: int,
    step: int | None = Form(None),
    to: int | None = Form(None),
) -> Response:
    """One place up or down (``step``: the buttons), or to place ``to`` (a drag, draft.js)."""

    def work(session, member):
        if to is not None:
            drafts.move_part_to(session, member.id, draft_id, part_id, to)
        else:
            drafts.move_part(session, member.id, draft_id, part_id, step or 0)

    return _as_member(runtime, request, work, f"/drafts/{draft_id}#part-{part_id}")


@router.post("/drafts/{draft_id}/parts/{part_id}/heading", dependencies=[Depends(csrf_checked)])
def heading(
    request: Request,
    runtime: RuntimeDep,
    draft_id: int,
    part_id: int,
    heading: str = Form(""),
    level: int = Form(1),
) -> Response:
    def work(session, member):
        drafts.set_heading(session, member.id, draft_id, part_id, heading, level)

    return _as_member(runtime, request, work, f"/drafts/{draft_id}#part-{part_id}")


@router.post("/drafts/{draft_id}/parts/{part_id}/remove", dependencies=[Depends(csrf_checked)])
def remove_part(request: Request, runtime: RuntimeDep, draft_id: int, part_id: int):
    def work(session, member):
        drafts.remove_part(session, member.id, draft_id, part_id)

    return _as_member(runtime, request, work, f"/drafts/{draft_id}")


@router.post("/drafts/{draft_id}/text", dependencies=[Depends(csrf_checked)])
def add_text(
    request: Request,
    runtime: RuntimeDep,
    draft_id: int,
    text: str = Form(""),
    after: int | None = Form(None),
) -> Response:
    def work(session, member):
        own = drafts.add_text(session, member.id, draft_id, after, text)
        return f"/drafts/{draft_id}#part-{own.id}"

    return _as_member(runtime, request, work, f"/drafts/{draft_id}")


@router.post("/drafts/{draft_id}/parts/{part_id}/text", dependencies=[Depends(csrf_checked)])
def edit_text(
    request: Request, runtime: RuntimeDep, draft_id: int, part_id: int, text: str = Form("")
) -> Response:
    def work(session, member):
        drafts.edit_text(session, member.id, draft_id, part_id, text)

    return _as_member(runtime, request, work, f"/drafts/{draft_id}#part-{part_id}")


@router.post("/drafts/{draft_id}/duplicate", dependencies=[Depends(csrf_checked)])
def duplicate(request: Request, runtime: RuntimeDep, draft_id: int) -> Response:
    def work(session, member):
        view = drafts.draft_view(session, member.id, draft_id)
        copy_title = _("%(title)s（副本）") % {"title": view.title}
        drafts.duplicate_draft(session, member.id, draft_id, copy_title[:100])

    return _as_member(runtime, request, work, "/account/drafts")


@router.post("/drafts/{draft_id}/delete", dependencies=[Depends(csrf_checked)])
def delete(request: Request, runtime: RuntimeDep, draft_id: int) -> Response:
    def work(session, member):
        drafts.delete_draft(session, member.id, draft_id)

    return _as_member(runtime, request, work, "/account/drafts")


@router.get("/account/drafts", response_class=HTMLResponse)
def drafts_page(request: Request, runtime: RuntimeDep) -> Response:
    with runtime.db.reading() as session:
        member = auth.current_member(session, request)
        if member is None:
            return RedirectResponse("/signin?next=/account/drafts", status_code=303)
        listed = drafts.drafts_of(session, member.id)
        pieces = basket.pieces_in_basket(session, member.id)
        who = auth.who(member)
    return render(request, "drafts.html", {"who": who, "drafts": listed, "basket": pieces})


@router.post("/drafts/{draft_id}/export/{fmt}", dependencies=[Depends(deliberate_form)])
def export_draft(request: Request, runtime: RuntimeDep, draft_id: int, fmt: str) -> Response:
    """The draft as a .docx or .txt marked for the member, counted once, sent now."""
    publisher = runtime.publisher_settings()
    try:
        with runtime.db.transaction() as session:
            member = auth.current_member(session, request)
            if member is None:
                return RedirectResponse(f"/signin?next=/drafts/{draft_id}", status_code=303)
            pending = export.record_export(
                session,
                runtime.secret,
                publisher,
                member,
                draft_id,
                fmt,
                actor="member:web",
                ip=auth.client_ip(request),
                user_agent=request.headers.get("user-agent"),
            )
    except DomainError as error:
        raise PageError(400, user_message(error)) from None
    except DeliveryError as refusal:
        raise PageError(403, refusal.user_message) from None
    return send_draft(runtime, pending)


def send_draft(runtime: Runtime, pending: export.PendingDraft) -> Response:
    """The recorded draft rendered now; a new copy's ledger lines are taken back if it cannot be."""
    try:
        issued = pending.render()
    except Exception:
        if pending.copy.new:  # a copy handed out again keeps its ledger lines
            with runtime.db.transaction() as session:
                unrecord_copy(session, pending.copy.copy_id)
        raise
    headers = {
        "Cache-Control": "no-store",
        "X-Wenxing-Copy": str(issued.copy_id),
        "Content-Disposition": (
            f'attachment; filename="draft-{issued.copy_id}.{issued.format}"; '
            f"filename*=UTF-8''{quote(issued.filename)}"
        ),
    }

    def delivered() -> None:
        with runtime.db.transaction() as session:
            mark_delivered(session, [issued.copy_id])

    return Response(
        issued.data,
        media_type=issued.media_type,
        headers=headers,
        background=BackgroundTask(delivered),
    )
