"""The web app: the public library, signing in, the reader page and downloads, the API.

Pages are left out of the OpenAPI document (``include_in_schema=False``), which describes
the JSON API in ``web/api.py`` only.

Rule 1 of the architecture holds in every route: visitors and free users see the outline
and the public preview; anything longer comes from ``delivery.record_copy`` (rendered by its
``PendingCopy``), marked for the
requesting account and logged. ``tests/functional/test_route_walk.py`` walks every route
with every role and fails if a response carries material text some other way.
"""

from __future__ import annotations

import html
import re
from contextlib import asynccontextmanager
from datetime import UTC
from pathlib import Path
from urllib.parse import quote
from zoneinfo import ZoneInfo

from anyio import to_thread
from fastapi import FastAPI, Form, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, pass_context, select_autoescape
from sqlalchemy.exc import OperationalError
from starlette.background import BackgroundTask
from starlette.exceptions import HTTPException as StarletteHTTPException

from wenxing import __version__, i18n, jobs, metrics
from wenxing.db.base import utcnow
from wenxing.delivery.issue import (
    FORMATS,
    DeliveryError,
    NotEntitled,
    mark_delivered,
    record_copy,
    unrecord_copy,
)
from wenxing.failures import is_disk_full
from wenxing.i18n import N_, _
from wenxing.live import bot_sender
from wenxing.materials import catalog
from wenxing.members import accounts
from wenxing.members.entitlement import may_read, role_now
from wenxing.members.models import Member
from wenxing.members.subscriptions import account_view, plans
from wenxing.reports.receipts import promise_line
from wenxing.runtime import Runtime
from wenxing.web import api as api_v1
from wenxing.web import auth, live, logs
from wenxing.web.account import account_routes
from wenxing.web.browse import browse_routes
from wenxing.web.console import NotStaff, console_routes
from wenxing.web.console_reports import console_report_routes
from wenxing.web.console_requests import console_request_routes
from wenxing.web.console_robots import console_robot_routes
from wenxing.web.console_wording import console_wording_routes
from wenxing.web.feed_pages import feed_routes
from wenxing.web.headers import OutOfRangeIds, SecurityHeaders
from wenxing.web.home import HomeCache
from wenxing.web.live_api import live_api_routes
from wenxing.web.report_api import report_api_routes
from wenxing.web.report_pages import report_routes
from wenxing.web.requests_api import requests_api_routes
from wenxing.web.requests_page import requests_routes
from wenxing.web.settings_page import settings_routes


