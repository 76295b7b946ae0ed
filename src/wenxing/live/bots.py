"""Group robots: the admin's webhook robots of 企业微信, 钉钉 and 飞书, QQ robots (a OneBot
v11 framework's QQ account, or a QQ official platform bot: ``qq_send``), and what they
announce. A QQ robot names its group (``target``); a OneBot one also keeps the framework's
event-signing secret, for the 会员群 door (``qq_door``).

A robot announces to one group: the member group (会员群) or the free group (免费群). When a
material is published, the ``material.published`` event's transaction also gets one
``BotDelivery`` row per enabled robot (the outbox): the announcement exists exactly when
the publication does, and one row per (robot, event) means it is never announced twice.
``bot_sender`` sends the rows. An announcement says what the material is — title, kind,
date, its first section headings and a link — never its text: the member group's link
opens the reader (sign-in, a fingerprinted copy), the free group's the public page.
An import run that publishes several materials is announced once, by the run's
``material.digest`` event (``live/digests.py``): its materials' own events are ``held``
and add no row here; the digest's message gives the count, the first titles with kind and
date, and a link to the page listing the run's materials.

Every change to a robot is an audit event; the signing secret is never shown again. The
webhook URL and the secret are stored sealed (``bot_credentials``): a robot whose values do
not open with this server secret is shown as needing its webhook re-entered
(``replace_credentials``).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from wenxing import audit, clock
from wenxing.config import PublisherSettings
from wenxing.db.base import utcnow
from wenxing.events import PublicationAnnounced, handles
from wenxing.i18n import N_, _
from wenxing.live import bot_credentials, digests, events, webhook_guard
from wenxing.live.bot_formats import PLATFORMS as WEBHOOK_PLATFORMS
from wenxing.live.bot_formats import SIGNED, Message, mask_secret, mask_url
from wenxing.live.models import BotDelivery, LiveEvent, QQDecision, QQSeat, Robot
from wenxing.live.qq_formats import QQ_PLATFORMS
from wenxing.materials import catalog

PLATFORMS = (*WEBHOOK_PLATFORMS, *QQ_PLATFORMS)
PLATFORM_NAMES = {
    "wecom": N_("企业微信"),
    "dingtalk": N_("钉钉"),
    "feishu": N_("飞书"),
    "onebot": N_("QQ（OneBot 框架）"),
    "qqbot": N_("QQ 官方机器人"),
}
WITH_SECRET = SIGNED | set(QQ_PLATFORMS)  # platforms whose form has a secret
GROUP_NAMES = {"member": N_("会员群"), "free": N_("免费群")}
# Which groups' robots announce an event, by the event's audience.
GROUPS_FOR_AUDIENCE = {"public": ("member", "free"), "members": ("member",)}
HEADINGS = 5  # section headings in an announcement's outline summary
HEADING_CHARS = 30


class RobotError(ValueError):
    """A robot cannot be saved as given; ``field`` names the form field at fault."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


class RobotNotFound(LookupError):
    pass


@dataclass(frozen=True)
class RobotForm:
    name: str
    platform: str
    audience: str
    webhook_url: str
    secret: str = ""
    target: str = ""  # QQ: the group number (onebot) or group_openid (qqbot)
    app_id: str = ""  # qqbot
    event_secret: str = ""  # onebot: the framework's event-report secret


def check_webhook_url(url: str, policy: webhook_guard.Policy, plain_http: bool = False) -> str:
    """The URL as stored, or RobotError: https, a platform's host or one the publisher
    allowed (``webhook_guard``), no spaces or credentials."""
    url = url.strip()
    if not url:
        raise RobotError("webhook_url", _("请填写 Webhook 地址"))
    if len(url) > 500 or re.search(r"\s|[\x00-\x1f\x7f]", url):
        raise RobotError("webhook_url", _("Webhook 地址不能超过 500 个字符，也不能含空格"))
    try:
        parts = urlsplit(url)
        port = parts.port  # raises on a bad port
    except ValueError:
        port = -1
    if parts.scheme not in ("http", "https") or not parts.hostname or port == -1:
        raise RobotError("webhook_url", _("Webhook 地址要以 https:// 开头，并有主机名"))
    if parts.username or parts.password:
        raise RobotError("webhook_url", _("Webhook 地址里不能带用户名或密码"))
    try:
        webhook_guard.pin(url, policy, plain_http=plain_http)  # names resolving inside too
    except webhook_guard.WebhookRefused as refused:
        # A name that does not resolve now (no DNS here) is checked again at each send.
        if refused.code != "resolve":
            raise RobotError("webhook_url", webhook_refusal(refused)) from None
    return url


