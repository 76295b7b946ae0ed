"""The console's materials: the paged and filtered list, bulk actions (asked first, then
done and audited by ``materials.bulk``), uploads, the material page with its versions,
copies and reports, editing and 发布/下架."""

from __future__ import annotations

import shutil
import tempfile
from functools import partial
from pathlib import Path
from typing import Annotated
from urllib.parse import parse_qsl, urlencode

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from wenxing.delivery.queries import copies_count, copies_of_material
from wenxing.errors import DomainError
from wenxing.i18n import _
from wenxing.materials import bulk, catalog, listing
from wenxing.materials.importer import ImportOptions, MaterialImporter
from wenxing.materials.models import KINDS
from wenxing.reports.queries import reported_material_ids, reports_on_material
from wenxing.runtime import Runtime
from wenxing.web import auth, reporting
from wenxing.web.console.gate import StaffDep, console_page, refresh_search, say, staff
from wenxing.web.deps import RuntimeDep, csrf_checked, render
from wenxing.web.error_messages import user_message
from wenxing.web.import_messages import translated_report

MAX_UPLOAD_FILES = 500
SHOWN_IN_CONFIRMATION = 20  # titles the confirmation page names
# The bulk actions as the console names them (the confirmation page and the list's menu).
ACTION_NAMES = {
    "publish": "发布",
    "unpublish": "下架",
    "category": "设置分类",
    "tag": "添加标签",
    "delete": "删除草稿",
}
ORDERS = ("", "oldest")


def wanted_from(
    q: str = "",
    state: str = "",
    kind: str = "",
    category: str = "",
    tag: str = "",
    year: str = "",
    reported: str = "",
    order: str = "",
) -> listing.MaterialFilter:
    """The list's filter from the query string (or a bulk form's hidden copy of it)."""
    return listing.MaterialFilter(
        q=q.strip()[:100],
        state=state,
        kind=kind,
        category=category.strip()[:100],
        tag=tag.strip()[:20],
        year=int(year) if year.isdigit() and 1990 <= int(year) <= 2200 else None,
        oldest_first=order == "oldest",
        among=reported_material_ids() if reported else None,
    )


def _query(wanted: listing.MaterialFilter, reported: str) -> dict[str, str]:
    return {**wanted.query(), **({"reported": "1"} if reported else {})}


def _save_uploads(files: list[UploadFile], folder: Path) -> list[Path]:
    paths = []
    for number, upload in enumerate(files):
        # The browser's relative path (folders) keeps the file's name; the content decides
        # what it is when it is read.
        name = Path((upload.filename or f"file-{number}").replace("\\", "/")).name
        target = folder / f"{number:04d}-{name}"
        with target.open("wb") as out:
            shutil.copyfileobj(upload.file, out, 1024 * 1024)
        paths.append(target)
    return paths


router = APIRouter(prefix="/console", dependencies=[Depends(staff)], include_in_schema=False)
view = partial(console_page, render)


def importer(runtime: Runtime) -> MaterialImporter:
    return MaterialImporter(
        runtime.db, runtime.settings, runtime.publisher_settings(), sandboxed=True
    )


@router.get("/materials", response_class=HTMLResponse)
def materials(
    request: Request,
    who: StaffDep,
    runtime: RuntimeDep,
    q: str = "",
    state: str = "",
    kind: str = "",
    category: str = "",
    tag: str = "",
    year: str = "",
    reported: str = "",
    order: str = "",
    after: Annotated[int | None, Query(ge=0)] = None,
    notice: str = "",
) -> HTMLResponse:
    wanted = wanted_from(q, state, kind, category, tag, year, reported, order)
    with runtime.db.reading() as session:
        shown = listing.material_page(session, wanted, after=after)
        facets = listing.facets(session)
    kept = _query(wanted, reported)
    context = {
        "who": who.__dict__,
        "shown": shown,
        "facets": facets,
        "wanted": wanted,
        "reported": bool(reported),
        "kept": kept,
        "kept_query": urlencode(kept),
        "after": after,
        "actions": ACTION_NAMES,
        "notice": notice[:200],
    }
    return view(request, "materials.html", context)


def _chosen(runtime: Runtime, everything: str, ids: list[int] | None) -> tuple[list[int], list]:
    """A bulk form's materials (those ticked, or every one the filter ``everything``
    matches), and the first of them as the confirmation page names them."""
    with runtime.db.reading() as session:
        if everything:
            wanted = wanted_from(**dict(parse_qsl(everything)))
            chosen = listing.matching_ids(session, wanted, bulk.MAX_BULK + 1)
        else:
            chosen = list(dict.fromkeys(ids or []))
        named = (
            listing.material_page(
                session, listing.MaterialFilter(among=chosen[:SHOWN_IN_CONFIRMATION])
            ).rows
            if chosen
            else []
        )
    return chosen, named


