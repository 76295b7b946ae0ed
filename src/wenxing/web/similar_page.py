"""相似段落 on the reader page: sections of other materials on the topic of one section.

``GET /materials/{id}/similar?at=s3`` answers the reader page's script with JSON (``Accept:
application/json``: the panel beside the heading fills without a reload) and anyone else
with a page of plain links and forms (the reader page's 相似段落 link without the script).
Each answer is counted like a search (``search_page.take_search``: the same per-minute
and per-day allowances), and shows what a search shows everybody: titles, public
headings, kind and date, a link to the section on the material's reader page; never body
text. A member is offered the sections of materials they may read (``search.similar``),
each with a 加入素材篮 form (``POST /basket``: material, version, anchor, csrf_token; the
basket's module answers it).
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from wenxing import clock
from wenxing.db.base import utcnow
from wenxing.i18n import _
from wenxing.runtime import Runtime
from wenxing.search.service import RateLimited
from wenxing.search.similar import SectionNotFound, Similar, similar, viewer_of
from wenxing.web import auth
from wenxing.web.deps import RuntimeDep, render
from wenxing.web.search_page import take_search

_ANCHOR = re.compile(r"s[1-9]\d{0,4}")
BASKET = "/basket"  # the 素材篮's form action (issue 25's contract)

router = APIRouter(include_in_schema=False)  # a page and the reader's JSON, not the API


@router.get("/materials/{material_id}/similar", response_class=HTMLResponse)
def similar_sections(
    request: Request, runtime: RuntimeDep, material_id: int, at: str = ""
) -> Response:
    wants_json = "application/json" in request.headers.get("accept", "")
    with runtime.db.reading() as session:
        member = auth.current_member(session, request)
        viewer = viewer_of(session, member, runtime.publisher_settings(), utcnow())
        who = auth.who(member)
    context: dict[str, Any] = {
        "who": who,
        "material_id": material_id,
        "answer": None,
        "error": None,
    }
    status, headers = 200, {}
    if not _ANCHOR.fullmatch(at):
        context["error"], status = _("没有找到这一节"), 404
    else:
        try:
            take_search(runtime, request, member.number if member else None)
            context["answer"] = similar(runtime.search_index(), material_id, at, viewer)
        except RateLimited as limited:
            context["error"], status = limited.user_message, 429
            headers["Retry-After"] = str(limited.retry_after)
        except SectionNotFound:
            context["error"], status = _("没有找到这一节"), 404
    if wants_json:
        response = _json(runtime, request, context, status)
    else:
        context["sections"] = _sections(runtime, context["answer"])
        response = render(request, "similar.html", context, status)
    response.headers.update(headers)
    return response


def _sections(runtime: Runtime, answer: Similar | None) -> list[dict]:
    """What is shown of each section, as the page and the JSON give it."""
    if answer is None:
        return []
    zone = runtime.publisher_settings().timezone
    return [
        {
            "material": s.material_id,
            "version": s.version_id,
            "anchor": s.anchor or "",
            "title": s.title,
            "heading": s.heading,
            "kind": s.kind,
            "date": clock.show(s.published_at, zone, "%Y-%m-%d"),
            "href": s.href,
        }
        for s in answer.sections
    ]


def _json(runtime: Runtime, request: Request, context: dict, status: int) -> Response:
    answer: Similar | None = context["answer"]
    headers = {"Cache-Control": "no-store"}
    if answer is None:
        return JSONResponse({"error": context["error"]}, status_code=status, headers=headers)
    body = {
        "source": {
            "material": answer.source.material_id,
            "anchor": answer.source.anchor,
            "heading": answer.source.heading,
        },
        "sections": _sections(runtime, answer),
        "basket": answer.readable,
        "basket_action": BASKET,
        "csrf_token": auth.csrf_token(request),
        "took_ms": round(answer.took_ms, 2),
        **({"notice": answer.notice} if answer.notice else {}),
    }
    response = JSONResponse(body, headers=headers)
    auth.remember_csrf(request, response)
    return response
