"""The domain events' wiring: every event has a handler, and the lower domains stay lower."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import FrozenInstanceError, fields
from datetime import datetime

import pytest

from wenxing import events, wiring


def test_every_event_type_has_a_handler_after_install():
    wiring.install()
    assert events.EVENT_TYPES
    for event_type in events.EVENT_TYPES:
        assert events.handlers_of(event_type), f"{event_type.__name__} has no handler"


def test_events_are_frozen_values():
    event = events.SubscriptionGranted(1, "month", "月度会员", datetime(2026, 12, 1))
    with pytest.raises(FrozenInstanceError):
        event.member_id = 2  # type: ignore[misc]
    assert event == events.SubscriptionGranted(1, "month", "月度会员", datetime(2026, 12, 1))
    for event_type in events.EVENT_TYPES:
        assert event_type.__dataclass_params__.frozen  # type: ignore[attr-defined]
        assert fields(event_type)


def test_raising_before_install_fails_loudly(monkeypatch):
    monkeypatch.setattr(events, "_installed", False)
    with pytest.raises(events.NotInstalled):
        events.raise_(None, events.MaterialEdited(1))  # type: ignore[arg-type]


def test_only_events_are_raised_and_handled():
    wiring.install()
    with pytest.raises(ValueError):
        events.raise_(None, "material.published")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        events.handles(str)


# The domains below live, search and reports import none of them (not even lazily: the
# events reach them through the handlers that ``wiring.install`` brings in).
LOWER = (
    "wenxing.materials.catalog",
    "wenxing.materials.importer",
    "wenxing.members.redemption",
    "wenxing.members.subscriptions",
    "wenxing.delivery.issue",
    "wenxing.requests.board",
    "wenxing.requests.listing",
)


@pytest.mark.parametrize("module", LOWER)
def test_a_lower_domain_imports_nothing_above_it(module):
    check = (
        f"import {module}, sys; "
        "above = sorted(m for m in sys.modules if m.split('.')[:2] in "
        "(['wenxing', 'live'], ['wenxing', 'search'], ['wenxing', 'reports'], "
        "['wenxing', 'web'], ['wenxing', 'cli'], ['wenxing', 'runtime'])); "
        "assert not above, above"
    )
    result = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


# Loaded where they are used, not when a command or a server worker starts: every CLI call
# by an outside script and every worker start would pay for them (together about 0.7 s of
# CPU, a third of a start).
LOADED_WHEN_USED = {
    "alembic": "a migration",
    "psycopg": "a PostgreSQL connection",
    "jieba": "keywords of an import",
    "rjieba": "search segmentation",
    "docx": "a Word file read",
    "pypdf": "a PDF read",
    "fontTools": "a PDF copy",
}


def test_starting_a_command_or_the_app_loads_no_library_it_does_not_use():
    check = (
        "import sys, wenxing.cli, wenxing.web.app; "
        f"print(' '.join(sorted(m for m in {sorted(LOADED_WHEN_USED)!r} if m in sys.modules)))"
    )
    result = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    loaded = result.stdout.split()
    assert not loaded, [f"{m} (needed for {LOADED_WHEN_USED[m]})" for m in loaded]
