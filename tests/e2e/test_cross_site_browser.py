"""A page on another site sends a signed-in member's browser to a download link: no copy is
issued and nothing is logged in their name (issue 17). Debian's Chromium through Playwright;
the other site is a page served from ``localhost`` while wenxing is on ``127.0.0.1``."""

from __future__ import annotations

import http.server
import threading

from sqlalchemy import func, select

from tests.helpers import PASSWORD, account, import_sample
from wenxing.delivery.models import IssuedCopy


def other_site(target: str) -> tuple[http.server.ThreadingHTTPServer, str]:
    """A page elsewhere that navigates to ``target`` as soon as it loads (and links to it)."""
    page = (
        f'<!doctype html><a id="go" href="{target}">免费领取</a>'
        f'<script>location.href = "{target}";</script>'
    ).encode()

    class Page(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, *_args) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Page)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://localhost:{server.server_address[1]}/"


def issued(runtime) -> int:
    with runtime.db.reading() as session:
        return session.scalar(select(func.count()).select_from(IssuedCopy))


def test_a_page_elsewhere_navigating_to_a_download_issues_nothing(runtime, serve, browser):
    import_sample(runtime)
    with runtime.db.transaction() as session:
        account(session, runtime.publisher_settings(), "会员", subscribed=True, username="paid")
    base = serve()
    context = browser.new_context(locale="zh-CN", accept_downloads=True)
    page = context.new_page()
    page.goto(f"{base}/signin")
    page.fill("#identifier", "paid")
    page.fill("#password", PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(f"{base}/")

    elsewhere, url = other_site(f"{base}/materials/1/download/txt")
    try:
        page.goto(url)
        page.wait_for_url(f"{base}/materials/1/download/txt")
        assert page.get_by_role("button", name="确认领取").is_visible()
        assert issued(runtime) == 0
        # The member's own click on this site's button is a deliberate request: one copy.
        with page.expect_download() as waiting:
            page.get_by_role("button", name="确认领取").click()
        assert waiting.value.suggested_filename.endswith(".txt")
        assert issued(runtime) == 1
    finally:
        elsewhere.shutdown()
        elsewhere.server_close()
        context.close()
