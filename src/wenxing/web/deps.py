"""What every route of the site takes from the request, as FastAPI dependencies.

Routes are module-level functions on module-level routers (``router = APIRouter(...)``);
they reach the installation through the request, never through a closure:

- ``RuntimeDep``: the runtime the app was built with (``app.state.runtime``);
- ``ViewerDep``: the signed-in account as pages show it (``Viewer``), or None;
- ``render(request, template, context, status)``: a page, with what every page carries
  (brand, footer, CSRF token, the bell, the publisher's time zone), from the templates
  ``create_app`` puts on ``app.state.templates``;
- ``csrf_checked``: the one CSRF check of the site's forms, a dependency of every POST
  route that takes a form (``dependencies=[Depends(csrf_checked)]``): a missing or wrong
  ``csrf_token`` is the same 403 page ("页面已过期") everywhere, before the route runs;
- ``deliberate_form``: the same, and the browser names this site as the form's origin
  (``auth.deliberate``): the forms that hand out or mark a copy (reading, downloads, 收藏).

The JSON API checks its ``X-CSRF-Token`` header in its caller dependency (``web/api.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Form, Request
from fastapi.responses import HTMLResponse

from wenxing import clock
from wenxing.i18n import _
from wenxing.live.notify import unread_count
from wenxing.members.models import Member
from wenxing.members.pricing import offers
from wenxing.reports.receipts import promise_line
from wenxing.runtime import Runtime
from wenxing.web import auth
from wenxing.web.copies import PageError


def runtime_of(request: Request) -> Runtime:
    """The runtime of the app answering the request (set by ``create_app``)."""
    return request.app.state.runtime


async def _runtime(request: Request) -> Runtime:
    # Async, as csrf_checked is: FastAPI runs a sync dependency in a worker thread.
    return runtime_of(request)


RuntimeDep = Annotated[Runtime, Depends(_runtime)]


@dataclass(frozen=True)
class Viewer:
    """The signed-in account making a request, read once and kept outside any session."""

    id: int
    number: str
    name: str | None
    role: str
    status: str

    @classmethod
    def of(cls, member: Member) -> Viewer:
        return cls(member.id, member.number, member.name, member.role, member.status)

    @property
    def who(self) -> dict:
        """The account as a page's header shows it (``auth.who``)."""
        return {"number": self.number, "name": self.name, "role": self.role}


def viewer(request: Request) -> Viewer | None:
    """The signed-in account of the request (None: a visitor, or a session that ended)."""
    with runtime_of(request).db.reading() as session:
        member = auth.current_member(session, request)
        return Viewer.of(member) if member is not None else None


ViewerDep = Annotated[Viewer | None, Depends(viewer)]


def who_of(account: Viewer | None) -> dict | None:
    """A page's ``who``: the header's account, or None when signed out."""
    return account.who if account is not None else None


async def csrf_checked(request: Request, csrf_token: Annotated[str, Form()] = "") -> None:
    """The form's CSRF token is the request's (``auth.csrf_ok``); otherwise a 403 page,
    before anything the form asks is done."""
    if not auth.csrf_ok(request, csrf_token):
        raise PageError(403, _("页面已过期，请刷新后重试"))


async def deliberate_form(request: Request, csrf_token: Annotated[str, Form()] = "") -> None:
    """``csrf_checked`` and a same-site form (``auth.deliberate``): a copy is handed out or
    marked only for a form posted from this site; otherwise the same 403 page."""
    if not auth.deliberate(request, csrf_token):
        raise PageError(403, _("页面已过期，请刷新后重试"))


def render(request: Request, name: str, context: dict, status_code: int = 200) -> HTMLResponse:
    """The page ``name`` (a template) with ``context`` and what every page carries."""
    runtime = runtime_of(request)
    publisher = runtime.publisher_settings()
    if "who" not in context and auth.request_token(request):
        # Error and message pages too show the signed-in header (issue 22).
        context = {"who": who_of(viewer(request)), **context}
    context = {
        "brand": publisher.brand,
        "promise": promise_line(publisher.masthead),  # the footer's link to /report
        "csrf": auth.csrf_token(request),
        "bell": bell_count(runtime, request, context),
        "timezone": publisher.timezone,
        "icp": publisher.icp_number.strip(),
        "zone_label": clock.zone_name(publisher.timezone),  # 时间（北京时间）
        "offers": offers(publisher),
        **context,
    }
    templates = request.app.state.templates
    response = templates.TemplateResponse(request, name, context, status_code=status_code)
    auth.remember_csrf(request, response)
    return response


def bell_count(runtime: Runtime, request: Request, context: dict) -> int | None:
    """The unread count under the bell of a signed-in account's page (None otherwise): one
    count on the (member, read) index."""
    member_id = getattr(request.state, "member_id", None)
    if member_id is None or not context.get("who"):
        return None
    with runtime.db.reading() as session:
        return unread_count(session, member_id)
