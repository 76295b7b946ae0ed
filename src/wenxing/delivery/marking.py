"""Keys, variant lists and marking plans: what the fingerprint library needs from the database."""

from __future__ import annotations

import hashlib
import hmac
import threading
from collections import OrderedDict
from functools import lru_cache
from importlib import resources

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from wenxing import fingerprint
from wenxing.config import PublisherSettings
from wenxing.delivery.models import MarkingPlan
from wenxing.fingerprint import plan as plan_module
from wenxing.fingerprint.variants import group_key
from wenxing.materials.keywords import words
from wenxing.materials.models import MaterialVersion
from wenxing.materials.protect import protected_spans
from wenxing.serverkey import derive_key


@lru_cache(maxsize=256)
def _parsed_plan(plan_id: int, digest: str, text: str) -> fingerprint.Plan:
    return fingerprint.Plan.from_json(text)


def _parsed(plan_id: int, text: str) -> fingerprint.Plan:
    """Stored plans never change; parsing one (a few ms for a long material) happens once per
    process. The digest keeps two databases served by one process apart."""
    return _parsed_plan(plan_id, hashlib.sha256(text.encode()).hexdigest(), text)


_building = threading.Lock()
_build_locks: dict[tuple, threading.Lock] = {}
_built: OrderedDict[tuple, fingerprint.Plan] = OrderedDict()
_BUILT_KEPT = 64


def _build_once(key: tuple, build) -> fingerprint.Plan:
    """One builder per plan in this process: requests that arrive while a version's first
    copy is being made wait for that plan instead of each building their own (0.1 s and
    tens of MiB each). The result is kept until it is stored and read back."""
    with _building:
        lock = _build_locks.setdefault(key, threading.Lock())
    with lock:
        with _building:
            plan = _built.get(key)
        if plan is None:
            plan = build()
            with _building:
                _built[key] = plan
                while len(_built) > _BUILT_KEPT:
                    old, _ = _built.popitem(last=False)
                    _build_locks.pop(old, None)
    return plan


def material_key(secret: bytes, version_id: int) -> bytes:
    """The fingerprint key of one material version (never stored; derived from the secret)."""
    root = derive_key(secret, "fingerprint")
    return hmac.new(root, f"material-version:{version_id}".encode(), hashlib.sha256).digest()


@lru_cache(maxsize=1)
def shipped_variants() -> fingerprint.VariantList:
    text = resources.files("wenxing.fingerprint").joinpath("data/variants.txt").read_text("utf-8")
    return fingerprint.parse_variant_list(text)


def full_variant_list(publisher: PublisherSettings) -> fingerprint.VariantList:
    """The publisher's edited list when there is one, else the list shipped with wenxing,
    every group in it whatever the editors decided (for the review page)."""
    custom = publisher.wording_variants
    return fingerprint.parse_variant_list(custom) if custom.strip() else shipped_variants()


APPROVED, VETOED, PENDING = "approved", "vetoed", "pending"


def group_state(publisher: PublisherSettings, group: tuple[str, ...]) -> str:
    """approved, vetoed or pending: an editor's decision, else approved for a group that
    ships with wenxing (reviewed with it) and pending for one the publisher added."""
    decided = publisher.wording_group_reviews.get(group_key(group))
    if decided in (APPROVED, VETOED):
        return decided
    return APPROVED if group in set(shipped_variants().groups) else PENDING


def variant_list(publisher: PublisherSettings) -> fingerprint.VariantList:
    """The groups copies use: the publisher's list (or the shipped one), approved groups
    only."""
    full = full_variant_list(publisher)
    return full.subset([group_state(publisher, g) == APPROVED for g in full.groups])


def profile_label(
    profile: fingerprint.Profile,
    variants: fingerprint.VariantList,
    protected: list[tuple[int, int]] | None = None,
) -> str:
    """The stored plan's key beside its version. Plans of format 1 were stored as ``v1:…``
    and of format 2 as ``v2:…``; both stay readable for the copies made with them (each
    copy names its plan), and new copies get a ``v3:…`` plan (format 3, the same selector
    at a place in every copy)."""
    vetoes = ",".join(map(str, sorted(profile.vetoes)))
    veto_digest = hashlib.sha256(vetoes.encode()).hexdigest()[:12]
    if protected is None:
        return f"v1:{profile.strength}:{variants.digest}:{veto_digest}"
    spans = plan_module.protected_digest(protected)[:12]
    return f"v{plan_module.PLAN_FORMAT}:{profile.strength}:{variants.digest}:{veto_digest}:{spans}"


def protected(version: MaterialVersion) -> list[tuple[int, int]]:
    """Where the version's wording is never varied (headings, parallel leads, quotations,
    names, numbers), from its stored outline. Worked out once per version and process
    (it segments the body): every copy asks."""
    outline_digest = hashlib.sha256(version.outline.encode()).hexdigest()
    return list(_protected(version.body_hash, outline_digest, version.body, version.outline))


@lru_cache(maxsize=256)
def _protected(
    body_hash: str, outline_digest: str, body: str, outline: str
) -> tuple[tuple[int, int], ...]:
    return tuple(protected_spans(body, outline))


def plan_for(
    session: Session,
    secret: bytes,
    version: MaterialVersion,
    publisher: PublisherSettings,
    vetoes: frozenset[int] = frozenset(),
) -> tuple[MarkingPlan, fingerprint.Plan]:
    """The stored plan for this version and the current profile, made on first use."""
    variants = variant_list(publisher)
    profile = fingerprint.Profile(publisher.marking_strength, vetoes)
    spans = protected(version)
    label = profile_label(profile, variants, spans)
    row = session.scalar(
        select(MarkingPlan).where(
            MarkingPlan.version_id == version.id, MarkingPlan.profile == label
        )
    )
    if row is not None:
        return row, _parsed(row.id, row.plan)
    key = material_key(secret, version.id)
    plan = _build_once(
        # the body's digest too: one process may serve (or test) several databases
        (version.id, label, hashlib.sha256(key + version.body.encode()).hexdigest()),
        lambda: fingerprint.build_plan(
            version.body, key, words(version.body), variants, profile, spans
        ),
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


def stored_plan(session: Session, plan_id: int) -> fingerprint.Plan:
    """The stored plan a logged copy was made with (a copy handed out again is marked with
    exactly the plan it was first made with, whatever changed since)."""
    row = session.get(MarkingPlan, plan_id)
    if row is None:
        raise LookupError(plan_id)
    return _parsed(row.id, row.plan)
