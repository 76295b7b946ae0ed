"""The requests board's events told: a new request to the staff's open pages
(``request.created``), an answer to the requester and every supporter (an outbox event and
a notification each: ``request.fulfilled`` or ``request.declined``)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from wenxing.events import RequestAnswered, RequestPosted, handles
from wenxing.live import events
from wenxing.live.notify import notify


@handles(RequestPosted)
def _on_posted(session: Session, event: RequestPosted) -> None:
    events.emit(
        session,
        events.REQUEST_CREATED,
        "staff",
        request=event.request_id,
        topic=event.topic,
        kind=event.kind,
        deadline=event.deadline,
        member=event.member_number,
    )


@handles(RequestAnswered)
def _on_answered(session: Session, event: RequestAnswered) -> None:
    if event.state == "fulfilled":
        event_type = events.REQUEST_FULFILLED
        payload = {"material": event.material_id, "title": event.material_title}
    else:
        event_type, payload = events.REQUEST_DECLINED, {}
    raised = events.emit(
        session, event_type, "members", request=event.request_id, topic=event.topic, **payload
    )
    notify(
        session,
        event.audience,
        event_type,
        event.title,
        body=event.body,
        link=event.link,
        event_id=raised.id,
        dedupe=f"request-answered:{event.request_id}",
    )
