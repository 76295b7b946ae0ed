"""The JSON API for scripts and the site: sessions, the account, code redemption, the
published materials, search and copies.

Two ways to say who is asking (``auth.request_token``): a bearer token in the
``Authorization`` header, made by ``POST /api/v1/session`` (scripts), or the site's session
cookie. A browser sends the cookie on its own, so a cookie-authenticated call that changes
something must also carry the page's CSRF token in the ``X-CSRF-Token`` header (double
submit, as the forms do with ``csrf_token``); a bearer token cannot be sent by another site
and needs none. Errors are JSON, ``{"error": "…"}``, in the site's language (Chinese).

The API reuses the site's domain functions (``accounts.sign_in``, ``accounts.too_many_attempts``,
``redemption.redeem``, ``search.service``) and its messages; it adds no rule of its own. The
only route that returns material text is ``/api/v1/materials/{id}/copy``, and it goes
through the site's own delivery (``deliver`` from app.py, the one path to ``issue_copy``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, FastAPI, Header, Query, Request, Security
from fastapi.responses import JSONResponse, Response
from fastapi.security import APIKeyCookie, HTTPBearer
from pydantic import BaseModel, Field

from wenxing.db.base import utcnow
from wenxing.delivery.issue import FORMATS, copies_of
from wenxing.i18n import N_, _
from wenxing.materials import catalog
from wenxing.members import accounts, codes, redemption
from wenxing.members.entitlement import daily_quota, role_now
from wenxing.members.models import Member
from wenxing.members.subscriptions import account_view, membership_end, plans
from wenxing.runtime import Runtime
from wenxing.search.query import QueryError
from wenxing.search.service import RateLimited, search
from wenxing.web import auth
from wenxing.web.account import redeem_message, redeemed_message, release_results, role_name

CSRF_HEADER = "X-CSRF-Token"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

# Documented in OpenAPI; the token itself is read by ``auth.request_token``.
_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="token",
    description="a token from POST /api/v1/session: Authorization: Bearer <token>",
)
_cookie = APIKeyCookie(
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


class ErrorBody(BaseModel):
    error: str = Field(
        description="what went wrong, in the site's language", examples=[N_("请先登录")]
    )


def _errors(*statuses: int, notes: dict[int, str] | None = None) -> dict:
    """OpenAPI error responses (``{"error": …}``); ``notes`` words a status for one route."""
    described = {
        400: "bad parameters, or the request was refused (the reason is in error)",
        401: "not signed in, or the token has ended",
        403: "a cookie call without the right X-CSRF-Token header",
        404: "no published material has that id",
        413: "a file, or the request as a whole, is over the size limit",
        429: "too many failures; try again later",
        **(notes or {}),
    }
    return {s: {"model": ErrorBody, "description": described[s]} for s in statuses}


class Credentials(BaseModel):
    identifier: str = Field(
        max_length=100,
        description="member number (WX-10001), phone number or username",
        examples=["WX-10001"],
    )
    password: str = Field(max_length=200)


class SessionOut(BaseModel):
    token: str = Field(description="for Authorization: Bearer; shown this once only")
    token_type: Literal["bearer"] = "bearer"
    number: str = Field(description="member number")
    name: str
    ended_devices: int = Field(
        description="older devices signed out to stay within max_sessions (a token is a device)"
    )


class PlanOut(BaseModel):
    code: str
    name: str
    months: int
    daily_quota: int = Field(description="copies a day")


class MembershipOut(BaseModel):
    state: Literal["active", "expired", "none"] = Field(
        description="active: a plan runs now; expired: plans ran out; none: never had one"
    )
    ends_at: str | None = Field(description="end of the membership (UTC, ISO 8601)")
    plan: PlanOut | None = Field(description="the plan in force")


class DeviceOut(BaseModel):
    id: str = Field(description="device id (SHA-256 of its token)")
    this: bool = Field(description="the device (token) making this request")
    signed_in_at: str
    last_seen_at: str
    ip: str | None
    user_agent: str | None


class DownloadOut(BaseModel):
    copy_id: int
    material_id: int
    title: str
    format: str
    at: str = Field(description="when the copy was made (UTC, ISO 8601)")


class AccountOut(BaseModel):
    number: str
    name: str
    role: Literal["free", "member", "editor", "admin", "suspended"]
    role_name: str = Field(description="the role's name in the site's language")
    suspended_reason: str | None
    membership: MembershipOut
    daily_quota: int | None = Field(description="copies a day (null: no limit, staff)")
    devices: list[DeviceOut]
    downloads: list[DownloadOut] = Field(description="the 50 most recent copies, newest first")


class RedeemIn(BaseModel):
    code: str = Field(
        max_length=100, description="activation code", examples=["mtvy-kkwj-j838-jt2k-f"]
    )


class RedeemOut(BaseModel):
    plan: str
    plan_name: str
    ends_at: str = Field(description="end of the membership (UTC, ISO 8601)")
    message: str = Field(description="a sentence for the member, in the site's language")


class CategoryOut(BaseModel):
    name: str
    count: int = Field(description="published materials")


class CategoriesOut(BaseModel):
    categories: list[CategoryOut] = Field(description="largest first")


class MaterialSummaryOut(BaseModel):
    id: int
    title: str
    kind: str = Field(description="kind of material, as the publisher named it")
    category: str | None
    status: str = Field(description="always published here")
    version: int = Field(description="the current version's number")
    chars: int = Field(description="characters in the current version")
    published_at: str | None = Field(description="UTC, ISO 8601")


class MaterialsOut(BaseModel):
    materials: list[MaterialSummaryOut] = Field(
        description="published materials by id, the first 500 (no paging)"
    )


class OutlineNodeOut(BaseModel):
    type: Literal["section", "item"] = Field(
        description="section: a heading; item: an inline enumeration (first…, second…)"
    )
    level: int = Field(description="depth from 1")
    marker: str = Field(description="the heading's numbering as written")
    heading: str = Field(description="the heading, its first 60 characters")
    children: list[OutlineNodeOut]


class MaterialOut(BaseModel):
    id: int
    title: str
    kind: str
    category: str | None
    tags: list[str]
    published_at: str | None = Field(description="UTC, ISO 8601")
    chars: int = Field(description="characters in the current version")
    keywords: list[str]
    preview: str = Field(description="the first 300 characters, the public preview")
    outline: list[OutlineNodeOut] = Field(description="headings only, never their text")


class SearchHitOut(BaseModel):
    material: int = Field(description="material id")
    title: str
    section: str = Field(description="the section's heading (empty: the opening)")
    snippet: str = Field(description="up to 60 characters around the match")
    highlights: list[tuple[int, int]] = Field(
        description="[start, end) character spans of snippet that matched"
    )
    score: float


class SearchOut(BaseModel):
    hits: list[SearchHitOut] = Field(
        description="one hit per matching section, materials in rank order"
    )
    more: bool = Field(description="more materials matched than were returned")
    took_ms: float


def _copy_responses() -> dict:
    """The copy route's 200: a file whose media type follows the format."""
    binary = {"schema": {"type": "string", "format": "binary"}}
    listed = ", ".join(f"{name}: {form.media_type}" for name, form in FORMATS.items())
    return {
        200: {
            "description": f"the copy as a file ({listed})",
            "content": {form.media_type.split(";")[0]: binary for form in FORMATS.values()},
            "headers": {
                "X-Wenxing-Copy": {
                    "description": "the copy's number in the issuance log",
                    "schema": {"type": "integer"},
                },
                "Content-Disposition": {
                    "description": "attachment; the file name carries the title and the "
                    "member number",
                    "schema": {"type": "string"},
                },
            },
        },
        **_errors(
            400,
            401,
            403,
            404,
            notes={
                400: "format is not one of " + ", ".join(FORMATS) + ", or bad parameters",
                403: "this account may not have the copy now (not a member, outside the "
                "plan's window, the daily quota used, suspended); the reason is in error",
            },
        ),
    }


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
    _token: Annotated[object, Security(_bearer)] = None,
    _session: Annotated[object, Security(_cookie)] = None,
    x_csrf_token: _CsrfHeader = None,
) -> Caller:
    """The signed-in account making this call; CSRF checked for cookie calls that change."""
    found = _identified(request, x_csrf_token, stale_cookie_ok=False)
    if found is None:
        raise ApiError(401, _("请先登录"), {"WWW-Authenticate": "Bearer"})
    return found


