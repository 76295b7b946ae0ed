"""Who may enter the console, and the helpers every console page uses.

Who may enter is decided in one place, ``staff``, the dependency of every console module's
router: visitors are sent to sign in, accounts that are not editors or admins get 403, and
pages for admins only (codes, members, audit) are on routers whose dependency is ``admin``,
which takes ``staff`` first. Every change is a POST whose CSRF token ``deps.csrf_checked``
checks.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse

from wenxing.i18n import _
from wenxing.reports.receipts import pending_count
from wenxing.runtime import Runtime
from wenxing.search.sync import IndexUnusable
from wenxing.web import auth

STAFF_ROLES = ("editor", "admin")
log = logging.getLogger("wenxing.web")


@dataclass(frozen=True)
class Staff:
    member_id: int
    number: str
    role: str  # editor or admin


class NotStaff(Exception):
    """Raised by the guard; the app turns it into a redirect or a 403 page."""

    def __init__(self, signed_in: bool):
        self.signed_in = signed_in


def staff(request: Request) -> Staff:
    """The one gate of the console: the signed-in editor or admin making the request."""
    runtime: Runtime = request.app.state.runtime
    with runtime.db.transaction() as session:
        member = auth.current_member(session, request)
        if member is None:
            raise NotStaff(signed_in=False)
        if member.role not in STAFF_ROLES or member.status != "active":
            raise NotStaff(signed_in=True)
        # The console's navigation shows how many reports wait (every console page).
        request.state.pending_reports = pending_count(session)
        return Staff(member.id, member.number, member.role)


StaffDep = Annotated[Staff, Depends(staff)]


def admin(who: StaffDep) -> Staff:
    """The gate of pages for admins only, on top of ``staff`` (a router's dependency)."""
    if who.role != "admin":
        raise NotStaff(signed_in=True)
    return who


AdminDep = Annotated[Staff, Depends(admin)]


def console_page(
    render: Callable[..., HTMLResponse], request: Request, name: str, context: dict, status=200
) -> HTMLResponse:
    """A console template (``console/<name>``) rendered with the console's navigation."""
    return render(request, f"console/{name}", {"console": True, **context}, status)


def no_such_page(view: Callable[..., HTMLResponse], request: Request, who: Staff) -> HTMLResponse:
    """A paged console list asked for a page past its last (``view``: a console page)."""
    message = {"who": who.__dict__, "message": _("没有这一页")}
    return view(request, "message.html", message, 404)


def say(
    view: Callable[..., HTMLResponse], request: Request, who: Staff, message: str, status: int
) -> HTMLResponse:
    """A console page holding one sentence (a refusal, a missing row)."""
    return view(request, "message.html", {"who": who.__dict__, "message": message}, status)


def refresh_search(runtime: Runtime) -> None:
    """Let the search index see a change now (the change is in its outbox already: an
    index still being built applies it when it is ready, so that is not an error)."""
    try:
        runtime.search_index().catch_up()
    except IndexUnusable:
        log.info("search index not ready; it applies the console's change when it is")
