"""Deciding a traced report: confirm (sanction the leaker, reward the reporter) or reject.

One decision is one transaction: the report's state, the sanction, the ended sessions,
the leak record, the reward and every audit event are stored together or not at all.

Rewards need a sanction: a reward is granted only when the decision suspends the
leaker's account (a warn-only decision thanks the reporter, ``reward = "thanks"``, so a
leaker and an accomplice cannot trade a warning for a year of membership). Then one per
leak (an accused account and a material), to the first report that got it suspended;
the unique key on ``report_leaks`` holds that even when two editors confirm two reports
of the same leak at the same moment. At most ``report_rewards_per_year`` rewards go to
one reporter (the same account, or the same contact) in any 365 days (then
``reward = "capped"``). No reward when the reporter looks like the accused (the same
account or phone, a shared device or network): the report is still confirmed, the
reward withheld with the reason, and a flag raised for the publisher. Every reason a
reward was not granted is kept in ``reward_note`` for the case page.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from wenxing import audit
from wenxing.config import PublisherSettings
from wenxing.events import ReportDecided, raise_
from wenxing.members import roster
from wenxing.members.models import Member
from wenxing.members.redemption import format_code, gift_code
from wenxing.members.subscriptions import UnknownPlan, grant, plan_named
from wenxing.reports.cases import abuse_flag
from wenxing.reports.intake import format_receipt
from wenxing.reports.models import Accusation, Leak, Report

SANCTIONS = ("suspend", "warn")
WARN_ONLY = "warned, not suspended: rewards are granted only for a suspension"
CAPPED = "the reporter has had {cap} rewards in the last 365 days, the yearly limit"


class DecisionError(ValueError):
    """The decision cannot be made; ``code`` names why (the console words it)."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Outcome:
    report: Report
    sanctioned: list[str]  # member numbers
    reward: str  # membership | gift_code | none | withheld | thanks | capped
    reward_code: str | None
    reward_ends_at: datetime | None


def _locked_report(session: Session, report_id: int) -> Report:
    report = session.scalar(select(Report).where(Report.id == report_id).with_for_update())
    if report is None:
        raise DecisionError("not_found", f"no report {report_id}")
    if report.state in ("confirmed", "rejected"):
        raise DecisionError("decided", f"report {report_id} is already {report.state}")
    if report.state != "traced":
        raise DecisionError("not_traced", f"report {report_id} is still being traced")
    return report


def confirm(
    session: Session,
    report_id: int,
    *,
    editor: str,
    reason: str,
    sanction: str,
    publisher: PublisherSettings,
    now: datetime,
    ip: str | None = None,
    members: list[int] | None = None,
) -> Outcome:
    """Confirm the report against the accused members (all of them, or the ``members``
    ids chosen among them)."""
    if sanction not in SANCTIONS:
        raise DecisionError("sanction", f"sanction must be one of {', '.join(SANCTIONS)}")
    reason = reason.strip()
    if not reason:
        raise DecisionError("reason", "a decision needs a reason")
    report = _locked_report(session, report_id)
    receipt = format_receipt(report.receipt)
    record = _recorder(session, editor, receipt, now, ip)
    accusations = _chosen_accusations(session, report, members)
    decision = _Decision(editor, reason, sanction, receipt, now, ip, record)
    tally = _sanction_each(session, report, accusations, decision)
    report.state, report.decided_at, report.decided_by = "confirmed", now, editor
    report.decision_reason, report.sanction = reason, sanction
    reward, code, ends_at = _reward(session, report, publisher, tally, decision)
    report.reward_note = "\n".join(tally.notes) or None
    record(audit.REPORT_CONFIRM, sanction=sanction, accused=tally.sanctioned, reason=reason)
    session.flush()
    raise_(
        session,
        ReportDecided(
            report_id=report.id,
            receipt=receipt,
            state="confirmed",
            reporter_id=report.reporter_id,
            sanctioned=tuple(
                (m, sanction) for m in dict.fromkeys(a.member_id for a in accusations)
            ),
        ),
    )
    return Outcome(report, tally.sanctioned, reward, code, ends_at)


