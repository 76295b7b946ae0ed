"""The console's members (admins only): the filtered list, its CSV export, bulk grant and
suspend (asked first), and one member's page with grant, suspend and reinstate."""

from __future__ import annotations

from functools import partial
from typing import Annotated
from urllib.parse import parse_qsl, quote, urlencode

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from wenxing import audit
from wenxing.db.base import utcnow
from wenxing.delivery.queries import copies_of
from wenxing.errors import DomainError
from wenxing.i18n import _
from wenxing.members import directory, roster
from wenxing.members.accounts import devices
from wenxing.members.entitlement import role_now
from wenxing.members.subscriptions import account_view, grant, membership_end, plans
from wenxing.runtime import Runtime
from wenxing.web import auth
from wenxing.web.account import role_name
from wenxing.web.console.audit_words import describe
from wenxing.web.console.gate import AdminDep, admin, console_page, no_such_page, say
from wenxing.web.deps import RuntimeDep, csrf_checked, render
from wenxing.web.error_messages import user_message
from wenxing.web.paging import Page, PageNumber, link

MEMBERS_PER_PAGE = 50  # accounts a page of the console's members list
EXPIRING_CHOICES = (7, 30)
BULK_NAMES = {"grant": "赠送会员", "suspend": "暂停账号"}


def wanted_from(
    q: str = "",
    plan: str = "",
    expiring: str = "",
    expired: str = "",
    suspended: str = "",
    flagged: str = "",
    **_ignored: str,
) -> directory.MemberFilter:
    return directory.MemberFilter(
        q=q.strip()[:60],
        plan=plan.strip()[:16],
        expiring_days=int(expiring) if expiring.isdigit() and 0 < int(expiring) <= 366 else None,
        expired=bool(expired),
        suspended=bool(suspended),
        flagged=bool(flagged),
    )


router = APIRouter(prefix="/console", dependencies=[Depends(admin)], include_in_schema=False)
view = partial(console_page, render)


@router.get("/members", response_class=HTMLResponse)
def members(
    request: Request,
    who: AdminDep,
    runtime: RuntimeDep,
    q: str = "",
    plan: str = "",
    expiring: str = "",
    expired: str = "",
    suspended: str = "",
    flagged: str = "",
    page: PageNumber = 1,
    notice: str = "",
) -> HTMLResponse:
    wanted = wanted_from(q, plan, expiring, expired, suspended, flagged)
    now = utcnow()
    with runtime.db.reading() as session:
        total = directory.count(session, wanted, now, limit=directory.COUNT_LIMIT)
        shown = Page(page, MEMBERS_PER_PAGE, min(total, directory.COUNT_LIMIT))
        if shown.past_the_end:
            return no_such_page(view, request, who)
        found = directory.page(session, wanted, now, limit=shown.size, offset=shown.offset)
        session.expunge_all()  # the rows stay readable after the session closes
    kept = wanted.query()
    context = {
        "who": who.__dict__,
        "wanted": wanted,
        "found": found,
        "now": now,
        "shown": shown,
        "more": total > directory.COUNT_LIMIT,
        "plans": plans(runtime.publisher_settings()),
        "expiring_choices": EXPIRING_CHOICES,
        "kept_query": urlencode(kept),
        "link": link("/console/members", **kept),
        "bulk_names": BULK_NAMES,
        "notice": notice[:200],
    }
    return view(request, "members.html", context)


@router.get("/members.csv")
def export(request: Request, who: AdminDep, runtime: RuntimeDep) -> Response:
    wanted = wanted_from(**dict(request.query_params))
    timezone = runtime.publisher_settings().timezone
    with runtime.db.transaction() as session:
        text = directory.export_csv(session, wanted, utcnow(), timezone)
        audit.record(session, audit.MEMBER_EXPORT, actor=who.number, filter=wanted.query())
    return Response(
        text.encode("utf-8-sig"),  # Excel opens UTF-8 CSV with a BOM correctly
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": 'attachment; filename="members.csv"; '
            f"filename*=UTF-8''{quote('会员名单')}.csv"
        },
    )


def _chosen(runtime: Runtime, everything: str, numbers: list[str] | None, now) -> list[str]:
    """A bulk form's members: those ticked, or every one the filter ``everything`` matches."""
    if not everything:
        return list(dict.fromkeys(numbers or []))
    wanted = wanted_from(**dict(parse_qsl(everything)))
    with runtime.db.reading() as session:
        found = directory.page(session, wanted, now, limit=directory.MAX_BULK + 1, offset=0)
        return [m.number for m in found]


