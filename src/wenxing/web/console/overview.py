"""The console's dashboard (every member of staff) and audit log (admins): figures per
local day with axes, members ending soon, the materials most taken, redemptions per sales
channel; the log as Chinese sentences, filterable and exportable as CSV."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from functools import partial
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from wenxing import audit
from wenxing.db.base import utcnow
from wenxing.db.daily import local_days, utc_start
from wenxing.delivery import figures
from wenxing.i18n import _
from wenxing.materials import listing
from wenxing.members import batches, directory
from wenxing.reports.receipts import pending_count
from wenxing.runtime import Runtime
from wenxing.web.console.audit_words import describe, type_names
from wenxing.web.console.gate import (
    AdminDep,
    StaffDep,
    admin,
    console_page,
    no_such_page,
    say,
    staff,
)
from wenxing.web.deps import RuntimeDep, render
from wenxing.web.paging import Page, PageNumber, link

DAYS = 14  # days the dashboard's charts show
AUDIT_PER_PAGE = 100  # events a page of the audit log
AUDIT_EXPORT_MAX = 50_000
CHARTS = {
    "signups": "新注册",
    "redemptions": "卡密兑换",
    "revenue": "兑换收入（元，按套餐标价估算）",
    "downloads": "下载",
}


def _revenue(session, days: list, timezone: str, plans: Sequence[dict]) -> dict:
    """Redemptions of each plan over the days, at the plan's list price (codes are sold
    through channels the site does not see, so this is an estimate, and says so)."""
    codes = [p["code"] for p in plans]
    counted = batches.redemptions_per_day_by_plan(session, days, timezone, codes)
    prices = {p["code"]: p.get("price") or 0 for p in plans}
    per_day = [round(sum(counted[c][n] * prices[c] for c in codes)) for n in range(len(days))]
    by_plan = [
        {
            "name": p["name"],
            "redeemed": sum(counted[p["code"]]),
            "price": p.get("price"),
            "yuan": round(sum(counted[p["code"]]) * prices[p["code"]]),
        }
        for p in plans
    ]
    return {"revenue": per_day, "revenue_by_plan": by_plan}


def dashboard_figures(session, now: datetime, timezone: str, plans: Sequence[dict] = ()) -> dict:
    """Everything the dashboard shows, read in one session (``plans``: the publisher's, for
    the revenue by plan)."""
    days = local_days(now, timezone, DAYS)
    return {
        **_revenue(session, days, timezone, plans),
        **directory.figures(session, now),
        **listing.counts_by_state(session),
        "days": [d.strftime("%m-%d") for d in days],
        "signups": directory.signups_per_day(session, days, timezone),
        "redemptions": batches.redemptions_per_day(session, days, timezone),
        # Copies members took, not the marked search snippets the ledger also records.
        "downloads": figures.downloads_per_day(session, days, timezone),
        "formats": figures.downloads_by_format(session, days, timezone),
        "top_7": figures.top_materials(session, now - timedelta(days=7)),
        "top_30": figures.top_materials(session, now - timedelta(days=30)),
        "channels": batches.per_channel(session, now - timedelta(days=30)),
        "flagged": [{"number": n, "at": a} for n, a in directory.flagged_recently(session)],
        "reports_pending": pending_count(session),
    }


def axis(values: list[int]) -> dict:
    """A chart's vertical axis: four equal steps of 1, 2 or 5 times a power of ten, the
    top at or above the highest value."""
    high = max([*values, 1])
    step, scale = 1, 1
    while step * 4 < high:
        for factor in (1, 2, 5):
            step = factor * scale
            if step * 4 >= high:
                break
        else:
            scale *= 10
    return {"top": step * 4, "ticks": [step * n for n in range(5)]}


def _csv(rows: list[list], name: str) -> Response:
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return Response(
        out.getvalue().encode("utf-8-sig"),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
    )


def _local_day_bounds(day: str, timezone: str) -> datetime | None:
    try:
        return utc_start(datetime.strptime(day, "%Y-%m-%d").date(), timezone)
    except ValueError:
        return None


# The dashboard is for every member of staff (the console's root); the audit log for admins.
router = APIRouter(prefix="/console", dependencies=[Depends(staff)], include_in_schema=False)
admins = APIRouter(prefix="/console", dependencies=[Depends(admin)], include_in_schema=False)
view = partial(console_page, render)


def figures_now(runtime: Runtime) -> dict:
    publisher = runtime.publisher_settings()
    with runtime.db.reading() as session:
        return dashboard_figures(session, utcnow(), publisher.timezone, publisher.plans)


@router.get("", response_class=HTMLResponse)
def dashboard(request: Request, who: StaffDep, runtime: RuntimeDep) -> HTMLResponse:
    stats = figures_now(runtime)
    context = {
        "who": who.__dict__,
        "stats": stats,
        "charts": [
            {"key": key, "name": name, "values": stats[key], "axis": axis(stats[key])}
            for key, name in CHARTS.items()
        ],
        "timezone_name": runtime.publisher_settings().timezone,
    }
    return view(request, "dashboard.html", context)


@router.get("/charts/{key}.csv")
def chart_csv(request: Request, who: StaffDep, runtime: RuntimeDep, key: str) -> Response:
    if key not in CHARTS:
        return say(view, request, who, _("没有这张图"), 404)
    stats = figures_now(runtime)
    rows = [[_("日期"), _(CHARTS[key])], *zip(stats["days"], stats[key], strict=True)]
    return _csv([list(r) for r in rows], key)


def _filters(type: str, subject: str, actor: str) -> dict[str, str]:
    return {"type": type, "subject": subject.strip(), "actor": actor.strip()}


def _range(runtime: Runtime, since: str, until: str) -> tuple[datetime | None, datetime | None]:
    timezone = runtime.publisher_settings().timezone
    start = _local_day_bounds(since, timezone) if since else None
    end = _local_day_bounds(until, timezone) if until else None
    return start, (end + timedelta(days=1)) if end else None


@admins.get("/audit", response_class=HTMLResponse)
def audit_log(
    request: Request,
    who: AdminDep,
    runtime: RuntimeDep,
    type: str = "",
    subject: str = "",
    actor: str = "",
    since: str = "",
    until: str = "",
    page: PageNumber = 1,
) -> HTMLResponse:
    filters = _filters(type, subject, actor)
    start, end = _range(runtime, since, until)
    with runtime.db.reading() as session:
        shown = Page(page, AUDIT_PER_PAGE, audit.count_events(session, filters, start, end))
        if shown.past_the_end:
            return no_such_page(view, request, who)
        rows = audit.events(
            session, filters, limit=shown.size, offset=shown.offset, since=start, until=end
        )
        events = [
            {
                "id": e.id,
                "at": e.at,
                "ip": e.ip,
                **describe(e.type, e.actor, e.subject, e.details),
            }
            for e in rows
        ]
    kept = {**filters, "since": since, "until": until}
    context = {
        "who": who.__dict__,
        "events": events,
        "types": type_names(),
        "filters": kept,
        "shown": shown,
        "link": link("/console/audit", **kept),
        "export": link("/console/audit.csv", **kept).removesuffix("page="),
    }
    return view(request, "audit.html", context)


@admins.get("/audit.csv")
def audit_csv(
    request: Request,
    who: AdminDep,
    runtime: RuntimeDep,
    type: str = "",
    subject: str = "",
    actor: str = "",
    since: str = "",
    until: str = "",
) -> Response:
    timezone = runtime.publisher_settings().timezone
    zone = ZoneInfo(timezone)
    start, end = _range(runtime, since, until)
    with runtime.db.reading() as session:
        rows = audit.events(
            session,
            _filters(type, subject, actor),
            limit=AUDIT_EXPORT_MAX,
            since=start,
            until=end,
        )
        table = [[_("时间（%(zone)s）") % {"zone": timezone}, _("事件"), _("详情"), _("地址")]]
        for e in rows:
            said = describe(e.type, e.actor, e.subject, e.details)
            at = e.at.replace(tzinfo=UTC).astimezone(zone).strftime("%Y-%m-%d %H:%M:%S")
            details = "；".join(f"{label}：{value}" for label, value in said["fields"])
            table.append([at, said["sentence"], details, e.ip or ""])
    return _csv(table, "audit")
