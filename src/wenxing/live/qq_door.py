"""The QQ groups' doorkeeper: a OneBot robot's event reports, decided and audited.

A OneBot v11 framework POSTs its events to ``/qq/onebot/{robot}/events``, signed with the
secret both sides hold (``X-Signature: sha1=…``); a report without that signature is
refused and changes nothing (the robot only notes when one last came, for the console).

* a private message carrying a one-time code links the sender's QQ number to the account
  that asked for it (``qq_links``); the framework is answered with a quick reply; a
  friend request whose note carries the code does the same and is accepted;
* a request to join the robot's group (``request_type`` group, ``sub_type`` add) is
  decided at once: the 免费群 admits anyone; the 会员群 admits a QQ number linked to an
  account with a current plan (staff too) and refuses the others with a reason;
* a member joining or leaving the group is noted (its seat).

Every decision is a row of ``qq_decisions`` (the console's list per group) and an audit
event (``qq:*``); the framework is told by a background job (``ACTION_JOB``: the OneBot
action, tried again when the framework is away). ``sweep`` — run every few minutes —
reminds the members in the 会员群 whose plan has ended (a private message and a
notification) and removes them ``qq_grace_days`` after the reminder, unless they renewed.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, select, update
from sqlalchemy.orm import Session

from wenxing import audit, clock, jobs
from wenxing.config import PublisherSettings
from wenxing.db.base import utcnow
from wenxing.db.engine import Database, rowcount
from wenxing.i18n import N_, _
from wenxing.live import announce, bot_credentials, qq_links
from wenxing.live.models import QQDecision, QQLink, QQSeat, Robot
from wenxing.live.notify import notify
from wenxing.live.qq_formats import signature_valid
from wenxing.members.models import Member

log = logging.getLogger("wenxing.qq")

ACTION_JOB = "qq.action"
ACTOR = "qq-door"
REASONS = {
    "member": N_("会员有效"),
    "staff": N_("本站工作人员"),
    "free_group": N_("免费群，任何人都可加入"),
    "unlinked": N_("这个 QQ 号没有绑定本站账户：请先在网站“我的账户”页绑定 QQ 号"),
    "expired": N_("会员已到期：续费后再申请加入"),
    "suspended": N_("账户已暂停"),
    "plan_ended": N_("会员已到期，宽限期后将移出会员群"),
    "grace_over": N_("会员到期后的宽限期已过"),
    "framework_refused": N_("QQ 框架拒绝了操作：请核对机器人的访问令牌（access token）"),
    "framework_away": N_("QQ 框架一天内都没有响应"),
    "address_refused": N_("机器人的地址不被允许（需在 webhook_hosts 和允许的内部网络里）"),
}
ACTIONS = {
    "approved": N_("已同意加群"),
    "refused": N_("已拒绝加群"),
    "reminded": N_("已提醒续费"),
    "removed": N_("已移出群"),
    "unsent": N_("未能通知 QQ 框架"),
}


class EventRefused(ValueError):
    """An event report the door will not read: ``code`` robot (none such, or not a OneBot
    robot with an event secret), signature, body."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def read_event(
    session: Session, robot_id: int, body: bytes, signature: str | None, server_secret: bytes
) -> tuple[Robot, dict[str, Any]]:
    """The robot and its event, when the report carries the robot's signature."""
    robot = session.get(Robot, robot_id)
    if robot is None or robot.platform != "onebot" or not robot.enabled:
        raise EventRefused("robot")
    opened = bot_credentials.read_or_none(server_secret, robot)
    if opened is None or not opened.event_secret:
        raise EventRefused("robot")
    if not signature_valid(opened.event_secret, body, signature):
        raise EventRefused("signature")
    try:
        event = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise EventRefused("body") from None
    if not isinstance(event, dict):
        raise EventRefused("body")
    return robot, event


def note_bad_signature(db: Database, robot_id: int) -> None:
    """When a report with a wrong signature came (the console says so); nothing else."""
    with db.transaction() as session:
        session.execute(
            update(Robot)
            .where(Robot.id == robot_id)
            .values(bad_signature_at=utcnow())
            .execution_options(synchronize_session=False)
        )


