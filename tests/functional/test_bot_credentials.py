"""Group robots' webhook URLs and signing secrets at rest, on both databases: the rows hold
them sealed (no key or secret in any form), sending still signs as the platforms check, a
plain row from before sealing is read and then sealed (by ``wenxing init`` after the
upgrade, by a sender when it starts), and with another server secret nothing crashes,
nothing is sent, and the console asks for the webhook again."""

from __future__ import annotations

import base64
import logging
from urllib.parse import quote, quote_plus

import pytest
from alembic import command
from sqlalchemy import select, text

from tests.functional.test_bots import (
    DINGTALK_SECRET,
    FEISHU_SECRET,
    Receiver,
    _add_robot,
    _admin,
    _csrf,
    _deliveries,
    _publish,
    _wait,
    robots_installation,
)
from wenxing.audit import AuditEvent
from wenxing.db import migrate
from wenxing.db.engine import make_engine
from wenxing.live import bot_credentials, bot_sender
from wenxing.live.models import Robot
from wenxing.runtime import Runtime, initialise
from wenxing.web.app import create_app

OTHER_SECRET = b"another-installation-" + b"0123456789abcdef" * 2
WECOM_KEY = "wecom-key-0123456789"
DINGTALK_TOKEN = "dingtalk-token-0123456789"
FEISHU_HOOK = "0f1e2d3c-aaaa-bbbb-cccc-1234567890ab"


@pytest.fixture
def robots_runtime(runtime, settings):
    return robots_installation(runtime, settings)


def _forms(value: str) -> list[bytes]:
    """The ways a value could sit in a column: as is, hex, base64, URL-encoded."""
    raw = value.encode()
    return [
        raw,
        raw.hex().encode(),
        base64.b64encode(raw),
        base64.urlsafe_b64encode(raw),
        quote(value, safe="").encode(),
        quote_plus(value).encode(),
    ]


def _raw_rows(runtime) -> dict[int, tuple[str, str | None]]:
    with runtime.db.reading() as session:
        rows = session.execute(text("SELECT id, webhook_url, secret FROM bot_robots")).all()
    return {row[0]: (row[1], row[2]) for row in rows}


def _holds(stored: str | None, value: str) -> bool:
    if not stored:
        return False
    data = [stored.encode()]
    if stored.startswith(bot_credentials.PREFIX):
        data.append(base64.b64decode(stored[len(bot_credentials.PREFIX) :]))
    return any(form in blob for blob in data for form in _forms(value))


def _plain_robot(runtime, robot_id: int, platform: str, url: str, secret: str | None) -> None:
    """A robot as it was stored before sealing: plain values, written with SQL."""
    with runtime.db.transaction() as session:
        session.execute(
            text(
                "INSERT INTO bot_robots (id, name, platform, audience, webhook_url, secret, "
                "enabled, created_at) VALUES (:id, :name, :platform, 'member', :url, :secret, "
                ":enabled, CURRENT_TIMESTAMP)"
            ),
            {"id": robot_id, "name": f"旧{platform}", "platform": platform, "url": url}
            | {"secret": secret, "enabled": True},
        )


