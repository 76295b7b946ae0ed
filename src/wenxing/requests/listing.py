"""Reading the requests board: one page of a tab (``board``), rows as the pages show them
(``rows_of``), where a request stands (``place_of``) and how many each state holds."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from wenxing.materials import catalog
from wenxing.members.models import Member
from wenxing.requests.board import STATES, get_request
from wenxing.requests.models import MaterialRequest, RequestSupport


@dataclass(frozen=True)
class RequestRow:
    id: int
    topic: str
    kind: str | None
    occasion: str | None
    deadline: date | None
    state: str
    supporters: int
    created_at: datetime
    material_id: int | None
    material_title: str | None  # None when the linked material is no longer published
    answer: str | None
    answered_at: datetime | None
    mine: bool
    supported: bool  # by the account looking
    requester: str | None = None  # member number, for the console only


def board(
    session: Session,
    tab: str,
    viewer_id: int | None,
    *,
    limit: int,
    offset: int = 0,
    with_requester: bool = False,
) -> list[RequestRow]:
    """One page of a tab of the board (``limit`` rows from ``offset``; ``counts`` tells how
    many the tab holds, ``TAB_STATES``): open requests most supported first (popular) or
    newest first, or the fulfilled or declined ones, most recently answered first. The id
    breaks ties, so pages neither repeat nor skip a request while the board stands still."""
    query = select(MaterialRequest).limit(limit).offset(offset)
    if tab == "popular":
        query = query.where(MaterialRequest.state == "open").order_by(
            MaterialRequest.supporters.desc(), MaterialRequest.id.desc()
        )
    elif tab == "newest":
        query = query.where(MaterialRequest.state == "open").order_by(MaterialRequest.id.desc())
    elif tab in ("fulfilled", "declined"):
        query = query.where(MaterialRequest.state == tab).order_by(
            MaterialRequest.answered_at.desc(), MaterialRequest.id.desc()
        )
    else:
        raise ValueError(f"unknown tab {tab!r}")
    return rows_of(session, list(session.scalars(query)), viewer_id, with_requester)


def rows_of(
    session: Session,
    requests: list[MaterialRequest],
    viewer_id: int | None,
    with_requester: bool = False,
) -> list[RequestRow]:
    ids = [r.id for r in requests]
    supported: set[int] = set()
    if viewer_id is not None and ids:
        supported = set(
            session.scalars(
                select(RequestSupport.request_id).where(
                    RequestSupport.member_id == viewer_id, RequestSupport.request_id.in_(ids)
                )
            )
        )
    titles = catalog.titles(session, [r.material_id for r in requests if r.material_id])
    numbers: dict[int, str] = {}
    if with_requester and requests:
        numbers = dict(
            session.execute(
                select(Member.id, Member.number).where(
                    Member.id.in_({r.member_id for r in requests})
                )
            ).all()
        )
    return [
        RequestRow(
            id=r.id,
            topic=r.topic,
            kind=r.kind,
            occasion=r.occasion,
            deadline=r.deadline,
            state=r.state,
            supporters=r.supporters,
            created_at=r.created_at,
            material_id=r.material_id,
            material_title=titles.get(r.material_id) if r.material_id else None,
            answer=r.answer,
            answered_at=r.answered_at,
            mine=viewer_id is not None and r.member_id == viewer_id,
            supported=r.id in supported,
            requester=numbers.get(r.member_id),
        )
        for r in requests
    ]


def place_of(session: Session, request_id: int) -> tuple[str, int]:
    """The tab that shows a request and how many requests come before it there (open
    requests are placed in the newest tab, which does not move as supporters come)."""
    row = get_request(session, request_id)
    if row.state == "open":
        tab = "newest"
        before = (MaterialRequest.state == "open") & (MaterialRequest.id > row.id)
    else:
        tab = row.state
        before = (MaterialRequest.state == row.state) & (
            (MaterialRequest.answered_at > row.answered_at)
            | ((MaterialRequest.answered_at == row.answered_at) & (MaterialRequest.id > row.id))
        )
    ahead = session.scalar(select(func.count()).select_from(MaterialRequest).where(before))
    return tab, ahead or 0


def counts(session: Session) -> dict[str, int]:
    """Requests per state."""
    found = dict(
        session.execute(
            select(MaterialRequest.state, func.count()).group_by(MaterialRequest.state)
        ).all()
    )
    return {state: found.get(state, 0) for state in STATES}
