"""What the report pages, the report API and the account page share: the words for a
report's states, refusals, evidence outcomes and rewards; reading a report form's files;
the receipt cookie; and the request-size gate of the routes that take evidence.

The reports domain explains itself in codes (``ReportRefused.code``, evidence error codes,
reward kinds); they are worded here, once, for every page and the API.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable
from datetime import datetime

from anyio import to_thread
from fastapi import Request, Response, UploadFile
from fastapi.routing import APIRoute
from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException

from wenxing import clock
from wenxing.config import PublisherSettings
from wenxing.db.base import utcnow
from wenxing.i18n import N_, _
from wenxing.members.models import Member
from wenxing.reports import intake
from wenxing.reports.intake import (
    MAX_FILES,
    MAX_NOTE_CHARS,
    MAX_TEXT_CHARS,
    PLATFORMS,
    EvidenceFile,
    Limits,
    ReportRefused,
    Submission,
)
from wenxing.reports.receipts import ReceiptView
from wenxing.web import auth

PLATFORM_NAMES = {
    "xianyu": N_("闲鱼"),
    "taobao": N_("淘宝"),
    "pan": N_("网盘"),
    "group": N_("群聊"),
    "other": N_("其他"),
}
STATE_NAMES = {
    "received": N_("已收到，正在核对"),
    "traced": N_("待编辑审核"),
    "confirmed": N_("举报成立"),
    "rejected": N_("未予采纳"),
}
EVIDENCE_SUFFIXES = ".txt,.docx,.pdf,.html,.htm,.png,.jpg,.jpeg,.tif,.tiff"
_REFUSALS = {
    "platform": N_("请选择在哪里发现的"),
    "contact_invalid": N_("联系方式请填写手机号或微信号"),
    "contact_needed": N_("未登录时请留下手机号或微信号，用来查询进度和领取奖励"),
    "link_too_long": N_("链接不能超过 %(n)s 个字符"),
    "note_too_long": N_("说明不能超过 %(n)s 字"),
    "no_evidence": N_("请上传文件或粘贴文字作为证据"),
    "text_too_long": N_("粘贴的文字不能超过 %(n)s 字"),
    "too_many_files": N_("一次最多上传 %(n)s 个文件"),
    "file_too_large": N_("文件“%(name)s”超过了 %(mb)s MB 的上限"),
    "rate_ip": N_("举报太频繁了，请一小时后再试"),
    "rate_bytes": N_("这个网络今天上传的证据已达上限，请明天再试"),
    "report_too_large": N_("所有文件加起来不能超过 %(mb)s MB"),
    "rate_contact": N_("这个联系方式今天的举报次数已达上限，请明天再试"),
}
_REFUSAL_NUMBERS = {
    "link_too_long": 500,
    "note_too_long": MAX_NOTE_CHARS,
    "text_too_long": MAX_TEXT_CHARS,
    "too_many_files": MAX_FILES,
}
# Why a piece of evidence could not be read: the tracing job's codes and the OCR reader's.
_UNREADABLE = {
    "empty": N_("文件是空的"),
    "too_large": N_("太大（解压或读取所需超过上限）"),
    "unsupported": N_(
        "不支持这种文件格式（可用 .txt .docx .doc .wps .rtf .odt .epub .pdf .html .png .jpg .tif）"
    ),
    "unreadable": N_("文件打不开"),
    "corrupt": N_("文件已损坏"),
    "encrypted": N_("PDF 设有密码"),
    "image_too_large": N_("图片尺寸太大"),
    "too_many_pages": N_("页数太多"),
    "timeout": N_("读取超时"),
    "purged": N_("证据文件已过保存期限并删除"),
    "ocr_failed": N_("图片中的文字没能识别出来"),
    "no_text": N_("没有读到文字"),
    "trace_failed": N_("自动核对没能完成，编辑会人工核对"),
}
RECEIPT_COOKIE = "wx_reports"
_RECEIPTS_KEPT = 20  # receipts one browser's cookie opens (the newest)


def refusal(error: ReportRefused, file_mb: str) -> tuple[int, str]:
    """The status and the message for a refused report (``file_mb``: the file limit as
    the page states it, ``file_mb()``)."""
    status = {
        "file_too_large": 413,
        "report_too_large": 413,
        "rate_ip": 429,
        "rate_bytes": 429,
        "rate_contact": 429,
    }.get(error.code, 400)
    message = _REFUSALS.get(error.code)
    if message is None:
        return status, _("举报内容有误")
    values = {
        "n": _REFUSAL_NUMBERS.get(error.code, 0),
        "name": error.details.get("filename", ""),
        "mb": error.details.get("mb", file_mb) if error.code == "report_too_large" else file_mb,
    }
    return status, _(message) % values


def platform_name(code: str) -> str:
    return _(PLATFORM_NAMES[code]) if code in PLATFORM_NAMES else code


def platform_choices() -> list[tuple[str, str]]:
    return [(code, platform_name(code)) for code in PLATFORMS]


def state_name(state: str) -> str:
    return _(STATE_NAMES[state]) if state in STATE_NAMES else state


def evidence_message(outcome: str, reason: str | None) -> str:
    if outcome == "pending":
        return _("正在读取")
    if outcome == "read":
        return _("已读取，找到了对应的资料")
    if outcome == "no_material":
        return _("已读取，但没有找到对应的资料")
    if reason in _UNREADABLE:
        return _("无法读取：%(why)s") % {"why": _(_UNREADABLE[reason])}
    return _("无法读取这个文件")


_PAGES_READ = re.compile(r"^read the first (?P<n>\d+) of (?P<total>\d+) pages$")


def evidence_detail(detail: str | None) -> str | None:
    """The reader's English note on a piece of evidence, for staff: the pages left unread
    in the site's language, anything else as written (the console is for staff)."""
    if not detail:
        return None
    found = _PAGES_READ.match(detail)
    if found:
        return _("只读取了前 %(n)s 页（共 %(total)s 页）") % found.groupdict()
    return detail


