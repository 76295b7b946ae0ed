"""The console's group robots (admins): add, turn on or off, delete, send a test message,
and each robot's recent deliveries with their state.

The page never shows a robot's signing secret or its webhook's key again after saving (both
masked; stored sealed, ``live.bot_credentials``). A robot whose stored values do not open
with this server secret is shown as needing its webhook re-entered, with a form for it. A
test message is sent at once, from the request, and its result is shown; every change and
test is an audit event (``robot:*``).
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from wenxing import audit
from wenxing.i18n import N_, _
from wenxing.live import bot_credentials, bot_sender, bots, qq_door, qq_send, webhook_guard
from wenxing.live.bot_formats import mask_url
from wenxing.live.models import Robot
from wenxing.web import auth
from wenxing.web.console import AdminDep, admin
from wenxing.web.deps import RuntimeDep, csrf_checked, render, runtime_of

NOTICES = {
    "added": N_("机器人已添加。"),
    "enabled": N_("机器人已启用。"),
    "disabled": N_("机器人已停用：不再收到新的公告，待发的暂停发送。"),
    "deleted": N_("机器人已删除。"),
    "webhook": N_("机器人的 Webhook 地址和加签密钥已重新保存。"),
}
UNREADABLE = N_(
    "无法解密这个机器人保存的 Webhook 地址和加签密钥（服务器密钥可能已更换），"
    "不会发送任何消息。请重新填写 Webhook 地址和加签密钥。"
)
STATES = {
    "pending": N_("待发送"),
    "sending": N_("发送中"),
    "sent": N_("已发送"),
    "failed": N_("失败"),
}
ACTIONS = ("enable", "disable", "delete", "test", "webhook")


router = APIRouter(prefix="/console/robots", dependencies=[Depends(admin)], include_in_schema=False)


def _show(request: Request, who, *, status: int = 200, **context) -> HTMLResponse:
    runtime = runtime_of(request)
    timezone = runtime.publisher_settings().timezone
    with runtime.db.reading() as session:
        robots = bots.overview(session, runtime.secret)
    for robot in robots:
        robot["bad_signature_at"] = bots.when(robot["bad_signature_at"], timezone)
        for row in robot["deliveries"]:
            row["state_name"] = _(STATES.get(row["state"], row["state"]))
            row["error_words"] = error_words(row["last_error"])
            for key in ("next_at", "sent_at", "created_at"):
                row[key] = bots.when(row[key], timezone)
    context = {
        "console": True,
        "who": who.__dict__,
        "robots": robots,
        "platforms": [(code, _(bots.PLATFORM_NAMES[code])) for code in bots.PLATFORMS],
        "groups": [(code, _(name)) for code, name in bots.GROUP_NAMES.items()],
        "signed": sorted(bots.WITH_SECRET),
        "form": {},
        "errors": {},
        "notice": None,
        "tested": None,
        "unreadable": _(UNREADABLE),
        "rekey": {},  # the re-entry form's errors, with the robot's id
        "public_url": runtime.settings.public_url.rstrip("/"),
        **context,
    }
    return render(request, "console/robots.html", context, status)


@router.get("", response_class=HTMLResponse)
def robots(request: Request, who: AdminDep, notice: str = "") -> HTMLResponse:
    message = NOTICES.get(notice)
    return _show(request, who, notice=_(message) if message else None)


@router.post("", response_class=HTMLResponse, dependencies=[Depends(csrf_checked)])
def add(
    request: Request,
    who: AdminDep,
    runtime: RuntimeDep,
    name: str = Form(""),
    platform: str = Form(""),
    audience: str = Form(""),
    webhook_url: str = Form(""),
    secret: str = Form(""),
    target: str = Form(""),
    app_id: str = Form(""),
    event_secret: str = Form(""),
) -> Response:
    form = bots.RobotForm(
        name, platform, audience, webhook_url, secret, target, app_id, event_secret
    )
    try:
        with runtime.db.transaction() as session:
            bots.add_robot(
                session,
                form,
                server_secret=runtime.secret,
                actor=who.number,
                ip=auth.client_ip(request),
                policy=webhook_guard.Policy.for_runtime(runtime),
            )
    except bots.RobotError as refused:
        # The secret is not put back into the page: it is typed again.
        typed = {"name": name, "platform": platform, "audience": audience, "url": webhook_url}
        typed.update(target=target, app_id=app_id)
        errors = {refused.field: str(refused)}
        return _show(request, who, status=400, form=typed, errors=errors)
    return RedirectResponse("/console/robots?notice=added", status_code=303)


@router.post(
    "/{robot_id}/{action}", response_class=HTMLResponse, dependencies=[Depends(csrf_checked)]
)
def act(
    request: Request,
    who: AdminDep,
    robot_id: int,
    action: str,
    webhook_url: str = Form(""),  # (webhook: re-entered)
    secret: str = Form(""),
    event_secret: str = Form(""),
) -> Response:
    if action not in ACTIONS:
        return _missing(request, who, _("不支持这个操作"))
    if action == "test":
        return _test(request, who, robot_id)
    if action == "webhook":
        return _rekey(request, who, robot_id, webhook_url, (secret, event_secret))
    return _change(request, who, robot_id, action)


def _missing(request: Request, who, message: str) -> HTMLResponse:
    context = {"console": True, "who": who.__dict__, "message": message}
    return render(request, "console/message.html", context, 404)


def _change(request: Request, who, robot_id: int, action: str) -> Response:
    ip = auth.client_ip(request)
    try:
        with runtime_of(request).db.transaction() as session:
            if action == "delete":
                bots.delete_robot(session, robot_id, actor=who.number, ip=ip)
            else:
                enabled = action == "enable"
                bots.set_enabled(session, robot_id, enabled, actor=who.number, ip=ip)
    except bots.RobotNotFound:
        return _missing(request, who, _("没有这个机器人"))
    done = {"enable": "enabled", "disable": "disabled", "delete": "deleted"}[action]
    return RedirectResponse(f"/console/robots?notice={done}", status_code=303)


def _rekey(request: Request, who, robot_id: int, url: str, secrets: tuple[str, str]) -> Response:
    runtime = runtime_of(request)
    secret, event_secret = secrets
    try:
        with runtime.db.transaction() as session:
            bots.replace_credentials(
                session,
                robot_id,
                url,
                secret,
                server_secret=runtime.secret,
                actor=who.number,
                ip=auth.client_ip(request),
                policy=webhook_guard.Policy.for_runtime(runtime),
                event_secret=event_secret,
            )
    except bots.RobotNotFound:
        return _missing(request, who, _("没有这个机器人"))
    except bots.RobotError as refused:
        errors = {"robot": robot_id, refused.field: str(refused)}
        return _show(request, who, status=400, rekey=errors)
    return RedirectResponse("/console/robots?notice=webhook", status_code=303)


def _test(request: Request, who, robot_id: int) -> Response:
    runtime = runtime_of(request)
    with runtime.db.reading() as session:
        robot = session.get(Robot, robot_id)
        if robot is None:
            return _missing(request, who, _("没有这个机器人"))
        name, platform = robot.name, robot.platform
        target = qq_send.Target(robot.target or "", robot.app_id)
        opened = bot_credentials.read_or_none(runtime.secret, robot)
    if opened is None:  # nothing is sent
        tested = {"name": name, "ok": False, "status": None, "error": _(UNREADABLE)}
        return _show(request, who, tested=tested)
    url, secret = opened.url, opened.secret
    message = bots.trial_message(name, runtime.publisher_settings().brand)
    policy = webhook_guard.Policy.for_runtime(runtime)
    with bot_sender.http_client(runtime.settings.webhook_ca_file) as client:
        status, outcome = bot_sender.post(client, platform, url, secret, message, policy, qq=target)
    with runtime.db.transaction() as session:
        audit.record(
            session,
            audit.ROBOT_TEST,
            actor=who.number,
            subject=f"robot:{robot_id}",
            ip=auth.client_ip(request),
            webhook=mask_url(url),
            ok=outcome.ok,
            status=status,
            error=outcome.error,
        )
    # A status and a sentence: never what the other end answered (it may be anything
    # a webhook pointed at, and admins are not to read other services through us).
    tested = {
        "name": name,
        "ok": outcome.ok,
        "status": status,
        "error": test_sentence(outcome, status),
    }
    return _show(request, who, tested=tested)


def test_sentence(outcome, status: int | None) -> str | None:
    """Why a test message failed, in the site's language: a status and a sentence."""
    if outcome.ok:
        return None
    error = outcome.error or ""
    if error.startswith(("a webhook must", "host ", "the webhook")):
        return _("Webhook 地址不被允许（只能是 https 的平台地址，且不能指向内部网络）")
    if status is not None and 300 <= status < 400:
        return _("对方要求跳转（HTTP %(status)s），服务器不跟随跳转") % {"status": status}
    if error.startswith(("HTTP 401", "HTTP 403", "token refused", "retcode", "code ")):
        return error_words(error) or ""
    if error.startswith("HTTP"):
        return _("对方返回了错误状态（HTTP %(status)s）") % {"status": status}
    if error.startswith(("errcode", "code")):
        return _("平台拒绝了这条消息（%(code)s），请检查 Webhook 地址和密钥") % {
            "code": error.split(":")[0]
        }
    if error.startswith("unexpected reply"):
        return _("对方的回答不是平台的格式（HTTP %(status)s）") % {"status": status}
    if error == _(UNREADABLE):
        return error
    return _("连接失败或超时")


