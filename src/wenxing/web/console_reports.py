"""The console's resale reports: the list (pending first, ``PAGE_SIZE`` a page with the
shared pager, web/paging.py: a page past the last is 404, a bad page value 400), one report
with its evidence and case, and the decision (confirm with a sanction, or reject).

Editors and admins only, through the console's one gate (``console.staff``). Everything a
reporter sent is untrusted: the note, the link (a link only when it is http or https) and
file names are escaped; evidence files are served as attachments of type
``application/octet-stream`` with ``nosniff`` and a sandboxing CSP, so an HTML file never
renders on our origin; a piece of evidence's read text is shown escaped, its first 1,000
characters only.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from functools import partial
from pathlib import PurePath
from typing import Annotated
from urllib.parse import quote, urlsplit

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from wenxing import audit
from wenxing.db.base import utcnow
from wenxing.i18n import N_, _
from wenxing.members.models import Member
from wenxing.reports import decisions, queries
from wenxing.reports.intake import format_receipt
from wenxing.reports.models import STATES, Report, ReportEvidence
from wenxing.reports.receipts import evidence_outcome
from wenxing.web import auth, reporting
from wenxing.web.console import StaffDep, console_page, no_such_page, staff
from wenxing.web.deps import RuntimeDep, csrf_checked, render, runtime_of
from wenxing.web.paging import Page, PageNumber, link

PAGE_SIZE = 30
PREVIEW_CHARS = 1000
BASIS_NAMES = {
    "marks": N_("指纹标记"),
    "copy_tag": N_("副本标签"),
    "visible_line": N_("页面上印的会员号"),
}
# How a member number printed in the evidence stands against the marks (a lead, never a
# basis for accusing anyone).
LEAD_NAMES = {
    "agrees": N_("与隐藏标识一致"),
    "contradicted": N_("隐藏标识指向其他会员"),
    "unsupported": N_("隐藏标识未能印证"),
}
FORGERY_WARNING = N_("可见编号与隐藏标识不符，可能是栽赃")
FLAG_NAMES = {"own_copy": N_("举报人本人的副本"), "shared": N_("举报人与被举报账户有关联")}
SANCTION_NAMES = {"suspend": N_("暂停账号"), "warn": N_("警告")}
REWARD_NAMES = {
    "membership": N_("会员已加到举报人账户"),
    "gift_code": N_("兑换码（显示在回执页）"),
    "none": N_("不奖励：这起倒卖此前已奖励过"),
    "withheld": N_("不奖励：举报人与被举报账户有关联"),
    "thanks": N_("不奖励：只警告、未封禁（感谢举报人）"),
    "capped": N_("不奖励：举报人一年内的奖励次数已达上限"),
}
_DECISION_ERRORS = {
    "not_found": N_("没有这条举报"),
    "decided": N_("这条举报已经处理过了"),
    "not_traced": N_("证据还在核对中，请稍后再处理"),
    "sanction": N_("请选择处理方式"),
    "reason": N_("请填写理由"),
    "nobody": N_("请至少选择一个被举报的会员"),
    "reward_plan": N_("举报奖励套餐（report_reward_plan）不在套餐列表中，请先在设置里改正"),
}
# The domain's English notes on abuse flags and withheld rewards, worded for the console.
_NOTES = (
    (r"^the reporter is the accused account$", N_("举报人就是被举报的账户")),
    (
        r"^the report's contact is the accused account's phone$",
        N_("举报留下的联系方式是被举报账户的手机号"),
    ),
    (
        r"^the reporter's account has the accused account's phone$",
        N_("举报人账户的手机号与被举报账户相同"),
    ),
    (
        r"^the reporter signs in from a device the accused",
        N_("举报人登录用的设备，被举报账户也在用"),
    ),
    (
        r"^the reporter signs in from a network the accused",
        N_("举报人登录用的网络，被举报账户也在用"),
    ),
    (
        r"^the report came from (?P<network>\S+), a network",
        N_("举报提交自 %(network)s，被举报账户也用这个网络"),
    ),
    (r"^this leak was confirmed and rewarded before$", N_("这起倒卖此前已确认并奖励过")),
    (r"^warned, not suspended", N_("只警告、未封禁：只有封禁才发放奖励")),
    (
        r"^the reporter has had (?P<cap>\d+) rewards in the last 365 days",
        N_("举报人在 365 天内已获得 %(cap)s 次奖励，达到每年上限"),
    ),
)


def note_message(note: str | None) -> str:
    """A flag's or a withheld reward's note in the site's language (as written when new)."""
    if not note:
        return ""
    number, sep, rest = note.partition(": ")
    if sep and re.fullmatch(r"WX-\d+", number):
        return f"{number}: {note_message(rest)}"
    for pattern, message in _NOTES:
        found = re.match(pattern, note)
        if found:
            return _(message) % found.groupdict()
    return note


