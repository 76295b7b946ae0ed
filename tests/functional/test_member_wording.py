"""No English and no raw code on any member page (issue 22): every page a visitor, a free
user and a member (on WeChat, on a phone) may open is read as a person reads it (the text
outside tags, scripts and styles) and checked against a short list of what must never show:
English words, event codes (member:sign-in), user-agent strings, exception names, UTC."""

from __future__ import annotations

import html
import re

import pytest
from fastapi.testclient import TestClient

from tests.helpers import PASSWORD, account, import_sample, signed_in
from wenxing.web.app import create_app

WECHAT = (
    "Mozilla/5.0 (Linux; Android 13; V2183A Build/TP1A.220624.014; wv) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Version/4.0 Chrome/107.0.5304.141 Mobile Safari/537.36 XWEB/5061 "
    "MMWEBSDK/20230303 MicroMessenger/8.0.34.2340(0x2800223B) WeChat/arm64 NetType/WIFI"
)
FORBIDDEN = {
    "an English word": re.compile(r"\b[A-Za-z]{3,}\b"),
    "an event code": re.compile(r"\b[a-z]+:[a-z][a-z-]+\b"),
    "a user agent": re.compile(r"Mozilla/|AppleWebKit|MicroMessenger|KHTML|\bMMWEBSDK"),
    "an exception": re.compile(r"Traceback|\w+(Error|Exception)\b"),
    "UTC": re.compile(r"UTC|GMT"),
}
# Words a Chinese member reads as they are: systems and browsers naming a device, formats.
ALLOWED = {"Android", "iPhone", "iPad", "Windows", "Mac", "Linux", "Safari", "Chrome", "Edge"}
ALLOWED |= {"Firefox", "Word", "PPP", "RSS", "Atom"}
# File types the report form accepts, named by their extensions as members save them.
ALLOWED |= {"docx", "pdf", "txt", "PDF", "html", "jpg", "png", "tif"}
# The search box's filter words, which members type themselves (kind:讲话 year:2024).
ALLOWED |= {"kind", "year", "category", "tag"}
ALLOWED |= {"testclient"}  # the test client's address, shown where a device's IP address is
URL = re.compile(r"(https?://|(?<!\S)/)\S+")  # an address to copy (a feed) is not prose
PAGES = [
    "/",
    "/materials/1",
    "/materials/1/read",
    "/materials/999",
    "/no-such-page",
    "/signin",
    "/signup",
    "/forgot",
    "/claim",
    "/reset",
    "/reset/not-a-real-link-0123456789",
    "/account",
    "/account/notifications",
    "/search?q=乡村振兴",
    "/categories",
    "/requests",
    "/report",
]


def visible_text(page: str) -> str:
    page = re.sub(r"(?is)<(script|style)\b.*?</\1>", " ", page)
    page = re.sub(r"(?s)<[^>]+>", " ", page)
    return URL.sub(" ", html.unescape(page))


def offences(text: str) -> list[str]:
    found = []
    for what, pattern in FORBIDDEN.items():
        for match in pattern.finditer(text):
            if what == "an English word" and match.group(0) in ALLOWED:
                continue
            found.append(f"{what}: {match.group(0)!r}")
    return found


@pytest.fixture
def clients(runtime):
    import_sample(runtime)
    publisher = runtime.publisher_settings()
    with runtime.db.transaction() as session:
        account(session, publisher, "李明", subscribed=True, username="liming")
        account(session, publisher, "王芳", subscribed=False, username="wangfang")
    app = create_app(runtime)
    member = TestClient(app, headers={"user-agent": WECHAT})  # signed in on WeChat
    member.get("/signin")
    form = {"identifier": "liming", "password": PASSWORD, "csrf_token": member.cookies["wx_csrf"]}
    assert member.post("/signin", data=form, follow_redirects=False).status_code == 303
    return {"visitor": TestClient(app), "free": signed_in(app, "wangfang"), "member": member}


def test_member_pages_hold_no_english_and_no_raw_code(clients):
    found = {}
    for role, client in clients.items():
        for path in PAGES:
            response = client.get(path)
            assert response.status_code < 500, (role, path)
            if "text/html" not in response.headers.get("content-type", ""):
                continue
            bad = offences(visible_text(response.text))
            if bad:
                found[f"{role} {path}"] = sorted(set(bad))
    assert not found, "\n".join(f"{page}: {bad}" for page, bad in found.items())


def test_the_check_catches_what_it_is_for():
    page = "<p>member:sign-in</p><p>Mozilla/5.0</p><p>ValueError</p><p>时间（UTC）</p><p>Login</p>"
    kinds = {offence.split(":")[0] for offence in offences(visible_text(page))}
    assert kinds == set(FORBIDDEN)
    assert offences(visible_text("<p>Android · 微信</p><script>var x = 'English';</script>")) == []