def test_the_database_holds_no_webhook_key_or_secret_in_any_form(robots_runtime):
    runtime = robots_runtime
    receivers = {
        "wecom": Receiver("wecom"),
        "dingtalk": Receiver("dingtalk", DINGTALK_SECRET),
        "feishu": Receiver("feishu", FEISHU_SECRET),
    }
    client = _admin(create_app(runtime))
    try:
        signing = {"wecom": "", "dingtalk": DINGTALK_SECRET, "feishu": FEISHU_SECRET}
        ids = {
            platform: _add_robot(
                client, platform, platform, audience, receivers[platform].url, signing[platform]
            )
            for platform, audience in (
                ("wecom", "member"),
                ("dingtalk", "member"),
                ("feishu", "free"),
            )
        }
        rows = _raw_rows(runtime)
        assert sorted(rows) == sorted(ids.values())
        for key, (url, secret) in rows.items():
            assert url.startswith("v1:") and (secret is None or secret.startswith("v1:"))
            for value in (WECOM_KEY, DINGTALK_TOKEN, FEISHU_HOOK, DINGTALK_SECRET, FEISHU_SECRET):
                assert not _holds(url, value) and not _holds(secret, value), (key, value)
            assert "127.0.0.1" not in url  # nothing of the URL is readable
        assert rows[ids["wecom"]][1] is None
        with runtime.db.reading() as session:
            details = " ".join(session.scalars(select(AuditEvent.details)))
        for value in (WECOM_KEY, DINGTALK_TOKEN, FEISHU_HOOK, DINGTALK_SECRET, FEISHU_SECRET):
            assert value not in details  # the audit log keeps the masked webhook only

        page = client.get("/console/robots").text  # masked, from the opened values
        assert "SEC••••••" in page and WECOM_KEY not in page and DINGTALK_SECRET not in page
        assert f"127.0.0.1:{receivers['wecom'].port}/cgi-bin/webhook/send?key=weco…" in page
        assert "无法解密" not in page

        for key in ("dingtalk", "feishu"):  # the test message signs with the opened secret
            tested = client.post(
                f"/console/robots/{ids[key]}/test", data={"csrf_token": _csrf(client)}
            )
            assert "平台已确认收到" in tested.text, key
        _publish(runtime)  # the app's sender thread sends the announcements
        _wait(lambda: {d.state for d in _deliveries(runtime)} == {"sent"}, "all sent")
        assert len(receivers["wecom"].received) == 1  # the key in its URL was opened
        for key in ("dingtalk", "feishu"):
            assert len(receivers[key].received) == 2, key
            assert all(r["valid"] for r in receivers[key].received), key
    finally:
        client.__exit__(None, None, None)
        for receiver in receivers.values():
            receiver.stop()


def test_a_plain_row_from_before_sealing_is_read_then_sealed_by_a_sender(robots_runtime):
    runtime = robots_runtime
    receiver = Receiver("dingtalk", DINGTALK_SECRET)
    try:
        _plain_robot(runtime, 41, "dingtalk", receiver.url, DINGTALK_SECRET)
        _publish(runtime)
        assert bot_sender.send_due(runtime) == 1  # read as plain, signed with it
        assert len(receiver.received) == 1 and receiver.received[0]["valid"]
        assert _raw_rows(runtime)[41] == (receiver.url, DINGTALK_SECRET)

        sender = bot_sender.Sender(runtime)
        sender.start()  # seals what is still plain before its first round
        sender.stop()
        url, secret = _raw_rows(runtime)[41]
        assert url.startswith("v1:") and secret.startswith("v1:")
        assert not _holds(url, DINGTALK_TOKEN) and not _holds(secret, DINGTALK_SECRET)
        with runtime.db.reading() as session:
            opened = bot_credentials.read(runtime.secret, session.get(Robot, 41))
        assert opened == bot_credentials.Credentials(receiver.url, DINGTALK_SECRET)

        client = _admin(create_app(runtime))
        try:
            tested = client.post("/console/robots/41/test", data={"csrf_token": _csrf(client)})
            assert "平台已确认收到" in tested.text
            assert len(receiver.received) == 2 and receiver.received[1]["valid"]
        finally:
            client.__exit__(None, None, None)
    finally:
        receiver.stop()


