"""The JSON API's documented bodies (OpenAPI): what each route takes and returns, and its
error responses (``{"error": …}``).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from wenxing.delivery.issue import FORMATS
from wenxing.i18n import N_


class ErrorBody(BaseModel):
    error: str = Field(
        description="what went wrong, in the site's language", examples=[N_("请先登录")]
    )


def errors(*statuses: int, notes: dict[int, str] | None = None) -> dict:
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
    kind: str = Field(description="the material's kind")
    published: int = Field(description="when the material was published, Unix seconds")
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
    total: int = Field(description="materials found (at most 200 are ranked)")
    partial: bool = Field(description="always false here: every term matched")
    took_ms: float


def copy_responses() -> dict:
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
        **errors(
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
