"""Tracing evidence: which materials it holds, which copies they came from, who received them.

A file may hold several materials (pasted together, or one copy inside a longer unrelated
document): every material that enough of the evidence aligns to is traced on its own,
against its own recipients, with the allowed total split between them.

Nobody is accused by what a leaker can type. A member number printed in the evidence (the
copy's recipient line, a watermark) is a lead: it is reported, and where the marks name
someone else, or name no one, the result says the line may be a forgery. Accusations come
from the marks' bound, or from an exact copy tag that the marks do not contradict.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from wenxing import fingerprint, installation, metrics
from wenxing.delivery.issue import copy_tag_key, version_layout
from wenxing.delivery.marking import material_key
from wenxing.delivery.models import IssuedCopy, IssuedPiece, MarkingPlan
from wenxing.materials import identify
from wenxing.materials.models import Material, MaterialGram, MaterialVersion
from wenxing.members.models import Member
from wenxing.reports import visual_lines
from wenxing.reports.evidence import Evidence

MIN_ALIGNED_CHARS = 30
# A copy tag accuses on its own only where the marks could not speak (fewer positions).
TAG_ALONE_POSITIONS = 24
_CANDIDATES = 8
# A member number as printed on a copy (WX-10001), as OCR also reads it: W and X apart or
# as VV and ×, any dash (一 from Chinese text among them) or none, O/o/D/Q for 0, l/I/i/|
# for 1, and digits spaced out one by one. The last character is a true digit and at least
# half are, so that words never turn into numbers; after NFKC, full-width forms are ASCII.
_DIGIT_LIKE = "0-9OoDQlIi|"
_VISIBLE_NUMBER = re.compile(
    rf"(?<![A-Za-z0-9])(?:W|VV) ?[X×]"
    r" *[-‐‑‒–—―−一~_ー]{0,2} *"
    rf"(?P<digits>[{_DIGIT_LIKE}]{{4,8}}[0-9]|(?:[{_DIGIT_LIKE}] ){{4,8}}[0-9])"
    r"(?![A-Za-z0-9])"
)
_AS_DIGIT = str.maketrans("OoDQlIi|", "00001111", " ")


@dataclass
class TraceResult:
    material: dict[str, Any] | None
    coverage: float = 0.0
    accused: list[dict[str, Any]] = field(default_factory=list)
    recipients_checked: int = 0
    positions: int = 0
    layers: dict[str, int] = field(default_factory=dict)
    total_bound: float = 1e-6
    copy_ids: list[int] = field(default_factory=list)  # ids of copy tags whose row agrees
    # Every copy tag read in the evidence and what the issuance log says of it
    # (``read_tags``): only a tag whose row agrees names its member.
    copy_tags: list[dict[str, Any]] = field(default_factory=list)
    visible_numbers: list[str] = field(default_factory=list)
    # For each visible number: whether the member exists and how many copies of the traced
    # version were issued to them (None when no version was identified).
    visible_recipients: list[dict[str, Any]] = field(default_factory=list)
    # Per visible number: does the fingerprint agree ("agrees"), name someone else
    # ("contradicted"), or say nothing ("unsupported")? Never a basis for accusation.
    leads: list[dict[str, Any]] = field(default_factory=list)
    forgery_suspected: bool = False
    layer_positions: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "material": self.material,
            "coverage": round(self.coverage, 4),
            "accused": self.accused,
            "recipients_checked": self.recipients_checked,
            "positions": self.positions,
            "layers": self.layers,
            "total_bound": self.total_bound,
            "copy_ids": self.copy_ids,
            "copy_tags": self.copy_tags,
            "visible_numbers": self.visible_numbers,
            "visible_recipients": self.visible_recipients,
            "leads": self.leads,
            "forgery_suspected": self.forgery_suspected,
            "layer_positions": self.layer_positions,
        }


def visible_numbers(text: str) -> list[str]:
    """The member numbers printed in the evidence, normalised (WX-10001), sorted."""
    found = set()
    for match in _VISIBLE_NUMBER.finditer(unicodedata.normalize("NFKC", text)):
        raw = match.group("digits").replace(" ", "")
        if 2 * sum(ch.isdigit() for ch in raw) >= len(raw):
            found.add("WX-" + raw.translate(_AS_DIGIT))
    return sorted(found)


def holds_version(version_id: int):
    """The ledger lines of copies holding text of the version: its own copies, and copies
    of several materials (drafts) with a piece of it."""
    pieces = select(IssuedPiece.copy_id).where(IssuedPiece.version_id == version_id)
    return or_(IssuedCopy.version_id == version_id, IssuedCopy.id.in_(pieces))


def visible_recipients(
    session: Session, numbers: list[str], version_id: int | None
) -> list[dict[str, Any]]:
    """For each member number: does the member exist, and how many copies of the version were
    issued to them (None when the version is unknown)."""
    if not numbers:
        return []
    members = dict(
        session.execute(select(Member.number, Member.id).where(Member.number.in_(numbers))).all()
    )
    issued: dict[int, int] = {}
    if version_id is not None and members:
        issued = dict(
            session.execute(
                select(IssuedCopy.member_id, func.count())
                .where(
                    holds_version(version_id),
                    IssuedCopy.member_id.in_(list(members.values())),
                )
                .group_by(IssuedCopy.member_id)
            ).all()
        )

    def copies(number: str) -> int | None:
        if version_id is None:
            return None
        return issued.get(members[number], 0) if number in members else 0

    return [{"member": n, "exists": n in members, "issued_copies": copies(n)} for n in numbers]


def identify_versions(session: Session, text: str) -> list[tuple[MaterialVersion, float, int]]:
    """Every version the evidence holds enough of: (version, share of it the evidence
    covers, evidence characters aligned to it and to no better match), best first.

    Candidates come from the gram index (each shared gram weighed by its rarity); each is
    aligned to the evidence, and the evidence characters a better match already took are
    not counted again, so two versions of one material, or a material quoting another,
    do not both count the same stretch."""
    grams = identify.winnow(text)
    if len(grams) == 0:
        return []
    # Weigh each shared gram by its rarity: a stock phrase found in a thousand materials says
    # little, a gram found in one says a lot.
    hits = (
        select(MaterialGram.version_id, MaterialGram.value)
        .where(MaterialGram.value.in_(grams.tolist()))
        .cte("hits")
    )
    spread = select(hits.c.value, func.count().label("n")).group_by(hits.c.value).cte("spread")
    weight = func.sum(1.0 / spread.c.n)
    rows = session.execute(
        select(hits.c.version_id, weight)
        .join(spread, spread.c.value == hits.c.value)
        .group_by(hits.c.version_id)
        .order_by(weight.desc(), hits.c.version_id)
        .limit(_CANDIDATES)
    ).all()
    versions = [session.get(MaterialVersion, version_id) for version_id, _hits in rows]
    return identify.claim(text, [(v, v.body) for v in versions if v is not None], MIN_ALIGNED_CHARS)


def identify_version(session: Session, text: str) -> tuple[MaterialVersion, float] | None:
    """The version the evidence holds most of and the share of it the evidence covers."""
    found = identify_versions(session, text)
    return (found[0][0], found[0][1]) if found else None


def leads(
    visible: list[dict[str, Any]], accused: list[str], positions: int
) -> tuple[list[dict[str, Any]], bool]:
    """How each visible member number stands against the marks, and whether the evidence
    may be a forgery: a number the marks contradict (they name someone else) or do not
    back (they name no one, or are absent). A genuine copy's marks name its recipient, so
    either way the number is a lead to check, never a basis for accusing anyone."""
    out = []
    for item in visible:
        if item["member"] in accused:
            standing = "agrees"
        elif accused:
            standing = "contradicted"
        else:
            standing = "unsupported"
        out.append({**item, "standing": standing})
    return out, any(lead["standing"] != "agrees" for lead in out)


def trace(session: Session, secret: bytes, evidence: Evidence, total_bound: float) -> TraceResult:
    """The trace of the material the evidence holds most of (see :func:`trace_all`)."""
    return trace_all(session, secret, evidence, total_bound)[0]


def trace_all(
    session: Session, secret: bytes, evidence: Evidence, total_bound: float
) -> list[TraceResult]:
    """One trace per material the evidence holds, best match first (one result with no
    material when there is none). The allowed total is split evenly between them, so the
    chance that the whole trace accuses anyone innocent stays within it."""
    found = identify_versions(session, evidence.text)
    visible = visible_numbers(evidence.text)
    if not found:
        metrics.TRACES.labels("no_material").inc()
        recipients = visible_recipients(session, visible, None)
        lead_list, suspect = leads(recipients, [], 0)
        return [
            TraceResult(
                None,
                total_bound=total_bound,
                visible_numbers=visible,
                visible_recipients=recipients,
                leads=lead_list,
                forgery_suspected=suspect,
            )
        ]
    share = total_bound / len(found)
    return [
        trace_version(session, secret, evidence, version, coverage, share, visible)
        for version, coverage, _chars in found
    ]


def trace_version(
    session: Session,
    secret: bytes,
    evidence: Evidence,
    version: MaterialVersion,
    coverage: float,
    total_bound: float,
    visible: list[str] | None = None,
) -> TraceResult:
    """Trace the evidence against one version's recipients, plan by plan."""
    visible = visible_numbers(evidence.text) if visible is None else visible
    material = session.get(Material, version.material_id)
    assert material is not None
    key = material_key(secret, version.id)
    tags = read_tags(session, secret, key, version.id, evidence.copy_tags)
    result = TraceResult(
        material={"id": material.id, "title": version.title, "version": version.number},
        coverage=coverage,
        total_bound=total_bound,
        visible_numbers=visible,
        visible_recipients=visible_recipients(session, visible, version.id),
        copy_tags=tags,
    )
    groups = _recipient_groups(session, version.id, tags)
    everyone = sum(len(members) for _plan, members in groups)
    result.recipients_checked = everyone
    layers: dict[str, int] = defaultdict(int)
    positions: dict[str, int] = defaultdict(int)
    fold = identify.t2s_fold()
    page_reading = _visual_reading(evidence, version, key)
    for plan_json, members in groups:
        plan = fingerprint.Plan.from_json(plan_json)
        reading = fingerprint.read_evidence(
            version.body, plan, evidence.text, fold, invisible=evidence.can_carry_invisible
        )
        if page_reading is not None:
            reading = fingerprint.merge_readings([reading, page_reading])
        # Split the allowed total over plan groups by size: the union bound still holds.
        verdict = fingerprint.accuse(reading, key, members, total_bound * len(members) / everyone)
        result.positions = max(result.positions, reading.positions)
        for name, count in reading.slots_read.items():
            layers[name] = max(layers[name], count)
        for name, count in verdict.layer_positions.items():
            positions[name] = max(positions[name], count)
        result.accused.extend(_accused_row(s, material.id) for s in verdict.accused)
    result.layers = dict(layers)
    result.layer_positions = dict(positions)
    result.accused.sort(key=lambda a: (a["log10_bound"], -a["score"]))
    _settle_legacy_tags(tags, {a["member"] for a in result.accused})
    result.copy_ids = sorted({t["copy_id"] for t in tags if t["issuance"] == "agrees"})
    metrics.TRACES.labels("accused" if result.accused or result.copy_ids else "none").inc()
    result.leads, result.forgery_suspected = leads(
        result.visible_recipients, [a["member"] for a in result.accused], result.positions
    )
    return result


