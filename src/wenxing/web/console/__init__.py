"""The publisher's console, a module per domain: materials, members, codes, the
dashboard and the audit log (reports, requests, wording, robots and settings have their
own modules beside this package).

Each module has a module-level router (``ROUTERS`` lists them in the order the app serves
them). Who may enter is decided in ``gate``: ``staff`` is the dependency of the staff's
routers, ``admin`` (``staff`` first) of the routers of pages for admins only (members,
codes, audit). Every change is a POST with a CSRF token (``deps.csrf_checked``); every
destructive action (下架, 删除, 暂停, 作废) is asked first on a page naming what it will
change. The pages hold no queries: they call the domains' services and queries.
"""

from __future__ import annotations

from fastapi import APIRouter

from wenxing.web.console import codes, materials, members, overview, recovery
from wenxing.web.console.gate import (
    AdminDep,
    NotStaff,
    Staff,
    StaffDep,
    admin,
    console_page,
    no_such_page,
    staff,
)
from wenxing.web.console.materials import MAX_UPLOAD_FILES
from wenxing.web.console.members import MEMBERS_PER_PAGE
from wenxing.web.console.overview import AUDIT_PER_PAGE, dashboard_figures

__all__ = [
    "AUDIT_PER_PAGE",
    "MAX_UPLOAD_FILES",
    "MEMBERS_PER_PAGE",
    "ROUTERS",
    "AdminDep",
    "NotStaff",
    "Staff",
    "StaffDep",
    "admin",
    "console_page",
    "dashboard_figures",
    "no_such_page",
    "staff",
]

# The console's routers in the order the app serves them (routes are tried in order): the
# staff's pages, then the admins'; the recovery routes before the member routes, which
# would take ``/members/{number}/reset-link`` for an action otherwise.
ROUTERS: tuple[APIRouter, ...] = (
    overview.router,
    materials.router,
    overview.admins,
    recovery.router,
    members.router,
    codes.router,
)
