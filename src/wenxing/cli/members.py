"""`wenxing members …` and `wenxing codes …`: accounts, subscriptions and activation codes."""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path

import click

from wenxing import audit, clock
from wenxing.cli.base import CommandError, emit, guarded, runtime_for
from wenxing.db.base import utcnow
from wenxing.members import redemption, roster
from wenxing.members.accounts import set_password
from wenxing.members.codes import CodeError, format_code
from wenxing.members.entitlement import role_now
from wenxing.members.models import ROLES
from wenxing.members.service import MemberError, MemberNotFound, add_member, find_member
from wenxing.members.subscriptions import (
    UnknownPlan,
    account_view,
    grant,
    membership_end,
    plan_named,
)

ACTOR = "publisher:cli"


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat(timespec="seconds") + "Z" if moment else None


def _plan(publisher, code: str):
    try:
        return plan_named(publisher, code)
    except UnknownPlan as exc:
        raise CommandError(str(exc)) from None


def _member(session, ref: str):
    try:
        return find_member(session, ref)
    except MemberNotFound:
        raise CommandError(f"no member {ref}") from None
    except MemberError as exc:
        raise CommandError(str(exc)) from None


@click.group()
def members() -> None:
    """Create, import, show, suspend, reinstate members and grant memberships."""


@members.command("add")
@click.argument("name")
@click.option("--phone", metavar="P", help="Mainland mobile number.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
@click.pass_context
@guarded
def add_command(ctx: click.Context, name: str, phone: str | None, as_json: bool) -> None:
    """Create a member; prints its id and member number (WX-…)."""
    with runtime_for(ctx) as runtime:
        try:
            with runtime.db.transaction() as session:
                member = add_member(session, name, phone)
                audit.record(session, audit.MEMBER_CREATE, actor=ACTOR, subject=member.number)
                result = {"id": member.id, "number": member.number}
        except MemberError as exc:
            raise CommandError(str(exc)) from None
    emit(as_json, result, lambda: click.echo(f"member {result['number']} (id {result['id']})"))


@members.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--plan",
    "plan_code",
    default="year",
    show_default=True,
    help="Plan recorded for members with a paid_until date.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
@click.pass_context
@guarded
def import_command(ctx: click.Context, file: Path, plan_code: str, as_json: bool) -> None:
    """Import the member list (CSV header: name,phone,paid_until) in one transaction."""
    try:
        text = file.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise CommandError(f"cannot read {file}: {exc}") from None
    with runtime_for(ctx) as runtime:
        publisher = runtime.publisher_settings()
        plan = _plan(publisher, plan_code)
        try:
            with runtime.db.transaction() as session:
                created, errors = roster.import_roster(
                    session,
                    text,
                    plan,
                    actor=ACTOR,
                    timezone=publisher.timezone,
                    now=utcnow(),
                )
                result = {
                    "created": [{"id": m.id, "number": m.number, "name": m.name} for m in created],
                    "failed": [{"line": e.line, "error": e.error} for e in errors],
                }
                if errors:
                    raise _Rollback(result)  # one bad row: nothing of the file is kept
        except _Rollback as rollback:
            failed = rollback.result["failed"]
            emit(
                as_json,
                {"created": [], "failed": failed},
                lambda: [click.echo(f"line {e['line']}: {e['error']}") for e in failed],
            )
            raise CommandError(f"{len(failed)} bad row(s); nothing was imported") from None
    emit(as_json, result, lambda: click.echo(f"{len(result['created'])} members imported"))


class _Rollback(Exception):
    def __init__(self, result: dict):
        super().__init__("rolled back")
        self.result = result


@members.command("show")
@click.argument("member_ref")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
@click.pass_context
@guarded
def show_command(ctx: click.Context, member_ref: str, as_json: bool) -> None:
    """A member's state, subscriptions and recent events."""
    now = utcnow()
    with runtime_for(ctx) as runtime, runtime.db.reading() as session:
        member = _member(session, member_ref)
        view = account_view(session, member)
        document = {
            "id": member.id,
            "number": member.number,
            "name": member.name,
            "phone": member.phone,
            "role": role_now(view, now),
            "status": member.status,
            "suspended_reason": member.suspended_reason,
            "member_until": _iso(membership_end(session, member.id, now)),
            "subscriptions": [
                {"plan": p.plan, "starts_at": _iso(p.starts_at), "ends_at": _iso(p.ends_at)}
                for p in sorted(view.periods, key=lambda p: p.starts_at)
            ],
        }
    emit(as_json, document, lambda: [click.echo(f"{k}: {v}") for k, v in document.items()])


@members.command("suspend")
@click.argument("member_ref")
@click.option("--reason", required=True, help="Why (shown to the member).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
@click.pass_context
@guarded
def suspend_command(ctx: click.Context, member_ref: str, reason: str, as_json: bool) -> None:
    """Suspend an account: it keeps its history and can only sign in to see why."""
    _change_status(
        ctx,
        member_ref,
        as_json,
        "suspended",
        lambda session, member: roster.suspend(session, member, reason, actor=ACTOR, now=utcnow()),
    )


@members.command("reinstate")
@click.argument("member_ref")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
@click.pass_context
@guarded
def reinstate_command(ctx: click.Context, member_ref: str, as_json: bool) -> None:
    """Lift a suspension."""
    _change_status(
        ctx,
        member_ref,
        as_json,
        "reinstated",
        lambda session, member: roster.reinstate(session, member, actor=ACTOR),
    )


def _change_status(ctx: click.Context, member_ref: str, as_json: bool, done: str, change) -> None:
    with runtime_for(ctx) as runtime:
        try:
            with runtime.db.transaction() as session:
                member = _member(session, member_ref)
                change(session, member)
                result = {"number": member.number, "status": member.status}
        except MemberError as exc:
            raise CommandError(str(exc)) from None
    emit(as_json, result, lambda: click.echo(f"{result['number']} {done}"))


@members.command("grant")
@click.argument("member_ref")
@click.option("--plan", "plan_code", required=True, help="Plan whose length is granted.")
@click.option("--reason", default="granted by the publisher", show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
@click.pass_context
@guarded
def grant_command(
    ctx: click.Context, member_ref: str, plan_code: str, reason: str, as_json: bool
) -> None:
    """Give a member a plan's length of membership (stacks on the current one)."""
    with runtime_for(ctx) as runtime:
        publisher = runtime.publisher_settings()
        plan = _plan(publisher, plan_code)
        with runtime.db.transaction() as session:
            member = _member(session, member_ref)
            period = grant(session, member.id, plan, actor=ACTOR, reason=reason, now=utcnow())
            result = {"member": member.number, "plan": plan.code, "ends_at": _iso(period.ends_at)}
    emit(
        as_json, result, lambda: click.echo(f"{result['member']} member until {result['ends_at']}")
    )


@click.group()
def codes() -> None:
    """Generate, redeem, revoke and export activation codes (卡密)."""


@codes.command("generate")
@click.option("--plan", "plan_code", required=True)
@click.option("--count", required=True, type=click.IntRange(1, 100_000))
@click.option("--batch", "label", required=True, help="Batch label, e.g. 2026-11-wechat.")
@click.option("--channel", default="", help="Sales channel (default: the batch label).")
@click.option(
    "--expires", type=click.DateTime(["%Y-%m-%d"]), help="Last day codes can be redeemed."
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="CSV file to write (default: BATCH.csv).",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
@click.pass_context
@guarded
def generate_command(
    ctx: click.Context,
    plan_code: str,
    count: int,
    label: str,
    channel: str,
    expires: datetime | None,
    out: Path | None,
    as_json: bool,
) -> None:
    """Create a batch of codes and a CSV for selling them."""
    out = out or Path(f"{label}.csv")
    if out.exists():
        raise CommandError(f"{out} exists; choose another --out")
    with runtime_for(ctx) as runtime:
        publisher = runtime.publisher_settings()
        try:
            plan = _plan(publisher, plan_code)
            expires_at = _end_of_day(expires, publisher.timezone) if expires else None
            with runtime.db.transaction() as session:
                created = redemption.generate_batch(
                    session, plan, count, label, channel, expires_at, actor=ACTOR
                )
                csv_text = redemption.export_batch(session, label, utcnow())
                out.write_text(csv_text, encoding="utf-8-sig")
        except (ValueError, OSError) as exc:
            raise CommandError(str(exc)) from None
    result = {"codes": [format_code(c) for c in created], "batch": label, "csv": str(out)}
    emit(as_json, result, lambda: click.echo(f"{count} codes for {plan.code} in {out}"))


def _end_of_day(day: datetime, timezone: str) -> datetime:
    from datetime import timedelta

    return clock.stored(day.replace(tzinfo=None) + timedelta(days=1), timezone)


@codes.command("redeem")
@click.argument("code")
@click.option("--member", "member_ref", required=True)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
@click.pass_context
@guarded
def redeem_command(ctx: click.Context, code: str, member_ref: str, as_json: bool) -> None:
    """Redeem a code for a member; exits 0 only when this call redeemed it."""
    with runtime_for(ctx) as runtime:
        publisher = runtime.publisher_settings()
        with runtime.db.reading() as session:
            member_id = _member(session, member_ref).id
        try:
            done, _plan = redemption.redeem_code(
                runtime.db, publisher, code, member_id, actor=ACTOR
            )
        except CodeError as exc:
            raise CommandError(str(exc)) from None
    if done.repeated:  # the contract: exit 0 only when this call redeemed the code
        raise CommandError(
            f"this code has already been redeemed by {done.member} "
            f"(member until {_iso(done.ends_at)}); nothing changed"
        )
    result = {"member": done.member, "plan": done.plan, "ends_at": _iso(done.ends_at)}
    emit(as_json, result, lambda: click.echo(f"{done.member} member until {result['ends_at']}"))


@codes.command("revoke")
@click.argument("code")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
@click.pass_context
@guarded
def revoke_command(ctx: click.Context, code: str, as_json: bool) -> None:
    """Revoke an unused code (a refund, or a code seen on a resale site)."""
    with runtime_for(ctx) as runtime:
        try:
            with runtime.db.transaction() as session:
                row = redemption.revoke(session, code, actor=ACTOR, now=utcnow())
                result = {"code": format_code(row.code), "state": row.state}
        except CodeError as exc:
            raise CommandError(str(exc)) from None
    emit(as_json, result, lambda: click.echo(f"{result['code']} revoked"))


@codes.command("export")
@click.option("--batch", "label", required=True)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Default: stdout.")
@click.pass_context
@guarded
def export_command(ctx: click.Context, label: str, out: Path | None) -> None:
    """A batch's codes with their current state, as CSV."""
    with runtime_for(ctx) as runtime, runtime.db.reading() as session:
        try:
            text = redemption.export_batch(session, label, utcnow())
        except LookupError:
            raise CommandError(f"no batch {label!r}") from None
    if out:
        out.write_text(text, encoding="utf-8-sig")
    else:
        click.echo(text, nl=False)


@codes.command("gift")
@click.option("--plan", "plan_code", required=True)
@click.option("--reason", required=True, help="Why (recorded in the audit log).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
@click.pass_context
@guarded
def gift_command(ctx: click.Context, plan_code: str, reason: str, as_json: bool) -> None:
    """One gift code, for someone without an account (a reporter's reward)."""
    with runtime_for(ctx) as runtime:
        publisher = runtime.publisher_settings()
        plan = _plan(publisher, plan_code)
        with runtime.db.transaction() as session:
            code = redemption.gift_code(session, plan, actor=ACTOR, reason=reason)
    result = {"code": format_code(code), "plan": plan.code}
    emit(as_json, result, lambda: click.echo(result["code"]))


@members.command("role")
@click.argument("member_ref")
@click.argument("role", type=click.Choice(ROLES))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
@click.pass_context
@guarded
def role_command(ctx: click.Context, member_ref: str, role: str, as_json: bool) -> None:
    """Make an account an editor or admin of the console (or a plain user again)."""
    with runtime_for(ctx) as runtime, runtime.db.transaction() as session:
        member = _member(session, member_ref)
        previous, member.role = member.role, role
        audit.record(
            session,
            audit.MEMBER_ROLE,
            actor=ACTOR,
            subject=member.number,
            previous=previous,
            role=role,
        )
        result = {"number": member.number, "role": role}
    emit(as_json, result, lambda: click.echo(f"{result['number']} is now {role}"))


@members.command("password")
@click.argument("member_ref")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
@click.pass_context
@guarded
def password_command(
    ctx: click.Context, member_ref: str, password_stdin: bool, as_json: bool
) -> None:
    """Set an account's password (prompted twice, or from standard input)."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("new password", hide_input=True, confirmation_prompt=True)
    with runtime_for(ctx) as runtime:
        try:
            with runtime.db.transaction() as session:
                member = _member(session, member_ref)
                set_password(session, member, password, now=utcnow())
                audit.record(session, audit.MEMBER_PASSWORD, actor=ACTOR, subject=member.number)
                result = {"number": member.number}
        except MemberError as exc:
            raise CommandError(str(exc)) from None
    emit(as_json, result, lambda: click.echo(f"password of {result['number']} set"))
