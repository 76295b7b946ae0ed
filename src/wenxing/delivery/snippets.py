"""Search snippets are material text: released like copies, or not at all.

A search answer names materials and the matching sections' headings, which are public. The
snippet around the match is body text, and snippets chain (quote a snippet's tail and the
next search shows what follows it), so counting characters per answer protects nothing.
:func:`release` therefore takes every answer before it leaves:

* for a visitor, a free account, a suspended or inactive account, and a member outside a
  material's window, every snippet of that material is emptied: they learn which
  sections speak of their words, and nothing of the body;
* for an account that may read the material, the snippet is the account's own marked
  text (the same code its copies carry, cut from the marked body at the snippet's place),
  and the release is written in the issuance ledger as a copy of format ``snippet``
  (one row per material per answer), so ``wenxing trace`` finds the member among the
  material's recipients like any downloader; snippets a member may have are counted per
  day (``SNIPPETS_PER_DAY`` ledger rows, held like every limit), and past the count the
  member's answers carry headings only until the next day.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Protocol, TypeVar

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from wenxing import fingerprint, limits
from wenxing.config import PublisherSettings
from wenxing.delivery.marking import material_key, plan_for
from wenxing.delivery.models import SNIPPET, IssuedCopy
from wenxing.delivery.review import vetoes
from wenxing.materials.catalog import current_version
from wenxing.materials.models import Material, MaterialVersion
from wenxing.members.entitlement import AccountView, may_read, quota_resets_at
from wenxing.members.models import Member
from wenxing.members.subscriptions import account_view, plans


class Section(Protocol):
    """A search answer's section (``search.engine.Section``): search sits above delivery,
    so its answers are taken by their shape."""

    ordinal: int
    snippet: str
    highlights: list[tuple[int, int]]


class MaterialHit(Protocol):
    @property
    def material_id(self) -> int: ...

    @property
    def sections(self) -> Sequence[Section]: ...


class Unit(Protocol):
    @property
    def text(self) -> str: ...

    @property
    def start(self) -> int: ...


class Results(Protocol):
    @property
    def materials(self) -> Sequence[MaterialHit]: ...


UnitsOf = Callable[[str, str], Sequence[Unit]]  # search.units.units_of(body, outline)
R = TypeVar("R", bound=Results)

SNIPPETS_PER_DAY = 200  # materials' snippets a member may be given a day (ledger rows)
ELLIPSIS = "…"


def withhold(results: R) -> R:
    """Every snippet emptied: the answer for someone who may read none of the materials."""
    for hit in results.materials:
        _headings_only(hit)
    return results


def release(
    session: Session,
    secret: bytes,
    publisher: PublisherSettings,
    member: Member | None,
    results: R,
    *,
    units_of: UnitsOf,
    now: datetime,
    actor: str,
    ip: str | None = None,
) -> R:
    """``results`` as ``member`` may have them (see the module's docstring). Call it in a
    write transaction: a member's snippets are written in the ledger and counted there."""
    if member is None or member.status != "active":
        return withhold(results)
    view = account_view(session, member)
    known = plans(publisher)
    budget: int | None = None
    for hit in results.materials:
        material = session.get(Material, hit.material_id)
        if not _readable(material, view, now, known):
            _headings_only(hit)
            continue
        assert material is not None
        if not any(section.snippet for section in hit.sections):
            continue
        if budget is None:
            budget = _snippets_left(session, member, publisher, now)
        if budget <= 0:
            _headings_only(hit)
            continue
        if _mark(
            session, secret, publisher, member, material, hit, units_of, now=now, actor=actor, ip=ip
        ):
            budget -= 1
        else:
            _headings_only(hit)
    return results


def _readable(material: Material | None, view: AccountView, now: datetime, known) -> bool:
    if material is None or material.status != "published" or material.published_at is None:
        return False
    return may_read(view, material.published_at, now, known).allowed


def _headings_only(hit: MaterialHit) -> None:
    for section in hit.sections:
        section.snippet, section.highlights = "", []


def _snippets_left(
    session: Session, member: Member, publisher: PublisherSettings, now: datetime
) -> int:
    """Snippet releases left to the member today (publisher's calendar), holding the count."""
    limits.hold(session, limits.Subject("snippets", member.id))
    day_start = quota_resets_at(now, publisher.timezone) - timedelta(days=1)
    used = session.scalar(
        select(func.count())
        .select_from(IssuedCopy)
        .where(
            IssuedCopy.member_id == member.id,
            IssuedCopy.format == SNIPPET,
            IssuedCopy.created_at >= day_start,
        )
    )
    return SNIPPETS_PER_DAY - (used or 0)


def _mark(
    session: Session,
    secret: bytes,
    publisher: PublisherSettings,
    member: Member,
    material: Material,
    hit: MaterialHit,
    units_of: UnitsOf,
    *,
    now: datetime,
    actor: str,
    ip: str | None,
) -> bool:
    """Replace the hit's snippets by the member's marked text and log the release; False
    when a snippet cannot be placed in the current version (the index is behind it)."""
    version = current_version(session, material)
    units = units_of(version.body, version.outline)
    places = []
    for section in hit.sections:
        if not section.snippet:
            continue
        place = _place(version, units, section)
        if place is None:
            return False
        places.append((section, place))
    if not places:
        return False
    plan_row, plan = plan_for(session, secret, version, publisher, vetoes(session, version.id))
    key = material_key(secret, version.id)
    for section, (start, end, highlights) in places:
        _mark_section(version.body, plan, key, member.number, section, start, end, highlights)
    session.add(
        IssuedCopy(
            member_id=member.id,
            material_id=material.id,
            version_id=version.id,
            plan_id=plan_row.id,
            format=SNIPPET,
            actor=actor,
            ip=ip,
            created_at=now,
            delivered_at=now,
        )
    )
    session.flush()
    return True


def _place(
    version: MaterialVersion, units: Sequence[Unit], section: Section
) -> tuple[int, int, list[tuple[int, int]]] | None:
    """Where the section's snippet lies in the version's body: (start, end, highlights as
    body offsets), or None."""
    if not 0 <= section.ordinal < len(units):
        return None
    unit = units[section.ordinal]
    unit_start = version.body.find(unit.text, unit.start)
    if unit_start < 0:
        return None
    prefix = len(ELLIPSIS) if section.snippet.startswith(ELLIPSIS) else 0
    suffix = len(ELLIPSIS) if section.snippet.endswith(ELLIPSIS) and len(section.snippet) > 1 else 0
    piece = section.snippet[prefix : len(section.snippet) - suffix]
    at = unit.text.replace("\n", " ").find(piece)
    if at < 0 or not piece:
        return None
    start = unit_start + at
    highlights = [
        (start + s - prefix, start + e - prefix)
        for s, e in section.highlights
        if s >= prefix and e - prefix <= len(piece)
    ]
    return start, start + len(piece), highlights


def _mark_section(
    body: str,
    plan: fingerprint.Plan,
    key: bytes,
    number: str,
    section: Section,
    start: int,
    end: int,
    highlights: list[tuple[int, int]],
) -> None:
    """The section's snippet as the member's marked text, its highlights moved with it."""
    cuts = sorted({start, end, *(p for span in highlights for p in span)})
    pieces = fingerprint.mark_spans(body, plan, key, number, cuts)
    # pieces[i] is the marked text between cuts[i-1] and cuts[i].
    text, offsets = "", {}
    for index, cut in enumerate(cuts[1:], start=1):
        offsets[cuts[index - 1]] = len(text)
        text += pieces[index]
        offsets[cut] = len(text)
    text = text.replace("\n", " ")
    prefix = ELLIPSIS if start > 0 else ""
    suffix = ELLIPSIS if end < len(body) else ""
    shift = len(prefix)
    section.snippet = prefix + text + suffix
    section.highlights = [(offsets[s] + shift, offsets[e] + shift) for s, e in highlights]