@dataclass(frozen=True)
class _Decision:
    """Who decides, why, with what sanction, when and from where; ``record`` audits."""

    editor: str
    reason: str
    sanction: str
    receipt: str
    now: datetime
    ip: str | None
    record: Callable[..., audit.AuditEvent]


@dataclass
class _Tally:
    """What sanctioning the accused found: who was sanctioned, how many leaks earn a
    reward, how many rewards were withheld, and why any reward was not granted."""

    sanctioned: list[str] = field(default_factory=list)
    rewardable: int = 0
    withheld: int = 0
    notes: list[str] = field(default_factory=list)


def _chosen_accusations(
    session: Session, report: Report, members: list[int] | None
) -> list[Accusation]:
    accusations = list(
        session.scalars(
            select(Accusation).where(Accusation.report_id == report.id).order_by(Accusation.id)
        )
    )
    if members is not None:
        accusations = [a for a in accusations if a.member_id in set(members)]
    if not accusations:
        raise DecisionError("nobody", "the trace names nobody to confirm the report against")
    return accusations


def _sanction_each(
    session: Session, report: Report, accusations: list[Accusation], decision: _Decision
) -> _Tally:
    """Confirm each accusation, sanction its member once, and tally the rewards."""
    tally = _Tally()
    for accusation in accusations:
        accusation.confirmed = True
        member = session.get(Member, accusation.member_id)
        assert member is not None  # an accusation names an existing member (a foreign key)
        # Abuse is checked again now: the reporter may have signed in since the trace.
        accusation.flag, accusation.flag_detail = abuse_flag(session, report, accusation)
        if member.number not in tally.sanctioned:
            _sanction(
                session,
                member,
                decision.sanction,
                decision.reason,
                decision.receipt,
                decision.editor,
                decision.now,
                decision.ip,
            )
            tally.sanctioned.append(member.number)
        if accusation.flag:
            decision.record(
                audit.REPORT_FLAG,
                accused=member.number,
                flag=accusation.flag,
                detail=accusation.flag_detail,
            )
        if decision.sanction != "suspend" or member.status != "suspended":
            tally.notes.append(f"{member.number}: {WARN_ONLY}")
        elif accusation.flag:
            tally.withheld += 1
            tally.notes.append(f"{member.number}: {accusation.flag_detail}")
            _record_leak(session, accusation, report)  # the leak is still on record
        elif _record_leak(session, accusation, report):
            tally.rewardable += 1
        else:
            tally.notes.append(f"{member.number}: this leak was confirmed and rewarded before")
    return tally


def _reward(
    session: Session,
    report: Report,
    publisher: PublisherSettings,
    tally: _Tally,
    decision: _Decision,
) -> tuple[str, str | None, datetime | None]:
    """Grant the reporter's reward (a membership, or a gift code to a report without an
    account), or say why none; the reward, the gift code and the membership's end."""
    code = ends_at = None
    cap = int(publisher.report_rewards_per_year)
    capped = bool(tally.rewardable) and rewards_this_year(session, report, decision.now) >= cap
    if capped:
        tally.notes.append(CAPPED.format(cap=cap))
    if not tally.rewardable or capped:
        if capped:
            reward = "capped"
        elif tally.withheld:
            reward = "withheld"
        elif decision.sanction != "suspend":
            reward = "thanks"
        else:
            reward = "none"
        report.reward = reward
        decision.record(audit.REPORT_REWARD_WITHHELD, why=tally.notes)
        return reward, code, ends_at
    plan = _reward_plan(publisher)
    why = f"report {decision.receipt} confirmed"
    if report.reporter_id is not None:
        period = grant(
            session,
            report.reporter_id,
            plan,
            actor=decision.editor,
            reason=why,
            now=decision.now,
            ip=decision.ip,
        )
        reward, ends_at = "membership", period.ends_at
    else:
        code = format_code(gift_code(session, plan, actor=decision.editor, reason=why))
        reward = "gift_code"
    report.reward, report.reward_code, report.reward_ends_at = reward, code, ends_at
    decision.record(audit.REPORT_REWARD, reward=reward, plan=plan.code, ends_at=ends_at)
    return reward, code, ends_at