def test_upgrading_seals_the_plain_rows(settings):
    """From revision 0007 (plain columns) with a robot and its delivery, ``wenxing init``
    migrates and seals; the delivery is kept and the robot still opens."""
    engine = make_engine(settings.database_url)
    config = migrate.alembic_config()
    try:
        fresh = migrate.current_revision(engine) is None  # (PostgreSQL's start at head)
        with engine.begin() as conn:
            config.attributes["connection"] = conn
            (command.upgrade if fresh else command.downgrade)(config, "0007")
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO bot_robots (id, name, platform, audience, webhook_url, "
                    "secret, enabled, created_at) VALUES (5, '飞书', 'feishu', 'member', "
                    ":url, :secret, :yes, CURRENT_TIMESTAMP)"
                ),
                {"url": f"https://open.feishu.cn/open-apis/bot/v2/hook/{FEISHU_HOOK}"}
                | {"secret": FEISHU_SECRET, "yes": True},
            )
            conn.execute(
                text(
                    "INSERT INTO live_events (id, type, audience, payload, created_at) "
                    "VALUES (9, 'material.published', 'members', '{}', CURRENT_TIMESTAMP)"
                )
            )
            conn.execute(
                text(
                    "INSERT INTO bot_deliveries (robot_id, event_id, state, attempts, next_at, "
                    "created_at) VALUES (5, 9, 'pending', 0, CURRENT_TIMESTAMP, "
                    "CURRENT_TIMESTAMP)"
                )
            )
    finally:
        engine.dispose()

    runtime, revision = initialise(settings)
    try:
        assert revision == migrate.head_revision()
        url, secret = _raw_rows(runtime)[5]
        assert url.startswith("v1:") and secret.startswith("v1:")
        assert not _holds(url, FEISHU_HOOK) and not _holds(secret, FEISHU_SECRET)
        with runtime.db.reading() as session:
            opened = bot_credentials.read(runtime.secret, session.get(Robot, 5))
        assert opened.url.endswith(FEISHU_HOOK) and opened.secret == FEISHU_SECRET
        assert [(d.robot_id, d.event_id) for d in _deliveries(runtime)] == [(5, 9)]
    finally:
        runtime.close()


def test_another_server_secret_sends_nothing_and_asks_for_the_webhook(robots_runtime, caplog):
    runtime = robots_runtime
    receivers = [Receiver("dingtalk", DINGTALK_SECRET), Receiver("wecom")]
    for receiver, platform, secret in zip(
        receivers, ("dingtalk", "wecom"), (DINGTALK_SECRET, None), strict=True
    ):
        with runtime.db.transaction() as session:
            robot = Robot(name=platform, platform=platform, audience="member", webhook_url="")
            session.add(robot)
            session.flush()
            bot_credentials.write(runtime.secret, robot, receiver.url, secret)
    # The same database opened with another installation's secret (sender thread off).
    # (No sender thread; retries far enough apart that each send_due tries each once.)
    quiet = runtime.settings.model_copy(update={"jobs": False, "bot_retry_seconds": 60})
    other = Runtime(quiet, runtime.db, OTHER_SECRET)
    client = _admin(create_app(other))
    try:
        page = client.get("/console/robots").text
        assert page.count("无法解密这个机器人保存的 Webhook 地址和加签密钥") == 2
        assert page.count('action="/console/robots/1/webhook"') == 1
        assert "/console/robots/1/test" not in page and "SEC••••••" not in page
        tested = client.post("/console/robots/1/test", data={"csrf_token": _csrf(client)})
        assert tested.status_code == 200 and "无法解密" in tested.text

        _publish(other)
        with caplog.at_level(logging.WARNING, logger="wenxing.bots"):
            assert bot_sender.send_due(other) == 2
        assert [r.received for r in receivers] == [[], []]  # nothing was sent
        assert sum("cannot be decrypted" in r.getMessage() for r in caplog.records) == 2
        rows = _deliveries(other)
        assert {d.state for d in rows} == {"pending"}  # waiting for the webhook again
        assert {d.last_error for d in rows} == {bot_sender.UNREADABLE}

        refused = client.post(
            "/console/robots/1/webhook",
            data={"webhook_url": "ftp://x/y", "secret": "", "csrf_token": _csrf(client)},
        )
        assert refused.status_code == 400 and "https://" in refused.text
        again = client.post(
            "/console/robots/1/webhook",
            data={
                "webhook_url": receivers[0].url,
                "secret": DINGTALK_SECRET,
                "csrf_token": _csrf(client),
            },
            follow_redirects=False,
        )
        assert again.status_code == 303
        assert "重新保存" in client.get(again.headers["location"]).text
        url, secret = _raw_rows(other)[1]
        assert not _holds(url, DINGTALK_TOKEN) and not _holds(secret, DINGTALK_SECRET)
        assert bot_sender.send_due(other) == 1  # re-entered: due at once, signed
        assert len(receivers[0].received) == 1 and receivers[0].received[0]["valid"]
        assert receivers[1].received == []
        with other.db.reading() as session:
            kinds = list(session.scalars(select(AuditEvent.type).order_by(AuditEvent.id)))
        assert kinds[-1] == "robot:webhook"
    finally:
        client.__exit__(None, None, None)
        for receiver in receivers:
            receiver.stop()
