"""The requests board's rules: who takes part, posting (limited per day), supporting, and
an editor's answer (fulfilled with a published material, or declined with a reason).
Each change raises a domain event (``RequestPosted``, ``RequestAnswered``) that the live
package turns into the staff's and members' events and notifications."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from wenxing import audit
from wenxing.db.engine import is_sqlite, rowcount
from wenxing.events import RequestAnswered, RequestPosted, raise_
from wenxing.limits import Subject, hold
from wenxing.materials import catalog
from wenxing.materials.models import KINDS
from wenxing.members.entitlement import role_now
from wenxing.members.models import Member
from wenxing.members.subscriptions import account_view
from wenxing.requests.models import MaterialRequest, RequestSupport

TOPIC_CHARS = 200
OCCASION_CHARS = 200
ANSWER_CHARS = 500
TABS = ("popular", "newest", "fulfilled", "declined")
TAB_STATES = {"popular": "open", "newest": "open", "fulfilled": "fulfilled", "declined": "declined"}
STATES = ("open", "fulfilled", "declined")
TAKING_PART = ("member", "editor", "admin")


class RequestRefused(Exception):
    """Why a request, a support or an answer was refused: ``reason`` is one of not_member,
    topic_missing, topic_long, kind, occasion_long, deadline_past, too_many, not_found,
    own, closed, material, answer_missing, answer_long; ``values`` fill its wording (too_many:
    ``per_day``)."""

    def __init__(self, reason: str, **values: int):
        super().__init__(reason)
        self.reason = reason
        self.values = values


def may_take_part(session: Session, member: Member | None, now: datetime) -> bool:
    if member is None or member.status != "active":
        return False
    return role_now(account_view(session, member), now) in TAKING_PART


def _participant(session: Session, member: Member | None, now: datetime) -> Member:
    if not may_take_part(session, member, now):
        raise RequestRefused("not_member")
    assert member is not None
    return member


def post_request(
    session: Session,
    member: Member | None,
    *,
    topic: str,
    kind: str = "",
    occasion: str = "",
    deadline: date | None = None,
    per_day: int,
    today: date,
    now: datetime,
) -> MaterialRequest:
    """Add an open request, the account's at most ``per_day`` in any 24 hours; ``today`` is
    the publisher's date, for the deadline."""
    member = _participant(session, member, now)
    topic, kind, occasion = topic.strip(), kind.strip(), occasion.strip()
    if not topic:
        raise RequestRefused("topic_missing")
    if len(topic) > TOPIC_CHARS:
        raise RequestRefused("topic_long")
    if kind and kind not in KINDS:
        raise RequestRefused("kind")
    if len(occasion) > OCCASION_CHARS:
        raise RequestRefused("occasion_long")
    if deadline is not None and deadline < today:
        raise RequestRefused("deadline_past")
    hold(session, Subject("requests", member.id))  # to the commit: the next post counts this one
    posted = session.execute(
        select(func.count())
        .select_from(MaterialRequest)
        .where(
            MaterialRequest.member_id == member.id,
            MaterialRequest.created_at > now - timedelta(days=1),
        )
    ).scalar_one()
    if posted >= per_day:
        raise RequestRefused("too_many", per_day=per_day)
    row = MaterialRequest(
        member_id=member.id,
        topic=topic,
        kind=kind or None,
        occasion=occasion or None,
        deadline=deadline,
        state="open",
        supporters=0,
        created_at=now,
    )
    session.add(row)
    session.flush()
    raise_(session, RequestPosted(row.id, row.topic, row.kind, row.deadline, member.number))
    return row


def _open_request(session: Session, request_id: int, *, lock: bool = False) -> MaterialRequest:
    query = select(MaterialRequest).where(MaterialRequest.id == request_id)
    row = session.scalar(query.with_for_update() if lock else query)
    if row is None:
        raise RequestRefused("not_found")
    if row.state != "open":
        raise RequestRefused("closed")
    return row


def support(session: Session, member: Member | None, request_id: int, now: datetime) -> int:
    """Add the account's support (+1) to an open request of someone else's; supporting
    twice changes nothing. Returns the request's supporters."""
    member = _participant(session, member, now)
    row = _open_request(session, request_id)
    if row.member_id == member.id:
        raise RequestRefused("own")
    insert = sqlite_insert if is_sqlite(session.get_bind()) else pg_insert
    added = session.execute(
        insert(RequestSupport)
        .values(request_id=row.id, member_id=member.id, created_at=now)
        .on_conflict_do_nothing(index_elements=["request_id", "member_id"])
        .returning(RequestSupport.id)
    ).scalar()
    if added is not None:
        _count_supporters(session, row.id)
    return _supporters(session, row.id)


