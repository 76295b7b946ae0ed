"""The account page's QQ number: ask for a one-time code to link a QQ number (sent to a
group robot's QQ account in a private chat, ``live/qq_links.py``), or unlink it."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from wenxing.db.base import utcnow
from wenxing.errors import DomainError
from wenxing.live import qq_links
from wenxing.web import auth
from wenxing.web.deps import RuntimeDep, csrf_checked, render
from wenxing.web.error_messages import user_message

router = APIRouter(include_in_schema=False)


@router.post("/account/qq", response_class=HTMLResponse, dependencies=[Depends(csrf_checked)])
def link_qq(request: Request, runtime: RuntimeDep, qq: str = Form("")) -> Response:
    """A one-time code for ``qq``, shown once on the account page."""
    from wenxing.web.account import account_page  # (the account page module imports this)

    try:
        with runtime.db.transaction() as session:
            member = auth.current_member(session, request)
            if member is None:
                return RedirectResponse("/signin?next=/account", status_code=303)
            code = qq_links.start(session, member.id, qq, utcnow())
    except DomainError as refused:
        extra = {"qq_typed": qq, "qq_error": user_message(refused)}
        return account_page(runtime, render, request, extra, 400)
    return account_page(runtime, render, request, {"qq_code": code})


@router.post("/account/qq/unlink", dependencies=[Depends(csrf_checked)])
def unlink_qq(request: Request, runtime: RuntimeDep) -> Response:
    with runtime.db.transaction() as session:
        member = auth.current_member(session, request)
        if member is None:
            return RedirectResponse("/signin?next=/account", status_code=303)
        qq_links.unlink(session, member.id, actor=member.number, ip=auth.client_ip(request))
    return RedirectResponse("/account#qq", status_code=303)