def _recipient_groups(
    session: Session, version_id: int, tags: list[dict]
) -> list[tuple[str, list[str]]]:
    """The version's recipients grouped by marking plan. A tag whose issuance row is gone
    (lost with a restore) accuses no one; its member is scored by the marks like a
    recipient, which accuse only when the copy says so."""
    groups = _recipients_by_plan(session, version_id)
    for tag in tags:
        if tag["issuance"] == "missing" and tag.get("scored_by_marks"):
            for _plan, members in groups:
                if tag["member"] not in members:
                    members.append(tag["member"])
    return groups


def _accused_row(suspect: fingerprint.MemberScore, material_id: int) -> dict:
    """One accused member as the trace result lists them."""
    return {
        "member": suspect.member,
        "material": material_id,
        "score": round(suspect.score, 2),
        "threshold": round(suspect.threshold, 2),
        "bound": suspect.bound,
        "log10_bound": round(suspect.log10_bound, 1),
        "segment": suspect.best_segment,
        "basis": list(suspect.basis),
        "layers": suspect.layer_log10,
    }


def _visual_reading(
    evidence: Evidence, version: MaterialVersion, key: bytes
) -> fingerprint.Reading | None:
    """The visual layer read from the evidence's page images (None without images)."""
    if not evidence.pages:
        return None
    reading = visual_lines.read_pages(
        list(evidence.pages), version_layout(version), version.body, key
    )
    return reading if reading.positions else None


