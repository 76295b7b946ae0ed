"""Browsing the library by category and by tag: /categories, /categories/{name},
/tags/{name}; and /published/{digest}, the materials an import run published together
(the page its one notification and robot announcement link to, live/digests.py).

These pages list titles and facts of published materials (kind, length, date), newest
first, 20 to a page (``?page=N``, web/paging.py and its pager); like the home page they
carry no material text. A category or tag that no published material carries is a 404, as
is a page past the last; a bad page value is a 400.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from wenxing.i18n import _
from wenxing.live import digests
from wenxing.materials import catalog
from wenxing.runtime import Runtime
from wenxing.web.deps import RuntimeDep, ViewerDep, render, who_of
from wenxing.web.paging import Page, PageNumber, link

PER_PAGE = 20

router = APIRouter(include_in_schema=False)  # pages, not the API


@router.get("/categories", response_class=HTMLResponse)
def categories(request: Request, runtime: RuntimeDep, viewer: ViewerDep) -> HTMLResponse:
    with runtime.db.reading() as session:
        shelves = catalog.categories(session)
    return render(request, "categories.html", {"who": who_of(viewer), "categories": shelves})


@router.get("/categories/{name:path}", response_class=HTMLResponse)
def category(
    request: Request, runtime: RuntimeDep, viewer: ViewerDep, name: str, page: PageNumber = 1
) -> HTMLResponse:
    shelved = Shelved(category=name)
    title = _("分类：%(name)s") % {"name": name}
    return _shelf(request, runtime, viewer, page, shelved, title, _("没有这个分类"))


@router.get("/tags/{name:path}", response_class=HTMLResponse)
def tag(
    request: Request, runtime: RuntimeDep, viewer: ViewerDep, name: str, page: PageNumber = 1
) -> HTMLResponse:
    shelved = Shelved(tag=name)
    title = _("标签：%(name)s") % {"name": name}
    return _shelf(request, runtime, viewer, page, shelved, title, _("没有这个标签"))


@router.get("/published/{digest_id}", response_class=HTMLResponse)
def digest(
    request: Request, runtime: RuntimeDep, viewer: ViewerDep, digest_id: int, page: PageNumber = 1
) -> HTMLResponse:
    """The materials an import run published together (live/digests.py)."""
    shelved = Shelved(digest=digest_id)
    return _shelf(request, runtime, viewer, page, shelved, _("一起发布的新材料"), _("没有这批材料"))


@dataclass(frozen=True)
class Shelved:
    """Which published materials a shelf lists: a category's, a tag's or a digest's."""

    category: str | None = None
    tag: str | None = None
    digest: int | None = None

    @property
    def here(self) -> str:
        if self.digest is not None:
            return f"/published/{self.digest}"
        if self.category is not None:
            return f"/categories/{self.category}"
        return f"/tags/{self.tag}"


def _shelf(
    request: Request,
    runtime: Runtime,
    viewer,
    page: int,
    shelved: Shelved,
    title: str,
    missing: str,
) -> HTMLResponse:
    who = who_of(viewer)
    filters: dict[str, Any] = {
        "published_only": True,
        "category": shelved.category,
        "tag": shelved.tag,
    }
    with runtime.db.reading() as session:
        if shelved.digest is not None:
            filters["ids"] = digests.material_ids(session, shelved.digest)
        shown = Page(page, PER_PAGE, catalog.count_materials(session, **filters))
        rows = []
        if shown.total and not shown.past_the_end:
            rows = catalog.list_materials(
                session, newest_first=True, limit=shown.size, offset=shown.offset, **filters
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
        "link": link(quote(shelved.here)),  # a category's or tag's name may need escaping
        "digest": shelved.digest is not None,
    }
    return render(request, "shelf.html", context)
