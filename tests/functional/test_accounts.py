"""Sign-up, sign-in, devices and the account-sharing flag, on both databases."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select, text

from wenxing import audit
from wenxing.members import accounts, roster
from wenxing.members.service import MemberError

NOW = datetime(2026, 11, 26, 12, 0, 0)


def _sign_in(
    session,
    who="13800138000",
    password="correct horse",
    *,
    at=NOW,
    ip="10.1.2.3",
    limit=3,
    networks=5,
):
    return accounts.sign_in(
        session,
        who,
        password,
        now=at,
        ip=ip,
        user_agent="Mozilla/5.0 WeChat",
        max_sessions=limit,
        sharing_networks=networks,
    )


@pytest.fixture
def member(runtime):
    with runtime.db.transaction() as session:
        created = accounts.sign_up(
            session, name="张三", password="correct horse", phone="13800138000", username="zhangsan"
        )
        return created.id


def test_sign_up_stores_an_argon2id_hash_and_checks_input(runtime, member):
    with runtime.db.transaction() as session:
        from wenxing.members.models import Member

        stored = session.get(Member, member)
        assert stored.password_hash.startswith("$argon2id$")
        assert "correct horse" not in stored.password_hash
        for kwargs, message in [
            ({"name": "李四", "password": "short", "phone": "13900139000"}, "at least 8"),
            ({"name": "李四", "password": "long enough"}, "phone number or a username"),
            (
                {"name": "李四", "password": "long enough", "username": "ZhangSan"},
                "cannot be used to sign up",
            ),
            (
                {"name": "李四", "password": "long enough", "username": "1abc"},
                "starting with a letter",
            ),
            (
                {"name": "李四", "password": "long enough", "phone": "13800138000"},
                "cannot be used to sign up",  # the same answer as a taken username
            ),
        ]:
            with pytest.raises(MemberError, match=message):
                accounts.sign_up(session, **kwargs)


def test_servers_hash_at_argon2s_recommended_cost_and_raise_cheaper_hashes(
    runtime, member, monkeypatch
):
    """The suite runs at the cheap test cost (tests/conftest.py); a server's default is
    argon2's recommended cost, and a hash made at any other cost is replaced by one at
    the server's cost the next time its owner signs in."""
    from wenxing.config import Settings
    from wenxing.members.models import Member

    assert Settings.model_fields["password_cost"].default == "standard"
    with runtime.db.reading() as session:
        cheap = session.get(Member, member).password_hash
    assert cheap.startswith("$argon2id$v=19$m=1024,t=1,p=1$")
    monkeypatch.setenv("WENXING_PASSWORD_COST", "standard")
    with runtime.db.transaction() as session:
        _sign_in(session)
        raised = session.get(Member, member).password_hash
        assert raised.startswith("$argon2id$v=19$m=65536,t=3,p=4$") and raised != cheap
        created = accounts.sign_up(session, name="李四", password="long enough", username="lisi")
        assert created.password_hash.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    with runtime.db.transaction() as session:
        assert _sign_in(session, "lisi", "long enough").member.id == created.id
        with pytest.raises(accounts.SignInFailed):
            _sign_in(session, "lisi", "wrong password")


def test_sign_in_by_phone_or_username_and_failures_are_audited(runtime, member):
    with runtime.db.transaction() as session:
        by_phone = _sign_in(session, "138 0013 8000")
        by_name = _sign_in(session, "ZhangSan")
        assert by_phone.member.id == by_name.member.id == member
        assert accounts.member_for_token(session, by_phone.token, NOW).id == member
        assert accounts.member_for_token(session, "forged-token", NOW) is None
    for who, password in [("13800138000", "wrong password"), ("nobody", "correct horse")]:
        with (
            runtime.db.transaction() as session,
            pytest.raises(accounts.SignInFailed, match="wrong phone number, username or password"),
        ):
            _sign_in(session, who, password)
    with runtime.db.reading() as session:
        failures = session.scalar(
            select(func.count())
            .select_from(audit.AuditEvent)
            .where(audit.AuditEvent.type == audit.MEMBER_SIGN_IN_FAILED)
        )
    # The failure is recorded in the caller's transaction, which commits it by catching
    # SignInFailed inside the block (as pytest.raises does here).
    assert failures == 2


def test_a_fourth_device_ends_the_oldest(runtime, member):
    tokens = []
    with runtime.db.transaction() as session:
        for n in range(4):
            signed = _sign_in(session, at=NOW + timedelta(minutes=n))
            tokens.append(signed.token)
        assert signed.ended == [accounts.token_id(tokens[0])]
        assert accounts.member_for_token(session, tokens[0], NOW) is None
        assert [d.id for d in accounts.devices(session, member)] == [
            accounts.token_id(t) for t in reversed(tokens[1:])
        ]
        accounts.end_session(session, member, accounts.token_id(tokens[2]), NOW)
        assert accounts.member_for_token(session, tokens[2], NOW) is None
        with pytest.raises(MemberError, match="no such signed-in device"):
            accounts.end_session(session, member, accounts.token_id(tokens[2]), NOW)


