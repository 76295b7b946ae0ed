"""A loopback stand-in for 阿里云短信 and 腾讯云短信 that checks every request's signature.

It verifies from the receiving side, written apart from ``wenxing.members.sms``: for Aliyun
it rebuilds the string to sign from the form it received (every parameter but
``Signature``, sorted, RFC 3986-encoded) and compares the Base64 HMAC-SHA1; for Tencent it
rebuilds the canonical request from the headers and body it received and derives the
TC3 key chain from the date in the credential scope. A request whose signature does not
match is answered with the provider's own error shape and its code is not kept.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, quote

KEY_ID = "test-key-id"
KEY_SECRET = "test-key-secret-0123456789"


class Receiver:
    def __init__(self) -> None:
        self.codes: list[tuple[str, str]] = []  # (phone, code) of correctly signed requests
        self.refused = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # quiet
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                if self.path.startswith("/aliyun"):
                    answer = receiver.aliyun(body)
                else:
                    answer = receiver.tencent(dict(self.headers.items()), body)
                data = json.dumps(answer).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def aliyun(self, body: bytes) -> dict:
        form = dict(parse_qsl(body.decode(), keep_blank_values=True))
        given = form.pop("Signature", "")

        def enc(text: str) -> str:
            return quote(text, safe="-_.~")

        pairs = "&".join(enc(k) + "=" + enc(v) for k, v in sorted(form.items()))
        text = "POST&" + enc("/") + "&" + enc(pairs)
        mac = hmac.new((KEY_SECRET + "&").encode(), text.encode(), hashlib.sha1).digest()
        if form.get("AccessKeyId") != KEY_ID or base64.b64encode(mac).decode() != given:
            self.refused += 1
            return {
                "Code": "SignatureDoesNotMatch",
                "Message": "Specified signature is not matched",
            }
        code = json.loads(form["TemplateParam"])["code"]
        self.codes.append((form["PhoneNumbers"], code))
        return {"Code": "OK", "Message": "OK", "BizId": "1", "RequestId": "r"}

    def tencent(self, headers: dict[str, str], body: bytes) -> dict:
        lower = {k.lower(): v for k, v in headers.items()}
        auth = lower.get("authorization", "")
        try:
            algorithm, rest = auth.split(" ", 1)
            fields = dict(part.strip().split("=", 1) for part in rest.split(","))
            key_id, day, service, terminator = fields["Credential"].split("/")
        except ValueError:
            return self._tencent_refused()
        signed = fields.get("SignedHeaders", "").split(";")
        canonical_headers = "".join(f"{name}:{lower.get(name, '').strip()}\n" for name in signed)
        canonical = "POST\n/\n\n" + canonical_headers + "\n" + ";".join(signed) + "\n"
        canonical += hashlib.sha256(body).hexdigest()
        to_sign = "\n".join(
            [
                algorithm,
                lower.get("x-tc-timestamp", ""),
                f"{day}/{service}/{terminator}",
                hashlib.sha256(canonical.encode()).hexdigest(),
            ]
        )
        key = ("TC3" + KEY_SECRET).encode()
        for part in (day, service, terminator):
            key = hmac.new(key, part.encode(), hashlib.sha256).digest()
        expected = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
        ok = (
            algorithm == "TC3-HMAC-SHA256"
            and key_id == KEY_ID
            and service == "sms"
            and "host" in signed
            and lower.get("x-tc-action") == "SendSms"
            and hmac.compare_digest(expected, fields.get("Signature", ""))
        )
        if not ok:
            return self._tencent_refused()
        payload = json.loads(body)
        phone = payload["PhoneNumberSet"][0].removeprefix("+86")
        self.codes.append((phone, payload["TemplateParamSet"][0]))
        return {"Response": {"SendStatusSet": [{"Code": "Ok"}], "RequestId": "r"}}

    def _tencent_refused(self) -> dict:
        self.refused += 1
        error = {"Code": "AuthFailure.SignatureFailure", "Message": "signature"}
        return {"Response": {"Error": error, "RequestId": "r"}}

    def config(self, provider: str) -> dict[str, str]:
        """A publisher ``sms`` setting pointing at this receiver."""
        config = {
            "provider": provider,
            "key_id": KEY_ID,
            "key_secret": KEY_SECRET,
            "sign_name": "文行",
            "template": "SMS_1" if provider == "aliyun" else "100001",
            "endpoint": f"{self.base}/{provider}/",
        }
        if provider == "tencent":
            config["app_id"] = "1400000000"
        return config

    def last_code(self, phone: str) -> str:
        return [code for to, code in self.codes if to == phone][-1]
