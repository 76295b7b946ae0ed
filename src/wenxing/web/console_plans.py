"""The console's plans page (admins): each plan's price and where to buy it.

The plans themselves stay one publisher setting (``plans``, edited as JSON on the settings
page); this page edits the sale details of each in a form of its own: the price in yuan,
the shop page where its activation codes are sold, and a payment QR image (PNG or JPEG,
kept in ``setting_images``). The whole list is stored through ``settings.change``, which
checks it and records a ``setting:change`` audit event in the same transaction.
"""

from __future__ import annotations

from typing import Annotated

from anyio import to_thread
from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from wenxing import settings
from wenxing.config import PublisherSettings
from wenxing.errors import DomainError
from wenxing.i18n import _
from wenxing.members.pricing import QR_MAX_BYTES, check_stored_qr, price_text, store_qr
from wenxing.runtime import Runtime
from wenxing.web import auth
from wenxing.web.console import AdminDep, admin
from wenxing.web.deps import RuntimeDep, csrf_checked, render, runtime_of
from wenxing.web.error_messages import user_message


def _price(raw: str, plan: str) -> float | int | None:
    raw = raw.strip().lstrip("¥￥").removesuffix("元").strip()
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        raise DomainError("setting.plan_price", plan=plan) from None
    return int(value) if value.is_integer() else round(value, 2)


router = APIRouter(prefix="/console", dependencies=[Depends(admin)], include_in_schema=False)


def show(request: Request, who, *, typed=None, error=None, saved="", status=200):
    rows = []
    for plan in runtime_of(request).publisher_settings().plans:
        mine = typed if typed and typed["code"] == plan["code"] else None
        price = plan.get("price")
        rows.append(
            {
                "code": plan["code"],
                "name": plan["name"],
                "months": plan["months"],
                "daily_quota": plan["daily_quota"],
                "price": mine["price"] if mine else ("" if price is None else f"{price:g}"),
                "price_text": price_text(price),
                "shop_url": mine["shop_url"] if mine else plan.get("shop_url", ""),
                "qr": plan.get("qr", ""),
                "error": error if mine else None,
            }
        )
    notice = _("已保存：%(name)s") % {"name": saved} if saved else None
    context = {"console": True, "who": who.__dict__, "rows": rows, "notice": notice}
    context["qr_kb"] = QR_MAX_BYTES // 1024
    return render(request, "console/plans.html", context, status)


@router.get("/plans", response_class=HTMLResponse)
def plans_page(request: Request, who: AdminDep, saved: str = "") -> HTMLResponse:
    return show(request, who, saved=saved)


@router.post("/plans/{code}", response_class=HTMLResponse, dependencies=[Depends(csrf_checked)])
async def change(
    request: Request,
    who: AdminDep,
    runtime: RuntimeDep,
    code: str,
    price: Annotated[str, Form()] = "",
    shop_url: Annotated[str, Form()] = "",
    remove_qr: Annotated[str, Form()] = "",
    qr: Annotated[UploadFile | None, File()] = None,
) -> Response:
    image = await qr.read(QR_MAX_BYTES + 1) if qr is not None and qr.filename else b""
    typed = {"code": code, "price": price, "shop_url": shop_url.strip()}
    # The database and the QR code's decoding run off the event loop (the route is async
    # only to read the upload).
    return await to_thread.run_sync(
        lambda: _changed(runtime, request, who, typed, image, bool(remove_qr))
    )


def _changed(
    runtime: Runtime, request: Request, who, typed: dict, image: bytes, drop: bool
) -> Response:
    """The plans page after one plan's sale details were saved or refused."""
    try:
        name = _save(runtime, request, who.number, typed, image, drop)
    except DomainError as refused:
        return show(request, who, typed=typed, error=user_message(refused), status=400)
    if name is None:
        message = {"console": True, "message": _("没有这个套餐")}
        return render(request, "console/message.html", message, 404)
    return RedirectResponse(f"/console/plans?saved={name}#plan-{typed['code']}", 303)


def _save(runtime: Runtime, request: Request, actor: str, typed: dict, image: bytes, drop: bool):
    """Store one plan's sale details; the plan's name, or None when there is no such plan."""
    with runtime.db.transaction() as session:
        after = [dict(p) for p in PublisherSettings.load(session).plans]
        plan = next((p for p in after if p["code"] == typed["code"]), None)
        if plan is None:
            return None
        for key, value in (
            ("price", _price(typed["price"], plan["code"])),
            ("shop_url", typed["shop_url"]),
        ):
            if value in (None, ""):
                plan.pop(key, None)
            else:
                plan[key] = value
        if image:
            plan["qr"] = store_qr(session, image, plan.get("shop_url", ""))
        elif drop:
            plan.pop("qr", None)
        elif plan.get("qr") and plan.get("shop_url"):
            check_stored_qr(session, plan["qr"], plan["shop_url"])
        settings.change(session, "plans", after, actor=actor, ip=auth.client_ip(request))
        return plan["name"]