def optional_caller(
    request: Request,
    _token: Annotated[object, Security(_bearer)] = None,
    _session: Annotated[object, Security(_cookie)] = None,
    x_csrf_token: _CsrfHeader = None,
) -> Caller | None:
    """The signed-in account making this call, or None for anyone else (a cookie whose
    session has ended counts as no one; a bearer token that does not open is still 401)."""
    return _identified(request, x_csrf_token, stale_cookie_ok=True)


CallerDep = Annotated[Caller, Depends(caller)]
OptionalCallerDep = Annotated[Caller | None, Depends(optional_caller)]


def include(
    app: FastAPI,
    runtime: Runtime,
    *,
    deliver: Callable[..., Response],
    published: Callable[[Any, int], Any],
) -> None:
    """Add these routes and their JSON errors to the app. ``deliver`` and ``published`` are
    the site's own (app.py): the copy is issued, and an unpublished material refused,
    exactly as the pages do."""
    app.include_router(api_routes(runtime, deliver=deliver, published=published))

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> Response:
        return JSONResponse({"error": exc.message}, status_code=exc.status, headers=exc.headers)

    generate = app.openapi

    def openapi() -> dict:
        """FastAPI documents bad parameters as 422 with its own body; the app answers them
        with 400 and ``{"error": …}`` (``RequestValidationError`` in app.py)."""
        if app.openapi_schema is None:
            schema = generate()
            for operations in schema.get("paths", {}).values():
                for operation in operations.values():
                    responses = operation.get("responses", {})
                    if responses.pop("422", None) is not None and "400" not in responses:
                        responses["400"] = {
                            "description": "bad parameters",
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/ErrorBody"}
                                }
                            },
                        }
            for unused in ("HTTPValidationError", "ValidationError"):
                schema.get("components", {}).get("schemas", {}).pop(unused, None)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented way to customise it