def _named(names: dict[str, str], code: str | None) -> str:
    return _(names[code]) if code in names else (code or "")


def decision_message(error: decisions.DecisionError) -> str:
    return _named(_DECISION_ERRORS, error.code) or _("无法处理这条举报")


def web_link(link: str | None) -> str | None:
    """The link when it may be shown as one (http or https with a host), else None."""
    if not link:
        return None
    parts = urlsplit(link.strip())
    return link.strip() if parts.scheme in ("http", "https") and parts.netloc else None


router = APIRouter(
    prefix="/console/reports", dependencies=[Depends(staff)], include_in_schema=False
)
_view = partial(console_page, render)


@router.get("", response_class=HTMLResponse)
def reports(
    request: Request,
    who: StaffDep,
    runtime: RuntimeDep,
    state: str = "",
    page: PageNumber = 1,
) -> HTMLResponse:
    state = state if state in ("pending", *STATES) else ""
    with runtime.db.reading() as session:
        shown, rows = _listing(session, state, page)
    if shown.past_the_end:
        return no_such_page(_view, request, who)
    context = {
        "who": who.__dict__,
        "rows": rows,
        "state": state,
        "states": [("", _("全部")), ("pending", _("待处理"))]
        + [(s, reporting.state_name(s)) for s in STATES],
        "shown": shown,
        "link": link("/console/reports", state=state),
    }
    return _view(request, "reports.html", context)


def _detail(
    request: Request, who, report_id: int, *, error: str | None = None, status: int = 200
) -> HTMLResponse:
    with runtime_of(request).db.reading() as session:
        case_ = _case(session, report_id)
    if case_ is None:
        return _view(request, "message.html", {"message": _("没有这条举报"), "who": who}, 404)
    return _view(request, "report.html", {"who": who, "error": error, **case_}, status)


@router.get("/{report_id}", response_class=HTMLResponse)
def report(request: Request, who: StaffDep, report_id: int) -> HTMLResponse:
    return _detail(request, who.__dict__, report_id)


@router.get("/{report_id}/evidence/{evidence_id}")
def evidence_file(
    request: Request, who: StaffDep, runtime: RuntimeDep, report_id: int, evidence_id: int
):
    with runtime.db.transaction() as session:
        row = session.get(ReportEvidence, evidence_id)
        if row is None or row.report_id != report_id:
            message = _("没有这份证据")
            return _view(request, "message.html", {"message": message, "who": who.__dict__}, 404)
        if row.purged_at is not None:
            message = _("这份证据已过保存期限并删除，只保留了它的哈希值和核对结果")
            return _view(request, "message.html", {"message": message, "who": who.__dict__}, 410)
        data, name = row.data, row.filename or f"pasted-{row.id}.txt"
        report = session.get(Report, report_id)
        assert report is not None  # the evidence row's report (a foreign key)
        # Who looked at which evidence is on record: it may hold a member's whole copy.
        audit.record(
            session,
            audit.REPORT_EVIDENCE_DOWNLOAD,
            actor=who.number,
            subject=format_receipt(report.receipt),
            ip=auth.client_ip(request),
            evidence=evidence_id,
            sha256=row.sha256,
        )
    suffix = PurePath(name).suffix.lower()
    suffix = suffix if re.fullmatch(r"\.[a-z0-9]{1,8}", suffix) else ""
    headers = {
        "Content-Disposition": f'attachment; filename="evidence-{evidence_id}{suffix}"; '
        f"filename*=UTF-8''{quote(name)}",
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; sandbox",
        "Cache-Control": "no-store",
    }
    return Response(data, media_type="application/octet-stream", headers=headers)


def _decided(request: Request, who, report_id: int, decide: Callable, **choices) -> Response:
    """Make one decision (``decisions.confirm`` or ``reject``) in its own transaction,
    by the editor from their address now: back to the report, or its page again with
    why the decision was refused."""
    try:
        with runtime_of(request).db.transaction() as session:
            decide(
                session,
                report_id,
                editor=who.number,
                now=utcnow(),
                ip=auth.client_ip(request),
                **choices,
            )
    except decisions.DecisionError as refused:
        status = {"not_found": 404, "decided": 409}.get(refused.code, 400)
        error = decision_message(refused)
        return _detail(request, who.__dict__, report_id, error=error, status=status)
    return RedirectResponse(f"/console/reports/{report_id}", status_code=303)


