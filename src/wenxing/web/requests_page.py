"""The requests board on the site: ``/requests`` (the tabs, the form) and supporting.

Anyone may read the board, visitors included: it shows what members asked for, never
who asked, and no material text. Posting and supporting are for accounts that may read
member materials now, editors and admins (``requests.may_take_part``): a visitor is sent
to sign in, a free user, lapsed member or suspended account gets 403 with the reason.
Every form carries the CSRF token. A tab shows ``PER_PAGE`` requests a page (``?page=N``,
``web/paging.py``; a page past the last is 404). The words for the service's refusals live
here, for the pages, the console and the API alike.
"""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from wenxing import clock
from wenxing import requests as board
from wenxing.db.base import utcnow
from wenxing.i18n import N_, _
from wenxing.materials.models import KINDS
from wenxing.runtime import Runtime
from wenxing.web import auth
from wenxing.web.deps import RuntimeDep, csrf_checked, render
from wenxing.web.paging import MAX_PAGE, Page, PageNumber

PER_PAGE = 20  # requests a page of a tab, on the site and by default in the API
TAB_NAMES = {
    "popular": N_("支持最多"),
    "newest": N_("最新"),
    "fulfilled": N_("已满足"),
    "declined": N_("未采纳"),
}
STATE_NAMES = {"open": N_("征集中"), "fulfilled": N_("已满足"), "declined": N_("未采纳")}
REFUSALS = {
    "not_member": (403, N_("开通会员后才能发布需求和支持需求")),
    "topic_missing": (400, N_("请填写需要什么材料")),
    "topic_long": (400, N_("需求不能超过 %(topic)s 字")),
    "kind": (400, N_("请从列表中选择材料类型")),
    "occasion_long": (400, N_("使用场合不能超过 %(occasion)s 字")),
    "deadline_past": (400, N_("截止日期不能早于今天")),
    "deadline_bad": (400, N_("截止日期格式不正确，请按 2026-01-31 填写")),
    "too_many": (429, N_("每人每天最多发布 %(per_day)s 条需求，请明天再来")),
    "not_found": (404, N_("没有这条需求")),
    "own": (400, N_("不能支持自己发布的需求")),
    "closed": (400, N_("这条需求已经处理过了")),
    "material": (400, N_("请填写一份已发布材料的编号")),
    "answer_missing": (400, N_("请填写不采纳的理由")),
    "answer_long": (400, N_("答复不能超过 %(answer)s 字")),
}


_LIMITS = {
    "topic": board.TOPIC_CHARS,
    "occasion": board.OCCASION_CHARS,
    "answer": board.ANSWER_CHARS,
}


def refusal(refused: board.RequestRefused) -> tuple[int, str]:
    """The status and the message (in the site's language) for a refusal."""
    status, message = REFUSALS[refused.reason]
    return status, _(message) % (_LIMITS | refused.values)


def per_day(runtime: Runtime) -> int:
    """Requests an account may post in any 24 hours (the publisher's setting)."""
    return int(runtime.publisher_settings().requests_per_day)


def local_today(timezone: str) -> date:
    return clock.today(timezone)


def parse_deadline(text: str) -> date | None:
    """A form's deadline (empty: none); ``RequestRefused("deadline_bad")`` when unreadable."""
    text = text.strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise board.RequestRefused("deadline_bad") from None


def fulfilled_wording(topic: str, material_id: int, title: str, answer: str) -> board.Wording:
    return board.Wording(
        title=_("您关注的需求有材料了：%(topic)s") % {"topic": topic},
        body=answer or _("已发布《%(title)s》") % {"title": title},
        link=f"/materials/{material_id}",
    )


def declined_wording(request_id: int, topic: str, reason: str) -> board.Wording:
    return board.Wording(
        title=_("您关注的需求未被采纳：%(topic)s") % {"topic": topic},
        body=_("理由：%(reason)s") % {"reason": reason},
        link=f"/requests/{request_id}",
    )


router = APIRouter(include_in_schema=False)