def _template_environment() -> Environment:
    """Jinja2 with autoescaping and the translation catalogue (``_`` and ``{% trans %}``)."""
    env = Environment(
        loader=FileSystemLoader(Path(__file__).parent / "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        extensions=["jinja2.ext.i18n"],
    )
    env.install_gettext_callables(  # type: ignore[attr-defined]  # added by jinja2.ext.i18n
        lambda message: i18n.current().gettext(message),
        lambda singular, plural, n: i18n.current().ngettext(singular, plural, n),
        newstyle=True,
    )
    env.globals["html_lang"] = i18n.language_tag  # <html lang>, following WENXING_LOCALE
    env.filters["local"] = _local_time
    env.globals["min_password"] = accounts.MIN_PASSWORD
    return env


@pass_context
def _local_time(context, moment, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A stored time (naive UTC) as the publisher's clock shows it (``page`` puts its time
    zone in every page's context): every date a person sees is in the publisher's zone."""
    if moment is None:
        return ""
    if getattr(moment, "tzinfo", None) is None and hasattr(moment, "hour"):
        moment = moment.replace(tzinfo=UTC)
    if hasattr(moment, "astimezone"):
        moment = moment.astimezone(ZoneInfo(context.get("timezone") or "Asia/Shanghai"))
    return moment.strftime(fmt)


TEMPLATES = Jinja2Templates(env=_template_environment())
DOWNLOADS = ("docx", "pdf", "txt")  # offered as buttons; the reader page is the html format


class PageError(HTTPException):
    """An error page (the site) or a JSON error (the API); the detail is a translated
    message (``_()``), shown as it is."""


def _lifespan(runtime: Runtime):
    """At start-up: the number of requests a worker works on at once (its thread pool;
    the rest wait their turn, which keeps tail latency down on a busy worker), and the
    background job runner (tracing reports) and the group robots' sender, unless
    ``WENXING_JOBS`` turns them off. At shutdown the searches counted in memory are
    written."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        to_thread.current_default_thread_limiter().total_tokens = runtime.settings.threads
        runner = sender = None
        if runtime.settings.jobs:  # (the jobs' handlers: wiring.install, by the runtime)
            runner = jobs.Runner(runtime)
            runner.start()
            _app.state.runner = runner
            sender = bot_sender.Sender(runtime)  # group robots' announcements
            sender.start()
        hub, give_signals_back = live.start_hub(runtime)  # SSE streams (web/live.py)
        _app.state.hub = hub
        try:
            yield
        finally:
            try:
                give_signals_back()
                await to_thread.run_sync(hub.stop)
                if runner is not None:
                    await to_thread.run_sync(runner.stop)
                if sender is not None:
                    await to_thread.run_sync(sender.stop)
            finally:
                await to_thread.run_sync(runtime.search_allowance().flush)

    return lifespan


def create_app(runtime: Runtime) -> FastAPI:
    app = FastAPI(
        title="文行 wenxing",
        version=__version__,
        docs_url=None,
        redoc_url=None,
        openapi_url="/api/v1/openapi.json",
        lifespan=_lifespan(runtime),
    )
    app.state.runtime = runtime
    from wenxing.search.sync import REBUILD_WAIT

    runtime.search_wait = REBUILD_WAIT  # a search never waits long for a rebuild
    i18n.set_locale(runtime.settings.locale)
    app.mount("/static", StaticFiles(directory=str(Path(__file__).parent / "static")), "static")

    def page(request: Request, name: str, context: dict, status_code: int = 200) -> HTMLResponse:
        publisher = runtime.publisher_settings()
        context = {
            "brand": publisher["brand"],
            "promise": promise_line(publisher["masthead"]),  # the footer's link to /report
            "csrf": auth.csrf_token(request),
            "bell": live.bell_count(runtime, request, context),
            "timezone": publisher["timezone"],
            **context,
        }
        response = TEMPLATES.TemplateResponse(request, name, context, status_code=status_code)
        auth.remember_csrf(request, response)
        return response

    home_lists = HomeCache(runtime.db)

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def home(request: Request) -> HTMLResponse:
        publisher = runtime.publisher_settings()  # before the transaction: one connection each
        lists = home_lists.lists()  # the same for everyone, kept a second
        with runtime.db.reading() as session:
            member = auth.current_member(session, request)
            role = role_now(account_view(session, member) if member else None, utcnow())
            who = _who(member)
        context = {
            "materials": lists.newest,
            "popular": lists.popular,
            "who": who,
            "groups": _groups(publisher, role),
            "categories": lists.categories,
        }
        return page(request, "home.html", context)

    @app.get("/materials/{material_id}", response_class=HTMLResponse, include_in_schema=False)
    def material_page(request: Request, material_id: int) -> HTMLResponse:
        publisher = runtime.publisher_settings()
        with runtime.db.reading() as session:
            member = auth.current_member(session, request)
            material = _published(session, material_id)
            view = catalog.public_view(session, material_id)
            refusal = _refusal(session, publisher, member, material)
            who = _who(member)
        formats = [(fmt, _(FORMATS[fmt].label)) for fmt in DOWNLOADS]
        return page(
            request,
            "material.html",
            {"m": view, "who": who, "refusal": refusal, "formats": formats},
        )

    @app.get("/materials/{material_id}/read", response_class=HTMLResponse, include_in_schema=False)
    def read(request: Request, material_id: int) -> Response:
        links = (
            (_("返回资料页"), f"/materials/{material_id}"),
            *tuple(
                (
                    _("下载 %(format)s") % {"format": _(FORMATS[fmt].label)},
                    f"/materials/{material_id}/download/{fmt}",
                )
                for fmt in DOWNLOADS
            ),
        )
        if auth.cross_site(request):
            return _confirm_copy(request, material_id, f"/materials/{material_id}/read")
        return _deliver(request, material_id, "html", links=links, inline=True)

    @app.post("/materials/{material_id}/read", include_in_schema=False)
    def read_confirmed(request: Request, material_id: int, csrf_token: str = Form("")) -> Response:
        if not auth.deliberate(request, csrf_token):
            raise PageError(403, _("页面已过期，请刷新后重试"))
        return RedirectResponse(f"/materials/{material_id}/read", status_code=303)

    @app.get("/materials/{material_id}/download/{fmt}", include_in_schema=False)
    def download(request: Request, material_id: int, fmt: str) -> Response:
        if fmt not in FORMATS:
            raise PageError(404, _("没有这种格式"))
        if auth.cross_site(request):
            return _confirm_copy(request, material_id, f"/materials/{material_id}/download/{fmt}")
        return _deliver(request, material_id, fmt)

    @app.post("/materials/{material_id}/download/{fmt}", include_in_schema=False)
    def download_confirmed(
        request: Request, material_id: int, fmt: str, csrf_token: str = Form("")
    ) -> Response:
        if fmt not in FORMATS:
            raise PageError(404, _("没有这种格式"))
        if not auth.deliberate(request, csrf_token):
            raise PageError(403, _("页面已过期，请刷新后重试"))
        return _deliver(request, material_id, fmt)

    def _confirm_copy(request: Request, material_id: int, action: str) -> HTMLResponse:
        """A link from another site issues nothing: the member confirms with a button of
        this site (a form posting the CSRF token), so no page elsewhere spends their
        downloads or logs copies in their name."""
        with runtime.db.reading() as session:
            view = catalog.public_view(session, _published(session, material_id).id)
        return page(request, "confirm_copy.html", {"m": view, "action": action}, 200)

    def _deliver(
        request: Request,
        material_id: int,
        fmt: str,
        *,
        links: tuple[tuple[str, str], ...] = (),
        inline: bool = False,
        api: bool = False,
    ) -> Response:
        publisher = runtime.publisher_settings()
        with runtime.db.transaction() as session:
            member = auth.current_member(session, request)
            if member is None:
                if api:
                    raise PageError(401, _("请先登录"))
                target = quote(str(request.url.path))
                return RedirectResponse(f"/signin?next={target}", status_code=303)
            material = _published(session, material_id)
            try:
                pending = record_copy(
                    session,
                    runtime.secret,
                    publisher,
                    member,
                    material,
                    fmt,
                    actor=f"member:{'api' if api else 'web'}",
                    ip=auth.client_ip(request),
                    user_agent=request.headers.get("user-agent"),
                    links=links,
                )
            except DeliveryError as refused:
                raise PageError(403, refused.user_message) from None
        # Marked and rendered after the commit: the write lock is not held meanwhile.
        try:
            issued = pending.render()
        except Exception:
            with runtime.db.transaction() as session:
                unrecord_copy(session, pending.copy_id)
            raise
        headers = {"Cache-Control": "no-store", "X-Wenxing-Copy": str(issued.copy_id)}
        if not inline:
            headers["Content-Disposition"] = (
                f'attachment; filename="copy-{issued.copy_id}.{fmt}"; '
                f"filename*=UTF-8''{quote(issued.filename)}"
            )
        # The download counts once its bytes are out: a worker that dies first gives it back.
        delivered = BackgroundTask(_delivered, issued.copy_id)
        return Response(
            issued.data, media_type=issued.media_type, headers=headers, background=delivered
        )

    def _delivered(copy_id: int) -> None:
        with runtime.db.transaction() as session:
            mark_delivered(session, [copy_id])

    @app.get("/signin", response_class=HTMLResponse, include_in_schema=False)
    def signin_form(request: Request, next: str = "/") -> HTMLResponse:
        return page(request, "signin.html", {"next": auth.local_target(next), "error": None})

    @app.post("/signin", response_class=HTMLResponse, include_in_schema=False)
    def signin(
        request: Request,
        identifier: str = Form(""),
        password: str = Form(""),
        csrf_token: str = Form(""),
        next: str = Form("/"),
    ) -> Response:
        if not auth.csrf_ok(request, csrf_token):
            raise PageError(403, _("页面已过期，请刷新后重试"))
        failed = throttled = False
        publisher = runtime.publisher_settings()
        # The page is rendered after the transaction: a second connection must never be
        # taken while the address or account is held (``wenxing.limits``).
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
            return page(request, "signin.html", context, status_code=429)
        if failed:
            context = {"next": auth.local_target(next), "error": _("手机号、用户名或密码不正确")}
            return page(request, "signin.html", context, status_code=400)
        response = RedirectResponse(auth.local_target(next), status_code=303)
        auth.set_session_cookie(response, request, signed.token)
        return response

    @app.post("/signout", include_in_schema=False)
    def signout(request: Request, csrf_token: str = Form("")) -> Response:
        if not auth.csrf_ok(request, csrf_token):
            raise PageError(403, _("页面已过期，请刷新后重试"))
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

    @app.get("/healthz", include_in_schema=False)
    def health() -> JSONResponse:
        """Liveness: the process answers (the database is /readyz's business: a worker whose
        database is away must not be killed for it)."""
        return JSONResponse({"status": "ok"})

    @app.get("/metrics", include_in_schema=False)
    def prometheus_metrics(request: Request) -> Response:
        """Prometheus metrics (``metrics.py``), for a scraper on this machine only: a request
        through the proxy (it adds X-Forwarded-For) or from elsewhere is answered 404."""
        client = request.client.host if request.client else ""
        if "x-forwarded-for" in request.headers or client not in ("127.0.0.1", "::1"):
            raise PageError(404, _("页面不存在"))
        return Response(metrics.exposition(runtime), media_type=metrics.CONTENT_TYPE)

    @app.get("/readyz", include_in_schema=False)
    def ready() -> JSONResponse:
        """Readiness for a load balancer: the database answers, the search index (or its
        database fallback while it is rebuilt), the background job runner is alive."""
        checks: dict[str, str] = {}
        materials = None
        try:
            with runtime.db.reading() as session:
                materials = catalog.count_materials(session)
            checks["database"] = "ok"
        except Exception as exc:  # (reported, not raised: this page says what is wrong)
            checks["database"] = f"unreachable: {exc.__class__.__name__}"
        node = runtime._search
        if node is None or node.index is not None:
            checks["search"] = "ok"
        else:
            checks["search"] = "rebuilding (answers from the database)"
        runner = getattr(app.state, "runner", None)
        if runner is not None:  # (None: WENXING_JOBS is off, or the app was never started)
            checks["jobs"] = "ok" if runner.alive() else "stopped"
        ready = checks["database"] == "ok" and checks.get("jobs", "ok") == "ok"
        document = {"ready": ready, "checks": checks, "materials": materials}
        return JSONResponse(document, status_code=200 if ready else 503)

    # The API first among the routers: routes are tried in order, and a search (the
    # busiest JSON route) then skips the pages' patterns.
    api_v1.include(app, runtime, deliver=_deliver, published=_published)
    app.include_router(account_routes(runtime, page))
    app.include_router(console_routes(runtime, page))
    app.include_router(settings_routes(runtime, page))
    app.include_router(browse_routes(runtime, page))
    app.include_router(report_routes(runtime, page))
    app.include_router(feed_routes(runtime, page))
    app.include_router(requests_routes(runtime, page))
    app.include_router(console_request_routes(runtime, page))
    app.include_router(requests_api_routes(runtime))
    app.include_router(console_report_routes(runtime, page))
    app.include_router(console_robot_routes(runtime, page))
    app.include_router(console_wording_routes(runtime, page))
    app.include_router(report_api_routes(runtime))
    app.include_router(live.live_routes(runtime, page))
    app.include_router(live_api_routes(runtime))

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
        message = message or _(_STATUS_MESSAGES.get(exc.status_code, _STATUS_MESSAGES[400]))
        if request.url.path.startswith("/api/"):
            return JSONResponse({"error": message}, status_code=exc.status_code)
        return page(request, "error.html", {"message": message}, status_code=exc.status_code)

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError) -> Response:
        message = _("请求参数有误")
        if request.url.path.startswith("/api/"):
            return JSONResponse({"error": message}, status_code=400)
        return page(request, "error.html", {"message": message}, status_code=400)

    @app.exception_handler(Exception)
    async def server_error(request: Request, exc: Exception) -> Response:
        # The request log has the traceback; the person asking gets a sentence in Chinese.
        message = _(_STATUS_MESSAGES[500])
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

    # The request log outermost: it sees the final status, headers included.
    app.add_middleware(OutOfRangeIds)
    app.add_middleware(SecurityHeaders, https=runtime.settings.public_url.startswith("https://"))
    app.add_middleware(logs.RequestLog)

    return app


_STATUS_MESSAGES = {  # translated where shown
    400: N_("请求有误"),
    401: N_("请先登录"),
    403: N_("没有权限"),
    404: N_("页面不存在"),
    405: N_("不支持这种请求"),
    500: N_("服务器出错了，请稍后再试"),
}


def _groups(publisher, role: str) -> list[tuple[str, str]]:
    """The group entry details a visitor or member is shown: the free group for everyone,
    the member group for members and staff."""
    shown = []
    if role in ("member", "editor", "admin") and publisher["member_group"].strip():
        shown.append((_("会员群"), publisher["member_group"].strip()))
    if publisher["free_group"].strip():
        shown.append((_("免费QQ群"), publisher["free_group"].strip()))
    return shown


def _chinese(text: str) -> bool:
    return re.search(r"[\u4e00-\u9fff]", text) is not None


def _published(session, material_id: int):
    try:
        material = catalog.get_material(session, material_id)
    except catalog.MaterialNotFound:
        raise PageError(404, _("没有这份材料")) from None
    if material.status != "published":
        raise PageError(404, _("没有这份材料"))
    return material


def _who(member: Member | None) -> dict | None:
    if member is None:
        return None
    return {"number": member.number, "name": member.name, "role": member.role}


def _refusal(session, publisher, member: Member | None, material) -> str | None:
    """Why this visitor or member cannot read the whole material (None when they can)."""
    if member is None:
        return NotEntitled("", "preview-visitor").user_message
    if member.status != "active":
        return NotEntitled("", member.status).user_message
    decision = may_read(
        account_view(session, member), material.published_at, utcnow(), plans(publisher)
    )
    return None if decision.allowed else NotEntitled("", decision.reason).user_message
