"""The console's ways back into an account (admins only): a one-time reset link for one
member, shown once, and the roster CSV with a fresh invitation link for every member who
has no password yet (imported members). Both are POSTs: they make and audit links."""

from __future__ import annotations

from datetime import timedelta
from functools import partial

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from wenxing.db.base import utcnow
from wenxing.i18n import _
from wenxing.members import recovery, roster
from wenxing.web import auth
from wenxing.web.console.gate import AdminDep, admin, console_page, say
from wenxing.web.deps import RuntimeDep, csrf_checked, render

# Served before the member routes: ``/members/{number}/{action}`` would take
# ``reset-link`` for an action otherwise.
router = APIRouter(prefix="/console", dependencies=[Depends(admin)], include_in_schema=False)
view = partial(console_page, render)


@router.post("/members/roster.csv", dependencies=[Depends(csrf_checked)])
def roster_export(request: Request, who: AdminDep, runtime: RuntimeDep) -> Response:
    timezone = runtime.publisher_settings().timezone
    with runtime.db.transaction() as session:
        text = roster.export_roster(
            session,
            actor=who.number,
            ip=auth.client_ip(request),
            now=utcnow(),
            timezone=timezone,
            base_url=runtime.settings.public_url,
        )
    return Response(
        text.encode("utf-8-sig"),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": 'attachment; filename="members.csv"',
            "Cache-Control": "no-store",
        },
    )


@router.post(
    "/members/{number}/reset-link",
    response_class=HTMLResponse,
    dependencies=[Depends(csrf_checked)],
)
def member_reset_link(
    request: Request, who: AdminDep, runtime: RuntimeDep, number: str
) -> HTMLResponse:
    """A link for the member to set a new password (an invitation when the account
    has none yet): shown once on this page, audited, good for 24 hours."""
    now = utcnow()
    with runtime.db.transaction() as session:
        member = recovery.member_numbered(session, number)
        if member is None:
            return say(view, request, who, _("没有这个会员"), 404)
        secret = recovery.make_link(
            session, member, kind="link", actor=who.number, ip=auth.client_ip(request), now=now
        )
        shown = {"number": member.number, "name": member.name}
    context = {
        "who": who.__dict__,
        "m": shown,
        "heading": _("重置密码链接"),
        "link": f"{runtime.settings.public_url.rstrip('/')}/reset/{secret}",
        "until": now + timedelta(hours=recovery.LINK_HOURS),
    }
    return view(request, "reset_link.html", context)