def handle(
    session: Session, robot: Robot, event: dict[str, Any], now: datetime
) -> dict[str, Any] | None:
    """Act on a signed event in the caller's transaction; the quick operation to answer
    the framework with (None: nothing)."""
    kind = event.get("post_type")
    user = str(event.get("user_id") or "")
    if not qq_links.QQ_NUMBER.fullmatch(user):
        return None
    same_group = str(event.get("group_id") or "") == (robot.target or "")
    if kind == "message" and event.get("message_type") == "private":
        return _private_message(session, user, event, now)
    if kind == "request" and event.get("request_type") == "friend":
        # A friend request carrying a waiting code links the number and is accepted (the
        # quick operation); any other is left to the framework's owner.
        result, _member = qq_links.confirm(session, user, str(event.get("comment") or ""), now)
        return {"approve": True} if result == "linked" else None
    if kind == "request" and event.get("request_type") == "group" and same_group:
        if event.get("sub_type") == "add":
            decide(session, robot, user, str(event.get("flag") or ""), now)
        return None
    if kind == "notice" and same_group:
        if event.get("notice_type") == "group_increase":
            _seat(session, robot.id, user, now, admitted=False)
        elif event.get("notice_type") == "group_decrease":
            _left(session, robot.id, user, now)
    return None


def _private_message(
    session: Session, user: str, event: dict[str, Any], now: datetime
) -> dict[str, Any] | None:
    text = event.get("raw_message") or event.get("message")
    if not isinstance(text, str):
        return None
    result, _member = qq_links.confirm(session, user, text, now)
    if result == "linked":
        reply = _("绑定成功：这个 QQ 号已绑定您在本站的账户。")
    elif result == "wrong":
        reply = _("验证码不对或已过期：请在网站“我的账户”页重新获取。")
    else:
        return None
    return {"reply": reply, "auto_escape": True}


def verdict(
    session: Session, robot: Robot, qq: str, now: datetime
) -> tuple[bool, str, Member | None]:
    """Whether ``qq`` may join the robot's group, the reason code, and its account."""
    member = qq_links.member_of(session, qq)
    if robot.audience == "free":
        return True, "free_group", member
    if member is None:
        return False, "unlinked", member
    if member.status != "active":
        return False, "suspended", member
    if member.role in ("editor", "admin"):
        return True, "staff", member
    if member.membership_ends is not None and member.membership_ends > now:
        return True, "member", member
    return False, "expired", member


def decide(session: Session, robot: Robot, qq: str, flag: str, now: datetime) -> bool | None:
    """Approve or refuse a join request (recorded, audited, and sent to the framework);
    None for a request already decided (the framework reported it again)."""
    flag = flag[:100]
    seen = select(QQDecision.id).where(QQDecision.robot_id == robot.id, QQDecision.flag == flag)
    if flag and session.scalar(seen) is not None:
        return None
    approve, reason, member = verdict(session, robot, qq, now)
    action = "approved" if approve else "refused"
    _decision(session, robot, qq, member, action, reason, now, flag=flag or None)
    params = {"flag": flag, "sub_type": "add", "approve": approve}
    if not approve:
        params["reason"] = _(REASONS[reason])
    jobs.enqueue(
        session, ACTION_JOB, robot=robot.id, qq=qq, action="set_group_add_request", **params
    )
    if approve:
        _seat(session, robot.id, qq, now, admitted=True)
    return approve


def _decision(
    session: Session,
    robot: Robot,
    qq: str,
    member: Member | None,
    action: str,
    reason: str,
    now: datetime,
    flag: str | None = None,
) -> None:
    member_id = member.id if member is not None else None
    session.add(
        QQDecision(
            robot_id=robot.id,
            flag=flag,
            qq=qq,
            member_id=member_id,
            action=action,
            reason=reason,
            created_at=now,
        )
    )
    kind = {
        "approved": audit.QQ_APPROVE,
        "refused": audit.QQ_REFUSE,
        "reminded": audit.QQ_REMIND,
        "removed": audit.QQ_REMOVE,
    }[action]
    audit.record(
        session,
        kind,
        actor=ACTOR,
        subject=f"robot:{robot.id}",
        at=now,
        group=robot.target,
        qq=qq,
        member=member.number if member is not None else None,
        reason=reason,
    )


