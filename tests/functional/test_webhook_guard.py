"""Group robots' webhooks only reach the platforms (issue 19), on both databases: loopback,
10.x, 169.254.x, a name resolving to 127.0.0.1, a redirect to loopback and an http:// URL
are each refused when the robot is saved and when a message is sent; an allowed host works
against a local TLS receiver; the console's test never shows what the other end said."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select

from tests import tls
from tests.functional.test_bots import (
    Receiver,
    _add_robot,
    _admin,
    _csrf,
    _deliveries,
    _publish,
    _robot,
    robots_installation,
)
from wenxing.live import bot_sender, webhook_guard
from wenxing.live.bot_formats import Message
from wenxing.live.models import Robot
from wenxing.settings import change as change_setting
from wenxing.web.app import create_app

HOOK = "/cgi-bin/webhook/send?key=abc"
REFUSED = [
    "https://127.0.0.1" + HOOK,
    "https://10.0.0.5" + HOOK,
    "https://169.254.169.254" + HOOK,
    "https://localhost" + HOOK,  # a name resolving to 127.0.0.1
    "https://[::1]" + HOOK,
    "http://qyapi.weixin.qq.com" + HOOK,  # the platform's host, but not https
    "https://internal.example.com" + HOOK,  # a host nobody allowed
]


@pytest.fixture
def guarded(runtime, settings):
    """The installation as an operator runs it: no private network allowed; the
    publisher allowed the refused hosts' names, so the addresses are what refuses them."""
    robots_installation(runtime, settings)
    runtime.settings = runtime.settings.model_copy(update={"webhook_private_networks": ""})
    with runtime.db.transaction() as session:
        hosts = ["127.0.0.1", "10.0.0.5", "169.254.169.254", "localhost", "::1"]
        change_setting(session, "webhook_hosts", hosts, actor="publisher:test")
    return runtime


def _form(client, url: str):
    return client.post(
        "/console/robots",
        data={
            "name": "内网",
            "platform": "wecom",
            "audience": "free",
            "webhook_url": url,
            "csrf_token": _csrf(client),
        },
    )


def test_internal_and_plain_webhooks_are_refused_at_save(guarded):
    client = _admin(create_app(guarded))
    try:
        for url in REFUSED:
            refused = _form(client, url)
            assert refused.status_code == 400, url
            assert "Webhook 地址" in refused.text, url
        with guarded.db.reading() as session:
            assert session.scalars(select(Robot)).all() == []
    finally:
        client.__exit__(None, None, None)


def test_internal_webhooks_stored_before_are_refused_at_send(guarded):
    """Robots saved before the guard (or with a name that resolved elsewhere then) send
    nothing: the address is checked at every send, and no connection is made."""
    listener = _Listener()
    try:
        urls = [u for u in REFUSED if "127.0.0.1" not in u] + [
            f"https://127.0.0.1:{listener.port}{HOOK}"
        ]
        for url in urls:
            _robot(guarded, "wecom", url)
        _publish(guarded)
        bot_sender.send_due(guarded)
        rows = _deliveries(guarded)
        assert len(rows) == len(urls) and {r.state for r in rows} == {"failed"}
        assert all(r.last_status is None for r in rows)
        assert listener.connections == 0
        client = _admin(create_app(guarded))
        try:
            robot_id = rows[-1].robot_id
            tested = client.post(
                f"/console/robots/{robot_id}/test", data={"csrf_token": _csrf(client)}
            )
            assert "Webhook 地址不被允许" in tested.text
            assert listener.connections == 0
        finally:
            client.__exit__(None, None, None)
    finally:
        listener.stop()


