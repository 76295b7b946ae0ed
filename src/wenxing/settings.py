"""Changing a publisher setting: the one service the command line, the console's settings
page and the wording review call.

:func:`change` checks the value with the setting's own validator
(:class:`~wenxing.config.publisher.PublisherSettings`), then against the other settings and
the stored rows (a session's lifetime is never shorter than its idle period; a plan stays
while unredeemed codes grant it or while it is the reporters' reward; the reward is one of
the plans), stores it in the caller's transaction and records a ``setting:change`` audit
event when the value differs. A refused value raises its DomainError and stores nothing.

This process's kept copy of the settings (``Runtime.publisher_settings``) goes stale when
the transaction commits, and is counted stale only then: counted at the change, a thread
of the server reloading while the transaction was still open read the old value and kept
it as the new one (for ``SETTINGS_SECONDS``).
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

from wenxing import audit
from wenxing.config.publisher import PublisherSettings, note_stored
from wenxing.config.sms import keep_sms_secret, shown_setting
from wenxing.db.meta import SettingRow
from wenxing.errors import DomainError
from wenxing.members.subscriptions import unredeemed_codes_outside

_STORED = "wenxing_setting_stored"


@event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:
    # A savepoint's release fires this too: the change is not visible to others until the
    # outermost transaction commits.
    if not session.in_nested_transaction() and session.info.pop(_STORED, False):
        note_stored()


@event.listens_for(Session, "after_rollback")
def _rolled_back(session: Session) -> None:
    if not session.in_nested_transaction():
        session.info.pop(_STORED, None)


def change(
    session: Session,
    name: str,
    value: Any,
    *,
    actor: str,
    ip: str | None = None,
    audited: bool = True,
) -> bool:
    """Store setting ``name`` (checked); True when its value changed. ``audited=False``
    for a caller that records the change under its own event (the wording review)."""
    stored = PublisherSettings.load(session)
    if name == "sms":  # the masked secret sent back keeps the stored one
        value = keep_sms_secret(value, stored.sms)
    checked = PublisherSettings.check(name, value)  # UnknownSetting or its DomainError
    _check_against_the_rest(session, stored, name, checked)
    session.info[_STORED] = True  # counted when the transaction commits (_committed)
    before = stored.json_value(name)
    row = session.get(SettingRow, name)
    encoded = json.dumps(checked, ensure_ascii=False)
    if row is None:
        session.add(SettingRow(name=name, value=encoded))
    else:
        row.value = encoded
    after = json.loads(encoded)
    if audited and after != before:
        audit.record(
            session,
            audit.SETTING_CHANGE,
            actor=actor,
            subject=name,
            ip=ip,
            before=shown_setting(name, before),
            after=shown_setting(name, after),
        )
    return after != before


def _check_against_the_rest(
    session: Session, stored: PublisherSettings, name: str, value: Any
) -> None:
    if name in ("session_idle_days", "session_lifetime_days"):
        idle = value if name == "session_idle_days" else stored.session_idle_days
        lifetime = value if name == "session_lifetime_days" else stored.session_lifetime_days
        if lifetime < idle:
            raise DomainError("setting.session_lifetime_order", idle=idle, lifetime=lifetime)
    if name == "plans":
        codes = {plan["code"] for plan in value}
        waiting = unredeemed_codes_outside(session, codes)
        if waiting is not None:
            plan, count = waiting
            raise DomainError("setting.plan_has_codes", plan=plan, count=count)
        if stored.report_reward_plan not in codes:
            raise DomainError("setting.plan_is_reward", plan=stored.report_reward_plan)
    if name == "report_reward_plan":
        codes_in_order = [plan["code"] for plan in stored.plans]
        if value not in codes_in_order:
            raise DomainError("setting.reward_plan", plan=value, choices=codes_in_order)
