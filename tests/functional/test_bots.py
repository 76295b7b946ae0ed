"""Group robots end to end, on both databases, against local receivers that answer as 企业微信,
钉钉 and 飞书 do (127.0.0.1 only; every wait is bounded).

The issue's test: robots configured in the console, the receivers down, a material published
through the console, the app restarted, the receivers back: every announcement arrives
exactly once, with a valid signature where the platform signs, without the material's text,
and the console shows them sent. Around it: a rate-limited answer is tried again, a
rejected signature fails at once, a disabled robot gets nothing, the test-message button,
four senders sharing the rows send each once, a stale claim is taken over.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests import tls
from tests.helpers import account, import_sample
from wenxing.db.base import utcnow
from wenxing.live import bot_credentials, bot_sender, events
from wenxing.live.models import BotDelivery, Robot
from wenxing.materials import catalog
from wenxing.materials.identify import reduce_text
from wenxing.runtime import open_runtime
from wenxing.settings import change as change_setting
from wenxing.web.app import create_app
from wenxing.web.auth import CSRF_COOKIE

PUBLIC_URL = "https://wx.example.cn"
DINGTALK_SECRET = "SECd1n9ta1k0123456789abcdef0123456789abcdef0123456789abcdef01234"
FEISHU_SECRET = "fe1shuSecretKey0123456789"
WAIT_SECONDS = 60
ACKS = {
    "wecom": (
        b'{"errcode":0,"errmsg":"ok"}',
        {"errcode": 45009, "errmsg": "api freq out of limit"},
    ),
    "dingtalk": (b'{"errcode":0,"errmsg":"ok"}', {"errcode": 130101, "errmsg": "send too fast"}),
    "feishu": (b'{"code":0,"msg":"success","data":{}}', {"code": 9499, "msg": "Too Many Request"}),
}


class Receiver:
    """A webhook on 127.0.0.1 imitating one platform: checks the signature as the platform
    does, records every message, answers with the platform's acknowledgement (or, for the
    first ``busy`` messages, its rate-limit error). It can go down and come back on its
    port."""

    def __init__(self, platform: str, secret: str | None = None, busy: int = 0):
        self.platform, self.secret, self.busy = platform, secret, busy
        self.received: list[dict] = []
        self.lock = threading.Lock()
        self.server: ThreadingHTTPServer | None = None
        self.port = 0
        self.start()

    @property
    def url(self) -> str:
        path = {
            "wecom": "/cgi-bin/webhook/send?key=wecom-key-0123456789",
            "dingtalk": "/robot/send?access_token=dingtalk-token-0123456789",
            "feishu": "/open-apis/bot/v2/hook/0f1e2d3c-aaaa-bbbb-cccc-1234567890ab",
        }[self.platform]
        return f"https://127.0.0.1:{self.port}{path}"

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length).decode("utf-8"))
                reply = receiver.take(self.path, body)
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args):  # quiet
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        context = tls.certificates().server_context()
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def take(self, path: str, body: dict) -> bytes:
        valid = self.signature_valid(path, body)
        with self.lock:
            self.received.append({"path": path, "body": body, "valid": valid})
            busy = len(self.received) <= self.busy
        ok, rate_limited = ACKS[self.platform]
        if self.platform in ("dingtalk", "feishu") and self.secret and not valid:
            error = {"errcode": 310000, "errmsg": "sign not match"}
            if self.platform == "feishu":
                error = {
                    "code": 19021,
                    "msg": "sign match fail or timestamp is not within one hour",
                }
            return json.dumps(error).encode()
        return json.dumps(rate_limited).encode() if busy else ok

    def signature_valid(self, path: str, body: dict) -> bool:
        if self.platform == "wecom" or not self.secret:
            return True
        if self.platform == "dingtalk":
            query = parse_qs(urlsplit(path).query)
            timestamp, sign = query.get("timestamp", [""])[0], query.get("sign", [""])[0]
            message = f"{timestamp}\n{self.secret}".encode()
            key = self.secret.encode()
            fresh = abs(time.time() * 1000 - int(timestamp or 0)) < 3_600_000
        else:
            timestamp, sign = body.get("timestamp", ""), body.get("sign", "")
            key, message = f"{timestamp}\n{self.secret}".encode(), b""
            fresh = abs(time.time() - int(timestamp or 0)) < 3600
        expected = base64.b64encode(hmac.new(key, message, hashlib.sha256).digest()).decode()
        return fresh and hmac.compare_digest(expected, sign)

    def texts(self) -> list[str]:
        with self.lock:
            return [json.dumps(r["body"], ensure_ascii=False) for r in self.received]


@pytest.fixture
def robots_runtime(runtime, settings):
    return robots_installation(runtime, settings)


def robots_installation(runtime, settings):
    """The installation with fast retries and a public address, the sample as a draft, and
    an admin account."""
    runtime.settings = settings.model_copy(
        update={
            "bot_retry_seconds": 0.2,
            "public_url": PUBLIC_URL,
            # The receivers are local TLS stand-ins: the operator allows loopback and
            # trusts their test authority; the publisher allows their host.
            "webhook_private_networks": "127.0.0.0/8",
            "webhook_ca_file": tls.certificates().ca_file,
        }
    )
    import_sample(runtime, publish=False)
    with runtime.db.transaction() as session:
        change_setting(session, "webhook_hosts", ["127.0.0.1"], actor="publisher:test")
    with runtime.db.transaction() as session:
        account(session, runtime.publisher_settings(), "管理员", subscribed=False, username="boss")
        session.flush()
        from wenxing.members.models import Member

        session.scalar(select(Member).where(Member.username == "boss")).role = "admin"
    return runtime


def _admin(app) -> TestClient:
    client = TestClient(app)
    client.__enter__()  # the lifespan: the robot sender runs
    client.get("/signin")
    signed = client.post(
        "/signin",
        data={"identifier": "boss", "password": "correct horse 42", "csrf_token": _csrf(client)},
        follow_redirects=False,
    )
    assert signed.status_code == 303
    return client


def _csrf(client) -> str:
    return client.cookies[CSRF_COOKIE]


def _add_robot(client, name, platform, audience, url, secret="") -> int:
    response = client.post(
        "/console/robots",
        data={
            "name": name,
            "platform": platform,
            "audience": audience,
            "webhook_url": url,
            "secret": secret,
            "csrf_token": _csrf(client),
        },
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    with client.app.state.runtime.db.reading() as session:
        return session.scalar(select(Robot.id).where(Robot.name == name))


def _deliveries(runtime) -> list[BotDelivery]:
    with runtime.db.reading() as session:
        return list(session.scalars(select(BotDelivery).order_by(BotDelivery.id)))


def _wait(predicate, what: str, seconds: float = WAIT_SECONDS) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, f"gave up waiting: {what}"
        time.sleep(0.1)


def _no_body_text(body: str, text: str, window: int = 40) -> bool:
    reduced_body, reduced = reduce_text(body), reduce_text(text)
    windows = {reduced_body[i : i + window] for i in range(len(reduced_body) - window)}
    return not any(reduced[i : i + window] in windows for i in range(len(reduced) - window + 1))


def test_announcements_survive_receivers_down_and_a_restart(robots_runtime, settings):
    runtime = robots_runtime
    receivers = {
        "wecom": Receiver("wecom"),
        "dingtalk": Receiver("dingtalk", DINGTALK_SECRET),
        "feishu": Receiver("feishu", FEISHU_SECRET),
        "free": Receiver("wecom"),
        "off": Receiver("dingtalk", DINGTALK_SECRET),
    }
    app = create_app(runtime)
    client = _admin(app)
    ids = {
        "wecom": _add_robot(client, "会员群企微", "wecom", "member", receivers["wecom"].url),
        "dingtalk": _add_robot(
            client, "会员群钉钉", "dingtalk", "member", receivers["dingtalk"].url, DINGTALK_SECRET
        ),
        "feishu": _add_robot(
            client, "会员群飞书", "feishu", "member", receivers["feishu"].url, FEISHU_SECRET
        ),
        "free": _add_robot(client, "免费群企微", "wecom", "free", receivers["free"].url),
        "off": _add_robot(
            client, "停用的钉钉", "dingtalk", "member", receivers["off"].url, DINGTALK_SECRET
        ),
    }
    off = client.post(
        f"/console/robots/{ids['off']}/disable",
        data={"csrf_token": _csrf(client)},
        follow_redirects=False,
    )
    assert off.status_code == 303
    page = client.get("/console/robots").text
    assert DINGTALK_SECRET not in page and FEISHU_SECRET not in page  # masked once saved
    assert "SEC••••••" in page and "wecom-key-0123456789" not in page

    for receiver in receivers.values():
        receiver.stop()
    published = client.post(
        "/console/materials/1/publish", data={"csrf_token": _csrf(client)}, follow_redirects=False
    )
    assert published.status_code == 303
    _wait(
        lambda: (rows := _deliveries(runtime)) and all(d.attempts >= 2 for d in rows),
        "the sender tries the receivers while they are down",
    )
    rows = _deliveries(runtime)
    assert sorted(d.robot_id for d in rows) == sorted(ids[k] for k in ids if k != "off")
    assert {d.state for d in rows} <= {"pending", "sending"}
    client.__exit__(None, None, None)  # the app stops
    runtime.close()

    restarted = open_runtime(runtime.settings)
    try:
        client = _admin(create_app(restarted))
        for receiver in receivers.values():
            receiver.start()
        _wait(
            lambda: {d.state for d in _deliveries(restarted)} == {"sent"},
            "every delivery is sent once the receivers are back",
        )
        with restarted.db.reading() as session:
            body = catalog.material_document(session, 1)["body"]
        for key in ("wecom", "dingtalk", "feishu", "free"):
            got = receivers[key].received
            announced = [
                r
                for r in got
                if "在全区重点工作推进会上的讲话" in json.dumps(r["body"], ensure_ascii=False)
            ]
            assert len(got) == len(announced) == 1, (key, got)
            assert got[0]["valid"], key
            text = receivers[key].texts()[0]
            assert _no_body_text(body, text), f"{key}: body text in the announcement"
            assert "一、坚定不移贯彻新发展理念" in text  # the outline summary
            link = f"{PUBLIC_URL}/materials/1" + ("" if key == "free" else "/read")
            assert link in text and (key == "free") == ("/read" not in text)
        assert receivers["off"].received == []
        dingtalk = receivers["dingtalk"].received[0]
        assert dingtalk["body"]["msgtype"] == "markdown" and "sign=" in dingtalk["path"]
        assert receivers["feishu"].received[0]["body"]["msg_type"] == "post"
        page = client.get("/console/robots").text
        assert page.count('class="delivery state-sent"') == 4
        assert "state-pending" not in page and "state-failed" not in page
        client.__exit__(None, None, None)
    finally:
        restarted.close()
        for receiver in receivers.values():
            receiver.stop()


def _publish(runtime) -> None:
    with runtime.db.transaction() as session:
        catalog.set_published(session, 1, True)


def _robot(runtime, platform, url, secret=None, audience="member") -> int:
    with runtime.db.transaction() as session:
        robot = Robot(
            name=f"{platform}-{url[-6:]}", platform=platform, audience=audience, webhook_url=""
        )
        session.add(robot)
        session.flush()
        bot_credentials.write(runtime.secret, robot, url, secret)
        return robot.id


def _send_until(runtime, done, what: str) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while not done():
        assert time.monotonic() < deadline, f"gave up waiting: {what}"
        bot_sender.send_due(runtime)
        time.sleep(0.05)


def test_a_rate_limited_answer_is_tried_again_and_a_rejected_signature_is_not(
    robots_runtime,
):
    runtime = robots_runtime
    busy = Receiver("feishu", FEISHU_SECRET, busy=2)
    wrong = Receiver("dingtalk", DINGTALK_SECRET)
    try:
        busy_id = _robot(runtime, "feishu", busy.url, FEISHU_SECRET)
        wrong_id = _robot(runtime, "dingtalk", wrong.url, "SECnot-the-right-one")
        _publish(runtime)
        _send_until(
            runtime,
            lambda: {d.state for d in _deliveries(runtime)} <= {"sent", "failed"},
            "both deliveries end",
        )
        rows = {d.robot_id: d for d in _deliveries(runtime)}
        assert rows[busy_id].state == "sent" and rows[busy_id].attempts == 3
        assert len(busy.received) == 3 and all(r["valid"] for r in busy.received)
        assert rows[wrong_id].state == "failed" and rows[wrong_id].attempts == 1
        assert rows[wrong_id].last_error.startswith("errcode 310000")
        assert len(wrong.received) == 1 and not wrong.received[0]["valid"]
    finally:
        busy.stop()
        wrong.stop()


def test_the_test_message_button_and_the_form_refusals(robots_runtime):
    runtime = robots_runtime
    receiver = Receiver("dingtalk", DINGTALK_SECRET)
    client = _admin(create_app(runtime))
    try:
        robot_id = _add_robot(
            client, "会员群钉钉", "dingtalk", "member", receiver.url, DINGTALK_SECRET
        )
        tested = client.post(f"/console/robots/{robot_id}/test", data={"csrf_token": _csrf(client)})
        assert tested.status_code == 200 and "平台已确认收到" in tested.text
        assert len(receiver.received) == 1 and receiver.received[0]["valid"]
        assert "测试" in receiver.texts()[0]
        receiver.stop()
        down = client.post(f"/console/robots/{robot_id}/test", data={"csrf_token": _csrf(client)})
        assert down.status_code == 200 and "没有发送成功" in down.text
        assert _deliveries(runtime) == []  # a test is not an announcement

        for url, field in (("ftp://127.0.0.1/x", "http"), ("not a url", "空格"), ("", "")):
            refused = client.post(
                "/console/robots",
                data={
                    "name": "坏地址",
                    "platform": "wecom",
                    "audience": "free",
                    "webhook_url": url,
                    "csrf_token": _csrf(client),
                },
            )
            assert refused.status_code == 400 and field in refused.text
        no_token = client.post(
            "/console/robots",
            data={
                "name": "x",
                "platform": "wecom",
                "audience": "free",
                "webhook_url": receiver.url,
            },
        )
        assert no_token.status_code == 403
        gone = client.post(f"/console/robots/{robot_id}/delete", data={"csrf_token": _csrf(client)})
        assert gone.status_code == 200 and "机器人已删除" in gone.text
        with runtime.db.reading() as session:
            from wenxing.audit import AuditEvent

            kinds = list(
                session.scalars(
                    select(AuditEvent.type)
                    .where(AuditEvent.type.like("robot:%"))
                    .order_by(AuditEvent.id)
                )
            )
        assert kinds == ["robot:add", "robot:test", "robot:test", "robot:delete"]
    finally:
        client.__exit__(None, None, None)
        receiver.stop()


def test_four_senders_send_each_delivery_once(robots_runtime):
    runtime = robots_runtime
    receivers = [Receiver("wecom") for _ in range(6)]
    try:
        for receiver in receivers:
            _robot(runtime, "wecom", receiver.url)
        _publish(runtime)
        assert len(_deliveries(runtime)) == 6
        threads = [threading.Thread(target=bot_sender.send_due, args=(runtime,)) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(WAIT_SECONDS)
        assert [len(r.received) for r in receivers] == [1] * 6
        assert {d.state for d in _deliveries(runtime)} == {"sent"}
    finally:
        for receiver in receivers:
            receiver.stop()


def test_a_stale_claim_is_taken_over_and_a_fresh_one_is_not(robots_runtime):
    runtime = robots_runtime
    receiver = Receiver("wecom")
    try:
        _robot(runtime, "wecom", receiver.url)
        _publish(runtime)
        with runtime.db.transaction() as session:
            row = session.scalars(select(BotDelivery)).one()
            row.state, row.claimed_at, row.attempts = "sending", utcnow(), 1
        assert bot_sender.claim(runtime.db) is None  # its sender may still be sending
        with runtime.db.transaction() as session:
            row = session.scalars(select(BotDelivery)).one()
            row.claimed_at = utcnow() - timedelta(seconds=bot_sender.STALE_SECONDS + 5)
        assert bot_sender.send_due(runtime) == 1
        assert len(receiver.received) == 1
        (row,) = _deliveries(runtime)
        assert row.state == "sent" and row.attempts == 2
    finally:
        receiver.stop()


def test_publishing_without_robots_or_with_a_disabled_one_queues_nothing(robots_runtime):
    runtime = robots_runtime
    robot_id = _robot(runtime, "wecom", "http://127.0.0.1:9/hook")
    with runtime.db.transaction() as session:
        session.get(Robot, robot_id).enabled = False
    seen = events.committed_count()
    _publish(runtime)
    assert events.committed_count() > seen
    assert _deliveries(runtime) == []