def test_a_name_that_rebinds_to_loopback_is_refused_and_the_checked_address_used():
    policy = webhook_guard.Policy.of(["hook.example.com"], "")
    answers = iter([["93.184.216.34"], ["127.0.0.1"], ["93.184.216.34", "10.1.2.3"]])
    resolve = lambda _host, _port: next(answers)  # noqa: E731
    pinned = webhook_guard.pin("https://hook.example.com/send?k=1", policy, resolve)
    assert pinned.url == "https://93.184.216.34/send?k=1" and pinned.host == "hook.example.com"
    for _ in range(2):
        with pytest.raises(webhook_guard.WebhookRefused) as refused:
            webhook_guard.pin("https://hook.example.com/send?k=1", policy, resolve)
        assert refused.value.code == "address"
    mapped = webhook_guard.Policy.of(["hook.example.com"], "")
    with pytest.raises(webhook_guard.WebhookRefused):
        webhook_guard.pin("https://hook.example.com/", mapped, lambda _h, _p: ["::ffff:127.0.0.1"])
    for address in ("100.64.0.1", "224.0.0.1", "0.0.0.0", "fd00::1", "fe80::1"):
        with pytest.raises(webhook_guard.WebhookRefused):
            webhook_guard.pin("https://hook.example.com/", mapped, lambda _h, _p, a=address: [a])


def test_a_redirect_to_loopback_is_not_followed_and_the_body_is_never_shown(robots_runtime):
    """The receiver (allowed: the operator's loopback network, its test authority) answers
    a redirect to another local service, then an error page full of secrets: neither is
    followed, and the console shows a status and a sentence only."""
    runtime = robots_runtime
    inside = _Listener()
    redirecting = _TlsAnswer(302, b"", {"Location": f"http://127.0.0.1:{inside.port}/admin"})
    leaking = _TlsAnswer(500, b"root:x:0:0 SECRET-INTERNAL-PAGE", {})
    client = _admin(create_app(runtime))
    try:
        for answer, expected in ((redirecting, "302"), (leaking, "500")):
            robot_id = _add_robot(client, f"转向{expected}", "wecom", "free", answer.url)
            tested = client.post(
                f"/console/robots/{robot_id}/test", data={"csrf_token": _csrf(client)}
            )
            assert tested.status_code == 200 and expected in tested.text
            assert "SECRET-INTERNAL-PAGE" not in tested.text and "/admin" not in tested.text
        assert inside.connections == 0
        message = Message("测试", ("测试",), "https://wx.example.cn")
        policy = webhook_guard.Policy.for_runtime(runtime)
        with bot_sender.http_client(runtime.settings.webhook_ca_file) as http:
            status, outcome = bot_sender.post(http, "wecom", leaking.url, None, message, policy)
        assert status == 500 and "SECRET" not in (outcome.error or "")
    finally:
        client.__exit__(None, None, None)
        for server in (inside, redirecting, leaking):
            server.stop()


def test_an_allowed_host_works_over_tls(robots_runtime):
    receiver = Receiver("wecom")
    client = _admin(create_app(robots_runtime))
    try:
        robot_id = _add_robot(client, "自建接收", "wecom", "free", receiver.url)
        tested = client.post(f"/console/robots/{robot_id}/test", data={"csrf_token": _csrf(client)})
        assert "平台已确认收到" in tested.text and len(receiver.received) == 1
        plain = _form(client, receiver.url.replace("https://", "http://"))
        assert plain.status_code == 400 and "https://" in plain.text
    finally:
        client.__exit__(None, None, None)
        receiver.stop()


@pytest.fixture
def robots_runtime(runtime, settings):
    return robots_installation(runtime, settings)


class _Listener:
    """A plain TCP listener on loopback counting connections (an internal service)."""

    def __init__(self) -> None:
        import socket

        self.connections = 0
        self.socket = socket.socket()
        self.socket.bind(("127.0.0.1", 0))
        self.socket.listen(16)
        self.socket.settimeout(0.2)
        self.port = self.socket.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self.socket.accept()
            except OSError:
                continue
            self.connections += 1
            connection.close()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self.socket.close()


class _TlsAnswer:
    """A TLS server on 127.0.0.1 answering every POST with one status, body and headers."""

    def __init__(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        context = tls.certificates().server_context()
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}{HOOK}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