def _seat(session: Session, robot_id: int, qq: str, now: datetime, *, admitted: bool) -> None:
    seat = session.scalar(select(QQSeat).where(QQSeat.robot_id == robot_id, QQSeat.qq == qq))
    if seat is None:
        session.add(QQSeat(robot_id=robot_id, qq=qq, admitted=admitted, joined_at=now))
        session.flush()
        return
    if seat.removed_at or seat.left_at:  # back again: a new stay
        seat.joined_at, seat.removed_at, seat.left_at, seat.reminded_at = now, None, None, None
    seat.admitted = seat.admitted or admitted


def _left(session: Session, robot_id: int, qq: str, now: datetime) -> None:
    seat = session.scalar(select(QQSeat).where(QQSeat.robot_id == robot_id, QQSeat.qq == qq))
    if seat is not None and seat.left_at is None and seat.removed_at is None:
        seat.left_at = now


def sweep(db: Database, now: datetime | None = None) -> int:
    """Remind and remove the 会员群's members whose plan ended; how many were acted on."""
    now = now or utcnow()
    with db.transaction() as session:
        return sweep_in(session, now)


def sweep_in(session: Session, now: datetime) -> int:
    grace = timedelta(days=PublisherSettings.load(session).qq_grace_days)
    rows = session.execute(
        select(QQSeat, Robot, Member)
        .join(Robot, Robot.id == QQSeat.robot_id)
        .outerjoin(QQLink, QQLink.qq == QQSeat.qq)
        .outerjoin(Member, Member.id == QQLink.member_id)
        .where(
            Robot.platform == "onebot",
            Robot.audience == "member",
            Robot.enabled.is_(True),
            QQSeat.removed_at.is_(None),
            QQSeat.left_at.is_(None),
        )
        .order_by(QQSeat.id)
    ).all()
    acted = 0
    for seat, robot, member in rows:
        if member is None and not seat.admitted:
            continue  # someone the publisher let in by hand: not the door's to remove
        current, _reason, _m = verdict(session, robot, seat.qq, now)
        if current:
            seat.reminded_at = None  # renewed: told again if it ends again
        elif seat.reminded_at is None:
            acted += _remind(session, robot, seat, member, now)
        elif now >= seat.reminded_at + grace:
            acted += _remove(session, robot, seat, member, now)
    return acted


def _mark(session: Session, seat: QQSeat, field: str, now: datetime) -> bool:
    """Set a seat's ``reminded_at`` or ``removed_at`` if it is still as read (workers
    sweeping at once: one reminds, one removes)."""
    same: ColumnElement[bool] = QQSeat.reminded_at.is_(None)
    if seat.reminded_at is not None:
        same = QQSeat.reminded_at == seat.reminded_at
    taken = session.execute(
        update(QQSeat)
        .where(QQSeat.id == seat.id, QQSeat.removed_at.is_(None), same)
        .values({field: now})
        .execution_options(synchronize_session=False)
    )
    return bool(rowcount(taken))


def _remind(
    session: Session, robot: Robot, seat: QQSeat, member: Member | None, now: datetime
) -> bool:
    if not _mark(session, seat, "reminded_at", now):
        return False
    _decision(session, robot, seat.qq, member, "reminded", "plan_ended", now)
    publisher = PublisherSettings.load(session)
    days = publisher.qq_grace_days
    text = _("您的会员已到期，%(days)s 天后将移出会员群；续费后可继续留在群里。") % {"days": days}
    jobs.enqueue(
        session, ACTION_JOB, robot=robot.id, qq=seat.qq, action="send_private_msg", user_id=int(seat.qq),
        message=text, auto_escape=True,
    )  # fmt: skip
    if member is not None:
        notify(
            session,
            [member.id],
            announce.EXPIRY,
            text,
            link="/account#pay",
            dedupe=f"qq-remind:{robot.id}:{seat.qq}:{clock.day_of(now, publisher.timezone)}",
        )
    return True