@router.post(
    "/{report_id}/confirm", response_class=HTMLResponse, dependencies=[Depends(csrf_checked)]
)
def confirm(
    request: Request,
    who: StaffDep,
    runtime: RuntimeDep,
    report_id: int,
    sanction: str = Form(""),
    reason: str = Form(""),
    members: Annotated[list[int] | None, Form()] = None,
) -> Response:
    publisher = runtime.publisher_settings()
    return _decided(
        request,
        who,
        report_id,
        decisions.confirm,
        reason=reason,
        sanction=sanction,
        publisher=publisher,
        members=members or [],  # none ticked is nobody, not everyone
    )


@router.post(
    "/{report_id}/reject", response_class=HTMLResponse, dependencies=[Depends(csrf_checked)]
)
def reject(request: Request, who: StaffDep, report_id: int, reason: str = Form("")) -> Response:
    return _decided(request, who, report_id, decisions.reject, reason=reason)


def _listing(session, state: str, page: int) -> tuple[Page, list[dict]]:
    """The page of the list asked for and its rows (none for a page past the last)."""
    shown = Page(page, PAGE_SIZE, queries.count_reports(session, state))
    if shown.past_the_end:
        return shown, []
    reports = queries.list_reports(session, state, offset=shown.offset, limit=shown.size)
    ids = [r.id for r in reports]
    evidence, accused = queries.evidence_counts(session, ids), queries.accused_counts(session, ids)
    rows = [
        {
            "id": r.id,
            "receipt": format_receipt(r.receipt),
            "at": r.created_at,
            "state": r.state,
            "state_name": reporting.state_name(r.state),
            "platform": reporting.platform_name(r.platform),
            "evidence": evidence.get(r.id, 0),
            "accused": accused.get(r.id, 0),
            "reward": _named(REWARD_NAMES, r.reward) if r.state == "confirmed" else "",
        }
        for r in reports
    ]
    return shown, rows


def _case(session, report_id: int) -> dict | None:
    """Everything the report's console page shows, read in one session."""
    report = session.get(Report, report_id)
    if report is None:
        return None
    receipt = format_receipt(report.receipt)
    reporter = session.get(Member, report.reporter_id) if report.reporter_id else None
    return {
        "r": report,
        "receipt": receipt,
        "state_name": reporting.state_name(report.state),
        "platform": reporting.platform_name(report.platform),
        "link": web_link(report.link),
        "reporter": reporter.number if reporter else None,
        "evidence": _evidence(session, report),
        "traces": _traces(session, report.id),
        "forgery_warning": _(FORGERY_WARNING),
        "accused": _accused(session, report.id),
        "sanction": _named(SANCTION_NAMES, report.sanction),
        "reward": _named(REWARD_NAMES, report.reward),
        "reward_notes": [note_message(n) for n in (report.reward_note or "").splitlines()],
        "events": queries.events_about(session, receipt),
    }


def _evidence(session, report: Report) -> list[dict]:
    return [
        {
            "row": row,
            "outcome": reporting.evidence_message(*evidence_outcome(report.state, row.error)),
            "detail": reporting.evidence_detail(row.error_detail),
            "more": (row.chars or 0) > PREVIEW_CHARS,
        }
        for row in queries.evidence_rows(session, report.id, PREVIEW_CHARS)
    ]


def _traces(session, report_id: int) -> list[dict]:
    cases = []
    for trace, title, number in queries.trace_rows(session, report_id):
        result = json.loads(trace.result)
        cases.append(
            {
                "t": trace,
                "title": title,
                "version": number,
                "visible": result.get("visible_numbers", []),
                "leads": [
                    {"member": lead["member"], "standing": _named(LEAD_NAMES, lead["standing"])}
                    for lead in result.get("leads", [])
                ],
                "forgery": bool(result.get("forgery_suspected")),
                "layers": result.get("layer_positions", {}),
                "evidence": trace.evidence_ids.split(","),
            }
        )
    return cases


def _accused(session, report_id: int) -> list[dict]:
    return [
        {
            "a": accusation,
            "number": number,
            "name": name,
            "suspended": status == "suspended",
            "basis": _named(BASIS_NAMES, accusation.basis),
            "flag": _named(FLAG_NAMES, accusation.flag),
            "flag_detail": note_message(accusation.flag_detail),
            "copies": json.loads(accusation.copies or "[]"),
        }
        for accusation, number, name, status in queries.accused_rows(session, report_id)
    ]
