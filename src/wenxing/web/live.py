"""Live pages: the event stream (``GET /events``, Server-Sent Events) and the account's
notifications (the bell's page, ``PAGE_SIZE`` a page with the shared pager, web/paging.py:
a page past the last is 404, a bad page value 400; marking read).

``/events`` is an async route: an open stream holds no worker thread, only a queue on the
event loop fed by the process's hub (``live.hub``). A client that reconnects with
``Last-Event-ID`` (or ``?last=``) first gets the events it may see beyond that id from the
table (at most ``hub.BACKLOG``, ``live/backlog.py``: never what the reader may no longer
see), then live ones. Without a hub (an app not started through its lifespan, as in tests
that never start it) the stream sends the backlog and ends.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import AsyncIterator, Callable

from anyio import to_thread
from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse

from wenxing.db.base import utcnow
from wenxing.i18n import N_, _
from wenxing.live import backlog as live_backlog
from wenxing.live import qq_door
from wenxing.live.digests import announce_abandoned
from wenxing.live.hub import Frame, Hub, Stream
from wenxing.live.notify import mark_read, notifications_of, unread_count
from wenxing.live.reminders import remind_expiring
from wenxing.members import accounts
from wenxing.members.entitlement import role_now
from wenxing.members.subscriptions import account_view
from wenxing.runtime import Runtime
from wenxing.web import auth
from wenxing.web.deps import RuntimeDep, csrf_checked, render
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

router = APIRouter(include_in_schema=False)


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
    published (live/digests.py), the expiry reminders, and the 会员群 door's reminders and
    removals (live/qq_door.py)."""
    announce_abandoned(db, now)
    remind_expiring(db, now)
    qq_door.sweep(db, now)


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


def _backlog(runtime: Runtime, after: int, member_id: int | None, role: str) -> list[Frame]:
    with runtime.db.reading() as session:
        return live_backlog.missed(session, after, member_id, role)


@router.get("/events")
async def event_stream(request: Request, runtime: RuntimeDep, last: str | None = None) -> Response:
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
def notifications_page(request: Request, runtime: RuntimeDep, page: PageNumber = 1) -> Response:
    with runtime.db.reading() as session:
        member = auth.current_member(session, request)
        if member is None:
            return RedirectResponse("/signin?next=/account/notifications", status_code=303)
        offset = (page - 1) * PAGE_SIZE
        total, rows = notifications_of(session, member.id, offset=offset, limit=PAGE_SIZE)
        unread = unread_count(session, member.id)
        who = auth.who(member)
    shown = Page(page, PAGE_SIZE, total)
    if shown.past_the_end:
        return render(request, "error.html", {"who": who, "message": _("没有这一页")}, 404)
    items = [
        {**row, "kind_name": _(KIND_NAMES[row["kind"]]) if row["kind"] in KIND_NAMES else ""}
        for row in rows
    ]
    context = {"who": who, "items": items, "unread": unread, "shown": shown}
    return render(request, "notifications.html", context)


@router.post("/account/notifications/read", dependencies=[Depends(csrf_checked)])
def read_all(request: Request, runtime: RuntimeDep) -> Response:
    return _mark(request, runtime, None)


@router.post("/account/notifications/{notification_id}/read", dependencies=[Depends(csrf_checked)])
def read_one(request: Request, runtime: RuntimeDep, notification_id: int) -> Response:
    return _mark(request, runtime, notification_id)


def _mark(request: Request, runtime: Runtime, notification_id: int | None) -> Response:
    with runtime.db.transaction() as session:
        member = auth.current_member(session, request)
        if member is None:
            return RedirectResponse("/signin?next=/account/notifications", status_code=303)
        mark_read(session, member.id, notification_id)
    return RedirectResponse("/account/notifications", status_code=303)
