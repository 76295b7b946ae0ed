"""What the app answers when a route fails: a page in Chinese (JSON ``{"error": …}`` under
``/api/``), never a traceback. Staff pages send a signed-out visitor to sign in; an HTTP
error shows our own translated message or the status's; bad parameters are a 400; a full
disk (507) and an unreachable database (503) are named; anything else is a 500 whose
traceback only the request log keeps."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from wenxing import i18n
from wenxing.failures import is_disk_full
from wenxing.i18n import N_, _
from wenxing.runtime import Runtime
from wenxing.web import auth, logs
from wenxing.web.console import NotStaff
from wenxing.web.copies import PageError

STATUS_MESSAGES = {  # translated where shown
    400: N_("请求有误"),
    401: N_("请先登录"),
    403: N_("没有权限"),
    404: N_("页面不存在"),
    405: N_("不支持这种请求"),
    500: N_("服务器出错了，请稍后再试"),
}


def install_error_pages(app: FastAPI, runtime: Runtime, page: Callable[..., HTMLResponse]) -> None:
    @app.exception_handler(NotStaff)
    async def not_staff(request: Request, exc: NotStaff) -> Response:
        if not exc.signed_in:
            target = quote(str(request.url.path))
            return RedirectResponse(f"/signin?next={target}", status_code=303)
        message = _("没有权限访问这个页面")
        return page(request, "error.html", {"message": message}, status_code=403)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        # A PageError's detail is our own translated message; Starlette's details ("Not
        # Found") are English and give way to the status's message.
        ours = isinstance(exc, PageError) or _chinese(str(exc.detail))
        message = exc.detail if ours and isinstance(exc.detail, str) else None
        message = message or _(STATUS_MESSAGES.get(exc.status_code, STATUS_MESSAGES[400]))
        if request.url.path.startswith("/api/"):
            return JSONResponse({"error": message}, status_code=exc.status_code)
        context = {"message": message, "pay_next": getattr(exc, "pay_next", None)}
        context["who"] = _signed_in(runtime, request)
        return page(request, "error.html", context, status_code=exc.status_code)

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError) -> Response:
        message = _("请求参数有误")
        if request.url.path.startswith("/api/"):
            return JSONResponse({"error": message}, status_code=400)
        return page(request, "error.html", {"message": message}, status_code=400)

    @app.exception_handler(Exception)
    async def server_error(request: Request, exc: Exception) -> Response:
        return _server_error(page, request, exc)


def _server_error(page: Callable[..., HTMLResponse], request: Request, exc: Exception) -> Response:
    # The request log has the traceback; the person asking gets a sentence in Chinese.
    message = _(STATUS_MESSAGES[500])
    status = 500
    if is_disk_full(exc):
        message, status = _("服务器磁盘已满，暂时无法保存，请稍后再试。"), 507
        logs.log.error("disk full", extra={"fields": {"path": request.url.path}})
    elif isinstance(exc, OperationalError):
        message, status = _("数据库暂时无法连接，请稍后再试。"), 503
    if request.url.path.startswith("/api/"):
        return JSONResponse({"error": message}, status_code=status)
    try:  # the page needs the database, which may be what failed
        return page(request, "error.html", {"message": message}, status_code=status)
    except Exception:
        body = f'<!doctype html><html lang="{i18n.language_tag()}"><meta charset="utf-8">'
        return HTMLResponse(f"{body}<p>{html.escape(message)}</p></html>", status_code=status)


def _chinese(text: str) -> bool:
    return re.search(r"[\u4e00-\u9fff]", text) is not None


def _signed_in(runtime: Runtime, request: Request) -> dict | None:
    """Who is signed in, for an error page (shown as signed out when the database is down)."""
    try:
        with runtime.db.reading() as session:
            return auth.who(auth.current_member(session, request))
    except OperationalError:
        return None
