"""The member's own pages: sign up, the account (membership, redeeming a code, devices,
download history) and the search page.

Every message a member sees goes through the translation catalogue (``wenxing.i18n``);
the services below raise DomainErrors (English for logs and the CLI), shown here in the
site's language through their codes (``web/error_messages.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from wenxing.db.base import utcnow
from wenxing.delivery import snippets
from wenxing.delivery.issue import copies_of
from wenxing.i18n import N_, _
from wenxing.live.feeds import feed_opened_at
from wenxing.members import accounts, codes, redemption
from wenxing.members.entitlement import role_now
from wenxing.members.models import Member
from wenxing.members.service import MemberError
from wenxing.members.subscriptions import account_view, membership_end, plans
from wenxing.reports import receipts
from wenxing.runtime import Runtime
from wenxing.search.query import QueryError
from wenxing.search.service import RateLimited, search
from wenxing.search.units import units_of
from wenxing.web import auth
from wenxing.web.error_messages import user_message
from wenxing.web.reporting import report_rows

# Labels and messages below are marked with N_ and translated where they are shown.
ROLE_NAMES = {
    "member": N_("会员"),
    "free": N_("免费用户"),
    "editor": N_("编辑"),
    "admin": N_("管理员"),
    "suspended": N_("已暂停"),
}


def role_name(role: str) -> str:
    """The role's name in the site's language (an unknown role as it is)."""
    return _(ROLE_NAMES[role]) if role in ROLE_NAMES else role


def sign_up_message(error: MemberError) -> str:
    return user_message(error)


def redeem_message(error: Exception) -> str:
    return user_message(error)


def redeemed_message(plan_name: str, ends_at, timezone: str) -> str:
    """What a member is told after redeeming a code (the site and the API say the same)."""
    ends = ends_at.replace(tzinfo=UTC).astimezone(ZoneInfo(timezone))
    return _("兑换成功：%(plan)s，会员有效期至 %(year)d年%(month)02d月%(day)02d日。") % {
        "plan": plan_name,
        "year": ends.year,
        "month": ends.month,
        "day": ends.day,
    }


class _Refused(Exception):
    """Ends a write transaction without writing (a limit refused the request)."""


def account_routes(runtime: Runtime, page: Callable[..., HTMLResponse]) -> APIRouter:
    router = APIRouter(include_in_schema=False)  # pages, not the API

    @router.get("/signup", response_class=HTMLResponse)
    def signup_form(request: Request, next: str = "/") -> HTMLResponse:
        return page(
            request, "signup.html", {"next": auth.local_target(next), "error": None, "form": {}}
        )

    @router.post("/signup", response_class=HTMLResponse)
    def signup(
        request: Request,
        name: str = Form(""),
        phone: str = Form(""),
        username: str = Form(""),
        password: str = Form(""),
        password_again: str = Form(""),
        csrf_token: str = Form(""),
        next: str = Form("/"),
    ) -> Response:
        if not auth.csrf_ok(request, csrf_token):
            return page(request, "error.html", {"message": _("页面已过期，请刷新后重试")}, 403)
        form = {"name": name, "phone": phone, "username": username}
        error = None
        if password != password_again:
            error = _("两次输入的密码不一致")
        publisher = runtime.publisher_settings()
        throttled = False
        if error is None:
            try:
                with runtime.db.transaction() as session:
                    # Counted and written in one transaction holding the address, so a burst
                    # of parallel sign-ups from one address gets exactly the limit. (The page
                    # is rendered after it: a second connection must never be taken while
                    # the address is held.)
                    throttled = accounts.too_many_attempts(
                        session, "sign-up", auth.client_ip(request), utcnow()
                    )
                    if throttled:
                        raise _Refused
                    try:
                        with session.begin_nested():
                            accounts.sign_up(
                                session,
                                name=name.strip(),
                                password=password,
                                phone=phone.strip() or None,
                                username=username.strip() or None,
                                ip=auth.client_ip(request),
                            )
                            session.flush()
                    except MemberError as refused:
                        # Counted against the address like a sign-up, in this transaction.
                        error = sign_up_message(refused)
                        if username.strip() or phone.strip():  # a name tried: it counts
                            accounts.sign_up_refused(session, auth.client_ip(request), utcnow())
                    else:
                        identifier = phone.strip() or username.strip()
                        signed = auth.open_session(
                            session, publisher, request, identifier, password
                        )
            except MemberError as refused:
                error = sign_up_message(refused)
            except _Refused:
                pass
        if throttled:
            context = {
                "next": auth.local_target(next),
                "error": _("注册太频繁了，请稍后再试"),
                "form": form,
            }
            return page(request, "signup.html", context, 429)
        if error is not None:
            context = {"next": auth.local_target(next), "error": error, "form": form}
            return page(request, "signup.html", context, 400)
        response = RedirectResponse(auth.local_target(next), status_code=303)
        auth.set_session_cookie(response, request, signed.token)
        return response

    @router.get("/account", response_class=HTMLResponse)
    def account(request: Request, notice: str = "") -> Response:
        now = utcnow()
        timezone = runtime.publisher_settings()["timezone"]
        with runtime.db.transaction() as session:
            member = auth.current_member(session, request)
            if member is None:
                return RedirectResponse("/signin?next=/account", status_code=303)
            role = role_now(account_view(session, member), now)
            ends = membership_end(session, member.id, now)
            token_id = accounts.token_id(auth.request_token(request) or "")
            devices = [
                {
                    "id": d.id,
                    "this": d.id == token_id,
                    "since": d.created_at,
                    "seen": d.last_seen_at,
                    "ip": d.ip or "",
                    "agent": (d.user_agent or "")[:80],
                }
                for d in accounts.devices(session, member.id)
            ]
            history = copies_of(session, member.id, limit=50)
            who = {"number": member.number, "name": member.name, "role": member.role}
            suspended = member.suspended_reason if member.status == "suspended" else None
            filed = report_rows(receipts.reports_of(session, member.id), timezone)
            warnings = receipts.warnings_for(session, member.number)
            feed_since = feed_opened_at(session, member.id)
        context = {
            "who": who,
            "role_name": role_name(role),
            "ends": ends,
            "suspended_reason": suspended,
            "warnings": warnings,
            "reports": filed,
            "devices": devices,
            "feed_since": feed_since,
            "history": history,
            "notice": _(_NOTICES[notice]) if notice in _NOTICES else None,
            "error": None,
        }
        return page(request, "account.html", context)

    @router.post("/account/redeem", response_class=HTMLResponse)
    def redeem(request: Request, code: str = Form(""), csrf_token: str = Form("")) -> Response:
        if not auth.csrf_ok(request, csrf_token):
            return page(request, "error.html", {"message": _("页面已过期，请刷新后重试")}, 403)
        with runtime.db.transaction() as session:
            member = auth.current_member(session, request)
            if member is None:
                return RedirectResponse("/signin?next=/account", status_code=303)
            member_id, number = member.id, member.number
        publisher = runtime.publisher_settings()
        try:
            done = redemption.redeem(
                runtime.db,
                code,
                member_id,
                plans(publisher),
                now=utcnow(),
                actor=number,
                ip=auth.client_ip(request),
                failure_limit=publisher["redeem_failures_per_hour"],
            )
        except codes.CodeError as refused:
            return page(
                request,
                "message.html",
                {"title": _("兑换卡密"), "message": redeem_message(refused), "back": "/account"},
                400,
            )
        name = plans(publisher)[done.plan].name
        message = redeemed_message(name, done.ends_at, publisher["timezone"])
        context = {"title": _("兑换卡密"), "message": message, "back": "/account"}
        return page(request, "message.html", context)

    @router.post("/account/devices/{device}/signout")
    def end_device(request: Request, device: str, csrf_token: str = Form("")) -> Response:
        if not auth.csrf_ok(request, csrf_token):
            return page(request, "error.html", {"message": _("页面已过期，请刷新后重试")}, 403)
        with runtime.db.transaction() as session:
            member = auth.current_member(session, request)
            if member is None:
                return RedirectResponse("/signin?next=/account", status_code=303)
            try:
                accounts.end_session(session, member.id, device, utcnow())
            except MemberError:
                return page(request, "error.html", {"message": _("没有这台已登录的设备")}, 404)
        return RedirectResponse("/account?notice=device", status_code=303)

    @router.get("/search", response_class=HTMLResponse)
    def search_page(request: Request, q: str = "") -> HTMLResponse:
        context: dict = {"q": q, "results": None, "error": None}
        if not q.strip():
            return page(request, "search.html", context)
        status = 200
        publisher = runtime.publisher_settings()
        with runtime.db.reading() as session:
            member = auth.current_member(session, request)
            subject = member.number if member else f"ip:{auth.client_ip(request)}"
            role = role_now(account_view(session, member) if member else None, utcnow())
        try:
            runtime.search_allowance().take(subject, publisher["search_per_minute"], utcnow())
        except RateLimited as limited:
            context["error"], status = limited.user_message, 429
        if status == 200:
            try:
                results = search(
                    runtime.search_index(),
                    q,
                    limit=20,
                    member=role in ("member", "editor", "admin"),
                )
            except QueryError as refused:
                context["error"], status = refused.user_message, 400
            else:
                context["results"] = release_results(runtime, request, member, results, "web")
        return page(request, "search.html", context, status)

    return router


_NOTICES = {
    "device": N_("已让这台设备退出登录。"),
    "feed-stopped": N_("订阅源已停用，原来的订阅地址不再可用。"),
}  # translated where shown


def release_results(runtime: Runtime, request: Request, member, results, channel: str):
    """A search answer as the asking account may have it (``delivery.snippets``): visitors
    get headings only without a write; an account's snippets are marked and logged."""
    if member is None:
        return snippets.withhold(results)
    publisher = runtime.publisher_settings()
    with runtime.db.transaction() as session:
        return snippets.release(
            session,
            runtime.secret,
            publisher,
            session.get(Member, member.id),
            results,
            units_of=units_of,
            now=utcnow(),
            actor=f"member:{channel}-search",
            ip=auth.client_ip(request),
        )
