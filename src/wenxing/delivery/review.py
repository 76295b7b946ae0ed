"""The editor's review of visible wording variants, place by place, per material version."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from wenxing import audit
from wenxing import settings as publisher_settings
from wenxing.config import PublisherSettings
from wenxing.delivery.marking import (
    APPROVED,
    PENDING,
    VETOED,
    full_variant_list,
    group_state,
    protected,
    shipped_variants,
    variant_list,
)
from wenxing.delivery.models import WordingVeto
from wenxing.fingerprint import plan
from wenxing.fingerprint.variants import group_key
from wenxing.materials.keywords import words
from wenxing.materials.models import Material, MaterialVersion
from wenxing.materials.queries import current_version

_CONTEXT = 12


@dataclass(frozen=True)
class WordingPlace:
    offset: int
    form: str
    alternatives: tuple[str, ...]
    context: str
    vetoed: bool


def vetoes(session: Session, version_id: int) -> frozenset[int]:
    rows = session.scalars(select(WordingVeto.offset).where(WordingVeto.version_id == version_id))
    return frozenset(rows)


def wording_places(
    session: Session, version: MaterialVersion, publisher: PublisherSettings
) -> list[WordingPlace]:
    """Every place where a copy may use a variant (before the strength setting thins them)."""
    variants = variant_list(publisher)
    refused = vetoes(session, version.id)
    body = version.body
    places = []
    for offset, length, group, form in plan.wording_places(
        body, words(body), variants, protected(version)
    ):
        word = variants.groups[group][form]
        start, end = max(0, offset - _CONTEXT), offset + length + _CONTEXT
        context = body[start:offset] + "【" + word + "】" + body[offset + length : end]
        places.append(
            WordingPlace(
                offset, word, variants.groups[group], context.replace("\n", "⏎"), offset in refused
            )
        )
    return places


def set_vetoes(session: Session, version_id: int, offsets: list[int], vetoed: bool) -> None:
    if vetoed:
        existing = vetoes(session, version_id)
        session.add_all(
            WordingVeto(version_id=version_id, offset=o) for o in sorted(set(offsets) - existing)
        )
    else:
        session.execute(
            delete(WordingVeto).where(
                WordingVeto.version_id == version_id, WordingVeto.offset.in_(offsets)
            )
        )


# --- groups -----------------------------------------------------------------------------

__all__ = ["APPROVED", "PENDING", "VETOED", "decide_group", "group_reviews", "wording_places"]

GROUP_SAMPLE_MATERIALS = 50  # the most recently published materials a group is shown in
GROUP_CONTEXTS = 4


@dataclass(frozen=True)
class GroupReview:
    number: int  # the group's row in the publisher's list (0-based)
    key: str  # its forms joined with |
    forms: tuple[str, ...]
    state: str  # approved, vetoed or pending
    shipped: bool
    places: int  # places in the sampled materials (outside protected spans)
    materials: int  # sampled materials with at least one place
    contexts: tuple[tuple[int, str, str, str, str], ...]  # (material, title, before, form, after)


def group_reviews(session: Session, publisher: PublisherSettings) -> list[GroupReview]:
    """Every group of the publisher's list with the editors' decision and where it would
    vary the latest versions of the most recently published materials."""
    full = full_variant_list(publisher)
    shipped = set(shipped_variants().groups)
    counts = [0] * len(full.groups)
    seen_in: list[set[int]] = [set() for _ in full.groups]
    contexts: list[list[tuple[int, str, str, str, str]]] = [[] for _ in full.groups]
    for material_id, version in _recent_versions(session, GROUP_SAMPLE_MATERIALS):
        body = version.body
        for offset, length, group, form in plan.wording_places(
            body, words(body), full, protected(version)
        ):
            counts[group] += 1
            seen_in[group].add(material_id)
            if len(contexts[group]) < GROUP_CONTEXTS and material_id not in {
                c[0] for c in contexts[group]
            }:
                before = body[max(0, offset - _CONTEXT) : offset].replace("\n", "⏎")
                after = body[offset + length : offset + length + _CONTEXT].replace("\n", "⏎")
                word = full.groups[group][form]
                contexts[group].append((material_id, version.title, before, word, after))
    return [
        GroupReview(
            n,
            group_key(g),
            g,
            group_state(publisher, g),
            g in shipped,
            counts[n],
            len(seen_in[n]),
            tuple(contexts[n]),
        )
        for n, g in enumerate(full.groups)
    ]


def _recent_versions(session: Session, limit: int) -> list[tuple[int, MaterialVersion]]:
    materials = session.scalars(
        select(Material)
        .where(Material.published_at.is_not(None))
        .order_by(Material.published_at.desc(), Material.id.desc())
        .limit(limit)
    ).all()
    return [(m.id, current_version(session, m)) for m in materials]


def decide_group(
    session: Session, publisher: PublisherSettings, number: int, decision: str, *, actor: str
) -> GroupReview | None:
    """Approve or veto the publisher list's group ``number`` (or ``reset`` it to its
    default); None when there is no such group. Later copies follow the decision; copies
    already issued keep the plan they were made with."""
    full = full_variant_list(publisher)
    if not 0 <= number < len(full.groups) or decision not in (APPROVED, VETOED, "reset"):
        return None
    group = full.groups[number]
    reviews: dict[str, str] = dict(publisher.wording_group_reviews)
    if decision == "reset":
        reviews.pop(group_key(group), None)
    else:
        reviews[group_key(group)] = decision
    publisher_settings.change(  # recorded below as the review it is
        session, "wording_group_reviews", reviews, actor=actor, audited=False
    )
    audit.record(
        session, audit.WORDING_REVIEW, actor=actor, subject=group_key(group), decision=decision
    )
    return GroupReview(number, group_key(group), group, decision, False, 0, 0, ())
