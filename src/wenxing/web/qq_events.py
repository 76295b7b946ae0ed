"""``POST /qq/onebot/{robot_id}/events``: where a OneBot v11 framework reports its events
(its HTTP POST mode), for the QQ groups' door (``live/qq_door.py``).

The report must carry the robot's event-signing secret's signature (``X-Signature:
sha1=…``); without it the answer is 401 and nothing is done. The framework is answered 204,
or 200 with a quick operation (the reply to a member who sent a link code). No cookie, no
CSRF token: the signature is the report's credential.
"""

from __future__ import annotations

import logging
from functools import partial

from anyio import to_thread
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import IntegrityError

from wenxing.db.base import utcnow
from wenxing.live import qq_door
from wenxing.runtime import Runtime
from wenxing.web.deps import runtime_of

log = logging.getLogger("wenxing.qq")

MAX_BODY = 256 * 1024  # an event report is a few kilobytes
STATUS = {"robot": 404, "signature": 401, "body": 400}

router = APIRouter(include_in_schema=False)


@router.post("/qq/onebot/{robot_id}/events")
async def onebot_event(request: Request, robot_id: int) -> Response:
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > MAX_BODY:
        return Response(status_code=413)
    body = await request.body()
    if len(body) > MAX_BODY:
        return Response(status_code=413)
    signature = request.headers.get("x-signature")
    work = partial(_receive, runtime_of(request), robot_id, body, signature)
    return await to_thread.run_sync(work)


def _receive(runtime: Runtime, robot_id: int, body: bytes, signature: str | None) -> Response:
    try:
        with runtime.db.transaction() as session:
            robot, event = qq_door.read_event(session, robot_id, body, signature, runtime.secret)
            reply = qq_door.handle(session, robot, event, utcnow())
    except IntegrityError:  # the same join request reported twice at once: decided once
        return Response(status_code=204)
    except qq_door.EventRefused as refused:
        if refused.code == "signature":
            log.warning("qq robot %s: an event report with a wrong signature refused", robot_id)
            qq_door.note_bad_signature(runtime.db, robot_id)
        return Response(status_code=STATUS[refused.code])
    if reply is None:
        return Response(status_code=204)
    return JSONResponse(reply)
