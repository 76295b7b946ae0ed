"""The publisher's console: dashboard, materials (upload, edit, publish) and activation codes.

Who may enter is decided in one place, ``staff``, a dependency of the whole router:
visitors are sent to sign in, accounts that are not editors or admins get 403, and pages
for admins only (codes, members, audit) are on a router whose dependency is ``admin``, on
top. Every change is a POST with a CSRF token.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import func, or_, select

from wenxing import audit
from wenxing.audit import AuditEvent
from wenxing.db.base import utcnow
from wenxing.delivery.issue import copies_of
from wenxing.delivery.models import SNIPPET, IssuedCopy
from wenxing.events import MaterialEdited, raise_
from wenxing.i18n import _
from wenxing.materials import catalog
from wenxing.materials.importer import ImportOptions, MaterialImporter
from wenxing.materials.models import KINDS, Material
from wenxing.members import roster
from wenxing.members.entitlement import role_now
from wenxing.members.models import ActivationCode, CodeBatch, Member, Subscription
from wenxing.members.redemption import export_batch, generate_batch
from wenxing.members.service import MemberError
from wenxing.members.subscriptions import account_view, grant, membership_end, plans
from wenxing.reports.receipts import pending_count
from wenxing.runtime import Runtime
from wenxing.web import auth
from wenxing.web.account import role_name
from wenxing.web.error_messages import user_message
from wenxing.web.import_messages import translated_report
from wenxing.web.paging import Page, PageNumber, link

MAX_UPLOAD_FILES = 500
MEMBERS_PER_PAGE = 50  # accounts a page of the console's members list
AUDIT_PER_PAGE = 100  # events a page of the audit log


@dataclass(frozen=True)
class Staff:
    member_id: int
    number: str
    role: str  # editor or admin


class NotStaff(Exception):
    """Raised by the guard; the app turns it into a redirect or a 403 page."""

    def __init__(self, signed_in: bool):
        self.signed_in = signed_in


def staff(request: Request) -> Staff:
    """The one gate of the console: the signed-in editor or admin making the request."""
    runtime: Runtime = request.app.state.runtime
    with runtime.db.transaction() as session:
        member = auth.current_member(session, request)
        if member is None:
            raise NotStaff(signed_in=False)
        if member.role not in ("editor", "admin") or member.status != "active":
            raise NotStaff(signed_in=True)
        # The console's navigation shows how many reports wait (every console page).
        request.state.pending_reports = pending_count(session)
        return Staff(member.id, member.number, member.role)


StaffDep = Annotated[Staff, Depends(staff)]


def admin(who: StaffDep) -> Staff:
    """The gate of pages for admins only, on top of ``staff`` (a router's dependency)."""
    if who.role != "admin":
        raise NotStaff(signed_in=True)
    return who


AdminDep = Annotated[Staff, Depends(admin)]


def console_page(
    render: Callable[..., HTMLResponse], request: Request, name: str, context: dict, status=200
) -> HTMLResponse:
    """A console template (``console/<name>``) rendered with the console's navigation."""
    return render(request, f"console/{name}", {"console": True, **context}, status)


def no_such_page(view: Callable[..., HTMLResponse], request: Request, who: Staff) -> HTMLResponse:
    """A paged console list asked for a page past its last (``view``: a console page)."""
    message = {"who": who.__dict__, "message": _("没有这一页")}
    return view(request, "message.html", message, 404)


def checked(request: Request, token: str) -> None:
    """A console form's CSRF token, checked before anything it asks is done (a form
    without the right token is answered as a page this account may not use)."""
    if not auth.csrf_ok(request, token):
        raise NotStaff(signed_in=True)


def console_routes(runtime: Runtime, page: Callable[..., HTMLResponse]) -> APIRouter:
    router = APIRouter(prefix="/console", dependencies=[Depends(staff)], include_in_schema=False)
    # Admins' pages: included below, after the rest.
    admins = APIRouter(dependencies=[Depends(admin)], include_in_schema=False)

    view = partial(console_page, page)

    @router.get("", response_class=HTMLResponse)
    def dashboard(request: Request, who: StaffDep) -> HTMLResponse:
        with runtime.db.reading() as session:
            stats = _dashboard(session)
        return view(request, "dashboard.html", {"who": who.__dict__, "stats": stats})

    @router.get("/materials", response_class=HTMLResponse)
    def materials(request: Request, who: StaffDep, notice: str = "") -> HTMLResponse:
        with runtime.db.reading() as session:
            rows = catalog.list_materials(session, limit=500)
        context = {"who": who.__dict__, "rows": rows, "notice": notice[:200]}
        return view(request, "materials.html", context)

    @router.post("/materials/upload", response_class=HTMLResponse)
    def upload(
        request: Request,
        who: StaffDep,
        files: Annotated[list[UploadFile], File()],
        category: str = Form(""),
        publish: str = Form(""),
        csrf_token: str = Form(""),
    ) -> Response:
        checked(request, csrf_token)
        if len(files) > MAX_UPLOAD_FILES:
            return view(
                request,
                "message.html",
                {
                    "message": _("一次最多上传 %(n)s 个文件") % {"n": MAX_UPLOAD_FILES},
                    "who": who.__dict__,
                },
                400,
            )
        folder = Path(tempfile.mkdtemp(prefix="wenxing-upload-"))
        try:
            paths = []
            for number, upload in enumerate(files):
                # The browser's relative path (folders) keeps the file's name; the content
                # decides what it is when it is read.
                name = Path((upload.filename or f"file-{number}").replace("\\", "/")).name
                target = folder / f"{number:04d}-{name}"
                with target.open("wb") as out:
                    shutil.copyfileobj(upload.file, out, 1024 * 1024)
                paths.append(target)
            importer = MaterialImporter(
                runtime.db, runtime.settings, runtime.publisher_settings(), sandboxed=True
            )
            report = importer.run(
                paths,
                ImportOptions(category=category.strip() or None, publish=bool(publish)),
            )
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        context = {
            "who": who.__dict__,
            "report": translated_report(report),
            "prefix": len("0000-"),
        }
        return view(request, "uploaded.html", context)

    @router.post("/materials/{material_id}/versions/new", response_class=HTMLResponse)
    def upload_version(
        request: Request,
        who: StaffDep,
        material_id: int,
        file: Annotated[UploadFile, File()],
        publish: str = Form(""),
        csrf_token: str = Form(""),
    ) -> Response:
        """The next version of a material from one file; a published material's new version
        is live at once (and its earlier readers are told, live/announce.py)."""
        checked(request, csrf_token)
        folder = Path(tempfile.mkdtemp(prefix="wenxing-upload-"))
        try:
            name = Path((file.filename or "file").replace("\\", "/")).name
            target = folder / f"0000-{name}"
            with target.open("wb") as out:
                shutil.copyfileobj(file.file, out, 1024 * 1024)
            importer = MaterialImporter(
                runtime.db, runtime.settings, runtime.publisher_settings(), sandboxed=True
            )
            try:
                report = importer.run_version(
                    material_id, target, ImportOptions(publish=bool(publish))
                )
            except LookupError:
                return view(request, "message.html", {"message": _("没有这份材料")}, 404)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        runtime.search_index().catch_up()
        context = {
            "who": who.__dict__,
            "report": translated_report(report),
            "prefix": len("0000-"),
        }
        return view(request, "uploaded.html", context)

    @router.get("/materials/{material_id}", response_class=HTMLResponse)
    def material(request: Request, material_id: int, who: StaffDep) -> HTMLResponse:
        with runtime.db.reading() as session:
            try:
                document = catalog.material_document(session, material_id)
            except catalog.MaterialNotFound:
                return view(request, "message.html", {"message": _("没有这份材料")}, 404)
            versions = catalog.versions(session, material_id)
        context = {"who": who.__dict__, "m": document, "kinds": KINDS, "versions": versions}
        return view(request, "material.html", context)

    @router.post("/materials/{material_id}")
    def edit_material(
        request: Request,
        who: StaffDep,
        material_id: int,
        title: str = Form(""),
        kind: str = Form(""),
        category: str = Form(""),
        tags: str = Form(""),
        csrf_token: str = Form(""),
    ) -> Response:
        checked(request, csrf_token)
        clean_tags = [t.strip() for t in tags.replace("，", ",").split(",") if t.strip()]
        problem = None
        if not title.strip() or len(title) > 300:
            problem = _("标题不能为空，也不能超过 %(n)s 字") % {"n": 300}
        elif kind not in KINDS:
            problem = _("请选择一种类型")
        elif len(clean_tags) > 10 or any(len(t) > 20 for t in clean_tags):
            problem = _("标签最多 %(tags)s 个，每个不超过 %(chars)s 字") % {"tags": 10, "chars": 20}
        if problem:
            return view(request, "message.html", {"message": problem}, 400)
        with runtime.db.transaction() as session:
            row = session.get(Material, material_id)
            if row is None:
                return view(request, "message.html", {"message": _("没有这份材料")}, 404)
            row.title, row.kind = title.strip(), kind
            row.category = category.strip()[:100] or None
            row.tags = ",".join(dict.fromkeys(clean_tags))
            # Copies print the version's title: the current one follows the edit.
            catalog.current_version(session, row).title = row.title
            raise_(session, MaterialEdited(material_id))
        runtime.search_index().catch_up()
        return RedirectResponse(f"/console/materials/{material_id}", status_code=303)

    @router.post("/materials/{material_id}/{action}")
    def publish(
        request: Request,
        who: StaffDep,
        material_id: int,
        action: str,
        csrf_token: str = Form(""),
    ) -> Response:
        checked(request, csrf_token)
        if action not in ("publish", "unpublish"):
            return view(request, "message.html", {"message": _("不支持这个操作")}, 404)
        with runtime.db.transaction() as session:
            try:
                catalog.set_published(session, material_id, action == "publish")
            except catalog.MaterialNotFound:
                return view(request, "message.html", {"message": _("没有这份材料")}, 404)
        runtime.search_index().catch_up()
        return RedirectResponse("/console/materials", status_code=303)

    @admins.get("/codes", response_class=HTMLResponse)
    def codes(request: Request, who: AdminDep) -> HTMLResponse:
        with runtime.db.reading() as session:
            batches = _batches(session)
        known = plans(runtime.publisher_settings())
        context = {"who": who.__dict__, "batches": batches, "plans": known, "fresh": None}
        return view(request, "codes.html", context)

    @admins.post("/codes", response_class=HTMLResponse)
    def generate(
        request: Request,
        who: AdminDep,
        plan: str = Form(""),
        count: str = Form(""),
        label: str = Form(""),
        channel: str = Form(""),
        csrf_token: str = Form(""),
    ) -> Response:
        checked(request, csrf_token)
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
        with runtime.db.reading() as session:
            batches = _batches(session)
        context = {
            "who": who.__dict__,
            "batches": batches,
            "plans": known,
            "fresh": fresh,
            "error": problem,
        }
        return view(request, "codes.html", context, 400 if problem else 200)

    @admins.get("/codes/{label}.csv")
    def export(request: Request, label: str, who: AdminDep) -> Response:
        with runtime.db.transaction() as session:
            try:
                text = export_batch(session, label, utcnow())
            except LookupError:
                return view(request, "message.html", {"message": _("没有这个批次")}, 404)
            audit.record(session, audit.CODE_EXPORT, actor=who.number, subject=label)
        return Response(
            text.encode("utf-8-sig"),  # Excel opens UTF-8 CSV with a BOM correctly
            media_type="text/csv; charset=utf-8",
            headers={
                "Content-Disposition": 'attachment; filename="codes.csv"; '
                f"filename*=UTF-8''{quote(label)}.csv"
            },
        )

    @admins.get("/members", response_class=HTMLResponse)
    def members(request: Request, who: AdminDep, q: str = "", page: PageNumber = 1) -> HTMLResponse:
        q = q.strip()
        where = _members_where(q)
        with runtime.db.reading() as session:
            total = session.scalar(select(func.count()).select_from(Member).where(*where)) or 0
            shown = Page(page, MEMBERS_PER_PAGE, total)
            if shown.past_the_end:
                return no_such_page(view, request, who)
            found = session.scalars(
                select(Member)
                .where(*where)
                .order_by(Member.id.desc())
                .limit(shown.size)
                .offset(shown.offset)
            ).all()
            session.expunge_all()  # the rows stay readable after the session closes
        context = {
            "who": who.__dict__,
            "q": q,
            "found": found,
            "shown": shown,
            "link": link("/console/members", q=q),
        }
        return view(request, "members.html", context)

    @admins.get("/members/{number}", response_class=HTMLResponse)
    def member_page(request: Request, who: AdminDep, number: str) -> HTMLResponse:
        now = utcnow()
        known = plans(runtime.publisher_settings())
        with runtime.db.reading() as session:
            member = session.scalar(select(Member).where(Member.number == number))
            if member is None:
                return view(request, "message.html", {"message": _("没有这个会员")}, 404)
            context = {
                "who": who.__dict__,
                "m": member,
                "role_name": role_name(role_now(account_view(session, member), now)),
                "ends": membership_end(session, member.id, now),
                "events": session.scalars(
                    select(AuditEvent)
                    .where(AuditEvent.subject == member.number)
                    .order_by(AuditEvent.id.desc())
                    .limit(50)
                ).all(),
                "copies": copies_of(session, member.id, limit=20),
                "plans": known,
            }
            session.expunge_all()  # the rows stay readable after the session closes
        return view(request, "member.html", context)

    @admins.post("/members/{number}/{action}")
    def member_action(
        request: Request,
        who: AdminDep,
        number: str,
        action: str,
        plan: str = Form(""),
        reason: str = Form(""),
        csrf_token: str = Form(""),
    ) -> Response:
        checked(request, csrf_token)
        if action not in ("grant", "suspend", "reinstate"):
            return view(request, "message.html", {"message": _("不支持这个操作")}, 404)
        known = plans(runtime.publisher_settings())
        try:
            with runtime.db.transaction() as session:
                member = session.scalar(select(Member).where(Member.number == number))
                if member is None:
                    return view(request, "message.html", {"message": _("没有这个会员")}, 404)
                if action == "grant":
                    if plan not in known or not reason.strip():
                        return view(
                            request, "message.html", {"message": _("请选择套餐并填写原因")}, 400
                        )
                    grant(
                        session,
                        member.id,
                        known[plan],
                        actor=who.number,
                        reason=reason.strip(),
                        now=utcnow(),
                        ip=auth.client_ip(request),
                    )
                elif action == "suspend":
                    roster.suspend(session, member, reason, actor=who.number, now=utcnow())
                else:
                    roster.reinstate(session, member, actor=who.number)
        except MemberError as refused:
            return view(request, "message.html", {"message": user_message(refused)}, 400)
        return RedirectResponse(f"/console/members/{quote(number)}", status_code=303)

    @admins.get("/audit", response_class=HTMLResponse)
    def audit_log(
        request: Request,
        who: AdminDep,
        type: str = "",
        subject: str = "",
        actor: str = "",
        page: PageNumber = 1,
    ) -> HTMLResponse:
        filters = {"type": type, "subject": subject.strip(), "actor": actor.strip()}
        where = [getattr(AuditEvent, name) == value for name, value in filters.items() if value]
        with runtime.db.reading() as session:
            total = session.scalar(select(func.count()).select_from(AuditEvent).where(*where)) or 0
            shown = Page(page, AUDIT_PER_PAGE, total)
            if shown.past_the_end:
                return no_such_page(view, request, who)
            # Newest first by id: one order across pages, however many events share a moment.
            context = {
                "who": who.__dict__,
                "events": session.scalars(
                    select(AuditEvent)
                    .where(*where)
                    .order_by(AuditEvent.id.desc())
                    .limit(shown.size)
                    .offset(shown.offset)
                ).all(),
                "types": sorted(audit.EVENT_TYPES),
                "filters": filters,
                "shown": shown,
                "link": link("/console/audit", **filters),
            }
            session.expunge_all()
        return view(request, "audit.html", context)

    router.include_router(admins)
    return router


def _members_where(q: str) -> list:
    """The members list's search: the number exactly, or part of the name, username or
    phone; everyone when ``q`` is empty."""
    if not q:
        return []
    like = f"%{q.replace('%', '').replace('_', '')}%"
    return [
        or_(
            Member.number == q.upper(),
            Member.name.ilike(like),
            Member.username.ilike(like),
            Member.phone.like(like),
        )
    ]


def _batches(session) -> list[dict]:
    rows = session.execute(
        select(
            CodeBatch,
            func.count(ActivationCode.id).filter(ActivationCode.state == "redeemed"),
        )
        .outerjoin(ActivationCode, ActivationCode.batch_id == CodeBatch.id)
        .group_by(CodeBatch.id)
        .order_by(CodeBatch.id.desc())
    ).all()
    return [
        {
            "label": b.label,
            "plan": b.plan,
            "count": b.count,
            "redeemed": redeemed,
            "channel": b.channel,
            "at": b.created_at,
        }
        for b, redeemed in rows
    ]


def _dashboard(session) -> dict:
    now = utcnow()
    days = [(now - timedelta(days=n)).date() for n in range(13, -1, -1)]
    since = now - timedelta(days=14)

    def per_day(column, *conditions) -> list[int]:
        counts = dict.fromkeys(days, 0)
        for (moment,) in session.execute(select(column).where(column >= since, *conditions)):
            if moment.date() in counts:
                counts[moment.date()] += 1
        return [counts[d] for d in days]

    by_status = dict(
        session.execute(select(Member.status, func.count()).group_by(Member.status)).all()
    )
    active = session.scalar(
        select(func.count(func.distinct(Subscription.member_id))).where(
            Subscription.starts_at <= now, Subscription.ends_at > now
        )
    )
    flagged = session.execute(
        select(AuditEvent.subject, AuditEvent.at)
        .where(AuditEvent.type == audit.MEMBER_SHARING_FLAG)
        .order_by(AuditEvent.at.desc())
        .limit(10)
    ).all()
    materials = dict(
        session.execute(select(Material.status, func.count()).group_by(Material.status)).all()
    )
    return {
        "members": sum(by_status.values()),
        "suspended": by_status.get("suspended", 0),
        "subscribed": active or 0,
        "published": materials.get("published", 0),
        "drafts": materials.get("draft", 0),
        "days": [d.strftime("%m-%d") for d in days],
        "redemptions": per_day(ActivationCode.redeemed_at),
        # Copies members took, not the marked search snippets the ledger also records.
        "downloads": per_day(IssuedCopy.created_at, IssuedCopy.format != SNIPPET),
        "flagged": [{"number": s, "at": a} for s, a in flagged],
        "reports_pending": pending_count(session),
    }
