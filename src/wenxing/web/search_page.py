"""The site's search page: one box, filter chips with counts, a result count, pages, and
the order (most relevant or newest).

The chips add filters of the query language (``kind:`` ``year:`` ``category:`` ``tag:``) to
what was typed; the counts beside them are the ranked materials' (``search.facets``). When
nothing holds every term the page says so, lists the materials holding the most of them,
offers the whole text searched as one run of characters, and links to 发布需求 with the
query filled in. What a page shows of the body is released like every answer
(``account.release_results``): headings for visitors, marked and logged snippets for
members, for the materials of that page only.
"""

from __future__ import annotations

import re
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from wenxing.compose import pieces
from wenxing.db.base import utcnow
from wenxing.members.entitlement import role_now
from wenxing.members.subscriptions import account_view
from wenxing.runtime import Runtime
from wenxing.search.query import QueryError
from wenxing.search.service import Browse, RateLimited, search
from wenxing.search.units import units_of
from wenxing.web import auth
from wenxing.web.account import release_results
from wenxing.web.deps import RuntimeDep, render
from wenxing.web.paging import MAX_PAGE, Page

PER_PAGE = 10
FILTERS = ("kind", "year", "category", "tag")  # the chips, in the order shown
_YEAR = re.compile(r"(19|20)\d\d")


def search_query(q: str, chosen: dict[str, str]) -> str:
    """What is searched: the text typed and the chips chosen, in the query language."""
    parts = [q.strip()]
    for name in FILTERS:
        value = chosen.get(name, "").strip()
        if value and " " not in value and (name != "year" or _YEAR.fullmatch(value)):
            parts.append(f"{name}:{value}")
    return " ".join(p for p in parts if p)


def search_link(now: dict[str, str], **changes: str) -> str:
    """The page's address (``now``: its text ``q``, filters and ``sort``) with ``changes``
    (page 1 again)."""
    values = {**now, **changes}
    if values.get("sort") != "newest":
        values.pop("sort", None)
    return "/search?" + urlencode({k: v for k, v in values.items() if v})


def _context(who, q: str, chosen: dict[str, str], sort: str) -> dict:
    """The page's context before searching: the box, the chips chosen, the links."""
    now = {"q": q, **chosen, "sort": sort}
    return {
        "who": who,
        "q": q,
        "search_page": True,
        "chosen": chosen,
        "sort": sort,
        "results": None,
        "error": None,
        "shown": None,
        "link": lambda **changes: search_link(now, **changes),
        "pager_link": search_link(now) + "&page=",
        "whole": "".join(q.split()) if len(q.split()) > 1 else "",
    }


router = APIRouter(include_in_schema=False)  # a page, not the API


@router.get("/search", response_class=HTMLResponse)
def search_page(
    request: Request,
    runtime: RuntimeDep,
    q: str = "",
    kind: str = "",
    year: str = "",
    category: str = "",
    tag: str = "",
    sort: str = "",
    page_number: Annotated[int, Query(ge=1, le=MAX_PAGE, alias="page")] = 1,
) -> HTMLResponse:
    chosen = {"kind": kind, "year": year, "category": category, "tag": tag}
    chosen = {name: value for name, value in chosen.items() if value.strip()}
    sort = "newest" if sort == "newest" else ""
    text = search_query(q, chosen)
    with runtime.db.reading() as session:
        member = auth.current_member(session, request)
        number = member.number if member else None
        role = role_now(account_view(session, member) if member else None, utcnow())
        who = auth.who(member)
    context = _context(who, q, chosen, sort)
    if not text:
        return render(request, "search.html", context)
    status = 200
    try:
        take_search(runtime, request, number)
        results = search(
            runtime.search_index(),
            text,
            limit=PER_PAGE,
            member=role in ("member", "editor", "admin"),
            browse=Browse(page_number, sort == "newest", facets=True, partial=True),
        )
    except RateLimited as limited:
        context["error"], status = limited.user_message, 429
    except QueryError as refused:
        context["error"], status = refused.user_message, 400
    else:
        context["results"] = release_results(runtime, request, member, results, "web")
        if member is not None:  # 加入素材篮 beside each section the member may read
            context["places"] = _places(runtime, context["results"])
        context["shown"] = Page(page_number, PER_PAGE, results.total)
    return render(request, "search.html", context, status)


def take_search(runtime: Runtime, request: Request, number: str | None) -> None:
    """Count one search (the page's or the API's) against the allowances: per minute and
    per day for the account ``number``, or for the address when nobody is signed in, and per
    day for the address whichever accounts search from it. Raises ``RateLimited``."""
    address = f"ip:{auth.client_ip(request)}"
    publisher = runtime.publisher_settings()
    runtime.search_allowance().take(
        number or address,
        publisher.search_per_minute,
        utcnow(),
        address=address,
        zone=publisher.timezone,
    )


def _places(runtime: Runtime, results) -> dict[tuple[int, int], tuple[int, str]]:
    """(version, anchor) of the piece each released section lies in (``compose.pieces``)."""
    sections = [
        (hit.material_id, section.ordinal)
        for hit in results.materials
        for section in hit.sections
        if section.snippet
    ]
    if not sections:
        return {}
    with runtime.db.reading() as session:
        return pieces.search_places(session, sections, units_of)
