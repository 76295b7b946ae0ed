"""A version notice in Debian's Chromium: a member downloads a material, an admin uploads
a new version in the console, and the member's open page shows it under the bell at once
(Server-Sent Events, no reload); the notification links to the material.

Runs on both databases against the app served by uvicorn (its lifespan starts the hub).
Pages are saved at 390×844 and 1366×768 in ``build/artifacts/site/``.
"""

from __future__ import annotations

from tests.e2e.conftest import wait_until
from tests.e2e.test_site_paths import _backend, shoot
from tests.helpers import PASSWORD, SAMPLE, account
from wenxing.materials.importer import ImportOptions, MaterialImporter


def sign_in(page, base: str, username: str, target: str) -> None:
    page.goto(f"{base}/signin?next={target}")
    page.fill("#identifier", username)
    page.fill("#password", PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(f"**{target}")


def test_a_downloader_sees_a_new_version_under_the_bell_live(runtime, serve, browser, tmp_path):
    text = SAMPLE.read_text("utf-8")
    source = tmp_path / "讲话.txt"
    source.write_text(text, "utf-8")
    MaterialImporter(runtime.db, runtime.settings, runtime.publisher_settings()).run(
        [source], ImportOptions(publish=True)
    )
    publisher = runtime.publisher_settings()
    with runtime.db.transaction() as session:
        account(session, publisher, "会员", subscribed=True, username="reader")
        account(session, publisher, "管理员", subscribed=False, username="boss").role = "admin"
    second = tmp_path / "讲话（修订）.txt"
    second.write_text(text + "\n同志们，让我们再接再厉，奋勇争先，努力开创工作新局面！\n", "utf-8")
    base = serve()
    backend = _backend(runtime)

    phone = browser.new_context(
        viewport={"width": 390, "height": 844}, locale="zh-CN", accept_downloads=True
    )
    page = phone.new_page()
    sign_in(page, base, "reader", "/materials/1")
    with page.expect_download() as waiting:
        page.get_by_role("button", name="下载 Word 公文格式 .docx").click()
    waiting.value.save_as(tmp_path / "v1.docx")
    # The page's stream is open (the server subscribes it before answering) before the
    # admin uploads: a version published while the stream was still connecting would
    # reach this page only on its next reconnect.
    with page.expect_response(f"{base}/events"):
        page.goto(base + "/")
    bell = page.locator("#bell")
    before = int(bell.get_attribute("data-count"))  # the membership's own notice
    shoot(page, backend, "51-bell-before")

    desk = browser.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN")
    console = desk.new_page()
    sign_in(console, base, "boss", "/console/materials/1")
    console.set_input_files("#version-file", str(second))
    shoot(console, backend, "52-console-new-version")
    console.get_by_role("button", name="上传", exact=True).click()
    console.wait_for_selector("text=已导入")
    assert "第 2 版" in console.content()
    desk.close()

    # The member's page was not reloaded: the count and the notice arrive over SSE.
    wait_until(page, f"document.getElementById('bell').dataset.count === '{before + 1}'")
    assert bell.locator(".count").inner_text() == str(before + 1)
    toast = page.locator(".toast").filter(has_text="有新版本")
    toast.wait_for(timeout=5_000)
    shoot(page, backend, "53-bell-new-version")
    bell.click()
    page.wait_for_url("**/account/notifications")
    notice = page.get_by_role("link", name="有新版本", exact=False).first
    assert "第 2 版" in notice.inner_text()
    shoot(page, backend, "54-notifications")
    notice.click()
    page.wait_for_url("**/materials/1")
    phone.close()
