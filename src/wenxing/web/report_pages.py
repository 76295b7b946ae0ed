"""The public report pages: filing a report (no account needed) and its receipt page.

``/report`` takes the report: where the copy was found, a contact, files and pasted text.
A request larger than every file at the limit together is refused (413) before it is
parsed (``reporting.body_limited_route``). A filed report sends the browser to its receipt
page with a signed cookie that opens it again; anyone else opens a receipt with the
contact it was filed with (``receipts.open_by_contact``: wrong contacts are counted per
address). The receipt page shows the state, each file's outcome, the decision and the
reward, and never the evidence's text or whom it named.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from wenxing.db.base import utcnow
from wenxing.i18n import _
from wenxing.members.subscriptions import UnknownPlan, plan_named
from wenxing.reports import intake, receipts
from wenxing.reports.intake import format_receipt
from wenxing.runtime import Runtime
from wenxing.serverkey import derive_key
from wenxing.web import auth, reporting
from wenxing.web.deps import RuntimeDep, csrf_checked, render, runtime_of, viewer, who_of


def receipt_key(runtime: Runtime) -> bytes:
    return derive_key(runtime.secret, "report-receipts")


def _form_page(
    request: Request,
    *,
    form: dict | None = None,
    error: str | None = None,
    check: dict | None = None,
    check_error: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    publisher = runtime_of(request).publisher_settings()
    try:
        reward = plan_named(publisher, publisher.report_reward_plan).name
    except UnknownPlan:
        reward = None
    context = {
        "who": who_of(viewer(request)),
        "platforms": reporting.platform_choices(),
        "file_mb": reporting.file_mb(publisher),
        "max_files": intake.MAX_FILES,
        "suffixes": reporting.EVIDENCE_SUFFIXES,
        "reward_plan": reward,
        "form": form or {},
        "error": error,
        "check": check or {},
        "check_error": check_error,
    }
    return render(request, "report.html", context, status)


def _too_large(request: Request) -> Response:
    message = reporting.too_large_message(runtime_of(request).publisher_settings())
    return _form_page(request, error=message, status=413)


def _refused_early(request: Request) -> Response | None:
    if request.url.path != "/report":
        return None
    refused = reporting.early_refusal(runtime_of(request), request)
    if refused is None:
        return None
    status, message = refused
    return _form_page(request, error=message, status=status)


def _largest(request: Request) -> int:
    return reporting.largest_body(runtime_of(request).publisher_settings())


router = APIRouter(
    include_in_schema=False,
    route_class=reporting.body_limited_route(_largest, _too_large, _refused_early),
)


@router.get("/report", response_class=HTMLResponse)
def report_form(request: Request) -> HTMLResponse:
    return _form_page(request)


@router.post("/report", response_class=HTMLResponse, dependencies=[Depends(csrf_checked)])
def submit(
    request: Request,
    runtime: RuntimeDep,
    files: Annotated[list[UploadFile] | None, File()] = None,
    platform: str = Form(""),
    link: str = Form(""),
    note: str = Form(""),
    contact: str = Form(""),
    text: str = Form(""),
) -> Response:
    form = {"platform": platform, "link": link, "note": note, "contact": contact, "text": text}
    try:
        receipt = reporting.file_report(
            runtime,
            request,
            form,
            files,
            reporter=lambda session: auth.current_member(session, request),
        )
    except reporting.Refused as refused:
        return _form_page(request, form=form, error=refused.message, status=refused.status)
    response = RedirectResponse(f"/report/{format_receipt(receipt)}", status_code=303)
    reporting.remember_receipt(response, request, receipt_key(runtime), receipt)
    return response


def _opened_with_contact(
    request: Request, receipt_entry: str, contact: str, failed: Callable[[str, int], Response]
) -> Response:
    if not receipt_entry.strip() or not contact.strip():
        return failed(_("请填写回执号和举报时留下的联系方式"), 400)
    runtime = runtime_of(request)
    try:
        with runtime.db.transaction() as session:
            report = receipts.open_by_contact(
                session, receipt_entry, contact, ip=auth.client_ip(request), now=utcnow()
            )
            receipt = report.receipt if report is not None else None
    except receipts.TooManyChecks:
        return failed(_("尝试次数过多，请 %(minutes)s 分钟后再试") % {"minutes": 15}, 429)
    if receipt is None:
        return failed(_("回执号或联系方式不正确"), 400)
    response = RedirectResponse(f"/report/{format_receipt(receipt)}", status_code=303)
    reporting.remember_receipt(response, request, receipt_key(runtime), receipt)
    return response


@router.post("/report/check", response_class=HTMLResponse, dependencies=[Depends(csrf_checked)])
def check(request: Request, receipt: str = Form(""), contact: str = Form("")) -> Response:
    def failed(message: str, status: int) -> Response:
        entered = {"receipt": receipt[:40], "contact": contact[:60]}
        return _form_page(request, check=entered, check_error=message, status=status)

    return _opened_with_contact(request, receipt, contact, failed)


def _receipt_page(
    request: Request, canonical: str, *, error: str | None = None, status: int = 200
) -> HTMLResponse:
    """The receipt when this browser may open it; otherwise the form asking for the
    contact (shown alike whether the receipt exists or not)."""
    runtime = runtime_of(request)
    publisher = runtime.publisher_settings()
    with runtime.db.reading() as session:
        member = auth.current_member(session, request)
        report = intake.by_receipt(session, canonical)
        opens = report is not None and (
            (member is not None and report.reporter_id == member.id)
            or canonical in reporting.cookie_receipts(request, receipt_key(runtime))
        )
        view = receipts.receipt_view(session, report) if report and opens else None
        who = auth.who(member)
    context: dict[str, Any] = {
        "who": who,
        "receipt": format_receipt(canonical),
        "view": view,
        "error": error,
    }
    if view is not None:
        context |= {
            "state_name": reporting.state_name(view.state),
            "platform": reporting.platform_name(view.platform),
            "evidence": [
                (e, reporting.evidence_message(e.outcome, e.reason)) for e in view.evidence
            ],
            "reward": reporting.reward_message(view, publisher.timezone),
            "decided_on": view.decided_at
            and reporting.local_date(view.decided_at, publisher.timezone),
            "filed_on": reporting.local_date(view.created_at, publisher.timezone),
        }
    return render(request, "receipt.html", context, status)


@router.get("/report/{receipt}", response_class=HTMLResponse)
def receipt(request: Request, receipt: str) -> HTMLResponse:
    canonical = intake.normalise_receipt(receipt)
    if canonical is None:
        return render(request, "error.html", {"message": _("没有这个回执号")}, 404)
    return _receipt_page(request, canonical)


@router.post("/report/{receipt}", response_class=HTMLResponse, dependencies=[Depends(csrf_checked)])
def open_receipt(request: Request, receipt: str, contact: str = Form("")) -> Response:
    canonical = intake.normalise_receipt(receipt)
    if canonical is None:
        return render(request, "error.html", {"message": _("没有这个回执号")}, 404)

    def failed(message: str, status: int) -> Response:
        return _receipt_page(request, canonical, error=message, status=status)

    return _opened_with_contact(request, canonical, contact, failed)
