"""Who is calling the JSON API, and its errors.

Two ways to say who is asking (``auth.request_token``): a bearer token in the
``Authorization`` header, made by ``POST /api/v1/session`` (scripts), or the site's session
cookie. A browser sends the cookie on its own, so a cookie-authenticated call that changes
something must also carry the page's CSRF token in the ``X-CSRF-Token`` header (double
submit, as the forms do with ``csrf_token``): ``caller`` checks it, once, for every route
that takes it. A bearer token cannot be sent by another site and needs none.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, Request, Security
from fastapi.security import APIKeyCookie, HTTPBearer

from wenxing.db.base import utcnow
from wenxing.i18n import _
from wenxing.members import accounts
from wenxing.runtime import Runtime
from wenxing.web import auth

CSRF_HEADER = "X-CSRF-Token"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

# Documented in OpenAPI; the token itself is read by ``auth.request_token``.
bearer_scheme = HTTPBearer(
    auto_error=False,
    scheme_name="token",
    description="a token from POST /api/v1/session: Authorization: Bearer <token>",
)
cookie_scheme = APIKeyCookie(
    name=auth.SESSION_COOKIE,
    auto_error=False,
    scheme_name="cookie",
    description="the site's session cookie; calls that change something also need the "
    "X-CSRF-Token header",
)


class ApiError(Exception):
    """A JSON error ``{"error": message}`` with a status code (the message is translated)."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None):
        self.status = status
        self.message = message
        self.headers = headers


@dataclass(frozen=True)
class Caller:
    member_id: int
    number: str
    token: str
    by_cookie: bool


def _identified(
    request: Request, x_csrf_token: str | None, *, stale_cookie_ok: bool
) -> Caller | None:
    """The signed-in account making this call (None when there is no token, or a stale
    cookie where ``stale_cookie_ok``); CSRF checked for cookie calls that change."""
    token = auth.request_token(request)
    by_cookie = not request.headers.get("authorization", "").lower().startswith("bearer ")
    found = None
    if token:
        runtime: Runtime = request.app.state.runtime
        with runtime.db.reading() as session:  # last seen is written after the read
            member = accounts.member_for_token(
                session, token, utcnow(), auth.session_lifetimes(request)
            )
            if member is not None:
                found = Caller(member.id, member.number, token, by_cookie)
    if found is None:
        if not token or (by_cookie and stale_cookie_ok):
            return None
        raise ApiError(401, _("请先登录"), {"WWW-Authenticate": "Bearer"})
    changes = request.method not in _SAFE_METHODS
    if found.by_cookie and changes and not auth.csrf_ok(request, x_csrf_token):
        raise ApiError(403, _("页面已过期，请刷新后重试"))
    return found


_CsrfHeader = Annotated[
    str | None,
    Header(
        alias=CSRF_HEADER,
        description="cookie calls that change something: the page's CSRF token",
    ),
]


def caller(
    request: Request,
    _token: Annotated[object, Security(bearer_scheme)] = None,
    _session: Annotated[object, Security(cookie_scheme)] = None,
    x_csrf_token: _CsrfHeader = None,
) -> Caller:
    """The signed-in account making this call; CSRF checked for cookie calls that change."""
    found = _identified(request, x_csrf_token, stale_cookie_ok=False)
    if found is None:
        raise ApiError(401, _("请先登录"), {"WWW-Authenticate": "Bearer"})
    return found


def optional_caller(
    request: Request,
    _token: Annotated[object, Security(bearer_scheme)] = None,
    _session: Annotated[object, Security(cookie_scheme)] = None,
    x_csrf_token: _CsrfHeader = None,
) -> Caller | None:
    """The signed-in account making this call, or None for anyone else (a cookie whose
    session has ended counts as no one; a bearer token that does not open is still 401)."""
    return _identified(request, x_csrf_token, stale_cookie_ok=True)


CallerDep = Annotated[Caller, Depends(caller)]
OptionalCallerDep = Annotated[Caller | None, Depends(optional_caller)]
