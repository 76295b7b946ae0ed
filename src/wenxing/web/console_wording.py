"""The console's review of wording variants (editors and admins).

``/console/wording`` lists every group of the publisher's variant list with the places it
would vary in recently published materials, each in its context, and lets an editor approve
or veto the group; copies made later use approved groups only (the shipped groups start
approved, groups the publisher adds wait for approval). ``/console/wording/materials/{id}``
lists one material's places, and an editor vetoes the ones that read badly there. Copies
already issued keep the plan they were made with, so tracing them is unaffected.
"""

from __future__ import annotations

from functools import partial
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from wenxing import audit
from wenxing.delivery import review
from wenxing.i18n import N_, _
from wenxing.materials import catalog
from wenxing.web import auth
from wenxing.web.console import StaffDep, console_page, staff
from wenxing.web.deps import RuntimeDep, csrf_checked, render

STATE_NAMES = {
    review.APPROVED: N_("已批准"),
    review.VETOED: N_("已否决"),
    review.PENDING: N_("待审核"),
}
NOTICES = {
    "approved": N_("已批准这一组：以后发出的副本会用它。"),
    "vetoed": N_("已否决这一组：以后发出的副本不再用它。"),
    "reset": N_("已恢复默认：随附的组算已批准，自己添加的组待审核。"),
    "places": N_("已保存这份材料的措辞位置：以后发出的副本按此处理。"),
}
DECISIONS = ("approved", "vetoed", "reset")
# The marking strengths in words (the setting's values are off, light and strong).
STRENGTH_NAMES = {
    "off": N_("不换措辞（只有看不见的标记）"),
    "light": N_("轻度（在审核过的位置换措辞）"),
    "strong": N_("强（换措辞，看不见的标记更密）"),
}


router = APIRouter(prefix="/console", dependencies=[Depends(staff)], include_in_schema=False)

_view = partial(console_page, render)


def _no_material(request: Request, who) -> HTMLResponse:
    return _view(request, "message.html", {"who": who.__dict__, "message": _("没有这份材料")}, 404)


@router.get("/wording", response_class=HTMLResponse)
def groups(request: Request, who: StaffDep, runtime: RuntimeDep, notice: str = "") -> HTMLResponse:
    publisher = runtime.publisher_settings()
    with runtime.db.reading() as session:
        rows = review.group_reviews(session, publisher)
    context = {
        "who": who.__dict__,
        "groups": [{"g": row, "state_name": _(STATE_NAMES[row.state])} for row in rows],
        "sampled": review.GROUP_SAMPLE_MATERIALS,
        "strength": _(STRENGTH_NAMES.get(publisher.marking_strength, "")),
        "notice": _(NOTICES[notice]) if notice in NOTICES else None,
    }
    return _view(request, "wording.html", context)


@router.get("/wording/materials/{material_id}", response_class=HTMLResponse)
def places(
    request: Request, who: StaffDep, runtime: RuntimeDep, material_id: int, notice: str = ""
) -> HTMLResponse:
    publisher = runtime.publisher_settings()
    with runtime.db.reading() as session:
        version = _current_version(session, material_id)
        if version is None:
            return _no_material(request, who)
        found = review.wording_places(session, version, publisher)
        title, number = version.title, version.number
    context = {
        "who": who.__dict__,
        "material_id": material_id,
        "title": title,
        "version": number,
        "places": found,
        "vetoed": sum(p.vetoed for p in found),
        "notice": _(NOTICES[notice]) if notice in NOTICES else None,
    }
    return _view(request, "material_wording.html", context)


@router.post("/wording/materials/{material_id}", dependencies=[Depends(csrf_checked)])
def save_places(
    request: Request,
    who: StaffDep,
    runtime: RuntimeDep,
    material_id: int,
    veto: Annotated[list[str] | None, Form()] = None,
) -> Response:
    refused = {int(v) for v in veto or [] if v.isdigit()}
    publisher = runtime.publisher_settings()
    with runtime.db.transaction() as session:
        version = _current_version(session, material_id)
        if version is None:
            return _no_material(request, who)
        known = {p.offset for p in review.wording_places(session, version, publisher)}
        before = review.vetoes(session, version.id) & known
        wanted = refused & known
        review.set_vetoes(session, version.id, sorted(wanted - before), True)
        review.set_vetoes(session, version.id, sorted(before - wanted), False)
        audit.record(
            session,
            audit.WORDING_VETO,
            actor=who.number,
            subject=f"material:{material_id}",
            ip=auth.client_ip(request),
            version=version.number,
            vetoed=sorted(wanted - before),
            allowed=sorted(before - wanted),
        )
    return RedirectResponse(f"/console/wording/materials/{material_id}?notice=places", 303)


# After the material routes: /wording/materials/{id} is not a group and a decision.
@router.post("/wording/{group}/{decision}", dependencies=[Depends(csrf_checked)])
def decide(
    request: Request, who: StaffDep, runtime: RuntimeDep, group: str, decision: str
) -> Response:
    number = int(group) if group.isdigit() else -1
    if decision not in DECISIONS:
        return _view(
            request, "message.html", {"who": who.__dict__, "message": _("没有这个操作")}, 404
        )
    publisher = runtime.publisher_settings()
    with runtime.db.transaction() as session:
        done = review.decide_group(session, publisher, number, decision, actor=who.number)
    if done is None:
        message = {"who": who.__dict__, "message": _("没有这一组措辞变体")}
        return _view(request, "message.html", message, 404)
    return RedirectResponse(f"/console/wording?notice={decision}#group-{number}", 303)


def _current_version(session, material_id: int):
    """The material's current version, or None when there is no such material."""
    try:
        return catalog.current_version(session, catalog.get_material(session, material_id))
    except catalog.MaterialNotFound:
        return None