def _board_page(
    request: Request,
    runtime: Runtime,
    tab: str,
    number: int = 1,
    *,
    form: dict | None = None,
    error: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    tab = tab if tab in board.TABS else "popular"
    now = utcnow()
    with runtime.db.reading() as session:
        member = auth.current_member(session, request)
        counts = board.counts(session)
        shown = Page(number, PER_PAGE, counts[board.TAB_STATES[tab]])
        rows = []
        if not shown.past_the_end:
            viewer = member.id if member else None
            rows = board.board(session, tab, viewer, limit=PER_PAGE, offset=shown.offset)
        can_post = board.may_take_part(session, member, now)
        who = auth.who(member)
    if shown.past_the_end:
        return render(request, "error.html", {"who": who, "message": _("没有这一页")}, 404)
    context = {
        "who": who,
        "tab": tab,
        "tabs": [(code, _(name)) for code, name in TAB_NAMES.items()],
        "rows": rows,
        "shown": shown,
        "states": {code: _(name) for code, name in STATE_NAMES.items()},
        "counts": counts,
        "can_post": can_post,
        "kinds": KINDS,
        "form": form or {},
        "error": error,
        "today": local_today(runtime.publisher_settings().timezone).isoformat(),
        "limits": {
            "topic": board.TOPIC_CHARS,
            "occasion": board.OCCASION_CHARS,
            "per_day": per_day(runtime),
        },
    }
    return render(request, "requests.html", context, status)


def _refused_page(request: Request, refused: board.RequestRefused) -> Response:
    status, message = refusal(refused)
    return render(request, "error.html", {"message": message}, status)


@router.get("/requests", response_class=HTMLResponse)
def requests_board(
    request: Request,
    runtime: RuntimeDep,
    tab: str = "popular",
    page: PageNumber = 1,
    topic: str = "",
) -> HTMLResponse:
    # ?topic=: the form filled in from a search that found nothing (it opens by itself).
    prefilled = {"topic": topic.strip()[: board.TOPIC_CHARS]} if topic.strip() else None
    return _board_page(request, runtime, tab, page, form=prefilled)


@router.get("/requests/{request_id}")
def one_request(request: Request, runtime: RuntimeDep, request_id: int) -> Response:
    """A request's lasting address (notifications link here): the tab and the page
    that show it now."""
    try:
        with runtime.db.reading() as session:
            tab, ahead = board.place_of(session, request_id)
    except board.RequestRefused as refused:
        return _refused_page(request, refused)
    number = ahead // PER_PAGE + 1
    return RedirectResponse(
        f"/requests?tab={tab}&page={number}#request-{request_id}", status_code=303
    )


@router.post("/requests", response_class=HTMLResponse, dependencies=[Depends(csrf_checked)])
def post(
    request: Request,
    runtime: RuntimeDep,
    topic: str = Form(""),
    kind: str = Form(""),
    occasion: str = Form(""),
    deadline: str = Form(""),
) -> Response:
    form = {
        "topic": topic[:400],
        "kind": kind,
        "occasion": occasion[:400],
        "deadline": deadline[:20],
    }
    timezone = runtime.publisher_settings().timezone
    try:
        with runtime.db.transaction() as session:
            member = auth.current_member(session, request)
            if member is None:
                return RedirectResponse("/signin?next=/requests", status_code=303)
            row = board.post_request(
                session,
                member,
                topic=topic,
                kind=kind,
                occasion=occasion,
                deadline=parse_deadline(deadline),
                per_day=per_day(runtime),
                today=local_today(timezone),
                now=utcnow(),
            )
            posted = row.id
    except board.RequestRefused as refused:
        if refused.reason == "not_member":
            return _refused_page(request, refused)
        status, message = refusal(refused)
        return _board_page(request, runtime, "newest", form=form, error=message, status=status)
    return RedirectResponse(f"/requests?tab=newest#request-{posted}", status_code=303)


def _change_support(request: Request, runtime: Runtime, request_id: int, add: bool) -> Response:
    try:
        with runtime.db.transaction() as session:
            member = auth.current_member(session, request)
            if member is None:
                return RedirectResponse("/signin?next=/requests", status_code=303)
            change = board.support if add else board.withdraw_support
            change(session, member, request_id, utcnow())
    except board.RequestRefused as refused:
        return _refused_page(request, refused)
    tab = request.query_params.get("tab", "popular")
    tab = tab if tab in board.TABS else "popular"
    asked = request.query_params.get("page", "")
    number = int(asked) if asked.isascii() and asked.isdigit() and len(asked) < 7 else 1
    back = f"&page={number}" if 1 < number <= MAX_PAGE else ""
    return RedirectResponse(f"/requests?tab={tab}{back}#request-{request_id}", status_code=303)


@router.post("/requests/{request_id}/support", dependencies=[Depends(csrf_checked)])
def add_support(request: Request, runtime: RuntimeDep, request_id: int) -> Response:
    return _change_support(request, runtime, request_id, add=True)


@router.post("/requests/{request_id}/unsupport", dependencies=[Depends(csrf_checked)])
def remove_support(request: Request, runtime: RuntimeDep, request_id: int) -> Response:
    return _change_support(request, runtime, request_id, add=False)