def test_many_networks_in_a_day_flag_the_account_once(runtime, member):
    with runtime.db.transaction() as session:
        flags = [
            _sign_in(session, ip=f"10.{n}.0.7", at=NOW + timedelta(hours=n), limit=10).flagged
            for n in range(8)
        ]
        assert flags == [False] * 5 + [True, False, False]
        # The same network twice counts once; a new day starts a new count.
        later = NOW + timedelta(days=3)
        assert not _sign_in(session, ip="10.0.0.8", at=later).flagged
        assert accounts.network_of("10.9.8.7") == "10.9.8.0/24"
        assert accounts.network_of("2001:db8::1") == "2001:db8::/48"
        assert accounts.network_of("not an address") is None


def test_a_suspended_account_can_sign_in_to_read_why(runtime, member):
    with runtime.db.transaction() as session:
        signed = _sign_in(session)
        roster.suspend(session, signed.member, "倒卖会员资料", actor="admin", now=NOW)
    with runtime.db.transaction() as session:
        again = _sign_in(session, at=NOW + timedelta(minutes=1))
        assert again.member.status == "suspended"
        assert again.member.suspended_reason == "倒卖会员资料"


def test_cli_sets_roles_and_passwords(cli):
    cli("members", "add", "编辑小王", "--phone", "13700137000")
    made = cli("members", "role", "WX-10001", "editor", "--json")
    assert made.code == 0 and made.json() == {"number": "WX-10001", "role": "editor"}
    assert cli("members", "show", "WX-10001", "--json").json()["role"] == "editor"
    bad = cli("members", "role", "WX-10001", "owner")
    assert bad.code == 1 and bad.stderr.startswith("error: Invalid value")
    short = cli.runner.invoke(
        __import__("wenxing.cli", fromlist=["cli"]).cli,
        ["--db", cli.database_url, "members", "password", "WX-10001", "--password-stdin"],
        input="short\n",
        env=cli.env,
    )
    assert short.exit_code == 1 and "at least 8" in short.stderr, short.stderr
    ok = cli.runner.invoke(
        __import__("wenxing.cli", fromlist=["cli"]).cli,
        ["--db", cli.database_url, "members", "password", "WX-10001", "--password-stdin", "--json"],
        input="a long passphrase\n",
        env=cli.env,
    )
    assert ok.exit_code == 0, ok.stderr
    from wenxing.db.engine import Database

    db = Database(cli.database_url)
    try:
        with db.transaction() as session:
            signed = accounts.sign_in(
                session,
                "13700137000",
                "a long passphrase",
                now=NOW,
                ip=None,
                user_agent=None,
                max_sessions=3,
                sharing_networks=5,
            )
            assert signed.member.role == "editor"
    finally:
        db.dispose()


def test_last_seen_is_written_at_most_every_five_minutes_and_never_waits(runtime, member):
    from wenxing.members.models import AccountSession

    with runtime.db.transaction() as session:
        token = _sign_in(session).token

    def seen(at):
        with runtime.db.transaction() as session:
            assert accounts.member_for_token(session, token, at).id == member
        with runtime.db.reading() as session:
            return session.scalars(select(AccountSession.last_seen_at)).one()

    assert seen(NOW + timedelta(minutes=3)) == NOW
    assert seen(NOW + timedelta(minutes=6)) == NOW + timedelta(minutes=6)
    assert seen(NOW + timedelta(minutes=8)) == NOW + timedelta(minutes=6)
    if runtime.db.engine.dialect.name != "postgresql":
        return
    # Another request of the same member holds the row (it is writing last_seen itself):
    # this one is served at once and leaves the write to it.
    with runtime.db.transaction() as holder:
        holder.execute(select(AccountSession).with_for_update()).all()
        with runtime.db.transaction() as session:
            session.execute(text("SET LOCAL lock_timeout = '2s'"))
            later = NOW + timedelta(minutes=20)
            assert accounts.member_for_token(session, token, later).id == member


def test_a_page_that_only_reads_writes_last_seen_after_its_read(runtime, member):
    """Read-only pages (home, a material) look the member up in a read session; the
    last-seen write waits for the read to end, and is dropped when the page failed."""
    from wenxing.members.models import AccountSession

    with runtime.db.transaction() as session:
        token = _sign_in(session).token

    def last_seen():
        with runtime.db.reading() as session:
            return session.scalars(select(AccountSession.last_seen_at)).one()

    with pytest.raises(LookupError), runtime.db.reading() as session:
        assert accounts.member_for_token(session, token, NOW + timedelta(minutes=7))
        raise LookupError("the page failed after the lookup")
    assert last_seen() == NOW
    with runtime.db.reading() as session:
        assert accounts.member_for_token(session, token, NOW + timedelta(minutes=9)).id == member
        assert session.scalars(select(AccountSession.last_seen_at)).one() == NOW
    assert last_seen() == NOW + timedelta(minutes=9)
