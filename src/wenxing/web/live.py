"""Live pages: the event stream (``GET /events``, Server-Sent Events) and the account's
notifications (the bell's page, ``PAGE_SIZE`` a page with the shared pager, web/paging.py:
a page past the last is 404, a bad page value 400; marking read).

``/events`` is an async route: an open stream holds no worker thread, only a queue on the
event loop fed by the process's hub (``live.hub``). A client that reconnects with
``Last-Event-ID`` (or ``?last=``) first gets the events it may see beyond that id from the
table (at most ``hub.BACKLOG``), then live ones. The backlog leaves out what the reader may
no longer see: for every role below editor, events naming a material that has since been
withdrawn (unpublished), including a digest listing one and its notification. Without a hub (an app not started through
its lifespan, as in tests that never start it) the stream sends the backlog and ends.
"""

from __future__ import annotations

import json
import re
import signal
import threading
from collections.abc import AsyncIterator, Callable

from anyio import to_thread
from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from sqlalchemy import select

from wenxing.db.base import utcnow
from wenxing.i18n import N_, _
from wenxing.live import hub as live_hub
from wenxing.live.digests import announce_abandoned
from wenxing.live.hub import Frame, Hub, Stream
from wenxing.live.models import DigestItem, LiveEvent
from wenxing.live.notify import mark_read
from wenxing.live.reminders import remind_expiring
from wenxing.materials.models import Material
from wenxing.members import accounts
from wenxing.members.entitlement import role_now
from wenxing.members.subscriptions import account_view
from wenxing.runtime import Runtime
from wenxing.web import auth
from wenxing.web.paging import Page, PageNumber

HEARTBEAT_SECONDS = 15.0
RETRY_MS = 3000
PAGE_SIZE = 20
KIND_NAMES = {  # notification kinds as the page names them
    "material": N_("新材料"),
    "version": N_("新版本"),
    "report": N_("举报"),
    "sanction": N_("账号"),
    "subscription": N_("会员"),
    "expiry": N_("到期提醒"),
    "request": N_("需求"),
}


def bell_count(runtime: Runtime, request: Request, context: dict) -> int | None:
    """The unread count under the bell of a signed-in account's page (None otherwise): one
    count on the (member, read) index."""
    from wenxing.live.notify import unread_count

    member_id = getattr(request.state, "member_id", None)
    if member_id is None or not context.get("who"):
        return None
    with runtime.db.reading() as session:
        return unread_count(session, member_id)


def start_hub(runtime: Runtime) -> tuple[Hub, Callable[[], None]]:
    """Start this process's hub; returns it and a function (to call on the event loop's
    thread, before ``hub.stop``) that gives the signals back. While it runs, SIGTERM and
    SIGINT first end the open streams, so a graceful stop is not kept waiting by
    connections that never finish on their own."""

    def role_of(db, stream: Stream, now) -> str | None:
        lifetimes = accounts.SessionLifetimes.of(runtime.publisher_settings())
        return _role_of(db, stream, now, lifetimes)

    hub = Hub(runtime.db, role_of=role_of, remind=_every_few_minutes)
    hub.start()
    return hub, _close_streams_on_signals(hub)


def _every_few_minutes(db, now) -> None:
    """The hub's periodic chores: import runs that died before announcing what they
    published (live/digests.py), and the expiry reminders."""
    announce_abandoned(db, now)
    remind_expiring(db, now)


