"""Pieces of the site's copy routes shared by the material pages, WeChat's download links
and the API: the error a page raises (``PageError``, which on a paywall refusal offers how
to pay), a published material or 404, why a visitor or member cannot read a material,
recording a copy for the signed-in member (``deliver``, the site's one path to
``record_copy``) and sending a recorded copy."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import quote

from fastapi import HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from starlette.background import BackgroundTask

from wenxing.db.base import utcnow
from wenxing.delivery.issue import (
    DeliveryError,
    NotEntitled,
    PendingCopy,
    mark_delivered,
    record_copy,
    unrecord_copy,
)
from wenxing.i18n import _
from wenxing.materials import catalog
from wenxing.members.entitlement import may_read
from wenxing.members.models import Member
from wenxing.members.subscriptions import account_view, plans
from wenxing.runtime import Runtime
from wenxing.web import auth

# Refusals a membership (or a longer one) would lift: the page shows how to pay.
PAYWALL_REASONS = ("preview-visitor", "preview-free", "outside-window")


class PageError(HTTPException):
    """An error page (the site) or a JSON error (the API); the detail is a translated
    message (``_()``), shown as it is. ``pay_next``: the refusal is the paywall, and the
    page offers the plans and the redeem box, returning there after redeeming."""

    def __init__(self, status_code: int, detail: str, pay_next: str | None = None):
        super().__init__(status_code, detail)
        self.pay_next = pay_next


def published(session, material_id: int):
    """The published material with this id, or the 404 page."""
    try:
        material = catalog.get_material(session, material_id)
    except catalog.MaterialNotFound:
        raise PageError(404, _("没有这份材料")) from None
    if material.status != "published":
        raise PageError(404, _("没有这份材料"))
    return material


def paywall_refusal(session, publisher, member: Member | None, material) -> tuple[str | None, bool]:
    """Why this visitor or member cannot read the whole material (None when they can), and
    whether paying would change that (the page then shows the plans and the redeem box)."""
    if member is None:
        return NotEntitled("", "preview-visitor").user_message, True
    if member.status != "active":
        return NotEntitled("", member.status).user_message, False
    decision = may_read(
        account_view(session, member), material.published_at, utcnow(), plans(publisher)
    )
    if decision.allowed:
        return None, False
    return NotEntitled("", decision.reason).user_message, decision.reason in PAYWALL_REASONS


def refused(refusal: DeliveryError, material_id: int) -> PageError:
    """The error page for a refused copy: the paywall offers a way to pay."""
    paying = isinstance(refusal, NotEntitled) and refusal.reason in PAYWALL_REASONS
    return PageError(403, refusal.user_message, f"/materials/{material_id}" if paying else None)


def deliver(
    runtime: Runtime,
    request: Request,
    material_id: int,
    fmt: str,
    *,
    links: tuple[tuple[str, str], ...] = (),
    inline: bool = False,
    api: bool = False,
) -> Response:
    """A copy of the material in ``fmt`` for the signed-in member, recorded in one
    transaction and sent after it; signed out, the sign-in page (the API: 401)."""
    publisher = runtime.publisher_settings()
    with runtime.db.transaction() as session:
        member = auth.current_member(session, request)
        if member is None:
            if api:
                raise PageError(401, _("请先登录"))
            target = quote(str(request.url.path))
            return RedirectResponse(f"/signin?next={target}", status_code=303)
        material = published(session, material_id)
        try:
            pending = record_copy(
                session,
                runtime.secret,
                publisher,
                member,
                material,
                fmt,
                actor=f"member:{'api' if api else 'web'}",
                ip=auth.client_ip(request),
                user_agent=request.headers.get("user-agent"),
                links=links,
            )
        except DeliveryError as refusal:
            raise refused(refusal, material_id) from None
    return send_copy(runtime, pending, fmt, inline=inline)


def send_copy(
    runtime: Runtime,
    pending: PendingCopy,
    fmt: str,
    *,
    inline: bool = False,
    undo: Callable | None = None,
) -> Response:
    """The copy recorded in a committed transaction, marked and rendered now (the write
    lock is not held meanwhile); a copy that cannot be made is taken back (a copy handed
    out again keeps its ledger line), and ``undo`` runs in that transaction."""
    try:
        issued = pending.render()
    except Exception:
        with runtime.db.transaction() as session:
            if pending.new:
                unrecord_copy(session, pending.copy_id)
            if undo is not None:
                undo(session)
        raise
    headers = {"Cache-Control": "no-store", "X-Wenxing-Copy": str(issued.copy_id)}
    if not inline:
        headers["Content-Disposition"] = (
            f'attachment; filename="copy-{issued.copy_id}.{fmt}"; '
            f"filename*=UTF-8''{quote(issued.filename)}"
        )

    def delivered() -> None:  # the download counts once its bytes are out
        with runtime.db.transaction() as session:
            mark_delivered(session, [issued.copy_id])

    return Response(
        issued.data,
        media_type=issued.media_type,
        headers=headers,
        background=BackgroundTask(delivered),
    )
