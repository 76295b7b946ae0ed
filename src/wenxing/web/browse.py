"""Browsing the library by category and by tag: /categories, /categories/{name},
/tags/{name}; and /published/{digest}, the materials an import run published together
(the page its one notification and robot announcement link to, live/digests.py).

These pages list titles and facts of published materials (kind, length, date), newest
first, 20 to a page (``?page=N``, web/paging.py and its pager); like the home page they
carry no material text. A category or tag that no published material carries is a 404, as
is a page past the last; a bad page value is a 400.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from wenxing.i18n import _
from wenxing.live import digests
from wenxing.materials import catalog
from wenxing.members.models import Member
from wenxing.runtime import Runtime
from wenxing.web import auth
from wenxing.web.paging import Page, PageNumber, link

PER_PAGE = 20


def _who(member: Member | None) -> dict | None:
    if member is None:
        return None
    return {"number": member.number, "name": member.name, "role": member.role}


def browse_routes(runtime: Runtime, render: Callable[..., HTMLResponse]) -> APIRouter:
    router = APIRouter(include_in_schema=False)  # pages, not the API

    @router.get("/categories", response_class=HTMLResponse)
    def categories(request: Request) -> HTMLResponse:
        with runtime.db.reading() as session:
            who = _who(auth.current_member(session, request))
            shelves = catalog.categories(session)
        return render(request, "categories.html", {"who": who, "categories": shelves})

    @router.get("/categories/{name:path}", response_class=HTMLResponse)
    def category(request: Request, name: str, page: PageNumber = 1) -> HTMLResponse:
        return shelf(
            request,
            page,
            category=name,
            title=_("分类：%(name)s") % {"name": name},
            missing=_("没有这个分类"),
            here=f"/categories/{name}",
        )

    @router.get("/tags/{name:path}", response_class=HTMLResponse)
    def tag(request: Request, name: str, page: PageNumber = 1) -> HTMLResponse:
        return shelf(
            request,
            page,
            tag=name,
            title=_("标签：%(name)s") % {"name": name},
            missing=_("没有这个标签"),
            here=f"/tags/{name}",
        )

    @router.get("/published/{digest_id}", response_class=HTMLResponse)
    def digest(request: Request, digest_id: int, page: PageNumber = 1) -> HTMLResponse:
        """The materials an import run published together (live/digests.py)."""
        here, title, missing = f"/published/{digest_id}", _("一起发布的新材料"), _("没有这批材料")
        return shelf(request, page, title=title, missing=missing, here=here, digest=digest_id)

    def shelf(
        request: Request,
        page: int,
        *,
        title: str,
        missing: str,
        here: str,
        category: str | None = None,
        tag: str | None = None,
        digest: int | None = None,
    ) -> HTMLResponse:
        shelved: dict[str, Any] = {"published_only": True, "category": category, "tag": tag}
        with runtime.db.reading() as session:
            who = _who(auth.current_member(session, request))
            if digest is not None:
                shelved["ids"] = digests.material_ids(session, digest)
            shown = Page(page, PER_PAGE, catalog.count_materials(session, **shelved))
            rows = []
            if shown.total and not shown.past_the_end:
                rows = catalog.list_materials(
                    session,
                    newest_first=True,
                    limit=shown.size,
                    offset=shown.offset,
                    **shelved,
                )
        if not shown.total:
            return render(request, "error.html", {"who": who, "message": missing}, 404)
        if shown.past_the_end:
            return render(request, "error.html", {"who": who, "message": _("没有这一页")}, 404)
        context = {
            "who": who,
            "title": title,
            "materials": rows,
            "shown": shown,
            "link": link(quote(here)),  # a category's or tag's name may need escaping
            "digest": digest is not None,
        }
        return render(request, "shelf.html", context)

    return router
