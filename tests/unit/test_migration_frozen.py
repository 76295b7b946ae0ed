"""Migration 0002 indexes the versions it finds with a frozen copy of identify's winnow: the
same grams as the application's code makes today, and no import of that code."""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import wenxing
from wenxing.fingerprint.align import FILLERS
from wenxing.fingerprint.variants import parse_variant_list
from wenxing.materials import identify

MIGRATION = (
    Path(wenxing.__file__).parent
    / "db"
    / "migrations"
    / "versions"
    / "0002_members_copies_grams.py"
)


def _migration():
    spec = importlib.util.spec_from_file_location("migration_0002", MIGRATION)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


FROZEN = _migration()
# Text made of what the frozen copy knows: its variant forms, traditional characters,
# fillers, punctuation, spaces and plain words (letters and digits no variant group uses,
# so that a group added to the application's list later does not change these texts).
FORMS = sorted({form for line in FROZEN._VARIANT_GROUPS for form in line.split("|")})
PIECES = [*FORMS, "這個", "們", "會議", "，", "。", " ", "\n", *sorted(FILLERS), "ab", "x7", "2026"]


def test_the_migration_imports_no_application_code():
    tree = ast.parse(MIGRATION.read_text("utf-8"))
    imported = [
        alias.name if isinstance(node, ast.Import) else node.module or ""
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in (node.names if isinstance(node, ast.Import) else [node])
    ]
    assert imported and not [name for name in imported if name.startswith("wenxing")]


def test_the_frozen_groups_are_still_the_applications():
    """Each frozen group is a group of the shipped list as it is now (a group changed or
    removed there would change what identify reduces a text to)."""
    shipped = {tuple(group) for group in parse_variant_list(_shipped_list()).groups}
    assert {tuple(line.split("|")) for line in FROZEN._VARIANT_GROUPS} <= shipped


def _shipped_list() -> str:
    from importlib import resources

    data = resources.files("wenxing.fingerprint").joinpath("data/variants.txt")
    return data.read_text("utf-8")


@settings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from(PIECES), min_size=0, max_size=120))
def test_the_frozen_winnow_makes_the_grams_identify_makes(pieces):
    text = "".join(pieces)
    assert np.array_equal(FROZEN._winnow(text), identify.winnow(text))
