"""Keys, variant lists and marking plans: what the fingerprint library needs from the database."""

from __future__ import annotations

import hashlib
import hmac
from functools import lru_cache
from importlib import resources

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from wenxing import fingerprint
from wenxing.config import PublisherSettings
from wenxing.delivery.models import MarkingPlan
from wenxing.materials.keywords import words
from wenxing.materials.models import MaterialVersion
from wenxing.serverkey import derive_key


@lru_cache(maxsize=256)
def _parsed_plan(plan_id: int, digest: str, text: str) -> fingerprint.Plan:
    return fingerprint.Plan.from_json(text)


def _parsed(plan_id: int, text: str) -> fingerprint.Plan:
    """Stored plans never change; parsing one (a few ms for a long material) happens once per
    process. The digest keeps two databases served by one process apart."""
    return _parsed_plan(plan_id, hashlib.sha256(text.encode()).hexdigest(), text)


def material_key(secret: bytes, version_id: int) -> bytes:
    """The fingerprint key of one material version (never stored; derived from the secret)."""
    root = derive_key(secret, "fingerprint")
    return hmac.new(root, f"material-version:{version_id}".encode(), hashlib.sha256).digest()


@lru_cache(maxsize=1)
def shipped_variants() -> fingerprint.VariantList:
    text = resources.files("wenxing.fingerprint").joinpath("data/variants.txt").read_text("utf-8")
    return fingerprint.parse_variant_list(text)


def variant_list(publisher: PublisherSettings) -> fingerprint.VariantList:
    """The publisher's edited list when there is one, else the list shipped with wenxing."""
    custom = publisher["wording_variants"]
    return fingerprint.parse_variant_list(custom) if custom.strip() else shipped_variants()


def profile_label(profile: fingerprint.Profile, variants: fingerprint.VariantList) -> str:
    vetoes = ",".join(map(str, sorted(profile.vetoes)))
    veto_digest = hashlib.sha256(vetoes.encode()).hexdigest()[:12]
    return f"v1:{profile.strength}:{variants.digest}:{veto_digest}"


def plan_for(
    session: Session,
    secret: bytes,
    version: MaterialVersion,
    publisher: PublisherSettings,
    vetoes: frozenset[int] = frozenset(),
) -> tuple[MarkingPlan, fingerprint.Plan]:
    """The stored plan for this version and the current profile, made on first use."""
    variants = variant_list(publisher)
    profile = fingerprint.Profile(publisher["marking_strength"], vetoes)
    label = profile_label(profile, variants)
    row = session.scalar(
        select(MarkingPlan).where(
            MarkingPlan.version_id == version.id, MarkingPlan.profile == label
        )
    )
    if row is not None:
        return row, _parsed(row.id, row.plan)
    plan = fingerprint.build_plan(
        version.body, material_key(secret, version.id), words(version.body), variants, profile
    )
    row = MarkingPlan(version_id=version.id, profile=label, plan=plan.to_json())
    try:
        with session.begin_nested():  # two workers may make the first copy at once
            session.add(row)
    except IntegrityError:
        row = session.scalars(
            select(MarkingPlan).where(
                MarkingPlan.version_id == version.id, MarkingPlan.profile == label
            )
        ).one()
        return row, _parsed(row.id, row.plan)
    return row, plan
