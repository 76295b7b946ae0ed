"""Fingerprints: every copy of a material carries a code naming its recipient.

A pure library: no database, no files, no clock. Given a base text, a material key and a
member it returns marked text; given evidence, the base text, the plan and the recipients
it returns scores and accusations with a stated false-accusation bound.

    plan = build_plan(base, key, words, variants, Profile("light"))
    copy = mark(base, plan, key, "WX-10034")
    verdict = accuse(read_evidence(base, plan, leaked_text), key, recipients)

Every carrier is a *layer* (:mod:`wenxing.fingerprint.layers`); a reading of several
layers (``merge_readings``) is decoded layer by layer and the layers combined in
``accuse``.
"""

from wenxing.fingerprint import layers
from wenxing.fingerprint.accuse import DEFAULT_TOTAL_BOUND, MemberScore, Verdict, accuse
from wenxing.fingerprint.code import member_bits
from wenxing.fingerprint.copytag import (
    SignedCopy,
    make_copy_tag,
    read_copy_tag,
    read_signed_copy,
    sign_copy,
)
from wenxing.fingerprint.embed import mark, mark_spans, restore, slot_symbols, strip_marks
from wenxing.fingerprint.plan import Plan, PlanError, Profile, build_plan
from wenxing.fingerprint.read import Reading, merge_readings, read_evidence
from wenxing.fingerprint.variants import VariantList, VariantListError, parse_variant_list

__all__ = [
    "DEFAULT_TOTAL_BOUND",
    "MemberScore",
    "Plan",
    "PlanError",
    "Profile",
    "Reading",
    "SignedCopy",
    "VariantList",
    "VariantListError",
    "Verdict",
    "accuse",
    "build_plan",
    "layers",
    "make_copy_tag",
    "mark",
    "mark_spans",
    "member_bits",
    "merge_readings",
    "parse_variant_list",
    "read_copy_tag",
    "read_evidence",
    "read_signed_copy",
    "restore",
    "sign_copy",
    "slot_symbols",
    "strip_marks",
]