def read_tags(
    session: Session, secret: bytes, version_key: bytes, version_id: int, found: tuple[str, ...]
) -> list[dict[str, Any]]:
    """The copy tags in the evidence that this installation made, each with what the
    issuance log says of it (``issuance``):

    * ``agrees``: the row the tag names exists and was issued to the member, for the
      material version, that the tag names: the tag accuses that member;
    * ``missing``: no such row (a restore took it away, or the copy came from a database
      this one does not continue): the tag accuses no one; the member it names is scored by
      the marks if the account existed before this epoch began (``scored_by_marks``);
    * ``disagrees``: the row names another member or version: the tag accuses no one.

    ``WX1`` tags (issued before copy ids were random) name only a row number under the
    version's key; one agrees when that row is one of the first scheme's and is a copy of
    this version, and is set aside when the marks name other members and not its own."""
    tag_key = copy_tag_key(secret)
    legacy_max = installation.legacy_copy_id_max(session)
    ident = installation.identity(session)
    epoch_start = _parse_time(ident.started_at) if ident else None
    tags: dict[tuple[int, int], dict[str, Any]] = {}
    for text in found:
        signed = fingerprint.read_signed_copy(tag_key, text)
        if signed is not None:
            tags.setdefault((2, signed.copy_id), _signed_tag(session, signed, epoch_start))
            continue
        legacy_id = fingerprint.read_copy_tag(version_key, text)
        if legacy_id is not None:
            tags.setdefault((1, legacy_id), _legacy_tag(session, legacy_id, version_id, legacy_max))
    return [tags[k] for k in sorted(tags)]