def local_date(moment: datetime, timezone: str) -> str:
    """A UTC time as the publisher's calendar date, 2026年11月27日."""
    day = clock.local(moment, timezone)
    return _("%(year)d年%(month)02d月%(day)02d日") % {
        "year": day.year,
        "month": day.month,
        "day": day.day,
    }


def reward_message(view: ReceiptView, timezone: str) -> str | None:
    """What a reporter is told about the reward of a confirmed report (None otherwise).
    Why a reward is withheld is said in general terms: the flag names the accused."""
    if view.state != "confirmed":
        return None
    if view.reward == "membership" and view.reward_ends_at is not None:
        return _("奖励已发放：会员已加到你的账户，有效期至 %(date)s。") % {
            "date": local_date(view.reward_ends_at, timezone)
        }
    if view.reward == "gift_code":
        return _("奖励已发放：下面的会员兑换码（卡密），注册或登录后在“我的账户”兑换。")
    if view.reward == "none":
        return _("这起倒卖此前已有人举报并获得奖励，每起倒卖只奖励第一位举报人。")
    if view.reward == "thanks":
        return _("感谢你的举报！这次的处理是警告，按规则只有封禁倒卖账户时才发放奖励。")
    if view.reward == "capped":
        return _("感谢你的举报！你一年内获得的举报奖励已达上限，这次不再发放奖励。")
    return _("按举报奖励规则，这次举报不发放奖励（例如举报人与被举报的账户有关联）。")


def report_rows(views: list[ReceiptView], timezone: str) -> list[dict]:
    """An account's reports as its account page lists them."""
    return [
        {
            "receipt": v.receipt,
            "filed_on": local_date(v.created_at, timezone),
            "state_name": state_name(v.state),
            "reward": reward_message(v, timezone) or "",
        }
        for v in views
    ]


