"""Local stand-ins for QQ (127.0.0.1 only): a OneBot v11 framework's HTTP API and the QQ
official bot platform, each checking credentials as the real one does, recording every
call, and able to go down and come back on its port.

* ``OneBot``: plain HTTP, ``Authorization: Bearer <token>`` (missing: 401, wrong: 403);
  ``send_group_msg``, ``send_private_msg``, ``set_group_add_request``, ``set_group_kick``
  answered ``{"status": "ok", "retcode": 0, "data": …}``. ``event`` builds a signed event
  report the way the framework POSTs it.
* ``Official``: TLS (the tests' authority); ``/app/getAppAccessToken`` gives a token for
  the right app id and secret (else ``{"code": 100016, …}``), ``/v2/groups/<openid>/messages``
  takes a message with ``Authorization: QQBot <token>``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests import tls

ONEBOT_ACTIONS = ("send_group_msg", "send_private_msg", "set_group_add_request", "set_group_kick")


class _Server:
    """A threaded HTTP server on 127.0.0.1 that can stop and start again on its port."""

    use_tls = False

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.server: ThreadingHTTPServer | None = None
        self.port = 0
        self.start()

    def answer(self, path: str, headers, body: dict) -> tuple[int, dict]:
        raise NotImplementedError

    def start(self) -> None:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                try:
                    body = json.loads(self.rfile.read(length).decode("utf-8") or "{}")
                except ValueError:
                    body = {}
                status, reply = owner.answer(self.path, self.headers, body)
                data = json.dumps(reply).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):  # quiet
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        if self.use_tls:
            context = tls.certificates().server_context()
            self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None


class OneBot(_Server):
    def __init__(self, token: str, secret: str, self_id: int = 3_100_200_300) -> None:
        self.token, self.secret, self.self_id = token, secret, self_id
        self.calls: list[tuple[str, dict]] = []
        self.refused: list[int] = []
        super().__init__()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def answer(self, path: str, headers, body: dict) -> tuple[int, dict]:
        given = headers.get("Authorization", "")
        if not given:
            self.refused.append(401)
            return 401, {"status": "failed", "retcode": 1403}
        if not hmac.compare_digest(given, f"Bearer {self.token}"):
            self.refused.append(403)
            return 403, {"status": "failed", "retcode": 1403}
        action = path.strip("/").split("?")[0]
        if action not in ONEBOT_ACTIONS:
            return 404, {"status": "failed", "retcode": 1404}
        with self.lock:
            self.calls.append((action, body))
        return 200, {"status": "ok", "retcode": 0, "data": {"message_id": len(self.calls)}}

    def of(self, action: str) -> list[dict]:
        with self.lock:
            return [body for name, body in self.calls if name == action]

    def event(self, payload: dict, secret: str | None = None) -> tuple[bytes, dict]:
        """A report as the framework POSTs it: the body and its headers (signed)."""
        body = json.dumps({"time": 1765000000, "self_id": self.self_id, **payload}).encode()
        key = (secret or self.secret).encode()
        signature = "sha1=" + hmac.new(key, body, hashlib.sha1).hexdigest()
        headers = {
            "Content-Type": "application/json",
            "X-Self-ID": str(self.self_id),
            "X-Signature": signature,
        }
        return body, headers


class Official(_Server):
    use_tls = True

    def __init__(self, app_id: str, secret: str, group: str) -> None:
        self.app_id, self.secret, self.group = app_id, secret, group
        self.tokens: list[str] = []
        self.messages: list[dict] = []
        self.refused: list[str] = []
        super().__init__()

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def answer(self, path: str, headers, body: dict) -> tuple[int, dict]:
        if path == "/app/getAppAccessToken":
            if body.get("appId") != self.app_id or body.get("clientSecret") != self.secret:
                self.refused.append("token")
                return 200, {"code": 100016, "message": "invalid appid or secret"}
            token = secrets.token_hex(16)
            with self.lock:
                self.tokens.append(token)
            return 200, {"access_token": token, "expires_in": "7200"}
        if path != f"/v2/groups/{self.group}/messages":
            return 404, {"code": 404, "message": "not found"}
        given = headers.get("Authorization", "")
        with self.lock:
            known = {f"QQBot {t}" for t in self.tokens}
        if given not in known or headers.get("X-Union-Appid") != self.app_id:
            self.refused.append("message")
            return 401, {"code": 11244, "message": "token not exist or expire"}
        with self.lock:
            self.messages.append(body)
        return 200, {"id": f"msg-{len(self.messages)}", "timestamp": 1765000000}