def _signed_tag(session: Session, signed, epoch_start) -> dict[str, Any]:
    tag = {
        "scheme": 2,
        "copy_id": signed.copy_id,
        "member": signed.member,
        "version_id": signed.version_id,
    }
    row = session.execute(
        select(IssuedCopy.version_id, Member.number)
        .join(Member, Member.id == IssuedCopy.member_id)
        .where(IssuedCopy.id == signed.copy_id)
    ).first()
    if row is None:
        member = session.scalar(select(Member).where(Member.number == signed.member))
        existed = member is not None and (epoch_start is None or member.created_at < epoch_start)
        tag.update(issuance="missing", scored_by_marks=existed)
    elif (row.version_id, row.number) == (signed.version_id, signed.member):
        tag["issuance"] = "agrees"
    else:
        tag.update(issuance="disagrees", row_member=row.number, row_version_id=row.version_id)
    return tag


def _legacy_tag(session: Session, copy_id: int, version_id: int, legacy_max: int) -> dict:
    tag: dict[str, Any] = {"scheme": 1, "copy_id": copy_id, "version_id": version_id}
    row = session.execute(
        select(IssuedCopy.version_id, Member.number)
        .join(Member, Member.id == IssuedCopy.member_id)
        .where(IssuedCopy.id == copy_id)
    ).first()
    if row is None:
        tag.update(issuance="missing", member=None)
    elif row.version_id == version_id and copy_id <= legacy_max:
        tag.update(issuance="agrees", member=row.number)
    else:
        tag.update(issuance="disagrees", member=None, row_member=row.number)
    return tag


def _settle_legacy_tags(tags: list[dict[str, Any]], marked: set[str]) -> None:
    """A first-scheme tag names a row number a restore may have handed out again: when the
    marks accuse members and not the one its row names, the row is not trusted."""
    for tag in tags:
        if (
            tag["scheme"] == 1
            and tag["issuance"] == "agrees"
            and marked - {tag["member"]} == marked
        ):
            tag.update(issuance="contradicted", row_member=tag["member"], member=None)


def _parse_time(text: str):
    from datetime import datetime

    try:
        return datetime.fromisoformat(text) if text else None
    except ValueError:
        return None


def _recipients_by_plan(session: Session, version_id: int) -> list[tuple[str, list[str]]]:
    """(plan, member numbers) for every plan this version's copies were issued under: its
    own copies, and the copies of several materials (drafts) holding a piece of it."""
    rows = session.execute(
        select(IssuedCopy.plan_id, Member.number)
        .join(Member, Member.id == IssuedCopy.member_id)
        .where(IssuedCopy.version_id == version_id)
        .distinct()
    ).all()
    pieces = session.execute(
        select(IssuedPiece.plan_id, Member.number)
        .join(IssuedCopy, IssuedCopy.id == IssuedPiece.copy_id)
        .join(Member, Member.id == IssuedCopy.member_id)
        .where(IssuedPiece.version_id == version_id)
        .distinct()
    ).all()
    members: dict[int, set[str]] = defaultdict(set)
    for plan_id, number in [*rows, *pieces]:
        members[plan_id].add(number)
    plans = dict(
        session.execute(
            select(MarkingPlan.id, MarkingPlan.plan).where(MarkingPlan.id.in_(list(members)))
        ).all()
    )
    return [(plans[i], sorted(members[i])) for i in sorted(members)]
