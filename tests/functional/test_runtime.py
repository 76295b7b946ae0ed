"""`wenxing init`, the server secret and the schema revision, on both databases."""

from __future__ import annotations

import stat

import pytest

from tests.conftest import TEST_SECRET
from wenxing.config import PublisherSettings, Settings
from wenxing.db import migrate
from wenxing.runtime import NotReady, initialise, open_runtime
from wenxing.serverkey import derive_key
from wenxing.settings import change as change_setting


def test_init_creates_a_private_key_file_and_reopens(database_url, tmp_path):
    key = tmp_path / "server.key"
    settings = Settings(database_url=database_url, secret=None, secret_file=key)
    runtime, revision = initialise(settings)
    runtime.close()
    assert revision == migrate.head_revision()
    assert key.exists() and stat.S_IMODE(key.stat().st_mode) == 0o600
    reopened = open_runtime(settings)
    assert reopened.secret == key.read_text().strip().encode()
    reopened.close()
    again, _ = initialise(settings)  # init is idempotent and keeps the secret
    assert again.secret == reopened.secret
    again.close()


def test_a_different_secret_fails_loudly(database_url, tmp_path):
    initialise(Settings(database_url=database_url, secret=TEST_SECRET))[0].close()
    other = Settings(database_url=database_url, secret="another-secret-" + "x" * 30)
    with pytest.raises(NotReady, match="does not match this database"):
        open_runtime(other)
    with pytest.raises(NotReady, match="does not match this database"):
        initialise(other)


def test_a_lost_key_file_is_not_silently_replaced(database_url, tmp_path):
    key = tmp_path / "server.key"
    settings = Settings(database_url=database_url, secret=None, secret_file=key)
    initialise(settings)[0].close()
    key.unlink()
    with pytest.raises(NotReady, match="server secret is missing"):
        open_runtime(settings)
    with pytest.raises(NotReady, match="server secret is missing"):
        initialise(settings)
    assert not key.exists()


def test_short_secret_refused(database_url):
    with pytest.raises(NotReady, match="at least 32 characters"):
        initialise(Settings(database_url=database_url, secret="short"))


def test_uninitialised_database_is_refused(tmp_path):
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'new.db'}", secret=TEST_SECRET)
    with pytest.raises(NotReady, match="run `wenxing init`"):
        open_runtime(settings)


def test_unreachable_postgres_is_a_clear_error():
    settings = Settings(database_url="postgresql://nobody@127.0.0.1:1/none", secret=TEST_SECRET)
    with pytest.raises(NotReady, match="cannot connect to the database"):
        open_runtime(settings)


def test_keys_derive_per_purpose():
    secret = TEST_SECRET.encode()
    assert derive_key(secret, "fingerprint") != derive_key(secret, "session")
    assert derive_key(secret, "fingerprint") == derive_key(secret, "fingerprint")
    assert len(derive_key(secret, "fingerprint")) == 32


def test_publisher_settings_round_trip(runtime):
    assert runtime.publisher_settings().brand == "酷乐文行"
    with runtime.db.transaction() as session:
        change_setting(session, "member_group", "企业微信群 12345", actor="publisher:test")
        change_setting(session, "near_duplicate_threshold", 1, actor="publisher:test")
    loaded = runtime.publisher_settings()
    assert loaded.member_group == "企业微信群 12345"
    assert loaded.near_duplicate_threshold == 1.0
    assert "会员群：企业微信群 12345" in loaded.masthead_lines()[-1]
    with runtime.db.transaction() as session, pytest.raises(ValueError, match="expects list"):
        change_setting(session, "masthead", "not a list", actor="publisher:test")


def test_sqlite_runs_in_wal_mode(tmp_path):
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'w.db'}", secret=TEST_SECRET)
    runtime, _ = initialise(settings)
    with runtime.db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    runtime.close()


def test_cli_init_json_and_errors(cli, database_url):
    result = cli("init", "--json")
    assert result.code == 0
    assert result.json() == {
        "database": result.json()["database"],
        "revision": migrate.head_revision(),
    }
    assert result.stderr == ""
    cli.env["WENXING_SECRET"] = "a-wrong-secret-" + "y" * 30
    wrong = cli("materials", "list", "--json")
    assert wrong.code == 1 and wrong.stdout == ""
    assert wrong.stderr.startswith("error: the server secret does not match this database")
    assert wrong.stderr.count("\n") == 1


def test_publisher_defaults_are_declared():
    defaults = dict(PublisherSettings.defaults())
    assert defaults["masthead"][0] == "仅供学习 禁止外传"
    assert set(defaults) >= {"brand", "masthead", "member_group", "free_group"}


def test_publisher_settings_are_kept_a_moment_and_changes_made_here_show_at_once(
    runtime, monkeypatch
):
    from sqlalchemy import update

    import wenxing.runtime
    from wenxing.db.meta import SettingRow

    first = runtime.publisher_settings()
    assert runtime.publisher_settings() is first  # every request asks: kept, not re-read
    with runtime.db.transaction() as session:
        change_setting(session, "brand", "甲", actor="publisher:test")
    assert runtime.publisher_settings().brand == "甲"  # this process's change: at once
    # Another worker's change (nothing in this process knows of it) shows once the kept
    # copy is older than SETTINGS_SECONDS.
    with runtime.db.transaction() as session:
        session.execute(update(SettingRow).where(SettingRow.name == "brand").values(value='"乙"'))
    assert runtime.publisher_settings().brand == "甲"
    monkeypatch.setattr(wenxing.runtime, "SETTINGS_SECONDS", 0.0)
    assert runtime.publisher_settings().brand == "乙"


def test_a_copy_read_while_a_change_is_uncommitted_is_not_kept_as_the_new_one(runtime):
    """A server thread asking for the settings while a change is stored but not committed
    reads the old value; once the change commits, the next asker gets the new one (the
    renewed-member QQ test once read the old 会员群 setting on PostgreSQL)."""
    import threading

    runtime.publisher_settings()
    seen: list[str] = []
    with runtime.db.transaction() as session:
        change_setting(session, "brand", "丙", actor="publisher:test")
        other = threading.Thread(target=lambda: seen.append(runtime.publisher_settings().brand))
        other.start()
        other.join()
    assert seen and seen != ["丙"]  # the other thread read the committed value
    assert runtime.publisher_settings().brand == "丙"


def test_a_refused_setting_is_neither_counted_nor_stored(runtime):
    from pydantic import ValidationError

    from wenxing.config.publisher import settings_changes_here

    counted = settings_changes_here()
    for name, bad in (("timezone", "Mars/Olympus"), ("session_lifetime_days", 10)):
        with runtime.db.transaction() as session, pytest.raises(ValueError):
            change_setting(session, name, bad, actor="publisher:test")
    assert settings_changes_here() == counted  # validated before the change is counted
    kept = runtime.publisher_settings()
    assert (kept.timezone, kept.session_lifetime_days) == ("Asia/Shanghai", 180)
    with pytest.raises(ValidationError):
        kept.timezone = "UTC"  # type: ignore[misc]  # frozen: changed only through change()