def withdraw_support(
    session: Session, member: Member | None, request_id: int, now: datetime
) -> int:
    """Take the account's support back from an open request; returns its supporters."""
    member = _participant(session, member, now)
    row = _open_request(session, request_id)
    removed = rowcount(
        session.execute(
            delete(RequestSupport).where(
                RequestSupport.request_id == row.id, RequestSupport.member_id == member.id
            )
        )
    )
    if removed:
        _count_supporters(session, row.id)
    return _supporters(session, row.id)


def _count_supporters(session: Session, request_id: int) -> None:
    """Recount from the support rows (one statement: concurrent supports cannot lose one)."""
    counted = (
        select(func.count())
        .select_from(RequestSupport)
        .where(RequestSupport.request_id == request_id)
        .scalar_subquery()
    )
    session.execute(
        update(MaterialRequest)
        .where(MaterialRequest.id == request_id)
        .values(supporters=counted)
        .execution_options(synchronize_session=False)
    )


def _supporters(session: Session, request_id: int) -> int:
    return session.execute(
        select(MaterialRequest.supporters).where(MaterialRequest.id == request_id)
    ).scalar_one()


def _audience(session: Session, row: MaterialRequest) -> list[int]:
    """The requester and every supporter."""
    supporters = session.scalars(
        select(RequestSupport.member_id)
        .where(RequestSupport.request_id == row.id)
        .order_by(RequestSupport.id)
    )
    return [row.member_id, *supporters]


@dataclass(frozen=True)
class Wording:
    """What the notifications say, in the site's language (the web layer words them)."""

    title: str
    body: str | None
    link: str


def fulfil(
    session: Session,
    request_id: int,
    material_id: int,
    *,
    editor: str,
    answer: str = "",
    wording: Wording,
    now: datetime,
    ip: str | None = None,
) -> MaterialRequest:
    """Link a published material to an open request and tell its requester and supporters
    (``wording.link`` is the material's page)."""
    row = _open_request(session, request_id, lock=True)
    answer = answer.strip()
    if len(answer) > ANSWER_CHARS:
        raise RequestRefused("answer_long")
    try:
        material = catalog.get_material(session, material_id)
    except catalog.MaterialNotFound:
        raise RequestRefused("material") from None
    if material.status != "published":
        raise RequestRefused("material")
    row.material_id = material.id
    _close(
        session,
        row,
        "fulfilled",
        answer or None,
        (material.id, material.title),
        (audit.REQUEST_FULFIL, {"material": material.id, "supporters": row.supporters}),
        editor=editor,
        wording=wording,
        now=now,
        ip=ip,
    )
    return row


def decline(
    session: Session,
    request_id: int,
    *,
    editor: str,
    reason: str,
    wording: Wording,
    now: datetime,
    ip: str | None = None,
) -> MaterialRequest:
    """Close an open request with a reason, told to its requester and supporters."""
    row = _open_request(session, request_id, lock=True)
    reason = reason.strip()
    if not reason:
        raise RequestRefused("answer_missing")
    if len(reason) > ANSWER_CHARS:
        raise RequestRefused("answer_long")
    _close(
        session,
        row,
        "declined",
        reason,
        (None, None),
        (audit.REQUEST_DECLINE, {"reason": reason}),
        editor=editor,
        wording=wording,
        now=now,
        ip=ip,
    )
    return row


def _close(
    session: Session,
    row: MaterialRequest,
    state: str,
    answer: str | None,
    material: tuple[int | None, str | None],
    audited: tuple[str, dict],
    *,
    editor: str,
    wording: Wording,
    now: datetime,
    ip: str | None,
) -> None:
    """Answer a request: its new state, the event (the live package tells its requester and
    supporters: ``RequestAnswered``), and the audit event, all in the caller's transaction."""
    row.state, row.answer, row.answered_by, row.answered_at = state, answer, editor, now
    material_id, title = material
    raise_(
        session,
        RequestAnswered(
            request_id=row.id,
            topic=row.topic,
            state=state,
            audience=tuple(_audience(session, row)),
            material_id=material_id,
            material_title=title,
            title=wording.title,
            body=wording.body,
            link=wording.link,
        ),
    )
    audit_type, details = audited
    audit.record(session, audit_type, actor=editor, subject=f"request:{row.id}", ip=ip, **details)


def get_request(session: Session, request_id: int) -> MaterialRequest:
    row = session.get(MaterialRequest, request_id)
    if row is None:
        raise RequestRefused("not_found")
    return row
