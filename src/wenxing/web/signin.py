"""Signing in (/signin: phone, username or member number, and password) and out (/signout).

A sign-in is counted against the address's attempts (``members.accounts``) in the
transaction that opens the session, and the page is rendered after it: a second connection
is never taken while the address or the account is held (``wenxing.limits``). Signing out
ends this device's session and drops its cookies.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from wenxing.db.base import utcnow
from wenxing.i18n import _
from wenxing.members import accounts
from wenxing.web import auth
from wenxing.web.deps import RuntimeDep, csrf_checked, render

router = APIRouter(include_in_schema=False)  # pages, not the API


@router.get("/signin", response_class=HTMLResponse)
def signin_form(request: Request, next: str = "/") -> HTMLResponse:
    return render(request, "signin.html", {"next": auth.local_target(next), "error": None})


@router.post("/signin", response_class=HTMLResponse, dependencies=[Depends(csrf_checked)])
def signin(
    request: Request,
    runtime: RuntimeDep,
    identifier: str = Form(""),
    password: str = Form(""),
    next: str = Form("/"),
) -> Response:
    failed = throttled = False
    publisher = runtime.publisher_settings()
    with runtime.db.transaction() as session:
        throttled = accounts.too_many_attempts(
            session, "sign-in", auth.client_ip(request), utcnow()
        )
        if not throttled:
            try:
                signed = auth.open_session(session, publisher, request, identifier, password)
            except accounts.SignInFailed:
                failed = True  # the failure is recorded when this transaction commits
            except accounts.SignInThrottled:
                throttled = True
    if throttled:
        context = {
            "next": auth.local_target(next),
            "error": _("尝试次数过多，请 %(minutes)s 分钟后再试") % {"minutes": 15},
        }
        return render(request, "signin.html", context, status_code=429)
    if failed:
        context = {
            "next": auth.local_target(next),
            "error": _("手机号、用户名或密码不正确"),
            "identifier": identifier.strip(),
        }
        return render(request, "signin.html", context, status_code=400)
    response = RedirectResponse(auth.local_target(next), status_code=303)
    auth.set_session_cookie(response, request, signed.token)
    return response


@router.post("/signout", dependencies=[Depends(csrf_checked)])
def signout(request: Request, runtime: RuntimeDep) -> Response:
    token = request.cookies.get(auth.SESSION_COOKIE)
    if token:
        with runtime.db.transaction() as session:
            member = accounts.member_for_token(
                session, token, utcnow(), auth.session_lifetimes(request)
            )
            if member is not None:
                accounts.end_session(session, member.id, accounts.token_id(token), utcnow())
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(auth.SESSION_COOKIE, path="/")
    response.delete_cookie(auth.CSRF_COOKIE, path="/")  # the next page makes a new one
    return response