def rewards_this_year(session: Session, report: Report, now: datetime) -> int:
    """Rewards granted in the 365 days before ``now`` to the report's reporter: reports
    by the same account, or left with the same contact."""
    who = []
    if report.reporter_id is not None:
        who.append(Report.reporter_id == report.reporter_id)
    if report.contact:
        who.append(Report.contact == report.contact)
    if not who:
        return 0
    return int(
        session.scalar(
            select(func.count())
            .select_from(Report)
            .where(
                or_(*who),
                Report.id != report.id,
                Report.reward.in_(("membership", "gift_code")),
                Report.decided_at > now - timedelta(days=365),
            )
        )
        or 0
    )


def reject(
    session: Session,
    report_id: int,
    *,
    editor: str,
    reason: str,
    now: datetime,
    ip: str | None = None,
) -> Report:
    """Reject the report; the reporter reads the reason on the receipt page."""
    reason = reason.strip()
    if not reason:
        raise DecisionError("reason", "a rejection needs a reason the reporter can read")
    report = _locked_report(session, report_id)
    receipt = format_receipt(report.receipt)
    report.state, report.decided_at, report.decided_by = "rejected", now, editor
    report.decision_reason = reason
    _recorder(session, editor, receipt, now, ip)(audit.REPORT_REJECT, reason=reason)
    raise_(
        session,
        ReportDecided(
            report_id=report.id, receipt=receipt, state="rejected", reporter_id=report.reporter_id
        ),
    )
    return report


def _recorder(
    session: Session, editor: str, subject: str, now: datetime, ip: str | None
) -> Callable[..., audit.AuditEvent]:
    """``audit.record`` for a decision's events about ``subject`` (a report's receipt, a
    member's number): each by the editor, from their address, at the decision's moment."""
    return partial(audit.record, session, actor=editor, subject=subject, ip=ip, at=now)


def _reward_plan(publisher: PublisherSettings):
    try:
        return plan_named(publisher, publisher.report_reward_plan)
    except UnknownPlan:
        raise DecisionError(
            "reward_plan",
            f"the reward plan {publisher.report_reward_plan!r} is not among the plans; "
            "set report_reward_plan",
        ) from None


def _sanction(
    session: Session,
    member: Member,
    sanction: str,
    reason: str,
    receipt: str,
    editor: str,
    now: datetime,
    ip: str | None,
) -> None:
    """Suspend or warn the member and end every signed-in device of theirs."""
    if sanction == "suspend" and member.status != "suspended":
        roster.suspend(session, member, reason, actor=editor, now=now, ip=ip, report=receipt)
        return
    if sanction != "suspend":
        _recorder(session, editor, member.number, now, ip)(
            audit.MEMBER_WARN, report=receipt, reason=reason
        )
    roster.sign_out_everywhere(session, member, actor=editor, now=now, ip=ip, report=receipt)


def _record_leak(session: Session, accusation: Accusation, report: Report) -> bool:
    """Record the leak; True when this report is the first to confirm it."""
    exists = session.scalar(
        select(Leak.id).where(
            Leak.member_id == accusation.member_id, Leak.material_id == accusation.material_id
        )
    )
    if exists is not None:
        return False
    try:
        with session.begin_nested():
            session.add(
                Leak(
                    member_id=accusation.member_id,
                    material_id=accusation.material_id,
                    first_report_id=report.id,
                )
            )
    except IntegrityError:  # another decision recorded it a moment ago
        return False
    return True