def webhook_refusal(refused: webhook_guard.WebhookRefused) -> str:
    """Why a webhook is refused, in the site's language."""
    if refused.code == "scheme":
        return _("Webhook 地址必须以 https:// 开头")
    if refused.code == "host":
        return _(
            "Webhook 地址只能是企业微信、钉钉或飞书的官方地址；其他主机需先加入设置 webhook_hosts"
        )
    if refused.code == "resolve":
        return _("Webhook 地址的主机名无法解析")
    return _("Webhook 地址指向内部网络地址，不能使用")


def _policy(session: Session, policy: webhook_guard.Policy | None) -> webhook_guard.Policy:
    """The given policy, or the publisher's hosts with no private network allowed."""
    if policy is not None:
        return policy
    return webhook_guard.Policy.of(PublisherSettings.load(session).webhook_hosts, "")


def check_secret(platform: str, secret: str, field: str = "secret") -> str:
    """The signing secret (access token, app secret) as stored ("" for a platform that
    has none), or RobotError."""
    secret = secret.strip() if platform in WITH_SECRET else ""
    if len(secret) > 200 or re.search(r"\s", secret):
        raise RobotError(field, _("密钥不能超过 200 个字符，也不能含空格"))
    if platform == "qqbot" and field == "secret" and not secret:
        raise RobotError("secret", _("请填写 QQ 机器人的 AppSecret"))
    return secret


def check_qq(form: RobotForm) -> tuple[str | None, str | None]:
    """A QQ robot's group and app id as stored ((None, None) for a webhook robot)."""
    if form.platform not in QQ_PLATFORMS:
        return None, None
    target = form.target.strip()
    if form.platform == "onebot" and not re.fullmatch(r"[1-9][0-9]{4,11}", target):
        raise RobotError("target", _("请填写 QQ 群号（5 到 12 位数字）"))
    if form.platform == "qqbot" and not re.fullmatch(r"[0-9A-Za-z_-]{8,64}", target):
        raise RobotError("target", _("请填写群的 group_openid（字母和数字）"))
    if form.platform == "onebot":
        return target, None
    app_id = form.app_id.strip()
    if not re.fullmatch(r"[0-9]{4,20}", app_id):
        raise RobotError("app_id", _("请填写 QQ 机器人的 AppID（数字）"))
    return target, app_id


def add_robot(
    session: Session,
    form: RobotForm,
    *,
    server_secret: bytes,
    actor: str,
    ip: str | None,
    policy: webhook_guard.Policy | None = None,
) -> Robot:
    name = " ".join(form.name.split())
    if not name or len(name) > 60:
        raise RobotError("name", _("名称不能为空，也不能超过 %(n)s 字") % {"n": 60})
    if form.platform not in PLATFORMS:
        raise RobotError("platform", _("请选择平台"))
    if form.audience not in GROUP_NAMES:
        raise RobotError("audience", _("请选择群"))
    plain_http = form.platform == "onebot"
    url = check_webhook_url(form.webhook_url, _policy(session, policy), plain_http)
    secret = check_secret(form.platform, form.secret)
    target, app_id = check_qq(form)
    event_secret = check_secret(form.platform, form.event_secret, "event_secret")
    # Inserted first without its credentials: they are sealed for the robot's id.
    robot = Robot(
        name=name,
        platform=form.platform,
        audience=form.audience,
        webhook_url="",
        enabled=True,
        target=target,
        app_id=app_id,
    )
    session.add(robot)
    session.flush()
    bot_credentials.write(server_secret, robot, url, secret or None, event_secret or None)
    session.flush()
    _audit(
        session,
        audit.ROBOT_ADD,
        robot,
        actor=actor,
        ip=ip,
        platform=robot.platform,
        audience=robot.audience,
        webhook=mask_url(url),
        signed=bool(secret),
        group=target,
    )
    return robot


