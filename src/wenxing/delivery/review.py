"""The editor's review of visible wording variants, place by place, per material version."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from wenxing.config import PublisherSettings
from wenxing.delivery.marking import protected, variant_list
from wenxing.delivery.models import WordingVeto
from wenxing.fingerprint import plan
from wenxing.materials.keywords import words
from wenxing.materials.models import MaterialVersion

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
