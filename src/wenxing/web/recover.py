"""忘记密码 and 领取账号: a new password by an SMS code or by a one-time link, then signed in.

The rules are ``members.recovery``'s; this module only reads the forms, sends the code once
its transaction has committed (``members.sms``), and signs the member in on this device
after the reset ended every other session. Nothing says whether a phone has an account.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from wenxing.db.base import utcnow
from wenxing.i18n import _
from wenxing.members import recovery, sms
from wenxing.members.service import MemberError
from wenxing.runtime import Runtime
from wenxing.web import auth
from wenxing.web.deps import RuntimeDep, csrf_checked, render
from wenxing.web.error_messages import user_message

Page = Callable[..., HTMLResponse]


router = APIRouter(include_in_schema=False)  # pages, not the API


@router.get("/forgot", response_class=HTMLResponse)
def forgot_form(request: Request, runtime: RuntimeDep) -> HTMLResponse:
    return render(request, "forgot.html", {"sender": _sender(runtime) is not None, "error": None})


@router.get("/claim", response_class=HTMLResponse)
def claim_form(request: Request, runtime: RuntimeDep, phone: str = "") -> HTMLResponse:
    """领取账号: an imported member sets a password by a code to the imported phone."""
    context = {
        "heading": _("领取账号"),
        "sender": _sender(runtime) is not None,
        "phone": phone.strip(),
        "error": None,
    }
    return render(request, "forgot.html", context)


@router.post("/forgot", response_class=HTMLResponse, dependencies=[Depends(csrf_checked)])
def forgot(request: Request, runtime: RuntimeDep, phone: str = Form("")) -> Response:
    return _forgot(runtime, render, request, phone)


@router.get("/reset", response_class=HTMLResponse)
def reset_code_form(request: Request, phone: str = "") -> HTMLResponse:
    return _code_form(render, request, phone, None, False, 200)


@router.post("/reset", response_class=HTMLResponse, dependencies=[Depends(csrf_checked)])
def reset_by_code(
    request: Request,
    runtime: RuntimeDep,
    phone: str = Form(""),
    code: str = Form(""),
    password: str = Form(""),
    password_again: str = Form(""),
) -> Response:
    return _reset_by_code(runtime, render, request, phone, code, (password, password_again))


@router.get("/reset/{secret}", response_class=HTMLResponse)
def reset_link_form(request: Request, runtime: RuntimeDep, secret: str) -> HTMLResponse:
    return _reset_link_form(runtime, render, request, secret)


@router.post("/reset/{secret}", response_class=HTMLResponse, dependencies=[Depends(csrf_checked)])
def reset_by_link(
    request: Request,
    runtime: RuntimeDep,
    secret: str,
    password: str = Form(""),
    password_again: str = Form(""),
) -> Response:
    return _reset_by_link(runtime, render, request, secret, (password, password_again))


def _sender(runtime: Runtime) -> sms.Sender | None:
    return sms.sender_for(runtime.publisher_settings().sms)


def _code_form(
    page: Page, request: Request, phone: str, error: str | None, sent: bool, status: int
):
    context = {
        "heading": _("设置新密码"),
        "action": "/reset",
        "by_code": True,
        "phone": phone,
        "error": error,
        "sent": sent,
    }
    return page(request, "reset.html", context, status)


def _forgot(runtime: Runtime, page: Page, request: Request, phone: str) -> Response:
    """A code sent to the phone (when it has an account: the page never says)."""
    chosen = _sender(runtime)
    if chosen is None:
        return page(request, "forgot.html", {"sender": False, "error": None})
    try:
        with runtime.db.transaction() as session:
            outgoing = recovery.request_code(
                session, phone, ip=auth.client_ip(request), now=utcnow()
            )
        if outgoing is not None:
            chosen.send_code(outgoing.phone, outgoing.code)
    except MemberError as refused:
        context = {"sender": True, "error": user_message(refused), "phone": phone}
        return page(request, "forgot.html", context, 429 if "too" in refused.code else 400)
    except sms.SmsFailed as failed:
        context = {"sender": True, "error": user_message(failed), "phone": phone}
        return page(request, "forgot.html", context, 502)
    return _code_form(page, request, phone.strip(), None, True, 200)


def _reset_by_code(
    runtime: Runtime,
    page: Page,
    request: Request,
    phone: str,
    code: str,
    passwords: tuple[str, str],
) -> Response:
    password, password_again = passwords
    if password != password_again:
        return _code_form(page, request, phone, _("两次输入的密码不一致"), False, 400)
    error = None
    publisher = runtime.publisher_settings()
    with runtime.db.transaction() as session:
        # A wrong code is counted (its attempt and audit event are written before the
        # refusal is raised), so the transaction commits either way.
        try:
            member = recovery.reset_with_code(
                session, phone, code, password, ip=auth.client_ip(request), now=utcnow()
            )
            signed = auth.open_session(session, publisher, request, member.number, password)
        except MemberError as refused:
            error = user_message(refused)
    if error is not None:
        return _code_form(page, request, phone, error, False, 400)
    return _signed_in(request, signed.token)


def _reset_link_form(runtime: Runtime, page: Page, request: Request, secret: str) -> HTMLResponse:
    with runtime.db.reading() as session:
        try:
            holder, token = recovery.link_holder(session, secret, utcnow())
            shown = {"number": holder.number, "name": holder.name}
            kind = token.kind
        except MemberError as refused:
            return page(request, "error.html", {"message": user_message(refused)}, 404)
    return _link_form(page, request, secret, shown, kind, None, 200)


def _link_form(
    page: Page, request, secret: str, holder: dict, kind: str, error: str | None, status: int
):
    context = {
        "heading": _("领取账号") if kind == "invite" else _("设置新密码"),
        "action": f"/reset/{secret}",
        "by_code": False,
        "holder": holder,
        "error": error,
    }
    return page(request, "reset.html", context, status)


def _reset_by_link(
    runtime: Runtime, page: Page, request: Request, secret: str, passwords: tuple[str, str]
) -> Response:
    password, password_again = passwords
    publisher = runtime.publisher_settings()
    error = invalid = None
    shown: dict = {}
    kind = "link"
    with runtime.db.transaction() as session:
        try:
            holder, token = recovery.link_holder(session, secret, utcnow())
            shown, kind = {"number": holder.number, "name": holder.name}, token.kind
            if password != password_again:
                error = _("两次输入的密码不一致")
            else:
                member = recovery.reset_with_link(
                    session, secret, password, ip=auth.client_ip(request), now=utcnow()
                )
                signed = auth.open_session(session, publisher, request, member.number, password)
        except MemberError as refused:  # (refused before anything was written)
            if refused.code == "recovery.link_invalid":
                invalid = user_message(refused)
            else:
                error = user_message(refused)
    if invalid is not None:
        return page(request, "error.html", {"message": invalid}, 404)
    if error is not None:
        return _link_form(page, request, secret, shown, kind, error, 400)
    return _signed_in(request, signed.token)


def _signed_in(request: Request, token: str) -> Response:
    response = RedirectResponse("/account?reset=1", status_code=303)
    auth.set_session_cookie(response, request, token)
    return response
