"""Downloads for members reading inside WeChat, whose browser often cannot save a file.

In WeChat (``MicroMessenger`` in the user agent) the material page's download buttons
make a single-use, short-lived link bound to the member (``delivery.tickets``) and show
it with the hint to open the page in the system browser. Opened there (no session cookie
needed), the link logs the copy and sends the file, once; opened in WeChat again it only
shows the hint. Making a link logs nothing and spends nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from wenxing.db.base import utcnow
from wenxing.delivery.issue import FORMATS, DeliveryError, check_may_take, record_copy
from wenxing.delivery.tickets import TicketRefused, give_back, make_ticket, peek_ticket, use_ticket
from wenxing.i18n import _
from wenxing.materials import catalog
from wenxing.members import pricing
from wenxing.members.models import Member
from wenxing.runtime import Runtime
from wenxing.web import auth
from wenxing.web.copies import PageError, refused, send_copy
from wenxing.web.deps import RuntimeDep, deliberate_form, render


def in_wechat(request: Request) -> bool:
    """Whether the page is open in WeChat's own browser."""
    return "MicroMessenger" in request.headers.get("user-agent", "")


router = APIRouter(include_in_schema=False)  # pages, not the API


def fail(request: Request, message: str, status: int) -> HTMLResponse:
    return render(request, "error.html", {"message": message}, status)


async def linked_format(fmt: str) -> None:
    """Links are made for the files (not the reader page); another format is a 404,
    before the form is looked at."""
    if fmt not in FORMATS or fmt == "html":
        raise PageError(404, _("没有这种格式"))


@router.post(
    "/materials/{material_id}/link/{fmt}",
    dependencies=[Depends(linked_format), Depends(deliberate_form)],
)
def make_link(request: Request, runtime: RuntimeDep, material_id: int, fmt: str) -> Response:
    publisher = runtime.publisher_settings()
    with runtime.db.transaction() as session:
        member = auth.current_member(session, request)
        if member is None:
            target = quote(f"/materials/{material_id}")
            return RedirectResponse(f"/signin?next={target}", status_code=303)
        material = _published_material(session, material_id)
        if material is None:
            return fail(request, _("没有这份材料"), 404)
        try:
            check_may_take(session, publisher, member, material, fmt)
        except DeliveryError as refusal:
            raise refused(refusal, material_id) from None
        token = make_ticket(session, member.id, material_id, fmt, utcnow())
    return RedirectResponse(f"/d/{token}", status_code=303)


@router.get("/d/{token}")
def fetch(request: Request, runtime: RuntimeDep, token: str) -> Response:
    if in_wechat(request):  # only the hint: the file is fetched in the system browser
        return _hint(runtime, render, request, token)
    publisher = runtime.publisher_settings()  # before the transaction: one connection
    try:
        with runtime.db.transaction() as session:
            pending, fmt = _record(runtime, publisher, session, request, token, refused)
    except TicketRefused as gone:
        return fail(request, gone.user_message, 410)
    if pending is None:
        return fail(request, _("没有这份材料"), 404)
    return send_copy(runtime, pending, fmt, undo=lambda s: give_back(s, token))


@router.get("/pay/qr/{digest}")
def payment_qr(runtime: RuntimeDep, digest: str) -> Response:
    with runtime.db.reading() as session:
        found = pricing.qr_image(session, digest)
    if found is None:
        return Response(status_code=404)
    headers = {"Cache-Control": "public, max-age=31536000, immutable"}
    return Response(found[0], media_type=found[1], headers=headers)


def _hint(runtime: Runtime, page: Callable[..., HTMLResponse], request: Request, token: str):
    """The link opened in WeChat again: the hint and the link, nothing spent."""
    with runtime.db.reading() as session:
        try:
            ticket = peek_ticket(session, token, utcnow())
        except TicketRefused as gone:
            return page(request, "error.html", {"message": gone.user_message}, 410)
        view = catalog.public_view(session, ticket.material_id)
        member = auth.current_member(session, request)
        who = None if member is None else {"number": member.number, "role": member.role}
    link = f"{str(request.base_url).rstrip('/')}/d/{token}"
    label = _(FORMATS[ticket.format].label)
    context = {"m": view, "link": link, "label": label, "who": who}
    return page(request, "wechat_download.html", context)


def _record(runtime: Runtime, publisher, session, request: Request, token: str, refused):
    """Spend the link and record its copy, in the caller's transaction: (pending copy,
    format), or (None, "") when the member or material is gone. A refusal raises (and
    rolls the link's use back with it)."""
    ticket = use_ticket(session, token, utcnow())
    member = session.get(Member, ticket.member_id)
    material = _published_material(session, ticket.material_id)
    if member is None or material is None:
        return None, ""
    try:
        pending = record_copy(
            session,
            runtime.secret,
            publisher,
            member,
            material,
            ticket.format,
            actor="member:link",
            ip=auth.client_ip(request),
            user_agent=request.headers.get("user-agent"),
        )
    except DeliveryError as refusal:
        raise refused(refusal, ticket.material_id) from None
    return pending, ticket.format


def _published_material(session, material_id: int):
    try:
        material = catalog.get_material(session, material_id)
    except catalog.MaterialNotFound:
        return None
    return material if material.status == "published" else None
