"""The JSON API for scripts and the site: sessions, the account, code redemption, the
published materials, search and copies.

Who is calling, and the CSRF check of cookie calls, are ``web/api_callers.py``; the bodies
and error responses documented in OpenAPI are ``web/api_schemas.py``. Errors are JSON,
``{"error": "…"}``, in the site's language (Chinese).

The API reuses the site's domain functions (``accounts.sign_in``, ``accounts.too_many_attempts``,
``redemption.redeem``, ``search.service``) and its messages; it adds no rule of its own. The
only route that returns material text is ``/api/v1/materials/{id}/copy``, and it goes
through the site's own delivery (``deliver`` of web/copies.py, the one path to ``issue_copy``).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, FastAPI, Query, Request, Security
from fastapi.responses import JSONResponse, Response

from wenxing.db.base import utcnow
from wenxing.delivery.issue import FORMATS
from wenxing.delivery.queries import copies_of
from wenxing.i18n import _
from wenxing.materials import catalog
from wenxing.members import accounts, codes, redemption
from wenxing.members.entitlement import daily_quota, role_now
from wenxing.members.models import Member
from wenxing.members.subscriptions import account_view, membership_end, plans
from wenxing.search.query import QueryError
from wenxing.search.service import RateLimited, search
from wenxing.web import auth
from wenxing.web.account import redeem_message, redeemed_message, release_results, role_name
from wenxing.web.api_callers import CSRF_HEADER, ApiError, CallerDep, bearer_scheme, cookie_scheme
from wenxing.web.api_schemas import (
    AccountOut,
    CategoriesOut,
    CategoryOut,
    Credentials,
    DeviceOut,
    DownloadOut,
    MaterialOut,
    MaterialsOut,
    MaterialSummaryOut,
    MembershipOut,
    PlanOut,
    RedeemIn,
    RedeemOut,
    SearchOut,
    SessionOut,
    copy_responses,
    errors,
)
from wenxing.web.copies import deliver, published
from wenxing.web.deps import RuntimeDep
from wenxing.web.search_page import take_search


def include(app: FastAPI) -> None:
    """Add these routes and their JSON errors to the app. A copy is issued, and an
    unpublished material refused, by the site's own ``web/copies.py``, as the pages do."""
    app.router.routes.extend(router.routes)

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> Response:
        return JSONResponse({"error": exc.message}, status_code=exc.status, headers=exc.headers)

    generate = app.openapi

    def openapi() -> dict:
        """FastAPI documents bad parameters as 422 with its own body; the app answers them
        with 400 and ``{"error": …}`` (``RequestValidationError`` in errors_pages.py)."""
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


router = APIRouter(prefix="/api/v1", tags=["api"])


def _throttled() -> ApiError:
    """Too many sign-in attempts from this address: 15 minutes to wait."""
    message = _("尝试次数过多，请 %(minutes)s 分钟后再试") % {"minutes": 15}
    return ApiError(429, message, {"Retry-After": str(15 * 60)})


@router.post(
    "/session",
    response_model=SessionOut,
    status_code=201,
    summary="Sign in: a token for scripts",
    responses=errors(400, 401, 429),
)
def open_session(request: Request, runtime: RuntimeDep, credentials: Credentials) -> SessionOut:
    """Signs in with a member number, phone number or username and returns a token for
    ``Authorization: Bearer``. The token is one of the account's signed-in devices (the
    oldest is signed out beyond ``max_sessions``). Failed attempts count towards the
    same limit per address as the site's sign-in form."""
    publisher = runtime.publisher_settings()
    signed = None
    with runtime.db.transaction() as session:
        if accounts.too_many_attempts(session, "sign-in", auth.client_ip(request), utcnow()):
            raise _throttled()
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
            raise _throttled() from None
    if signed is None:
        raise ApiError(401, _("会员号、手机号、用户名或密码不正确"))
    return out


