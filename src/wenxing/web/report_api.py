"""The report API: filing a resale report and reading its receipt, for scripts and apps.

The same checks, limits and messages as the site's ``/report`` (``web/reporting.py``), and
the same disclosure: the state, each file's outcome, the decision and the reward, never
the evidence's text or whom it named. Signing in is optional: a report filed with a token
or the site's cookie is linked to that account (a cookie call sends ``X-CSRF-Token``).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Form, Request, Security, UploadFile
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from wenxing.db.base import utcnow
from wenxing.i18n import _
from wenxing.materials.catalog import iso
from wenxing.members.models import Member
from wenxing.reports import intake, receipts
from wenxing.reports.intake import format_receipt
from wenxing.reports.receipts import ReceiptView
from wenxing.web import auth, reporting
from wenxing.web.api_callers import ApiError, OptionalCallerDep, bearer_scheme, cookie_scheme
from wenxing.web.api_schemas import errors
from wenxing.web.deps import RuntimeDep


class ReportCreatedOut(BaseModel):
    receipt: str = Field(description="the receipt number, to check the report later")
    state: Literal["received"] = Field(description="tracing has been queued")
    state_name: str = Field(description="the state in the site's language")


class EvidenceOutcomeOut(BaseModel):
    name: str | None = Field(description="the file's name; null for pasted text")
    kind: Literal["file", "text"]
    size: int = Field(description="bytes as received")
    outcome: Literal["pending", "read", "no_material", "unreadable"] = Field(
        description="pending: not read yet; read: a published material was found in it; "
        "no_material: read, but no material of ours found; unreadable: see reason"
    )
    reason: str | None = Field(
        description="why it was unreadable: empty, too_large, unsupported, corrupt, "
        "image_too_large, too_many_pages, timeout, ocr_failed, no_text, unreadable, purged"
    )
    message: str = Field(description="the outcome in the site's language")


class DecisionOut(BaseModel):
    at: str = Field(description="when the editor decided (UTC, ISO 8601)")
    reason: str | None = Field(description="the editor's reason, for a rejected report")


class RewardOut(BaseModel):
    kind: Literal["membership", "gift_code", "none", "withheld", "thanks", "capped"] = Field(
        description="membership: added to the reporter's account; gift_code: an activation "
        "code to redeem after signing up; none: this leak was rewarded before; withheld: "
        "the reward rules exclude this report; thanks: the leaker was warned, not "
        "suspended (rewards need a suspension); capped: the reporter's yearly rewards are "
        "used up"
    )
    message: str = Field(description="what the reporter is told, in the site's language")
    code: str | None = Field(description="the gift code (gift_code only)")
    ends_at: str | None = Field(description="the membership's new end (membership only)")


class ReportStatusOut(BaseModel):
    receipt: str
    state: Literal["received", "traced", "confirmed", "rejected"] = Field(
        description="received: being traced; traced: waiting for an editor; confirmed; rejected"
    )
    state_name: str = Field(description="the state in the site's language")
    platform: str = Field(description="where the copy was found: " + ", ".join(intake.PLATFORMS))
    created_at: str = Field(description="UTC, ISO 8601")
    evidence: list[EvidenceOutcomeOut]
    decision: DecisionOut | None = Field(description="null until an editor decides")
    reward: RewardOut | None = Field(description="confirmed reports only")


class StatusIn(BaseModel):
    contact: str = Field(
        default="",
        max_length=60,
        description="the phone number or WeChat id the report was filed with (not needed "
        "by the account that filed it)",
    )


def status_out(view: ReceiptView, timezone: str) -> ReportStatusOut:
    decision = None
    if view.decided_at is not None:
        decision = DecisionOut(at=iso(view.decided_at), reason=view.rejection_reason)
    reward = None
    if view.reward is not None:
        reward = RewardOut(
            kind=view.reward,
            message=reporting.reward_message(view, timezone),
            code=view.reward_code,
            ends_at=iso(view.reward_ends_at),
        )
    return ReportStatusOut(
        receipt=view.receipt,
        state=view.state,
        state_name=reporting.state_name(view.state),
        platform=view.platform,
        created_at=iso(view.created_at),
        evidence=[
            EvidenceOutcomeOut(
                name=e.name,
                kind=e.kind,
                size=e.size,
                outcome=e.outcome,
                reason=e.reason,
                message=reporting.evidence_message(e.outcome, e.reason),
            )
            for e in view.evidence
        ],
        decision=decision,
        reward=reward,
    )


def _too_large(request: Request) -> JSONResponse:
    message = reporting.too_large_message(request.app.state.runtime.publisher_settings())
    return JSONResponse({"error": message}, status_code=413)


def _largest(request: Request) -> int:
    return reporting.largest_body(request.app.state.runtime.publisher_settings())


def _refused_early(request: Request) -> JSONResponse | None:
    if request.url.path != "/api/v1/reports":
        return None
    refused = reporting.early_refusal(request.app.state.runtime, request)
    if refused is None:
        return None
    status, message = refused
    return JSONResponse({"error": message}, status_code=status)


router = APIRouter(
    prefix="/api/v1",
    tags=["api"],
    route_class=reporting.body_limited_route(_largest, _too_large, _refused_early),
)
_SIGNED_IN_OPTIONAL: dict[str, Any] = {
    "dependencies": [Security(bearer_scheme), Security(cookie_scheme)],
    "openapi_extra": {"security": [{}]},
}


@router.post(
    "/reports",
    response_model=ReportCreatedOut,
    status_code=201,
    summary="Report a resale, with evidence",
    responses=errors(
        400,
        401,
        403,
        413,
        429,
        notes={
            400: "the report was refused: no evidence, no contact, an unknown platform… "
            "(the reason is in error)",
            401: "a bearer token was sent and does not open (a report needs none)",
            413: "a file is over report_file_mb, or the request over all the files",
            429: "reports_per_hour from this address, or reports_per_day_contact for "
            "this contact, reached",
        },
    ),
    **_SIGNED_IN_OPTIONAL,
)
def submit_report(
    request: Request,
    who: OptionalCallerDep,
    runtime: RuntimeDep,
    platform: Annotated[
        str, Form(description="where it was found: " + ", ".join(intake.PLATFORMS))
    ] = "",
    link: Annotated[str, Form(description="where it was found (at most 500)")] = "",
    note: Annotated[str, Form(description="anything the publisher should know")] = "",
    contact: Annotated[
        str, Form(description="a phone number or WeChat id; needed when not signed in")
    ] = "",
    text: Annotated[str, Form(description="pasted text of the copy (evidence)")] = "",
    files: Annotated[
        list[UploadFile] | None,
        File(description="evidence files: .txt .docx .pdf .html .png .jpg .tif"),
    ] = None,
) -> ReportCreatedOut:
    """Files a resale report (multipart/form-data) exactly as the site's report page
    does: evidence as files and/or pasted text, checked, stored as received and traced
    in the background. Returns the receipt number; its status is read with
    ``POST /api/v1/reports/{receipt}/status``. Anyone may report; a signed-in caller's
    report is linked to their account (its reward is added to it)."""
    fields = {
        "platform": platform,
        "link": link,
        "note": note,
        "contact": contact,
        "text": text,
    }
    try:
        receipt = reporting.file_report(
            runtime,
            request,
            fields,
            files,
            reporter=lambda session: session.get(Member, who.member_id) if who else None,
        )
    except reporting.Refused as refused:
        raise ApiError(refused.status, refused.message) from None
    return ReportCreatedOut(
        receipt=format_receipt(receipt),
        state="received",
        state_name=reporting.state_name("received"),
    )


@router.post(
    "/reports/{receipt}/status",
    response_model=ReportStatusOut,
    summary="A report's state, evidence outcomes, decision and reward",
    responses=errors(
        400,
        401,
        403,
        404,
        429,
        notes={
            400: "no contact given, or the receipt and contact do not match",
            404: "not a receipt number",
            429: "too many wrong contacts from this address; try again in 15 minutes",
        },
    ),
    **_SIGNED_IN_OPTIONAL,
)
def report_status(
    request: Request,
    receipt: str,
    who: OptionalCallerDep,
    runtime: RuntimeDep,
    body: StatusIn | None = None,
) -> ReportStatusOut:
    """What the receipt page shows: the state, how each piece of evidence was read, the
    decision and the reward (with the gift code when there is one). Opens for the
    account that filed the report, or with the contact it was filed with; wrong
    contacts are limited per address. Never the evidence's text or whom it named."""
    canonical = intake.normalise_receipt(receipt)
    if canonical is None:
        raise ApiError(404, _("没有这个回执号"))
    timezone = runtime.publisher_settings().timezone
    contact = body.contact if body else ""
    refused = None
    with runtime.db.transaction() as session:
        report = intake.by_receipt(session, canonical)
        if report is None or who is None or report.reporter_id != who.member_id:
            if not contact.strip():
                raise ApiError(400, _("请提供举报时留下的联系方式"))
            try:
                report = receipts.open_by_contact(
                    session, canonical, contact, ip=auth.client_ip(request), now=utcnow()
                )
            except receipts.TooManyChecks:
                raise ApiError(
                    429,
                    _("尝试次数过多，请 %(minutes)s 分钟后再试") % {"minutes": 15},
                    {"Retry-After": str(15 * 60)},
                ) from None
        if report is None:
            refused = _("回执号或联系方式不正确")  # recorded when this commits
        else:
            view = receipts.receipt_view(session, report)
    if refused:
        raise ApiError(400, refused)
    return status_out(view, timezone)