@router.post("/members/bulk", response_class=HTMLResponse, dependencies=[Depends(csrf_checked)])
def bulk(
    request: Request,
    who: AdminDep,
    runtime: RuntimeDep,
    action: str = Form(""),
    numbers: Annotated[list[str] | None, Form()] = None,
    everything: str = Form(""),
    plan: str = Form(""),
    reason: str = Form(""),
    confirmed: str = Form(""),
) -> Response:
    """Grant or suspend the members ticked (or every one the filter ``everything``
    matches), after a page that names them and asks."""
    if action not in BULK_NAMES:
        return say(view, request, who, _("不支持这个操作"), 400)
    known = plans(runtime.publisher_settings())
    now = utcnow()
    chosen = _chosen(runtime, everything, numbers, now)
    if action == "grant" and plan not in known:
        return say(view, request, who, _("请选择一种套餐"), 400)
    if not confirmed:
        context = {
            "who": who.__dict__,
            "action": action,
            "action_name": BULK_NAMES[action],
            "numbers": chosen,
            "plan": plan,
            "plan_name": known[plan].name if plan in known else "",
            "reason": reason.strip(),
            "limit": directory.MAX_BULK,
        }
        return view(request, "members_confirm.html", context)
    try:
        with runtime.db.transaction() as session:
            if action == "grant":
                done = directory.bulk_grant(
                    session,
                    chosen,
                    known[plan],
                    actor=who.number,
                    reason=reason,
                    now=now,
                    ip=auth.client_ip(request),
                )
            else:
                done = directory.bulk_suspend(
                    session,
                    chosen,
                    reason,
                    actor=who.number,
                    now=now,
                    ip=auth.client_ip(request),
                )
    except DomainError as refused:
        return say(view, request, who, user_message(refused), 400)
    notice = _("%(action)s：%(n)s 位会员") % {"action": _(BULK_NAMES[action]), "n": done}
    return RedirectResponse(f"/console/members?{urlencode({'notice': notice})}", status_code=303)


@router.get("/members/{number}", response_class=HTMLResponse)
def member_page(request: Request, who: AdminDep, runtime: RuntimeDep, number: str) -> HTMLResponse:
    now = utcnow()
    known = plans(runtime.publisher_settings())
    with runtime.db.reading() as session:
        member = directory.find(session, number)
        if member is None:
            return say(view, request, who, _("没有这个会员"), 404)
        context = {
            "who": who.__dict__,
            "m": member,
            "role_name": role_name(role_now(account_view(session, member), now)),
            "ends": membership_end(session, member.id, now),
            "events": [
                {"at": e.at, "ip": e.ip, **describe(e.type, e.actor, e.subject, e.details)}
                for e in audit.about(session, member.number, limit=50)
            ],
            "copies": copies_of(session, member.id, limit=20),
            "devices": devices(session, member.id),
            "plans": known,
        }
        session.expunge_all()  # the rows stay readable after the session closes
    return view(request, "member.html", context)


@router.post("/members/{number}/{action}", dependencies=[Depends(csrf_checked)])
def member_action(
    request: Request,
    who: AdminDep,
    runtime: RuntimeDep,
    number: str,
    action: str,
    plan: str = Form(""),
    reason: str = Form(""),
) -> Response:
    if action not in ("grant", "suspend", "reinstate"):
        return say(view, request, who, _("不支持这个操作"), 404)
    known = plans(runtime.publisher_settings())
    try:
        with runtime.db.transaction() as session:
            member = directory.find(session, number)
            if member is None:
                return say(view, request, who, _("没有这个会员"), 404)
            if action == "grant":
                if plan not in known or not reason.strip():
                    return say(view, request, who, _("请选择套餐并填写原因"), 400)
                grant(
                    session,
                    member.id,
                    known[plan],
                    actor=who.number,
                    reason=reason.strip(),
                    now=utcnow(),
                    ip=auth.client_ip(request),
                )
            elif action == "suspend":
                roster.suspend(
                    session,
                    member,
                    reason,
                    actor=who.number,
                    now=utcnow(),
                    ip=auth.client_ip(request),
                )
            else:
                roster.reinstate(session, member, actor=who.number)
    except DomainError as refused:
        return say(view, request, who, user_message(refused), 400)
    return RedirectResponse(f"/console/members/{quote(number)}", status_code=303)