@router.delete(
    "/session",
    status_code=204,
    summary="Sign out this token",
    responses=errors(401, 403),
)
def close_session(request: Request, runtime: RuntimeDep, who: CallerDep) -> Response:
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
    responses=errors(401),
)
def account(request: Request, runtime: RuntimeDep, who: CallerDep) -> AccountOut:
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
        plan = PlanOut.model_validate(in_force, from_attributes=True) if in_force else None
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
    responses=errors(400, 401, 403, 429),
)
def redeem(request: Request, runtime: RuntimeDep, body: RedeemIn, who: CallerDep) -> RedeemOut:
    """Redeems an activation code (卡密) for the calling account, exactly as the account
    page does: the same checks, the same limit on failures per account and address
    (``redeem_failures_per_hour``), the same messages. A cookie call needs the
    ``X-CSRF-Token`` header."""
    publisher = runtime.publisher_settings()
    try:
        done, plan = redemption.redeem_code(
            runtime.db,
            publisher,
            body.code,
            who.member_id,
            actor=who.number,
            ip=auth.client_ip(request),
        )
    except codes.CodeError as refused:
        status = 429 if isinstance(refused, redemption.TooManyAttempts) else 400
        raise ApiError(status, redeem_message(refused)) from None
    name = plan.name
    message = redeemed_message(name, done.ends_at, publisher.timezone)
    return RedeemOut(
        plan=done.plan, plan_name=name, ends_at=catalog.iso(done.ends_at), message=message
    )


@router.get("/categories", response_model=CategoriesOut, summary="Categories with their counts")
def categories(
    runtime: RuntimeDep,
) -> CategoriesOut:
    """Categories of published materials with how many each holds, largest first (the
    site's ``/categories`` page)."""
    with runtime.db.reading() as session:
        shelves = catalog.categories(session)
    return CategoriesOut(categories=[CategoryOut(name=n, count=c) for n, c in shelves])


@router.get("/materials", response_model=MaterialsOut, summary="Published materials")
def materials(
    runtime: RuntimeDep,
) -> MaterialsOut:
    """Published materials by id (the first 500): titles and facts, never text."""
    with runtime.db.reading() as session:
        rows = catalog.list_materials(session, published_only=True, limit=500)
    return MaterialsOut(materials=[MaterialSummaryOut(**row.as_dict()) for row in rows])


@router.get(
    "/materials/{material_id}",
    response_model=MaterialOut,
    summary="One material: outline and the public preview",
    responses=errors(404),
)
def material(runtime: RuntimeDep, material_id: int) -> MaterialOut:
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
    responses=copy_responses(),
    dependencies=[Security(bearer_scheme), Security(cookie_scheme)],
)
def copy(
    request: Request,
    runtime: RuntimeDep,
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
    by_cookie = not request.headers.get("authorization", "").lower().startswith("bearer ") and bool(
        request.cookies.get(auth.SESSION_COOKIE)
    )
    if by_cookie and (
        auth.cross_site(request) or not auth.csrf_ok(request, request.headers.get(CSRF_HEADER))
    ):
        # The browser sends the cookie with any page's request: a copy by cookie needs
        # this site's page (its CSRF token), so no other site can spend the downloads.
        raise ApiError(403, _("请从本站页面领取材料"))
    return deliver(runtime, request, material_id, format, api=True)


@router.get(
    "/search",
    response_model=SearchOut,
    summary="Search published materials",
    responses=errors(
        400,
        429,
        notes={
            400: "an empty, too long or malformed query, or bad parameters",
            429: "too many searches from this account or address; see Retry-After",
        },
    ),
    dependencies=[Security(bearer_scheme), Security(cookie_scheme)],
    openapi_extra={"security": [{}]},  # signing in is optional
)
def search_materials(
    request: Request,
    runtime: RuntimeDep,
    q: Annotated[str, Query(description="the query (docs/search.md), at most 200 characters")] = "",
    limit: Annotated[
        int, Query(description="materials to return: 1 to 50 (members and staff), 1 to 20")
    ] = 10,
) -> Response:
    """Titles, headings and snippets of 60 characters around the matches (``docs/search.md``),
    one hit per section. Anyone may search; a signed-in member or staff account may ask
    for up to 50 materials, others 20. Searches are counted as the search page's are
    (``search_page.take_search``: per minute and per day, per account and per address)."""
    with runtime.db.reading() as session:
        member = auth.current_member(session, request)
        number = member.number if member else None
        role = role_now(account_view(session, member) if member else None, utcnow())
        full = role in ("member", "editor", "admin")
    try:
        take_search(runtime, request, number)
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
