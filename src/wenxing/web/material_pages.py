"""A material's own pages: its page (facts, outline, public preview, the paywall or the
download buttons and 收藏), the reader page, and the downloads. Every copy goes through
``copies.deliver`` (recorded, marked for the member, logged); a link from another site
first shows a confirmation button of this site (``confirm_copy.html``)."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from wenxing.db.base import utcnow
from wenxing.delivery import reading
from wenxing.delivery.issue import FORMATS, copies_left_today
from wenxing.i18n import _
from wenxing.materials import catalog
from wenxing.members.subscriptions import membership_end
from wenxing.runtime import Runtime
from wenxing.web import auth
from wenxing.web.account import redeemed_notice
from wenxing.web.copies import PageError, deliver, paywall_refusal, published
from wenxing.web.deps import RuntimeDep, deliberate_form, render
from wenxing.web.download_links import in_wechat

DOWNLOADS = ("docx", "pdf", "txt")  # offered as buttons; the reader page is the html format


router = APIRouter(include_in_schema=False)  # pages, not the API


@router.get("/materials/{material_id}", response_class=HTMLResponse)
def material_page(
    request: Request, runtime: RuntimeDep, material_id: int, redeemed: str = ""
) -> HTMLResponse:
    context = _material_context(runtime, request, material_id, redeemed)
    return render(request, "material.html", context)


@router.get("/materials/{material_id}/read", response_class=HTMLResponse)
def read(request: Request, runtime: RuntimeDep, material_id: int) -> Response:
    if auth.cross_site(request):
        return _confirm_copy(runtime, render, request, material_id, "read")
    return _read(runtime, request, material_id)


@router.post("/materials/{material_id}/read", dependencies=[Depends(deliberate_form)])
def read_confirmed(material_id: int) -> Response:
    return RedirectResponse(f"/materials/{material_id}/read", status_code=303)


@router.get("/materials/{material_id}/download/{fmt}")
def download(request: Request, runtime: RuntimeDep, material_id: int, fmt: str) -> Response:
    if fmt not in FORMATS:
        raise PageError(404, _("没有这种格式"))
    if auth.cross_site(request):
        return _confirm_copy(runtime, render, request, material_id, f"download/{fmt}")
    return deliver(runtime, request, material_id, fmt)


async def known_format(fmt: str) -> None:
    """A format that is not one of the copies' is a 404, before the form is looked at."""
    if fmt not in FORMATS:
        raise PageError(404, _("没有这种格式"))


@router.post(
    "/materials/{material_id}/download/{fmt}",
    dependencies=[Depends(known_format), Depends(deliberate_form)],
)
def download_confirmed(
    request: Request, runtime: RuntimeDep, material_id: int, fmt: str
) -> Response:
    return deliver(runtime, request, material_id, fmt)


def _material_context(runtime: Runtime, request: Request, material_id: int, redeemed: str):
    """What the material page shows this visitor or member."""
    publisher = runtime.publisher_settings()
    with runtime.db.reading() as session:
        member = auth.current_member(session, request)
        material = published(session, material_id)
        view = catalog.public_view(session, material_id)
        refusal, paywall = paywall_refusal(session, publisher, member, material)
        left = notice = None
        if member is not None and refusal is None:
            left = copies_left_today(session, publisher, member, utcnow())
            if redeemed:  # the plan and its new end, as the account page says them
                ends = membership_end(session, member.id, utcnow())
                notice = redeemed_notice(session, publisher, member.id, ends)
        who = auth.who(member)
        favourite = (
            member is not None and reading.place_of(session, member.id, material.id).favourite
        )
    return {
        "m": view,
        "who": who,
        "refusal": refusal,
        "paywall": paywall,
        "pay_next": f"/materials/{material_id}",
        "formats": [(fmt, _(FORMATS[fmt].label)) for fmt in DOWNLOADS],
        "left": left,
        "wechat": in_wechat(request),
        "redeemed": bool(redeemed) and refusal is None,
        "redeemed_notice": notice,
        "favourite": favourite,
    }


def _read(runtime: Runtime, request: Request, material_id: int) -> Response:
    """The reader page (the html format) with links back and to the downloads; once it has
    gone out, the material moves up the member's 最近阅读."""
    links = (
        (_("返回资料页"), f"/materials/{material_id}"),
        *tuple(
            (
                _("下载 %(format)s") % {"format": _(FORMATS[fmt].label)},
                f"/materials/{material_id}/download/{fmt}",
            )
            for fmt in DOWNLOADS
        ),
    )
    response = deliver(runtime, request, material_id, "html", links=links, inline=True)
    if response.status_code == 200:
        with runtime.db.transaction() as session:
            member = auth.current_member(session, request)
            if member is not None:
                reading.note_opened(session, member.id, material_id, utcnow())
    return response


def _confirm_copy(
    runtime: Runtime, page: Callable[..., HTMLResponse], request: Request, material_id: int, to: str
) -> HTMLResponse:
    """A link from another site issues nothing: the member confirms with a button of
    this site (a form posting the CSRF token), so no page elsewhere spends their
    downloads or logs copies in their name."""
    with runtime.db.reading() as session:
        view = catalog.public_view(session, published(session, material_id).id)
    action = f"/materials/{material_id}/{to}"
    return page(request, "confirm_copy.html", {"m": view, "action": action}, 200)