def api_routes(
    runtime: Runtime,
    *,
    deliver: Callable[..., Response],
    published: Callable[[Any, int], Any],
) -> APIRouter:
    router = APIRouter(prefix="/api/v1", tags=["api"])

    @router.post(
        "/session",
        response_model=SessionOut,
        status_code=201,
        summary="Sign in: a token for scripts",
        responses=_errors(400, 401, 429),
    )
    def open_session(request: Request, credentials: Credentials) -> SessionOut:
        """Signs in with a member number, phone number or username and returns a token for
        ``Authorization: Bearer``. The token is one of the account's signed-in devices (the
        oldest is signed out beyond ``max_sessions``). Failed attempts count towards the
        same limit per address as the site's sign-in form."""
        publisher = runtime.publisher_settings()
        signed = None
        with runtime.db.transaction() as session:
            if accounts.too_many_attempts(session, "sign-in", auth.client_ip(request), utcnow()):
                raise ApiError(
                    429,
                    _("尝试次数过多，请 %(minutes)s 分钟后再试") % {"minutes": 15},
                    {"Retry-After": str(15 * 60)},
                )
            try:
                signed = auth.open_session(
                    session, publisher, request, credentials.identifier, credentials.password
                )
                out = SessionOut(
                    token=signed.token,
                    number=signed.member.number,
                    name=signed.member.name,
                    ended_devices=len(signed.ended),
                )
            except accounts.SignInFailed:
                pass  # the failure is recorded when this transaction commits
            except accounts.SignInThrottled:
                raise ApiError(
                    429,
                    _("尝试次数过多，请 %(minutes)s 分钟后再试") % {"minutes": 15},
                    {"Retry-After": str(15 * 60)},
                ) from None
        if signed is None:
            raise ApiError(401, _("会员号、手机号、用户名或密码不正确"))
        return out

    @router.delete(
        "/session",
        status_code=204,
        summary="Sign out this token",
        responses=_errors(401, 403),
    )
    def close_session(request: Request, who: CallerDep) -> Response:
        """Ends the session of the token (or cookie) making the request; other devices stay
        signed in. A cookie call needs the ``X-CSRF-Token`` header."""
        with runtime.db.transaction() as session:
            accounts.end_session(session, who.member_id, accounts.token_id(who.token), utcnow())
        response = Response(status_code=204)
        if who.by_cookie:
            response.delete_cookie(auth.SESSION_COOKIE, path="/")
        return response

    @router.get(
        "/account",
        response_model=AccountOut,
        summary="The account: membership, plan, devices, downloads",
        responses=_errors(401),
    )
    def account(request: Request, who: CallerDep) -> AccountOut:
        """What the account page shows: membership and its end, the plan in force, the
        signed-in devices and the 50 most recent downloads."""
        now = utcnow()
        known = plans(runtime.publisher_settings())
        this_device = accounts.token_id(who.token)
        with runtime.db.reading() as session:
            member = session.get(Member, who.member_id)
            assert member is not None  # the caller's session belongs to an existing account
            view = account_view(session, member)
            role = role_now(view, now)
            active = [p for p in view.periods if p.starts_at <= now < p.ends_at]
            in_force = max(
                (known[p.plan] for p in active if p.plan in known),
                key=lambda plan: plan.daily_quota,
                default=None,
            )
            state = "active" if active else ("expired" if view.periods else "none")
            ends = membership_end(session, member.id, now)
            devices = [
                DeviceOut(
                    id=d.id,
                    this=d.id == this_device,
                    signed_in_at=catalog.iso(d.created_at),
                    last_seen_at=catalog.iso(d.last_seen_at),
                    ip=d.ip,
                    user_agent=d.user_agent,
                )
                for d in accounts.devices(session, member.id)
            ]
            downloads = [
                DownloadOut(
                    copy_id=h["copy"],
                    material_id=h["material"],
                    title=h["title"],
                    format=h["format"],
                    at=catalog.iso(h["at"]),
                )
                for h in copies_of(session, member.id, limit=50)
            ]
            plan = (
                PlanOut(
                    code=in_force.code,
                    name=in_force.name,
                    months=in_force.months,
                    daily_quota=in_force.daily_quota,
                )
                if in_force
                else None
            )
            return AccountOut(
                number=member.number,
                name=member.name,
                role=role,
                role_name=role_name(role),
                suspended_reason=member.suspended_reason if role == "suspended" else None,
                membership=MembershipOut(state=state, ends_at=catalog.iso(ends), plan=plan),
                daily_quota=daily_quota(view, now, known),
                devices=devices,
                downloads=downloads,
            )

    @router.post(
        "/account/redeem",
        response_model=RedeemOut,
        summary="Redeem an activation code",
        responses=_errors(400, 401, 403, 429),
    )
    def redeem(request: Request, body: RedeemIn, who: CallerDep) -> RedeemOut:
        """Redeems an activation code (卡密) for the calling account, exactly as the account
        page does: the same checks, the same limit on failures per account and address
        (``redeem_failures_per_hour``), the same messages. A cookie call needs the
        ``X-CSRF-Token`` header."""
        publisher = runtime.publisher_settings()
        known = plans(publisher)
        try:
            done = redemption.redeem(
                runtime.db,
                body.code,
                who.member_id,
                known,
                now=utcnow(),
                actor=who.number,
                ip=auth.client_ip(request),
                failure_limit=publisher["redeem_failures_per_hour"],
            )
        except codes.CodeError as refused:
            status = 429 if isinstance(refused, redemption.TooManyAttempts) else 400
            raise ApiError(status, redeem_message(refused)) from None
        name = known[done.plan].name
        message = redeemed_message(name, done.ends_at, publisher["timezone"])
        return RedeemOut(
            plan=done.plan, plan_name=name, ends_at=catalog.iso(done.ends_at), message=message
        )

    @router.get("/categories", response_model=CategoriesOut, summary="Categories with their counts")
    def categories() -> CategoriesOut:
        """Categories of published materials with how many each holds, largest first (the
        site's ``/categories`` page)."""
        with runtime.db.reading() as session:
            shelves = catalog.categories(session)
        return CategoriesOut(categories=[CategoryOut(name=n, count=c) for n, c in shelves])

    @router.get("/materials", response_model=MaterialsOut, summary="Published materials")
    def materials() -> MaterialsOut:
        """Published materials by id (the first 500): titles and facts, never text."""
        with runtime.db.reading() as session:
            rows = catalog.list_materials(session, published_only=True, limit=500)
        return MaterialsOut(materials=[MaterialSummaryOut(**row.as_dict()) for row in rows])

    @router.get(
        "/materials/{material_id}",
        response_model=MaterialOut,
        summary="One material: outline and the public preview",
        responses=_errors(404),
    )
    def material(material_id: int) -> MaterialOut:
        """One published material's public view, as its page shows it to a visitor: facts,
        category and tags, keywords, the outline's headings and the first 300 characters."""
        with runtime.db.reading() as session:
            published(session, material_id)
            view = catalog.public_view(session, material_id)
        return MaterialOut.model_validate(view)

    @router.get(
        "/materials/{material_id}/copy",
        response_class=Response,
        summary="A fingerprinted copy for the signed-in account",
        responses=_copy_responses(),
        dependencies=[Security(_bearer), Security(_cookie)],
    )
    def copy(
        request: Request,
        material_id: int,
        format: Annotated[
            str,
            Query(
                description="the file's format",
                json_schema_extra={"enum": list(FORMATS)},
            ),
        ] = "txt",
    ) -> Response:
        """A copy of the material marked for the calling account and logged like a download
        (``docs/delivery.md``): the same entitlement and daily quota as the site's download
        buttons. Signed in by a bearer token, or by the site's cookie with the page's
        ``X-CSRF-Token`` header (never from another site)."""
        if format not in FORMATS:
            listed = _("、").join(FORMATS)  # the list separator is the language's own
            raise ApiError(400, _("格式只能是 %(formats)s 之一") % {"formats": listed})
        by_cookie = not request.headers.get("authorization", "").lower().startswith(
            "bearer "
        ) and bool(request.cookies.get(auth.SESSION_COOKIE))
        if by_cookie and (
            auth.cross_site(request) or not auth.csrf_ok(request, request.headers.get(CSRF_HEADER))
        ):
            # The browser sends the cookie with any page's request: a copy by cookie needs
            # this site's page (its CSRF token), so no other site can spend the downloads.
            raise ApiError(403, _("请从本站页面领取材料"))
        return deliver(request, material_id, format, api=True)

    @router.get(
        "/search",
        response_model=SearchOut,
        summary="Search published materials",
        responses=_errors(
            400,
            429,
            notes={
                400: "an empty, too long or malformed query, or bad parameters",
                429: "too many searches from this account or address; see Retry-After",
            },
        ),
        dependencies=[Security(_bearer), Security(_cookie)],
        openapi_extra={"security": [{}]},  # signing in is optional
    )
    def search_materials(
        request: Request,
        q: Annotated[
            str, Query(description="the query (docs/search.md), at most 200 characters")
        ] = "",
        limit: Annotated[
            int, Query(description="materials to return: 1 to 50 (members and staff), 1 to 20")
        ] = 10,
    ) -> Response:
        """Titles, headings and snippets of 60 characters around the matches (``docs/search.md``),
        one hit per section. Anyone may search; a signed-in member or staff account may ask
        for up to 50 materials, others 20. Searches per minute are limited per account, or
        per address when not signed in (``search_per_minute``)."""
        publisher = runtime.publisher_settings()
        with runtime.db.reading() as session:
            member = auth.current_member(session, request)
            subject = member.number if member else f"ip:{auth.client_ip(request)}"
            role = role_now(account_view(session, member) if member else None, utcnow())
            full = role in ("member", "editor", "admin")
        try:
            runtime.search_allowance().take(subject, publisher["search_per_minute"], utcnow())
        except RateLimited as limited:
            return JSONResponse(
                {"error": limited.user_message},
                status_code=429,
                headers={"Retry-After": str(limited.retry_after)},
            )
        try:
            results = search(runtime.search_index(), q, limit=max(1, min(limit, 50)), member=full)
        except QueryError as refused:
            return JSONResponse({"error": refused.user_message}, status_code=400)
        results = release_results(runtime, request, member, results, "api")
        return JSONResponse(results.as_dict())

    return router
