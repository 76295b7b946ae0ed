"""The console's activation codes (admins only): batches with their redemption counts and
per-channel figures, generating a batch, exporting it, looking up one code, revoking a
code or a whole batch (asked first), and a batch's expiry date."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from functools import partial
from urllib.parse import quote, urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from wenxing import audit
from wenxing.db.base import utcnow
from wenxing.errors import DomainError
from wenxing.i18n import _
from wenxing.members import batches
from wenxing.members.redemption import export_batch, generate_batch, revoke
from wenxing.members.subscriptions import plans
from wenxing.web.console.gate import AdminDep, admin, console_page, say
from wenxing.web.deps import RuntimeDep, csrf_checked, render, runtime_of
from wenxing.web.error_messages import user_message

STATE_NAMES = {"issued": "未使用", "redeemed": "已兑换", "revoked": "已作废", "expired": "已过期"}
CHANNEL_DAYS = 30  # the per-channel table's recent column


def _utc_end_of(day: str, timezone: str) -> datetime | None:
    """The last second of the publisher's local ``day`` (YYYY-MM-DD) as a naive UTC
    moment (shown as that day)."""
    try:
        local = datetime.strptime(day.strip(), "%Y-%m-%d").date()
    except ValueError:
        return None
    end = datetime.combine(local + timedelta(days=1), time(0), ZoneInfo(timezone))
    return end.astimezone(ZoneInfo("UTC")).replace(tzinfo=None) - timedelta(seconds=1)


router = APIRouter(prefix="/console", dependencies=[Depends(admin)], include_in_schema=False)
view = partial(console_page, render)


def codes_page(request: Request, who, status=200, **extra) -> HTMLResponse:
    runtime = runtime_of(request)
    since = utcnow() - timedelta(days=CHANNEL_DAYS)
    with runtime.db.reading() as session:
        context = {
            "who": who.__dict__,
            **batches.batches_and_channels(session, since),
            "channel_days": CHANNEL_DAYS,
            "plans": plans(runtime.publisher_settings()),
            "state_names": STATE_NAMES,
            "fresh": None,
            "found": None,
            **extra,
        }
    return view(request, "codes.html", context, status)


@router.get("/codes", response_class=HTMLResponse)
def codes(
    request: Request, who: AdminDep, runtime: RuntimeDep, code: str = "", notice: str = ""
) -> HTMLResponse:
    found, problem = None, None
    if code.strip():
        with runtime.db.reading() as session:
            try:
                found = batches.lookup(session, code, utcnow())
            except DomainError as refused:
                problem = user_message(refused)
    return codes_page(
        request,
        who,
        404 if problem else 200,
        found=found,
        lookup_error=problem,
        code=code.strip()[:40],
        notice=notice[:200],
    )


@router.post("/codes", response_class=HTMLResponse, dependencies=[Depends(csrf_checked)])
def generate(
    request: Request,
    who: AdminDep,
    runtime: RuntimeDep,
    plan: str = Form(""),
    count: str = Form(""),
    label: str = Form(""),
    channel: str = Form(""),
) -> Response:
    known = plans(runtime.publisher_settings())
    problem = None
    if plan not in known:
        problem = _("请选择一种套餐")
    elif not count.isdigit() or not 1 <= int(count) <= 10_000:
        problem = _("数量为 %(low)s 到 %(high)s") % {"low": 1, "high": 10_000}
    elif not label.strip() or len(label) > 60:
        problem = _("请填写批次名称（不超过 %(n)s 字）") % {"n": 60}
    fresh = None
    if problem is None:
        try:
            with runtime.db.transaction() as session:
                generate_batch(
                    session,
                    known[plan],
                    int(count),
                    label.strip(),
                    channel.strip()[:60] or "console",
                    None,
                    actor=who.number,
                )
            fresh = label.strip()
        except ValueError:
            problem = _("这个批次名称已经用过了")
    return codes_page(request, who, 400 if problem else 200, fresh=fresh, error=problem)


@router.post("/codes/revoke", response_class=HTMLResponse, dependencies=[Depends(csrf_checked)])
def revoke_codes(
    request: Request,
    who: AdminDep,
    runtime: RuntimeDep,
    code: str = Form(""),
    batch: str = Form(""),
    confirmed: str = Form(""),
) -> Response:
    """Revoke one code (``code``) or every unused code of a batch (``batch``), after a
    page that says what will happen."""
    if not code.strip() and not batch.strip():
        return say(view, request, who, _("请填写卡密或选择批次"), 400)
    if not confirmed:
        context = {"who": who.__dict__, "code": code.strip(), "batch": batch.strip()}
        return view(request, "codes_confirm.html", context)
    try:
        with runtime.db.transaction() as session:
            if batch.strip():
                n = batches.revoke_batch(session, batch.strip(), actor=who.number, now=utcnow())
                notice = _("批次“%(label)s”作废了 %(n)s 个未使用的卡密") % {
                    "label": batch.strip(),
                    "n": n,
                }
            else:
                revoke(session, code, actor=who.number, now=utcnow())
                notice = _("卡密已作废")
    except DomainError as refused:
        return say(view, request, who, user_message(refused), 400)
    return RedirectResponse(f"/console/codes?{urlencode({'notice': notice})}", status_code=303)


@router.post("/codes/expiry", response_class=HTMLResponse, dependencies=[Depends(csrf_checked)])
def batch_expiry(
    request: Request,
    who: AdminDep,
    runtime: RuntimeDep,
    batch: str = Form(""),
    day: str = Form(""),
) -> Response:
    """A batch's last day of redemption (the publisher's local date); empty: none."""
    timezone = runtime.publisher_settings().timezone
    expires_at = _utc_end_of(day, timezone) if day.strip() else None
    if day.strip() and expires_at is None:
        return say(view, request, who, _("日期要写成 2027-06-30 这样"), 400)
    try:
        with runtime.db.transaction() as session:
            n = batches.set_batch_expiry(
                session, batch.strip(), expires_at, actor=who.number, now=utcnow()
            )
    except DomainError as refused:
        return say(view, request, who, user_message(refused), 400)
    notice = _("批次“%(label)s”的 %(n)s 个未使用卡密的截止日期已更新") % {
        "label": batch.strip(),
        "n": n,
    }
    return RedirectResponse(f"/console/codes?{urlencode({'notice': notice})}", status_code=303)


@router.get("/codes/{label}.csv")
def export(request: Request, label: str, who: AdminDep, runtime: RuntimeDep) -> Response:
    with runtime.db.transaction() as session:
        try:
            text = export_batch(session, label, utcnow())
        except LookupError:
            return say(view, request, who, _("没有这个批次"), 404)
        audit.record(session, audit.CODE_EXPORT, actor=who.number, subject=label)
    return Response(
        text.encode("utf-8-sig"),  # Excel opens UTF-8 CSV with a BOM correctly
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": 'attachment; filename="codes.csv"; '
            f"filename*=UTF-8''{quote(label)}.csv"
        },
    )
