"""The editor's review of visible wording variants, place by place, per material version."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from wenxing.config import PublisherSettings
from wenxing.delivery.marking import variant_list
from wenxing.delivery.models import WordingVeto
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
    forms, groups = variants.form_index(), variants.groups
    refused = vetoes(session, version.id)
    body = version.body
    places = []
    offset = 0
    for word in words(body):
        found = forms.get(word)
        before, after = body[max(0, offset - 32) : offset], body[offset + len(word) :][:32]
        if found is not None and variants.allows(found[0], before, after):
            start, end = max(0, offset - _CONTEXT), offset + len(word) + _CONTEXT
            context = body[start:offset] + "【" + word + "】" + body[offset + len(word) : end]
            places.append(
                WordingPlace(
                    offset, word, groups[found[0]], context.replace("\n", "⏎"), offset in refused
                )
            )
        offset += len(word)
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