def _remove(
    session: Session, robot: Robot, seat: QQSeat, member: Member | None, now: datetime
) -> bool:
    if not _mark(session, seat, "removed_at", now):
        return False
    _decision(session, robot, seat.qq, member, "removed", "grace_over", now)
    jobs.enqueue(
        session, ACTION_JOB, robot=robot.id, qq=seat.qq, action="set_group_kick",
        group_id=int(robot.target or 0), user_id=int(seat.qq), reject_add_request=False,
    )  # fmt: skip
    return True


def decisions(session: Session, robot_id: int, limit: int = 200) -> list[dict[str, Any]]:
    """A group's latest decisions, newest first, for the console."""
    rows = session.execute(
        select(QQDecision, Member.number)
        .outerjoin(Member, Member.id == QQDecision.member_id)
        .where(QQDecision.robot_id == robot_id)
        .order_by(QQDecision.id.desc())
        .limit(limit)
    ).all()
    return [
        {
            "at": row.created_at,
            "qq": row.qq,
            "member": number or "",
            "action": _(ACTIONS.get(row.action, row.action)),
            "action_code": row.action,
            "reason": _(REASONS.get(row.reason, row.reason)),
        }
        for row, number in rows
    ]


RETRY_FIRST_SECONDS = 30
RETRY_MOST_SECONDS = 600
RETRY_FOR = timedelta(hours=24)


@jobs.handler(ACTION_JOB)
def _run_action(runtime, payload: dict[str, Any]) -> None:
    """Tell the framework one decision. While it is away (a failure that may pass) the
    action is queued again with a growing delay, for a day; a refusal (a wrong access
    token), or a day without an answer, puts an "unsent" row in the group's list."""
    from wenxing.live import bot_sender, qq_send, webhook_guard  # (the sender imports bots)

    with runtime.db.reading() as session:
        robot = session.get(Robot, payload["robot"])
        if robot is None:
            return  # the robot was deleted: nobody to tell
        opened = bot_credentials.read_or_none(runtime.secret, robot)
    if opened is None:
        raise RuntimeError(f"robot {payload['robot']}: its credentials do not open; re-enter them")
    name = str(payload["action"])
    kept = ("robot", "qq", "action", "tries", "since")
    params = {k: v for k, v in payload.items() if k not in kept}
    policy = webhook_guard.Policy.for_runtime(runtime)
    with bot_sender.http_client(runtime.settings.webhook_ca_file) as client:
        status, outcome = qq_send.action(client, opened, name, params, policy)
    if outcome.ok:
        return
    since = datetime.fromisoformat(payload.get("since") or utcnow().isoformat())
    if not outcome.retry or utcnow() - since > RETRY_FOR:
        log.error("qq robot %s: %s not done, given up: %s", robot.id, name, outcome.error)
        reason = "framework_away" if outcome.retry else "framework_refused"
        if status is None and not outcome.retry:  # refused here: not an allowed address
            reason = "address_refused"
        with runtime.db.transaction() as session:
            qq = str(payload.get("qq") or "")
            session.add(QQDecision(robot_id=robot.id, qq=qq, action="unsent", reason=reason))
        return
    tries = int(payload.get("tries", 0)) + 1
    log.warning("qq robot %s: %s not done (%s); trying again", robot.id, name, outcome.error)
    delay = min(RETRY_FIRST_SECONDS * 2 ** (tries - 1), RETRY_MOST_SECONDS)
    with runtime.db.transaction() as session:
        again = jobs.enqueue(
            session, ACTION_JOB, **{**payload, "tries": tries, "since": since.isoformat()}
        )
        again.run_after = utcnow() + timedelta(seconds=delay)
