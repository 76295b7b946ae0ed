"""The member's reading beside the copies (``delivery/reading.py``): the reader page's
script asks for and reports the place last read and the 收藏 state (JSON, CSRF-checked,
same origin only), the material page's 收藏 button, and the account's 收藏 and 最近阅读
pages, kept apart from 下载记录. Also the favicon and the consent pages (用户协议,
隐私政策) the publisher writes in settings."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from anyio import to_thread
from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response

from wenxing.db.base import utcnow
from wenxing.delivery import reading
from wenxing.errors import DomainError
from wenxing.i18n import _
from wenxing.materials.queries import MaterialNotFound, current_version, get_material
from wenxing.runtime import Runtime
from wenxing.web import auth
from wenxing.web.deps import RuntimeDep, deliberate_form, render
from wenxing.web.error_messages import user_message

FAVICON = Path(__file__).parent / "static" / "favicon.svg"
TOUCH_ICON = Path(__file__).parent / "static" / "apple-touch-icon.png"
_BODY_LIMIT = 2_000  # bytes of a position or favourite report


router = APIRouter(include_in_schema=False)  # pages and the reader page's JSON, not the API


@router.get("/reading/{material_id}")
def place(request: Request, runtime: RuntimeDep, material_id: int) -> Response:
    return _place(runtime, request, material_id)


@router.post("/reading/{material_id}/position")
async def save_place(request: Request, runtime: RuntimeDep, material_id: int) -> Response:
    data = await _report(request)
    if data is None:
        return _refused(403, _("页面已过期，请刷新后重试"))
    return await _in_thread(lambda: _save_place(runtime, request, material_id, data))


@router.post("/reading/{material_id}/favourite")
async def favourite_json(request: Request, runtime: RuntimeDep, material_id: int) -> Response:
    data = await _report(request)
    if data is None:
        return _refused(403, _("页面已过期，请刷新后重试"))
    want = bool(data.get("favourite"))
    return await _in_thread(lambda: _favourite(runtime, request, material_id, want))


@router.post("/materials/{material_id}/favourite", dependencies=[Depends(deliberate_form)])
def favourite_form(
    request: Request, runtime: RuntimeDep, material_id: int, favourite: str = Form("1")
) -> Response:
    response = _favourite(runtime, request, material_id, favourite == "1")
    if response.status_code == 401:
        return RedirectResponse(f"/signin?next=/materials/{material_id}", status_code=303)
    if response.status_code == 404:
        return render(request, "error.html", {"message": _("没有找到")}, 404)
    return RedirectResponse(f"/materials/{material_id}", status_code=303)


@router.get("/account/favourites", response_class=HTMLResponse)
def favourites_page(request: Request, runtime: RuntimeDep) -> Response:
    return _list_page(runtime, render, request, "favourites", reading.favourites)


@router.get("/account/recent", response_class=HTMLResponse)
def recent_page(request: Request, runtime: RuntimeDep) -> Response:
    return _list_page(runtime, render, request, "recent", reading.recently_read)


# The favicon and the consent pages (用户协议, 隐私政策) the publisher writes.


@router.get("/favicon.ico")
def favicon() -> Response:
    return FileResponse(
        FAVICON, media_type="image/svg+xml", headers={"Cache-Control": "public, max-age=86400"}
    )


# iOS asks the site's root for these when a page is added to the home screen without
# reading the page's own link (and some crawlers ask anyway): answered, not logged as 404s.
@router.get("/apple-touch-icon.png")
@router.get("/apple-touch-icon-precomposed.png")
def touch_icon() -> Response:
    return FileResponse(
        TOUCH_ICON, media_type="image/png", headers={"Cache-Control": "public, max-age=86400"}
    )


@router.get("/terms", response_class=HTMLResponse)
def terms(request: Request, runtime: RuntimeDep) -> Response:
    return _consent(runtime, render, request, "terms_text", _("用户协议"))


@router.get("/privacy", response_class=HTMLResponse)
def privacy(request: Request, runtime: RuntimeDep) -> Response:
    return _consent(runtime, render, request, "privacy_text", _("隐私政策"))


def _member_id(session, request: Request) -> int | None:
    member = auth.current_member(session, request)
    return None if member is None else member.id


def _published(session, material_id: int) -> bool:
    try:
        return get_material(session, material_id).status == "published"
    except MaterialNotFound:
        return False


def _current_version_id(session, material_id: int) -> int | None:
    try:
        return current_version(session, get_material(session, material_id)).id
    except MaterialNotFound:
        return None


def _place(runtime: Runtime, request: Request, material_id: int) -> Response:
    """The place last read and the 收藏 state, with a CSRF token for the reports back."""
    with runtime.db.reading() as session:
        member_id = _member_id(session, request)
        if member_id is None:
            return JSONResponse({"error": _("请先登录")}, status_code=401)
        found = reading.place_of(session, member_id, material_id)
        version = _current_version_id(session, material_id)
    at = None if found.at is None else int(found.at.timestamp() * 1000)
    response = JSONResponse(
        {
            "position": found.position,
            "at": at,
            "favourite": found.favourite,
            "version": version,  # what 加入素材篮 names (POST /basket)
            "csrf_token": auth.csrf_token(request),
        },
        headers={"Cache-Control": "no-store"},
    )
    auth.remember_csrf(request, response)
    return response


async def _report(request: Request) -> dict | None:
    body = await request.body()
    if len(body) > _BODY_LIMIT:
        return None
    try:
        data = json.loads(body or b"{}")
    except ValueError:
        return None
    if not isinstance(data, dict) or not auth.deliberate(request, data.get("csrf_token")):
        return None
    return data


def _refused(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def _save_place(runtime: Runtime, request: Request, material_id: int, data: dict) -> Response:
    position = str(data.get("position", ""))
    try:
        return _as_member(
            runtime,
            request,
            material_id,
            lambda session, member_id: (
                reading.save_place(session, member_id, material_id, position, utcnow())
                or {"ok": True}
            ),
        )
    except DomainError as error:
        return _refused(400, user_message(error))


def _as_member(runtime: Runtime, request: Request, material_id: int, work) -> Response:
    """``work(session, member_id)`` for the signed-in member on a published material,
    in one transaction; its answer as JSON (401 or 404 without them)."""
    with runtime.db.transaction() as session:
        member_id = _member_id(session, request)
        if member_id is None:
            return _refused(401, _("请先登录"))
        if not _published(session, material_id):
            return _refused(404, _("没有找到"))
        answer = work(session, member_id)
    return JSONResponse(answer)


def _favourite(runtime: Runtime, request: Request, material_id: int, want: bool) -> Response:
    return _as_member(
        runtime,
        request,
        material_id,
        lambda session, member_id: {
            "favourite": reading.set_favourite(session, member_id, material_id, want, utcnow())
        },
    )


def _list_page(
    runtime: Runtime, render: Callable[..., HTMLResponse], request: Request, which: str, listed
) -> Response:
    with runtime.db.reading() as session:
        member = auth.current_member(session, request)
        if member is None:
            return RedirectResponse(f"/signin?next=/account/{which}", status_code=303)
        entries = listed(session, member.id)
        who = auth.who(member)
    return render(request, "reading_list.html", {"who": who, "which": which, "entries": entries})


def _consent(
    runtime: Runtime,
    render: Callable[..., HTMLResponse],
    request: Request,
    setting: str,
    title: str,
) -> Response:
    text = str(getattr(runtime.publisher_settings(), setting)).strip()
    with runtime.db.reading() as session:
        who = auth.who(auth.current_member(session, request))
    return render(request, "consent.html", {"who": who, "title": title, "text": text})


async def _in_thread(work: Callable[[], Response]) -> Response:
    """Database work off the event loop (the routes that read a JSON body are async)."""
    return await to_thread.run_sync(work)
