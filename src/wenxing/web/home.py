"""The home page (``/``), and what it lists, read at most once a second per worker.

The lists are the same for every visitor: the newest published materials, the most read
of the last 30 days and the categories. Each worker keeps them for ``HOME_SECONDS``: a
change this process commits to a material (``catalog.changes_here``) or a copy it issues
(``issue.copies_issued_here``) shows at once, another worker's or the command line's within
that time (the most-read counts themselves are recounted once a minute, see
``figures.most_read``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from wenxing.config.texts import group_texts
from wenxing.db.base import utcnow
from wenxing.db.engine import Database
from wenxing.delivery.figures import most_read
from wenxing.delivery.issue import copies_issued_here
from wenxing.i18n import _
from wenxing.materials import catalog
from wenxing.members.entitlement import role_now
from wenxing.members.subscriptions import account_view
from wenxing.web import auth
from wenxing.web.deps import RuntimeDep, render

HOME_SECONDS = 1.0  # how stale another process's publish may be on the home page
NEWEST = 30
MOST_READ_DAYS = 30

router = APIRouter(include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
def home(request: Request, runtime: RuntimeDep) -> HTMLResponse:
    publisher = runtime.publisher_settings()  # before the transaction: one connection each
    lists = request.app.state.home_lists.lists()  # the same for everyone, kept a second
    with runtime.db.reading() as session:
        member = auth.current_member(session, request)
        role = role_now(account_view(session, member) if member else None, utcnow())
        who = auth.who(member)
    context = {
        "materials": lists.newest,
        "popular": lists.popular,
        "who": who,
        "groups": _groups(publisher, role),
        "categories": lists.categories,
        "role": role,
    }
    return render(request, "home.html", context)


def _groups(publisher, role: str) -> list[tuple[str, str]]:
    """The group entry details a visitor or member is shown: the free group for everyone,
    the member group for members and staff."""
    shown = []
    groups = group_texts(publisher)  # the words set, else the QQ number and join link
    if role in ("member", "editor", "admin") and groups["member_group"]:
        shown.append((_("会员群"), groups["member_group"]))
    if groups["free_group"]:
        shown.append((_("免费QQ群"), groups["free_group"]))
    return shown


@dataclass(frozen=True)
class HomeLists:
    newest: list[catalog.MaterialSummary]
    popular: list[tuple[object, int]]  # (a material with id and title, copies)
    categories: list[tuple[str, int]]


def read_home_lists(session: Session) -> HomeLists:
    newest = catalog.list_materials(session, published_only=True, newest_first=True, limit=NEWEST)
    titles = {m.id: m for m in newest}
    popular = []
    for material_id, copies in most_read(session, utcnow() - timedelta(days=MOST_READ_DAYS)):
        found = titles.get(material_id) or _published(session, material_id)
        if found is not None:
            popular.append((found, copies))
    return HomeLists(newest, popular, catalog.categories(session))


def _published(session: Session, material_id: int):
    try:
        material = catalog.get_material(session, material_id)
    except catalog.MaterialNotFound:
        return None
    return material if material.status == "published" else None


class HomeCache:
    """This worker's copy of the home page's lists (the threads of a server share it; the
    app keeps one, ``app.state.home_lists``)."""

    def __init__(self, db: Database, *, clock: Callable[[], float] = time.monotonic):
        self._db = db
        self._clock = clock
        self._lock = threading.Lock()
        self._kept: tuple[float, tuple[int, int], HomeLists] | None = None

    def lists(self) -> HomeLists:
        now, changes = self._clock(), (catalog.changes_here(), copies_issued_here())
        kept = self._kept
        if kept is not None and kept[1] == changes and now - kept[0] < HOME_SECONDS:
            return kept[2]
        with self._lock:  # threads that find it stale together: one reads, the others wait
            kept = self._kept
            if kept is not None and kept[1] == changes and now - kept[0] < HOME_SECONDS:
                return kept[2]
            with self._db.reading() as session:
                lists = read_home_lists(session)
            self._kept = (now, changes, lists)
            return lists