@router.post("/materials/bulk", response_class=HTMLResponse, dependencies=[Depends(csrf_checked)])
def bulk_action(
    request: Request,
    who: StaffDep,
    runtime: RuntimeDep,
    action: str = Form(""),
    value: str = Form(""),
    ids: Annotated[list[int] | None, Form()] = None,
    everything: str = Form(""),
    confirmed: str = Form(""),
    back: str = Form(""),
) -> Response:
    """Asked first (a page naming what will change), done when confirmed. ``everything``
    holds the list's filter as a query string: the action applies to every material it
    matches, not only the page's."""
    if action not in ACTION_NAMES:
        return say(view, request, who, _("不支持这个操作"), 400)
    back = back if back.startswith("/console/") else "/console/materials"
    chosen, named = _chosen(runtime, everything, ids)
    if not confirmed:
        context = {
            "who": who.__dict__,
            "action": action,
            "action_name": ACTION_NAMES[action],
            "value": value.strip(),
            "ids": chosen,
            "named": named,
            "back": back,
            "limit": bulk.MAX_BULK,
        }
        return view(request, "materials_confirm.html", context)
    try:
        with runtime.db.transaction() as session:
            done = bulk.apply(
                session,
                action,
                chosen,
                actor=who.number,
                value=value,
                ip=auth.client_ip(request),
            )
    except DomainError as refused:
        return say(view, request, who, user_message(refused), 400)
    refresh_search(runtime)
    notice = _("%(action)s：%(done)s 份材料；%(skipped)s 份无需更改") % {
        "action": _(ACTION_NAMES[action]),
        "done": len(done.changed),
        "skipped": done.skipped,
    }
    glue = "&" if "?" in back else "?"
    return RedirectResponse(f"{back}{glue}{urlencode({'notice': notice})}", status_code=303)


@router.post("/materials/upload", response_class=HTMLResponse, dependencies=[Depends(csrf_checked)])
def upload(
    request: Request,
    who: StaffDep,
    runtime: RuntimeDep,
    files: Annotated[list[UploadFile], File()],
    category: str = Form(""),
    publish: str = Form(""),
) -> Response:
    if len(files) > MAX_UPLOAD_FILES:
        return say(
            view,
            request,
            who,
            _("一次最多上传 %(n)s 个文件") % {"n": MAX_UPLOAD_FILES},
            400,
        )
    folder = Path(tempfile.mkdtemp(prefix="wenxing-upload-"))
    try:
        report = importer(runtime).run(
            _save_uploads(files, folder),
            ImportOptions(category=category.strip() or None, publish=bool(publish)),
        )
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return _uploaded(request, who, report)


@router.post(
    "/materials/{material_id}/versions/new",
    response_class=HTMLResponse,
    dependencies=[Depends(csrf_checked)],
)
def upload_version(
    request: Request,
    who: StaffDep,
    runtime: RuntimeDep,
    material_id: int,
    file: Annotated[UploadFile, File()],
    publish: str = Form(""),
) -> Response:
    """The next version of a material from one file; a published material's new version
    is live at once (and its earlier readers are told, live/announce.py)."""
    folder = Path(tempfile.mkdtemp(prefix="wenxing-upload-"))
    try:
        (target,) = _save_uploads([file], folder)
        try:
            report = importer(runtime).run_version(
                material_id, target, ImportOptions(publish=bool(publish))
            )
        except LookupError:
            return say(view, request, who, _("没有这份材料"), 404)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    refresh_search(runtime)
    return _uploaded(request, who, report)


@router.get("/materials/{material_id}", response_class=HTMLResponse)
def material(
    request: Request, material_id: int, who: StaffDep, runtime: RuntimeDep
) -> HTMLResponse:
    with runtime.db.reading() as session:
        try:
            document = catalog.material_document(session, material_id)
        except catalog.MaterialNotFound:
            return say(view, request, who, _("没有这份材料"), 404)
        context = {
            "who": who.__dict__,
            "m": document,
            "kinds": KINDS,
            "versions": catalog.versions(session, material_id),
            "copies": copies_of_material(session, material_id, limit=20),
            "copies_total": copies_count(session, material_id),
            "reports": reports_on_material(session, material_id),
            "state_name": reporting.state_name,
        }
    return view(request, "material.html", context)


@router.post("/materials/{material_id}", dependencies=[Depends(csrf_checked)])
def edit_material(
    request: Request,
    who: StaffDep,
    runtime: RuntimeDep,
    material_id: int,
    title: str = Form(""),
    kind: str = Form(""),
    category: str = Form(""),
    tags: str = Form(""),
) -> Response:
    try:
        with runtime.db.transaction() as session:
            catalog.edit_material(
                session, material_id, title=title, kind=kind, category=category, tags=tags
            )
    except catalog.MaterialNotFound:
        return say(view, request, who, _("没有这份材料"), 404)
    except DomainError as refused:
        return say(view, request, who, user_message(refused), 400)
    refresh_search(runtime)
    return RedirectResponse(f"/console/materials/{material_id}", status_code=303)


@router.post("/materials/{material_id}/{action}", dependencies=[Depends(csrf_checked)])
def publish(
    request: Request,
    who: StaffDep,
    runtime: RuntimeDep,
    material_id: int,
    action: str,
) -> Response:
    """发布 or 下架 one material at once (the list's buttons; audited like a bulk one)."""
    if action not in ("publish", "unpublish"):
        return say(view, request, who, _("不支持这个操作"), 404)
    with runtime.db.transaction() as session:
        done = bulk.apply(
            session, action, [material_id], actor=who.number, ip=auth.client_ip(request)
        )
    if not done.changed and done.skipped:
        with runtime.db.reading() as session:
            try:
                catalog.get_material(session, material_id)
            except catalog.MaterialNotFound:
                return say(view, request, who, _("没有这份材料"), 404)
    refresh_search(runtime)
    return RedirectResponse("/console/materials", status_code=303)


def _uploaded(request: Request, who, report) -> HTMLResponse:
    """The page after an upload or a new version: what the import made of each file."""
    context = {"who": who.__dict__, "report": translated_report(report), "prefix": len("0000-")}
    return view(request, "uploaded.html", context)
