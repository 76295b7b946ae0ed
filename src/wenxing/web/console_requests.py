"""The console's requests: the list by state and one request's answer page, where an
editor fulfils it with a published material (by its number, or picked from a search) or
declines it with a reason. Editors and admins only, through the console's one gate
(``console.staff``); both answers are POST forms with the CSRF token, audited, and tell the
requester and every supporter (``wenxing.requests``).
"""

from __future__ import annotations

from functools import partial

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from wenxing import requests as board
from wenxing.db.base import utcnow
from wenxing.i18n import _
from wenxing.materials import catalog
from wenxing.search.query import QueryError
from wenxing.search.service import search
from wenxing.web import auth
from wenxing.web.console import StaffDep, console_page, no_such_page, staff
from wenxing.web.deps import RuntimeDep, csrf_checked, render, runtime_of
from wenxing.web.paging import Page, PageNumber
from wenxing.web.requests_page import (
    STATE_NAMES,
    declined_wording,
    fulfilled_wording,
    refusal,
)

PER_PAGE = 30  # requests a page of the console's list


router = APIRouter(prefix="/console", dependencies=[Depends(staff)], include_in_schema=False)

_view = partial(console_page, render)


def _refused_page(request: Request, who, refused: board.RequestRefused) -> HTMLResponse:
    status, message = refusal(refused)
    return _view(request, "message.html", {"who": who.__dict__, "message": message}, status)


@router.get("/requests", response_class=HTMLResponse)
def request_list(
    request: Request,
    who: StaffDep,
    runtime: RuntimeDep,
    state: str = "open",
    page: PageNumber = 1,
) -> HTMLResponse:
    state = state if state in board.STATES else "open"
    tab = "popular" if state == "open" else state
    with runtime.db.reading() as session:
        counts = board.counts(session)
        shown = Page(page, PER_PAGE, counts[state])
        rows = board.board(
            session,
            tab,
            who.member_id,
            limit=PER_PAGE,
            offset=shown.offset,
            with_requester=True,
        )
    if shown.past_the_end:
        return no_such_page(_view, request, who)
    context = {
        "who": who.__dict__,
        "rows": rows,
        "shown": shown,
        "state": state,
        "states": [(code, _(name), counts[code]) for code, name in STATE_NAMES.items()],
    }
    return _view(request, "requests.html", context)


@router.get("/requests/{request_id}", response_class=HTMLResponse)
def answer_page(
    request: Request, who: StaffDep, runtime: RuntimeDep, request_id: int, q: str = ""
) -> Response:
    with runtime.db.reading() as session:
        try:
            row = board.get_request(session, request_id)
        except board.RequestRefused as refused:
            return _refused_page(request, who, refused)
        [shown] = board.rows_of(session, [row], who.member_id, with_requester=True)
    hits, search_error = [], None
    if q.strip():
        try:
            found = search(runtime.search_index(), q, limit=20, member=True)
            hits = [(m.material_id, m.title) for m in found.materials]
        except QueryError as refused:
            search_error = refused.user_message
    context = {
        "who": who.__dict__,
        "r": shown,
        "state_name": _(STATE_NAMES[shown.state]),
        "find": q,  # not "q": the header's search box shows that
        "hits": hits,
        "search_error": search_error,
        "answer_chars": board.ANSWER_CHARS,
    }
    return _view(request, "request.html", context)


def _answered(request: Request, who, request_id: int, state: str, answer) -> Response:
    """Run ``answer(session, row)`` on the request in one transaction; then its list."""
    runtime = runtime_of(request)
    try:
        with runtime.db.transaction() as session:
            answer(session, board.get_request(session, request_id))
    except board.RequestRefused as refused:
        return _refused_page(request, who, refused)
    return RedirectResponse(f"/console/requests?state={state}", status_code=303)


@router.post("/requests/{request_id}/fulfil", dependencies=[Depends(csrf_checked)])
def fulfil(
    request: Request,
    who: StaffDep,
    runtime: RuntimeDep,
    request_id: int,
    material_id: str = Form(""),
    answer: str = Form(""),
) -> Response:
    def with_material(session, row) -> None:
        number = material_id.strip().lstrip("#")
        if not number.isdigit() or len(number) > 9:
            raise board.RequestRefused("material")
        try:
            title = catalog.get_material(session, int(number)).title
        except catalog.MaterialNotFound:
            raise board.RequestRefused("material") from None
        board.fulfil(
            session,
            row.id,
            int(number),
            editor=who.number,
            answer=answer,
            wording=fulfilled_wording(row.topic, int(number), title, answer.strip()),
            now=utcnow(),
            ip=auth.client_ip(request),
        )

    return _answered(request, who, request_id, "fulfilled", with_material)


@router.post("/requests/{request_id}/decline", dependencies=[Depends(csrf_checked)])
def decline(
    request: Request,
    who: StaffDep,
    runtime: RuntimeDep,
    request_id: int,
    reason: str = Form(""),
) -> Response:
    def with_reason(session, row) -> None:
        board.decline(
            session,
            row.id,
            editor=who.number,
            reason=reason,
            wording=declined_wording(row.id, row.topic, reason.strip()),
            now=utcnow(),
            ip=auth.client_ip(request),
        )

    return _answered(request, who, request_id, "declined", with_reason)
