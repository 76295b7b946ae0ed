"""The member's own pages: sign up, the account (membership, redeeming a code, devices,
download history) and the search page.

Every message a member sees goes through the translation catalogue (``wenxing.i18n``);
the services below raise DomainErrors (English for logs and the CLI), shown here in the
site's language through their codes (``web/error_messages.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from wenxing import clock
from wenxing.db.base import utcnow
from wenxing.delivery import snippets
from wenxing.delivery.issue import FORMATS
from wenxing.delivery.queries import copies_of
from wenxing.i18n import N_, _
from wenxing.live import qq_links
from wenxing.live.feeds import feed_opened_at
from wenxing.members import accounts, codes, recovery, redemption, sms
from wenxing.members.devices import device_name
from wenxing.members.entitlement import role_now
from wenxing.members.models import Member
from wenxing.members.service import MemberError
from wenxing.members.subscriptions import account_view, membership_end, plans
from wenxing.reports import receipts
from wenxing.runtime import Runtime
from wenxing.search.units import units_of
from wenxing.web import auth
from wenxing.web.deps import RuntimeDep, csrf_checked, render
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
    ends = clock.local(ends_at, timezone)
    return _("兑换成功：%(plan)s，会员有效期至 %(year)d年%(month)02d月%(day)02d日。") % {
        "plan": plan_name,
        "year": ends.year,
        "month": ends.month,
        "day": ends.day,
    }


class _Refused(Exception):
    """Ends a write transaction without writing (a limit refused the request)."""


@dataclass
class _SignUp:
    """What a sign-up came to: refused by the address's limit, refused with a message, an
    imported member's phone to claim (``claim``: the verified code goes on to 领取账号), or
    signed in."""

    throttled: bool = False
    error: str | None = None
    claim: bool = False
    signed: accounts.SignedIn | None = None


def phone_check(runtime: Runtime) -> str:
    """How a phone given at sign-up is checked: ``sms`` (a code is sent and must be typed
    back), ``none`` (no sender, ``signup_without_sms`` open: taken as given) or ``closed``
    (no sender and the publisher closed phone sign-up: usernames only)."""
    publisher = runtime.publisher_settings()
    if sms.sender_for(publisher.sms) is not None:
        return "sms"
    return "none" if publisher.signup_without_sms == "open" else "closed"


def _sign_up(runtime: Runtime, request: Request, form: dict, password: str) -> _SignUp:
    """The account made and signed in on this device, or the sign-up refused (too many from
    this address, or the form's mistake in Chinese). A wrong SMS code is counted."""
    publisher = runtime.publisher_settings()
    check = phone_check(runtime)
    outcome = _SignUp()
    try:
        with runtime.db.transaction() as session:
            # Counted and written in one transaction holding the address, so a burst of
            # parallel sign-ups from one address gets exactly the limit. (The page is
            # rendered after it: a second connection must never be taken while the address
            # is held.) A refusal is caught inside, so what counts it is committed.
            ip, now = auth.client_ip(request), utcnow()
            outcome.throttled = accounts.too_many_attempts(session, "sign-up", ip, now)
            if outcome.throttled:
                raise _Refused
            try:
                _make_account(session, form, password, check, ip, now)
            except _Unclaimed:
                outcome.claim = True
                return outcome
            except MemberError as refused:
                outcome.error = sign_up_message(refused)
                return outcome
            identifier = form["phone"].strip() or form["username"].strip()
            outcome.signed = auth.open_session(session, publisher, request, identifier, password)
    except _Refused:
        pass
    except MemberError as refused:
        outcome.error = sign_up_message(refused)
    return outcome


class _Unclaimed(Exception):
    """The phone is an imported member's who has not claimed the account (and its code,
    when codes are sent, was right)."""


def _make_account(session, form: dict, password: str, check: str, ip: str | None, now) -> None:
    """The new account, its phone's code checked first and then used up; MemberError (a
    wrong code and a tried name counted) or _Unclaimed otherwise."""
    token = None
    if form["phone"].strip():
        token = recovery.signup_phone(
            session, form["phone"], form["code"], check=check, ip=ip, now=now
        )
    try:
        with session.begin_nested():
            member = accounts.sign_up(
                session,
                name=form["name"].strip(),
                password=password,
                phone=form["phone"].strip() or None,
                username=form["username"].strip() or None,
                ip=ip,
            )
            session.flush()
    except MemberError as refused:
        if refused.code == "account.unclaimed":
            raise _Unclaimed from None
        if form["username"].strip() or form["phone"].strip():  # a name tried: it counts
            accounts.sign_up_refused(session, ip, now)
        raise
    if token is not None:
        recovery.signup_code_used(token, member, now)


router = APIRouter(include_in_schema=False)  # pages, not the API


@router.get("/signup", response_class=HTMLResponse)
def signup_form(request: Request, runtime: RuntimeDep, next: str = "/") -> HTMLResponse:
    return _signup_page(runtime, render, request, {"next": next})


@router.post("/signup/code", response_class=HTMLResponse, dependencies=[Depends(csrf_checked)])
def signup_code(
    request: Request,
    runtime: RuntimeDep,
    name: str = Form(""),
    phone: str = Form(""),
    username: str = Form(""),
    next: str = Form("/"),
    agree: str = Form(""),
) -> Response:
    """获取验证码 on the sign-up form: the code sent, the form shown again as typed."""
    form = {"name": name, "phone": phone, "username": username, "agree": agree == "1"}
    error, status = _send_signup_code(runtime, request, phone)
    extra = {"next": next, "form": form, "error": error, "sent": error is None}
    return _signup_page(runtime, render, request, extra, status)


@router.post("/signup", response_class=HTMLResponse, dependencies=[Depends(csrf_checked)])
def signup(
    request: Request,
    runtime: RuntimeDep,
    name: str = Form(""),
    phone: str = Form(""),
    username: str = Form(""),
    code: str = Form(""),
    password: str = Form(""),
    password_again: str = Form(""),
    next: str = Form("/"),
    agree: str = Form(""),
) -> Response:
    form: dict = {"name": name, "phone": phone, "username": username, "code": code}
    form["agree"] = agree == "1"
    return _signed_up(runtime, render, request, form, (password, password_again), next)


@router.get("/account", response_class=HTMLResponse)
def account(
    request: Request, runtime: RuntimeDep, notice: str = "", redeemed: str = ""
) -> Response:
    notice = notice or ("redeemed" if redeemed else "")
    shown = _(_NOTICES[notice]) if notice in _NOTICES else None
    extra = {"notice": shown, "redeemed_notice": notice == "redeemed"}
    return _account_page(runtime, render, request, extra)


@router.post("/account/redeem", response_class=HTMLResponse, dependencies=[Depends(csrf_checked)])
def redeem(
    request: Request, runtime: RuntimeDep, code: str = Form(""), next: str = Form("")
) -> Response:
    """The redeem box without scripts (``static/redeem.js`` calls the API in place)."""
    target = auth.local_target(next or "/account")
    with runtime.db.reading() as session:
        member = auth.current_member(session, request)
        if member is None:
            return RedirectResponse(f"/signin?next={quote(target)}", status_code=303)
        member_id, number = member.id, member.number
    try:
        redemption.redeem_code(
            runtime.db,
            runtime.publisher_settings(),
            code,
            member_id,
            actor=number,
            ip=auth.client_ip(request),
        )
    except codes.CodeError as refused:
        status = 429 if isinstance(refused, redemption.TooManyAttempts) else 400
        extra = {
            "redeem_code": code,
            "redeem_error": redeem_message(refused),
            "pay_next": target,
        }
        return _account_page(runtime, render, request, extra, status)
    joiner = "&" if "?" in target else "?"
    return RedirectResponse(f"{target}{joiner}redeemed=1", status_code=303)


@router.post("/account/devices/{device}/signout", dependencies=[Depends(csrf_checked)])
def end_device(request: Request, runtime: RuntimeDep, device: str) -> Response:
    with runtime.db.transaction() as session:
        member = auth.current_member(session, request)
        if member is None:
            return RedirectResponse("/signin?next=/account", status_code=303)
        try:
            accounts.end_session(session, member.id, device, utcnow())
        except MemberError:
            return render(request, "error.html", {"message": _("没有这台已登录的设备")}, 404)
    return RedirectResponse("/account?notice=device", status_code=303)


def _signed_up(runtime: Runtime, page, request: Request, form: dict, passwords, next: str):
    """The sign-up form's answer: signed in and on to ``next``, the form again with what
    was wrong, or 领取账号 for an imported member's phone."""
    password, password_again = passwords
    error = None
    if password != password_again:
        error = _("两次输入的密码不一致")
    elif not form["agree"]:  # the phone number is collected only with consent
        error = _("请先阅读并同意用户协议和隐私政策")
    if error is not None:
        extra: dict = {"next": next, "form": form, "error": error}
        return _signup_page(runtime, page, request, extra, 400)
    outcome = _sign_up(runtime, request, form, password)
    if outcome.claim:
        return _claim_page(runtime, page, request, form)
    if outcome.throttled or outcome.error is not None:
        refusal = _("注册太频繁了，请稍后再试") if outcome.throttled else outcome.error
        extra = {"next": next, "form": form, "error": refusal}
        return _signup_page(runtime, page, request, extra, 429 if outcome.throttled else 400)
    response = RedirectResponse(auth.local_target(next), status_code=303)
    assert outcome.signed is not None
    auth.set_session_cookie(response, request, outcome.signed.token)
    return response


def _signup_page(runtime: Runtime, page, request: Request, extra: dict, status: int = 200):
    """The sign-up form (``extra``: next, the form as typed, an error, a code just sent)."""
    context = {"error": None, "form": {}, "sent": False, **extra}
    context["next"] = auth.local_target(context.get("next") or "/")
    context["phone_check"] = phone_check(runtime)
    return page(request, "signup.html", context, status)


def _send_signup_code(runtime: Runtime, request: Request, phone: str) -> tuple[str | None, int]:
    """Send a sign-up code to ``phone`` (after its transaction committed): (None, 200), or
    the refusal in Chinese and its status."""
    chosen = sms.sender_for(runtime.publisher_settings().sms)
    if chosen is None:
        return _("本站暂未开通短信验证，不需要验证码。"), 400
    try:
        with runtime.db.transaction() as session:
            outgoing = recovery.request_code(
                session, phone, ip=auth.client_ip(request), now=utcnow(), kind="signup"
            )
        if outgoing is not None:
            chosen.send_code(outgoing.phone, outgoing.code)
    except MemberError as refused:
        return user_message(refused), 429 if "too" in refused.code else 400
    except sms.SmsFailed as failed:
        return user_message(failed), 502
    return None, 200


def _claim_page(runtime: Runtime, page, request: Request, form: dict) -> HTMLResponse:
    """Sign-up with an imported member's phone: 领取账号 instead. With SMS the code just
    checked sets the password (``/reset`` takes it); without, the page says how to claim."""
    if phone_check(runtime) != "sms":
        context = {
            "heading": _("领取账号"),
            "notice": user_message(MemberError("account.unclaimed", phone=form["phone"])),
            "sender": False,
            "phone": form["phone"].strip(),
            "error": None,
        }
        return page(request, "forgot.html", context, 409)
    context = {
        "heading": _("领取账号"),
        "action": "/reset",
        "by_code": True,
        "phone": form["phone"].strip(),
        "code": form["code"].strip(),
        "claim": True,
        "error": None,
        "sent": False,
    }
    return page(request, "reset.html", context, 409)


def _account_page(
    runtime: Runtime, page: Callable[..., HTMLResponse], request: Request, extra: dict, status=200
) -> Response:
    """The account page, with ``extra`` (a notice, or the redeem box's code and error)."""
    now = utcnow()
    publisher = runtime.publisher_settings()
    timezone = publisher.timezone
    extra = dict(extra)
    with runtime.db.transaction() as session:
        member = auth.current_member(session, request)
        if member is None:
            return RedirectResponse("/signin?next=/account", status_code=303)
        role = role_now(account_view(session, member), now)
        ends = membership_end(session, member.id, now)
        if extra.pop("redeemed_notice", False):
            extra["notice"] = (
                redeemed_notice(session, publisher, member.id, ends) or extra["notice"]
            )
        token_id = accounts.token_id(auth.request_token(request) or "")
        devices = [
            {
                "id": d.id,
                "this": d.id == token_id,
                "since": d.created_at,
                "seen": d.last_seen_at,
                "ip": d.ip or "",
                "agent": device_name(d.user_agent),
            }
            for d in accounts.devices(session, member.id)
        ]
        history = copies_of(session, member.id, limit=50)
        who = {"number": member.number, "name": member.name, "role": member.role}
        suspended = member.suspended_reason if member.status == "suspended" else None
        filed = report_rows(receipts.reports_of(session, member.id), timezone)
        warnings = receipts.warnings_for(session, member.number)
        feed_since = feed_opened_at(session, member.id)
        qq = qq_links.view(session, member.id, now)
    context = {
        "who": who,
        "role_name": role_name(role),
        "ends": ends,
        "suspended_reason": suspended,
        "warnings": warnings,
        "reports": filed,
        "devices": devices,
        "feed_since": feed_since,
        "qq": qq,
        "history": history,
        "format_names": {name: _(form.label) for name, form in FORMATS.items()}
        | {"d-docx": _("组稿 .docx（含此材料的段落）"), "d-txt": _("组稿 .txt（含此材料的段落）")},
        "notice": None,
        "error": None,
        "pay_next": "/account",
        **extra,
    }
    return page(request, "account.html", context, status)


account_page = _account_page  # (the QQ number's routes, web/account_qq.py, show it too)


def redeemed_notice(session, publisher, member_id: int, ends) -> str | None:
    """What was redeemed, said as the redeem box says it: the plan and the membership's
    new end on the publisher's clock (None when there is nothing to say)."""
    code = redemption.latest_redeemed_plan(session, member_id)
    if code is None or ends is None:
        return None
    plan = plans(publisher).get(code)
    return redeemed_message(plan.name if plan else code, ends, publisher.timezone)


_NOTICES = {
    "device": N_("已让这台设备退出登录。"),
    "redeemed": N_("兑换成功，会员已开通。"),
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