class Refused(Exception):
    """A report the site or the API cannot take: the status and the message to answer."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


def file_report(
    runtime,
    request: Request,
    fields: dict[str, str],
    files: list[UploadFile] | None,
    *,
    reporter: Callable[[Session], Member | None],
) -> str:
    """Take a report sent by the page or the API (``fields``: platform, link, note, contact,
    text) in one transaction; its receipt number (canonical). Raises Refused."""
    publisher = runtime.publisher_settings()
    taken = limits(publisher)
    submission = Submission(**fields, files=read_uploads(files, taken.max_file_bytes))
    try:
        with runtime.db.transaction() as session:
            report = intake.submit(
                session,
                submission,
                reporter=reporter(session),
                ip=auth.client_ip(request),
                user_agent=request.headers.get("user-agent"),
                limits=taken,
                now=utcnow(),
            )
            return report.receipt
    except ReportRefused as refused:
        raise Refused(*refusal(refused, file_mb(publisher))) from None


def limits(publisher: PublisherSettings) -> Limits:
    return Limits(
        max_file_bytes=int(float(publisher.report_file_mb) * 1048576),
        per_hour_ip=int(publisher.reports_per_hour),
        per_day_contact=int(publisher.reports_per_day_contact),
        max_report_bytes=int(float(publisher.report_total_mb) * 1048576),
        max_day_bytes_ip=int(float(publisher.report_mb_per_day) * 1048576),
    )


def largest_body(publisher: PublisherSettings) -> int:
    """The largest report a request may carry: its files at their total limit (each at
    most the file limit), the pasted text at its longest, and a margin for the other
    fields and the multipart framing."""
    taken = limits(publisher)
    files = min(MAX_FILES * taken.max_file_bytes, taken.max_report_bytes)
    return files + 4 * MAX_TEXT_CHARS + 256 * 1024


def early_refusal(runtime, request: Request) -> tuple[int, str] | None:
    """Why a report request is refused before a byte of its body is read: its address has
    filed its hourly reports, or the body it declares would take the address past its
    daily evidence total. None to go on (the body is then read, and checked again)."""
    ip = auth.client_ip(request)
    if not ip:
        return None
    publisher = runtime.publisher_settings()
    taken = limits(publisher)
    with runtime.db.reading() as session:
        recent, stored = intake.recent_from(session, ip, utcnow())
    if recent >= taken.per_hour_ip:
        return 429, _(_REFUSALS["rate_ip"])
    declared = request.headers.get("content-length", "")
    # The declared length counts the form's framing too: only what is over by more than
    # the margin largest_body allows is refused now; the files' own sizes are checked later.
    sent = max(0, int(declared) - 4 * MAX_TEXT_CHARS - 256 * 1024) if declared.isdigit() else 0
    if stored + sent > taken.max_day_bytes_ip:
        return 429, _(_REFUSALS["rate_bytes"])
    return None


def file_mb(publisher: PublisherSettings) -> str:
    return f"{float(publisher.report_file_mb):g}"


def too_large_message(publisher: PublisherSettings) -> str:
    """Why a request over ``largest_body`` is refused."""
    return _(
        "提交的内容太大了：每个文件不超过 %(mb)s MB，合计不超过 %(total)s MB，最多 %(n)s 个文件"
    ) % {
        "mb": file_mb(publisher),
        "total": f"{float(publisher.report_total_mb):g}",
        "n": MAX_FILES,
    }


def read_uploads(files: list[UploadFile] | None, max_bytes: int) -> list[EvidenceFile]:
    """The files of a report form. A file over the limit is read one byte past it, enough
    for intake to refuse it without reading the rest."""
    found = []
    for upload in files or []:
        data = upload.file.read(max_bytes + 1)
        if upload.filename or data:
            found.append(EvidenceFile(upload.filename or "", data, upload.content_type))
    return found


# --- the receipt cookie: receipts this browser filed or opened with their contact ---------


def _signature(key: bytes, receipt: str) -> str:
    return hmac.new(key, receipt.encode(), hashlib.sha256).hexdigest()[:32]


def cookie_receipts(request: Request, key: bytes) -> list[str]:
    """The receipts (canonical) the request's cookie opens; entries with a wrong signature
    are ignored."""
    found = []
    for entry in request.cookies.get(RECEIPT_COOKIE, "").split("."):
        receipt, signature = entry[:12], entry[12:]
        if len(entry) == 44 and hmac.compare_digest(signature, _signature(key, receipt)):
            found.append(receipt)
    return found


def remember_receipt(response: Response, request: Request, key: bytes, receipt: str) -> None:
    """Let this browser open ``receipt`` (canonical) without its contact: an HttpOnly
    cookie for the report pages only, signed so it cannot be made for another receipt."""
    kept = [r for r in cookie_receipts(request, key) if r != receipt][-(_RECEIPTS_KEPT - 1) :]
    value = ".".join(r + _signature(key, r) for r in [*kept, receipt])
    response.set_cookie(
        RECEIPT_COOKIE,
        value,
        max_age=60 * 60 * 24 * 365,
        httponly=True,
        samesite="lax",
        secure=auth.secure(request),
        path="/report",
    )


# --- the request-size gate ---------------------------------------------------------------


class BodyTooLarge(HTTPException):
    """Raised while a request body is read past its limit. An HTTPException, so FastAPI's
    form parsing passes it on rather than calling it a malformed body."""

    def __init__(self) -> None:
        super().__init__(413)


def body_limited_route(
    largest: Callable[[Request], int],
    refuse: Callable[[Request], Response],
    early: Callable[[Request], Response | None] | None = None,
) -> type[APIRoute]:
    """A route class refusing (``refuse``, status 413) a request body over ``largest``
    bytes before any of it is parsed: at once by its Content-Length, or, when it is sent
    without one, as soon as that many bytes have arrived. ``early`` may refuse a POST
    before its body is read at all (its answer is sent, the body never read). The
    callables run in a worker thread (they may read the settings and the database)."""

    class BodyLimited(APIRoute):
        def get_route_handler(self):
            handler = super().get_route_handler()

            async def limited(request: Request) -> Response:
                if request.method != "POST":
                    return await handler(request)
                if early is not None:
                    refused = await to_thread.run_sync(early, request)
                    if refused is not None:
                        return refused
                most = await to_thread.run_sync(largest, request)
                declared = request.headers.get("content-length", "")
                if declared.isdigit() and int(declared) > most:
                    return await to_thread.run_sync(refuse, request)
                upstream, seen = request.receive, 0

                async def counted():
                    nonlocal seen
                    message = await upstream()
                    seen += len(message.get("body", b""))
                    if seen > most:
                        raise BodyTooLarge()
                    return message

                try:
                    return await handler(Request(request.scope, counted))
                except BodyTooLarge:
                    return await to_thread.run_sync(refuse, request)

            return limited

    return BodyLimited