def error_words(error: str | None) -> str:
    """A delivery's stored error (English, for logs) said in the site's language."""
    if not error:
        return ""
    if error.startswith("HTTP 401: the access token") or error.startswith("HTTP 403"):
        return _("QQ 拒绝了访问令牌（access token）：请核对这里填写的令牌与框架或平台的设置")
    if error.startswith("HTTP 401"):
        return _("OneBot 框架拒绝了访问令牌（access token）：请核对这里填写的令牌")
    if error.startswith("token refused"):
        return _("QQ 开放平台没有发放访问令牌：请核对 AppID 和 AppSecret（%(code)s）") % {
            "code": error.split(":")[1].strip()
        }
    if error.startswith("retcode"):
        return _("OneBot 框架没有发出消息（%(code)s）") % {"code": error.split(":")[0]}
    if error.startswith(("errcode", "code ")):
        return _("平台拒绝了这条消息（%(code)s），请检查地址和密钥") % {"code": error.split(":")[0]}
    if error.startswith("HTTP"):
        return _("对方返回了错误状态（%(status)s）") % {"status": error.split(":")[0]}
    if error.startswith(("ConnectError", "ConnectTimeout", "ReadTimeout", "RemoteProtocol")):
        return _("连接失败或超时，稍后自动重试")
    return error


@router.get("/{robot_id}/door", response_class=HTMLResponse)
def door(request: Request, who: AdminDep, robot_id: int) -> Response:
    """A QQ group's door: who was let in, refused (and why), reminded and removed."""
    runtime = runtime_of(request)
    timezone = runtime.publisher_settings().timezone
    with runtime.db.reading() as session:
        robot = session.get(Robot, robot_id)
        if robot is None or robot.platform != "onebot":
            return _missing(request, who, _("没有这个 QQ 群机器人"))
        rows = qq_door.decisions(session, robot_id)
        name, group, audience = robot.name, robot.target, robot.audience
    for row in rows:
        row["at"] = bots.when(row["at"], timezone)
    context = {
        "console": True,
        "who": who.__dict__,
        "robot": {"id": robot_id, "name": name, "group": group},
        "group_name": _(bots.GROUP_NAMES.get(audience, audience)),
        "rows": rows,
    }
    return render(request, "console/robot_door.html", context)
