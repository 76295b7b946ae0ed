"""The web app: the public library, signing in, the reader page and downloads, the API.

Pages are left out of the OpenAPI document (``include_in_schema=False``), which describes
the JSON API in ``web/api.py`` only.

The app's own routes here are the health checks and the metrics (``probes``); the rest
come from the module-level routers of the sibling modules, added in order by ``serve``
(the home page: ``home.py``; signing in and out: ``signin.py``; a material's pages and
downloads: ``material_pages.py``; the error pages: ``errors_pages.py``).

Rule 1 of the architecture holds in every route: visitors and free users see the outline
and the public preview; anything longer comes from ``delivery.record_copy`` (rendered by its
``PendingCopy``, ``copies.deliver``), marked for the requesting account and logged. ``tests/functional/test_route_walk.py`` walks every route
with every role and fails if a response carries material text some other way.
"""

from __future__ import annotations

import os
from contextlib import asynccontextmanager
from pathlib import Path

from anyio import to_thread
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, pass_context, select_autoescape

from wenxing import __version__, clock, i18n, jobs, metrics
from wenxing.i18n import _
from wenxing.live import bot_sender
from wenxing.materials import catalog
from wenxing.members import accounts
from wenxing.runtime import Runtime
from wenxing.search.sync import REBUILD_WAIT
from wenxing.web import (
    account,
    account_qq,
    browse,
    compose_api,
    compose_pages,
    console,
    console_plans,
    console_reports,
    console_requests,
    console_robots,
    console_wording,
    download_links,
    feed_pages,
    home,
    live,
    live_api,
    logs,
    material_pages,
    qq_events,
    reading,
    recover,
    report_api,
    report_pages,
    requests_api,
    requests_page,
    search_page,
    settings_page,
    signin,
    similar_page,
)
from wenxing.web import api as api_v1
from wenxing.web.copies import PageError
from wenxing.web.deps import RuntimeDep, render
from wenxing.web.errors_pages import install_error_pages
from wenxing.web.headers import OutOfRangeIds, SecurityHeaders
from wenxing.web.home import HomeCache


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
    return clock.show(moment, context.get("timezone"), fmt)


TEMPLATES = Jinja2Templates(env=_template_environment())


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


probes = APIRouter(include_in_schema=False)  # the health checks and the metrics


@probes.get("/healthz")
def health() -> JSONResponse:
    """Liveness: the process answers (the database is /readyz's business: a worker whose
    database is away must not be killed for it)."""
    return JSONResponse({"status": "ok"})


@probes.get("/metrics")
def prometheus_metrics(request: Request, runtime: RuntimeDep) -> Response:
    """Prometheus metrics (``metrics.py``), for a scraper on this machine only: a request
    through the proxy (it adds X-Forwarded-For) or from elsewhere is answered 404."""
    client = request.client.host if request.client else ""
    if "x-forwarded-for" in request.headers or client not in ("127.0.0.1", "::1"):
        raise PageError(404, _("页面不存在"))
    return Response(metrics.exposition(runtime), media_type=metrics.CONTENT_TYPE)


@probes.get("/readyz")
def ready(request: Request, runtime: RuntimeDep) -> JSONResponse:
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
    runner = getattr(request.app.state, "runner", None)
    if runner is not None:  # (None: WENXING_JOBS is off, or the app was never started)
        checks["jobs"] = "ok" if runner.alive() else "stopped"
    ready = checks["database"] == "ok" and checks.get("jobs", "ok") == "ok"
    # ``worker``: which process answered (a server has several; a supervisor or a test
    # waiting for every worker to be ready tells them apart by it).
    document = {"ready": ready, "checks": checks, "materials": materials, "worker": os.getpid()}
    return JSONResponse(document, status_code=200 if ready else 503)


def serve(app: FastAPI, router: APIRouter) -> None:
    """Add a module-level router's routes to the app as they are. Its routes were built
    once, when its module was imported (paths, dependencies, parameters and response
    models analysed): ``include_router`` would analyse every route again for each app
    (FastAPI builds an included router's routes per inclusion), a cost every app of the
    tests paid. The routes hold nothing of an app: they find the runtime and templates on
    ``request.app.state`` (``web/deps.py``)."""
    app.router.routes.extend(router.routes)


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
    runtime.search_wait = REBUILD_WAIT  # a search never waits long for a rebuild
    i18n.set_locale(runtime.settings.locale)
    app.mount("/static", StaticFiles(directory=str(Path(__file__).parent / "static")), "static")

    app.state.templates = TEMPLATES  # deps.render's
    app.state.home_lists = HomeCache(runtime.db)  # home.py's

    serve(app, home.router)
    serve(app, material_pages.router)
    serve(app, download_links.router)
    serve(app, signin.router)
    serve(app, probes)

    # The API first among the routers: routes are tried in order, and a search (the
    # busiest JSON route) then skips the pages' patterns.
    api_v1.include(app)
    serve(app, account.router)
    serve(app, account_qq.router)
    serve(app, qq_events.router)
    serve(app, compose_pages.router)
    serve(app, search_page.router)
    serve(app, similar_page.router)
    serve(app, recover.router)
    for console_router in (*console.ROUTERS, settings_page.router, console_plans.router):
        serve(app, console_router)
    serve(app, browse.router)
    serve(app, report_pages.router)
    serve(app, feed_pages.router)
    serve(app, requests_page.router)
    serve(app, console_requests.router)
    serve(app, requests_api.router)
    serve(app, compose_api.router)
    serve(app, console_reports.router)
    serve(app, console_robots.router)
    serve(app, console_wording.router)
    serve(app, report_api.router)
    serve(app, live.router)
    serve(app, live_api.router)
    serve(app, reading.router)

    install_error_pages(app, runtime, render)

    # The request log outermost: it sees the final status, headers included.
    app.add_middleware(OutOfRangeIds)
    app.add_middleware(SecurityHeaders, https=runtime.settings.public_url.startswith("https://"))
    app.add_middleware(logs.RequestLog)

    return app