def _audit(
    session: Session, kind: str, robot: Robot, *, actor: str, ip: str | None, **details: Any
) -> None:
    """A robot's audit event: the robot as subject, its name first among the details."""
    audit.record(
        session, kind, actor=actor, subject=f"robot:{robot.id}", ip=ip, name=robot.name, **details
    )


def _robot(session: Session, robot_id: int) -> Robot:
    robot = session.get(Robot, robot_id)
    if robot is None:
        raise RobotNotFound(robot_id)
    return robot


def replace_credentials(
    session: Session,
    robot_id: int,
    webhook_url: str,
    secret: str,
    *,
    server_secret: bytes,
    actor: str,
    ip: str | None,
    policy: webhook_guard.Policy | None = None,
    event_secret: str = "",
) -> Robot:
    """Store a robot's webhook URL and signing secret anew (sealed): how a robot whose
    stored values no longer open (the server secret changed) is put back to work. Its
    waiting announcements are due at once."""
    robot = _robot(session, robot_id)
    url = check_webhook_url(webhook_url, _policy(session, policy), robot.platform == "onebot")
    secret = check_secret(robot.platform, secret)
    event_secret = check_secret(robot.platform, event_secret, "event_secret")
    bot_credentials.write(server_secret, robot, url, secret or None, event_secret or None)
    session.execute(
        update(BotDelivery)
        .where(BotDelivery.robot_id == robot.id, BotDelivery.state == "pending")
        .values(next_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    _audit(
        session,
        audit.ROBOT_WEBHOOK,
        robot,
        actor=actor,
        ip=ip,
        webhook=mask_url(url),
        signed=bool(secret),
    )
    return robot


def set_enabled(
    session: Session, robot_id: int, enabled: bool, *, actor: str, ip: str | None
) -> Robot:
    """Turn a robot on or off. Off, it gets no new announcements and its waiting ones
    wait (sent when it is turned on again, unless a day has passed)."""
    robot = _robot(session, robot_id)
    if robot.enabled != enabled:
        robot.enabled = enabled
        kind = audit.ROBOT_ENABLE if enabled else audit.ROBOT_DISABLE
        _audit(session, kind, robot, actor=actor, ip=ip)
    return robot


def delete_robot(session: Session, robot_id: int, *, actor: str, ip: str | None) -> None:
    """Remove a robot with its deliveries (the audit log keeps that it existed)."""
    robot = _robot(session, robot_id)
    session.execute(delete(BotDelivery).where(BotDelivery.robot_id == robot.id))
    session.execute(delete(QQSeat).where(QQSeat.robot_id == robot.id))  # (audited each)
    session.execute(delete(QQDecision).where(QQDecision.robot_id == robot.id))
    _audit(session, audit.ROBOT_DELETE, robot, actor=actor, ip=ip, platform=robot.platform)
    session.delete(robot)


@handles(PublicationAnnounced)
def _queue_announcements(session: Session, event: PublicationAnnounced) -> None:
    """A delivery for every enabled robot of the announcement's group (in its transaction)."""
    groups = GROUPS_FOR_AUDIENCE.get(event.audience, ())
    if not groups or event.held:  # held: announced with its import run's digest
        return
    robots = session.scalars(
        select(Robot.id).where(Robot.enabled.is_(True), Robot.audience.in_(groups))
    ).all()
    now = utcnow()
    for robot_id in robots:
        session.add(
            BotDelivery(robot_id=robot_id, event_id=event.event_id, state="pending", next_at=now)
        )
    if robots:
        session.flush()


def announcement(
    session: Session, event: LiveEvent, audience: str, base_url: str, timezone: str
) -> Message | None:
    """What a robot of ``audience``'s group says about a published material, from the
    material as it is now; None when it is no longer published (nothing to announce).
    A digest's announcement is ``digests.announcement``."""
    if event.type == events.MATERIAL_DIGEST:
        return digests.announcement(session, event, base_url, timezone)
    material_id = json.loads(event.payload).get("material")
    try:
        material = catalog.get_material(session, int(material_id))
    except (catalog.MaterialNotFound, TypeError, ValueError):
        return None
    if material.status != "published":
        return None
    published = material.published_at or event.created_at
    day = clock.local(published, timezone).date()
    lines = [
        _("类型：%(kind)s") % {"kind": material.kind},
        _("日期：%(date)s") % {"date": day.isoformat()},
    ]
    headings = catalog.section_headings(session, [material.id]).get(material.id, [])
    if headings:
        lines.append(_("提纲："))
        lines.extend(_shortened(heading) for heading in headings[:HEADINGS])
    path = f"/materials/{material.id}" + ("/read" if audience == "member" else "")
    link_text = _("会员阅读全文") if audience == "member" else _("查看材料")
    return Message(
        title=_("新材料：%(title)s") % {"title": material.title},
        lines=tuple(lines),
        link=base_url.rstrip("/") + path,
        link_text=link_text,
    )


def _shortened(heading: str) -> str:
    """A section heading (marker and text) cut to ``HEADING_CHARS``: what the material
    covers, never its text."""
    return heading if len(heading) <= HEADING_CHARS else heading[:HEADING_CHARS] + "…"


def trial_message(robot_name: str, brand: str) -> Message:
    return Message(
        title=_("%(brand)s 群机器人测试") % {"brand": brand},
        lines=(
            _("这是一条测试消息：机器人“%(name)s”已接通。") % {"name": robot_name},
            _("有新材料发布时，这里会收到标题、类型、日期、提纲和链接。"),
        ),
    )


def overview(session: Session, server_secret: bytes, deliveries: int = 10) -> list[dict[str, Any]]:
    """Every robot (credentials masked; ``unreadable`` when they do not open with this
    server secret) with its delivery counts by state and its most recent deliveries, for
    the console."""
    robots = session.scalars(select(Robot).order_by(Robot.id)).all()
    counts: dict[int, dict[str, int]] = {}
    for robot_id, state, count in session.execute(
        select(BotDelivery.robot_id, BotDelivery.state, func.count()).group_by(
            BotDelivery.robot_id, BotDelivery.state
        )
    ):
        counts.setdefault(robot_id, {})[state] = count
    shown = []
    for robot in robots:
        recent = session.execute(
            select(BotDelivery, LiveEvent.payload)
            .join(LiveEvent, LiveEvent.id == BotDelivery.event_id)
            .where(BotDelivery.robot_id == robot.id)
            .order_by(BotDelivery.id.desc())
            .limit(deliveries)
        ).all()
        opened = bot_credentials.read_or_none(server_secret, robot)
        shown.append(
            {
                "id": robot.id,
                "name": robot.name,
                "platform": _(PLATFORM_NAMES.get(robot.platform, robot.platform)),
                "group": _(GROUP_NAMES.get(robot.audience, robot.audience)),
                "webhook": mask_url(opened.url) if opened else "",
                "secret": mask_secret(opened.secret) if opened else "",
                "unreadable": opened is None,
                "signed": robot.platform in WITH_SECRET,
                "platform_code": robot.platform,
                "target": robot.target or "",
                "app_id": robot.app_id or "",
                "door": robot.platform == "onebot",
                "event_secret": mask_secret(opened.event_secret) if opened else "",
                "bad_signature_at": robot.bad_signature_at,
                "enabled": robot.enabled,
                "created_at": robot.created_at,
                "counts": counts.get(robot.id, {}),
                "deliveries": [_delivery_row(row, payload) for row, payload in recent],
            }
        )
    return shown


def _delivery_row(row: BotDelivery, payload: str) -> dict[str, Any]:
    data = json.loads(payload or "{}")
    return {
        "id": row.id,
        "title": data.get("title") or f"#{data.get('material', '?')}",
        "state": row.state,
        "attempts": row.attempts,
        "last_status": row.last_status,
        "last_error": row.last_error,
        "next_at": row.next_at if row.state == "pending" else None,
        "sent_at": row.sent_at,
        "created_at": row.created_at,
    }


def when(moment: datetime | None, timezone: str) -> str:
    """A stored (naive UTC) time in the publisher's time zone, for the console."""
    return clock.show(moment, timezone, "%m-%d %H:%M:%S")
