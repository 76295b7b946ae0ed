"""Who is asking: the session cookie (site) or a bearer token (scripts), and CSRF tokens.

Sessions are the members' signed-in devices (``members.accounts``); the cookie holds the
session token, never stored server-side in the clear. State-changing forms carry a CSRF
token. With a session cookie it is derived from the session (an HMAC of the session id
with a key derived from the server secret), so it is bound to the session and changes at
every sign-in; the ``wx_csrf`` cookie is set to it for the page's scripts and tests but is
not what is checked. Without one (the sign-in and sign-up forms) it must equal the
``wx_csrf`` cookie (double submit: a page on another site can make the browser send the
cookie but cannot read it to fill the form).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from fastapi import Request, Response
from sqlalchemy.orm import Session

from wenxing import serverkey
from wenxing.db.base import utcnow
from wenxing.members import accounts
from wenxing.members.accounts import DEFAULT_LIFETIMES, SessionLifetimes, member_for_token
from wenxing.members.models import Member

SESSION_COOKIE = "wx_session"
CSRF_COOKIE = "wx_csrf"


def request_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip() or None
    return request.cookies.get(SESSION_COOKIE) or None


def current_member(session: Session, request: Request) -> Member | None:
    """The signed-in member of this request, if any (a suspended member is still returned:
    they may sign in to read why; issuing refuses them)."""
    token = request_token(request)
    if not token:
        return None
    member = member_for_token(session, token, utcnow(), session_lifetimes(request))
    # The page around the answer shows this account's bell (app.py's ``page``).
    request.state.member_id = member.id if member is not None else None
    return member


def who(member: Member | None) -> dict | None:
    """The signed-in account as a page's header shows it (None: signed out)."""
    if member is None:
        return None
    return {"number": member.number, "name": member.name, "role": member.role}


def session_lifetimes(request: Request) -> SessionLifetimes:
    """The publisher's session lifetimes (the runtime's cached settings)."""
    runtime = getattr(request.app.state, "runtime", None)
    if runtime is None:
        return DEFAULT_LIFETIMES
    return SessionLifetimes.of(runtime.publisher_settings())


def client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


def secure(request: Request) -> bool:
    return request.url.scheme == "https"


def set_session_cookie(response: Response, request: Request, token: str) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=60 * 60 * 24 * 30,
        httponly=True,
        samesite="lax",
        secure=secure(request),
        path="/",
    )
    derived = session_csrf(request, token)
    if derived is not None:  # a new session: a new CSRF token (issue 17)
        response.set_cookie(
            CSRF_COOKIE, derived, httponly=True, samesite="lax", secure=secure(request), path="/"
        )


def session_csrf(request: Request, session_token: str | None) -> str | None:
    """The CSRF token of a session: HMAC-SHA256 of its id (``accounts.token_id``) under the
    server secret's ``csrf`` key; None without a session token or a server secret."""
    runtime = getattr(request.app.state, "runtime", None)
    secret = getattr(runtime, "secret", None)
    if not session_token or not secret:
        return None
    key = serverkey.derive_key(secret, "csrf")
    session_id = accounts.token_id(session_token)
    return hmac.new(key, session_id.encode(), hashlib.sha256).hexdigest()


def csrf_token(request: Request) -> str:
    """The request's CSRF token: the session's when the browser has a session cookie,
    otherwise the ``wx_csrf`` cookie's (a new one when the browser has none yet)."""
    derived = session_csrf(request, request.cookies.get(SESSION_COOKIE))
    if derived is not None:
        if request.cookies.get(CSRF_COOKIE) != derived:
            request.state.new_csrf = derived  # the cookie follows the session's token
        return derived
    token = request.cookies.get(CSRF_COOKIE)
    if not token:
        token = getattr(request.state, "new_csrf", None) or secrets.token_urlsafe(24)
        request.state.new_csrf = token
    return token


def remember_csrf(request: Request, response: Response) -> None:
    """Set the CSRF cookie when this request made a new token."""
    token = getattr(request.state, "new_csrf", None)
    if token:
        response.set_cookie(
            CSRF_COOKIE, token, httponly=True, samesite="lax", secure=secure(request), path="/"
        )


def csrf_ok(request: Request, submitted: str | None) -> bool:
    """Whether ``submitted`` is the request's CSRF token (the session's when there is a
    session cookie: a token taken under another session, or before signing in, fails)."""
    expected = session_csrf(request, request.cookies.get(SESSION_COOKIE))
    if expected is None:
        expected = request.cookies.get(CSRF_COOKIE)
    return bool(expected and submitted and hmac.compare_digest(expected, submitted))


def local_target(target: str) -> str:
    r"""Only same-site paths are followed after signing in, signing up or redeeming. Browsers
    read a backslash as a slash and drop tabs and newlines, so ``/\evil.example`` and
    ``/\t/evil.example`` are other sites as ``//evil.example`` is; none of them is followed."""
    cleaned = "".join(ch for ch in target if ch not in "\t\r\n").replace("\\", "/")
    if (
        not cleaned.startswith("/")
        or cleaned.startswith("//")
        or any(ord(ch) < 0x20 or ch == "\x7f" for ch in target)
    ):
        return "/"
    return target


def open_session(session: Session, publisher, request: Request, identifier: str, password: str):
    """Sign in from this request (device limit and sharing check as the publisher set them);
    ``accounts.SignInFailed`` on a wrong identifier or password. ``publisher`` is read before
    the caller's transaction: a request holds one database connection at a time."""
    return accounts.sign_in(
        session,
        identifier.strip(),
        password,
        now=utcnow(),
        ip=client_ip(request),
        user_agent=request.headers.get("user-agent"),
        max_sessions=publisher.max_sessions,
        sharing_networks=publisher.sharing_networks,
    )


def cross_site(request: Request) -> bool:
    """Whether the browser says this request comes from another site (a link, image or
    form on a page elsewhere): ``Sec-Fetch-Site`` is ``cross-site`` or ``same-site`` (a
    sibling subdomain is another site for copies), or ``Origin`` names another origin."""
    fetch_site = request.headers.get("sec-fetch-site", "").lower()
    if fetch_site in ("cross-site", "same-site"):
        return True
    origin = request.headers.get("origin")
    return origin is not None and not same_origin(request, origin)


def same_origin(request: Request, origin: str) -> bool:
    own = f"{request.url.scheme}://{request.url.netloc}"
    return origin.rstrip("/").lower() == own.lower()


def deliberate(request: Request, submitted: str | None) -> bool:
    """A state-changing form of this site: the CSRF token matches and, on a POST, the
    browser names this origin (a missing ``Origin`` passes only with a same-origin
    ``Sec-Fetch-Site`` or none at all, as non-browser clients send)."""
    if not csrf_ok(request, submitted) or cross_site(request):
        return False
    origin = request.headers.get("origin")
    if origin is None:
        return request.headers.get("sec-fetch-site", "same-origin").lower() in (
            "same-origin",
            "none",
        )
    return same_origin(request, origin)
