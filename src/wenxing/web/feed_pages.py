"""Feeds on the web: the public Atom feed, each account's secret feed, and the account
page's forms that make (or remake) and stop it (``live/feeds.py``).

Feed readers poll: every feed answers with an ETag and Last-Modified, and a matching
``If-None-Match`` gets a 304 without the document. The personal feed is ``private`` and
``noindex``; its URL is a secret, shown once on the page that made it (``no-store``).
"""

from __future__ import annotations

from datetime import UTC
from email.utils import format_datetime

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from wenxing.db.base import utcnow
from wenxing.i18n import _
from wenxing.live import feeds
from wenxing.members.subscriptions import plans
from wenxing.runtime import Runtime
from wenxing.web import auth
from wenxing.web.deps import RuntimeDep, csrf_checked, render

PUBLIC_PATH = "/feeds/public.atom"

router = APIRouter(include_in_schema=False)


def _answer(request: Request, info: feeds.FeedInfo, entries, cache: str) -> Response:
    document = feeds.atom(info, entries, separator=_("；"))
    tag = feeds.entity_tag(document)
    modified = feeds.updated_at(info, entries).replace(tzinfo=UTC)
    headers = {
        "ETag": tag,
        "Last-Modified": format_datetime(modified, usegmt=True),
        "Cache-Control": cache,
    }
    if cache.startswith("private"):
        headers["X-Robots-Tag"] = "noindex"
    asked = request.headers.get("if-none-match", "")
    if tag in [t.strip().removeprefix("W/") for t in asked.split(",")]:
        return Response(status_code=304, headers=headers)
    return Response(document, media_type=feeds.MEDIA_TYPE, headers=headers)


def _site(runtime: Runtime) -> str:
    """The site's address for feed links: ``WENXING_PUBLIC_URL`` only, never the
    request's ``Host`` (a forged Host must not put another site's links in a feed)."""
    return runtime.settings.public_url.rstrip("/")


@router.get(PUBLIC_PATH)
def public_feed(request: Request, runtime: RuntimeDep) -> Response:
    brand = runtime.publisher_settings().brand
    with runtime.db.reading() as session:
        entries = feeds.public_entries(session)
    info = feeds.FeedInfo(
        title=_("%(brand)s · 新发布的材料") % {"brand": brand},
        self_url=_site(runtime) + PUBLIC_PATH,
        site_url=_site(runtime),
        author=brand,
    )
    return _answer(request, info, entries, "public, max-age=300")


@router.get("/feeds/{token}.atom")
def personal_feed(request: Request, runtime: RuntimeDep, token: str) -> Response:
    publisher = runtime.publisher_settings()
    with runtime.db.reading() as session:
        found = feeds.feed_owner(session, token)
        if found is None:
            return Response(
                _("没有这个订阅源"), status_code=404, media_type="text/plain; charset=utf-8"
            )
        member, opened_at = found
        entries = feeds.personal_entries(session, member, plans(publisher), utcnow())
    info = feeds.FeedInfo(
        title=_("%(brand)s · 我的订阅") % {"brand": publisher.brand},
        self_url=f"{_site(runtime)}/feeds/{token}.atom",
        site_url=_site(runtime),
        author=publisher.brand,
        empty_since=opened_at,
    )
    return _answer(request, info, entries, "private, max-age=300")


@router.post("/account/feed", response_class=HTMLResponse, dependencies=[Depends(csrf_checked)])
def open_feed(request: Request, runtime: RuntimeDep) -> Response:
    with runtime.db.transaction() as session:
        member = auth.current_member(session, request)
        if member is None:
            return RedirectResponse("/signin?next=/account", status_code=303)
        token = feeds.open_feed(session, member.id, utcnow())
        who = auth.who(member)
    context = {"who": who, "url": f"{_site(runtime)}/feeds/{token}.atom"}
    response = render(request, "feed.html", context)
    response.headers["Cache-Control"] = "no-store"  # the page holds the secret
    return response


@router.post("/account/feed/stop", dependencies=[Depends(csrf_checked)])
def close_feed(request: Request, runtime: RuntimeDep) -> Response:
    with runtime.db.transaction() as session:
        member = auth.current_member(session, request)
        if member is None:
            return RedirectResponse("/signin?next=/account", status_code=303)
        feeds.close_feed(session, member.id, utcnow())
    return RedirectResponse("/account?notice=feed-stopped#feed", status_code=303)