def _close_streams_on_signals(hub: Hub) -> Callable[[], None]:
    """Chain a handler before the server's own (uvicorn's, which starts the graceful stop).
    Signal handlers can be set from the main thread only (the server's); elsewhere (a test
    client) nothing is done."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    installed = {}
    for signum in (signal.SIGTERM, signal.SIGINT):
        previous = signal.getsignal(signum)

        def handler(number, frame, previous=previous):
            hub.close_streams()
            if callable(previous):
                previous(number, frame)
            elif previous == signal.SIG_DFL:
                signal.signal(number, signal.SIG_DFL)
                signal.raise_signal(number)

        signal.signal(signum, handler)
        installed[signum] = (previous, handler)

    def restore() -> None:
        for signum, (previous, handler) in installed.items():
            if signal.getsignal(signum) is handler:
                signal.signal(signum, previous)

    return restore


def _role_of(
    db, stream: Stream, now, lifetimes: accounts.SessionLifetimes = accounts.DEFAULT_LIFETIMES
) -> str | None:
    if stream.token is None:
        return "visitor"
    with db.reading() as session:
        member = accounts.member_for_token(session, stream.token, now, lifetimes)
        if member is None:
            return None
        return role_now(account_view(session, member), now)


def _listener(runtime: Runtime, request: Request) -> tuple[int | None, str, str | None]:
    """(account id, role now, session token) of the request; a visitor is (None, visitor)."""
    with runtime.db.reading() as session:
        member = auth.current_member(session, request)
        if member is None:
            return None, "visitor", None
        role = role_now(account_view(session, member), utcnow())
        return member.id, role, auth.request_token(request)


def _backlog(runtime: Runtime, after: int, member_id: int | None, role: str) -> list[Frame]:
    """The events beyond ``after`` this listener may see (the newest ``BACKLOG``)."""
    with runtime.db.reading() as session:
        rows = session.execute(
            select(LiveEvent.id, LiveEvent.type, LiveEvent.audience, LiveEvent.payload)
            .where(
                LiveEvent.id > after,
                LiveEvent.audience.in_(live_hub.audiences(member_id, role)),
            )
            .order_by(LiveEvent.id.desc())
            .limit(live_hub.BACKLOG)
        ).all()
        rows = [r for r in rows if live_hub.visible(r.type, r.audience, member_id, role)]
        if role not in live_hub.STAFF_ROLES:
            rows = _without_withdrawn(session, rows)
    return [Frame(r.id, live_hub.encode(r.id, r.type, r.payload)) for r in reversed(rows)]


_MATERIAL_LINK = re.compile(r"^/materials/(\d+)$")
_DIGEST_LINK = re.compile(r"^/published/(\d+)$")


def _named(payload: dict) -> tuple[set[int], set[int]]:
    """(material ids, digest ids) an event's payload names: its material, the materials a
    digest lists, and the material or digest its link points to."""
    materials: set[int] = set()
    digests: set[int] = set()
    if isinstance(payload.get("material"), int):
        materials.add(payload["material"])
    for item in payload.get("materials") or []:
        if isinstance(item, dict) and isinstance(item.get("material"), int):
            materials.add(item["material"])
    if isinstance(payload.get("digest"), int):
        digests.add(payload["digest"])
    link = payload.get("link")
    if isinstance(link, str):
        if found := _MATERIAL_LINK.match(link):
            materials.add(int(found.group(1)))
        elif found := _DIGEST_LINK.match(link):
            digests.add(int(found.group(1)))
    return materials, digests


def _without_withdrawn(session, rows: list) -> list:
    """The rows that name no withdrawn material (one that exists and is not published now)
    and no digest of which any material is withdrawn (its title names the first one)."""
    named = []
    for row in rows:
        try:
            payload = json.loads(row.payload)
        except ValueError:
            payload = {}
        named.append(_named(payload) if isinstance(payload, dict) else (set(), set()))
    material_ids = set().union(*(m for m, _d in named)) if named else set()
    digest_ids = set().union(*(d for _m, d in named)) if named else set()
    withdrawn: set[int] = set()
    if material_ids:
        withdrawn = set(
            session.scalars(
                select(Material.id).where(
                    Material.id.in_(material_ids), Material.status != "published"
                )
            )
        )
    hidden_digests: set[int] = set()
    if digest_ids:
        hidden_digests = set(
            session.scalars(
                select(DigestItem.digest)
                .join(Material, Material.id == DigestItem.material_id)
                .where(DigestItem.digest.in_(digest_ids), Material.status != "published")
            )
        )
    return [
        row
        for row, (m, d) in zip(rows, named, strict=True)
        if not (m & withdrawn) and not (d & hidden_digests)
    ]


def _resume_from(request: Request, last: str | None) -> int | None:
    for value in (request.headers.get("last-event-id"), last):
        if value and value.strip().isdigit():
            return int(value.strip())
    return None


async def _frames(
    backlog: list[Frame], stream: Stream | None, hub: Hub | None
) -> AsyncIterator[bytes]:
    try:
        yield f"retry: {RETRY_MS}\n: {len(backlog)} missed\n\n".encode()
        sent = set()
        for frame in backlog:
            sent.add(frame.id)
            yield frame.data
        if stream is None:
            return
        while True:
            item = await stream.next(HEARTBEAT_SECONDS)
            if item is None:  # closed: the server is stopping, or the client fell behind
                return
            if item is False:
                yield b": heartbeat\n\n"
            elif isinstance(item, Frame) and item.id not in sent:
                yield item.data
    finally:
        if stream is not None and hub is not None:
            hub.unsubscribe(stream)


def live_routes(runtime: Runtime, render: Callable[..., HTMLResponse]) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/events")
    async def event_stream(request: Request, last: str | None = None) -> Response:
        hub: Hub | None = getattr(request.app.state, "hub", None)
        member_id, role, token = await to_thread.run_sync(_listener, runtime, request)
        # Subscribe before reading the backlog: an event committed in between comes
        # both ways and is sent once.
        stream = hub.subscribe(member_id, role, token) if hub is not None else None
        after = _resume_from(request, last)
        backlog = []
        if after is not None:
            backlog = await to_thread.run_sync(_backlog, runtime, after, member_id, role)
        headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
        return StreamingResponse(
            _frames(backlog, stream, hub), media_type="text/event-stream", headers=headers
        )

    @router.get("/account/notifications", response_class=HTMLResponse)
    def notifications_page(request: Request, page: PageNumber = 1) -> Response:
        return _notifications(request, page)

    def _notifications(request: Request, number: int) -> Response:
        from wenxing.live.notify import notifications_of, unread_count

        with runtime.db.reading() as session:
            member = auth.current_member(session, request)
            if member is None:
                return RedirectResponse("/signin?next=/account/notifications", status_code=303)
            offset = (number - 1) * PAGE_SIZE
            total, rows = notifications_of(session, member.id, offset=offset, limit=PAGE_SIZE)
            unread = unread_count(session, member.id)
            who = {"number": member.number, "name": member.name, "role": member.role}
        shown = Page(number, PAGE_SIZE, total)
        if shown.past_the_end:
            return render(request, "error.html", {"who": who, "message": _("没有这一页")}, 404)
        items = [
            {**row, "kind_name": _(KIND_NAMES[row["kind"]]) if row["kind"] in KIND_NAMES else ""}
            for row in rows
        ]
        context = {
            "who": who,
            "items": items,
            "unread": unread,
            "shown": shown,
        }
        return render(request, "notifications.html", context)

    @router.post("/account/notifications/read")
    def read_all(request: Request, csrf_token: str = Form("")) -> Response:
        return _mark(request, csrf_token, None)

    @router.post("/account/notifications/{notification_id}/read")
    def read_one(request: Request, notification_id: int, csrf_token: str = Form("")) -> Response:
        return _mark(request, csrf_token, notification_id)

    def _mark(request: Request, token: str, notification_id: int | None) -> Response:
        if not auth.csrf_ok(request, token):
            return render(request, "error.html", {"message": _("页面已过期，请刷新后重试")}, 403)
        with runtime.db.transaction() as session:
            member = auth.current_member(session, request)
            if member is None:
                return RedirectResponse("/signin?next=/account/notifications", status_code=303)
            mark_read(session, member.id, notification_id)
        return RedirectResponse("/account/notifications", status_code=303)

    return router
