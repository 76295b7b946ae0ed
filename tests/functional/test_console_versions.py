"""The console's material page lists every version: number, date, characters, which is
current."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from tests.helpers import PASSWORD, SAMPLE, account
from wenxing.materials.importer import ImportOptions, MaterialImporter
from wenxing.web.app import create_app
from wenxing.web.auth import CSRF_COOKIE


def test_the_material_page_lists_versions_newest_first(runtime, tmp_path):
    source = tmp_path / "讲话.txt"
    text = SAMPLE.read_text("utf-8")
    source.write_text(text, "utf-8")
    importer = MaterialImporter(runtime.db, runtime.settings, runtime.publisher_settings())
    importer.run([source], ImportOptions(publish=True))
    source.write_text(text + "\n同志们，让我们再接再厉，奋勇争先，努力开创工作新局面！\n", "utf-8")
    report = importer.run([source], ImportOptions())
    assert [i["version"] for i in report.imported] == [2]
    publisher = runtime.publisher_settings()
    with runtime.db.transaction() as session:
        account(session, publisher, "编辑", subscribed=False, username="writer").role = "editor"
    editor = TestClient(create_app(runtime))
    editor.get("/signin")
    editor.post(
        "/signin",
        data={
            "identifier": "writer",
            "password": PASSWORD,
            "csrf_token": editor.cookies[CSRF_COOKIE],
        },
    )
    page = editor.get("/console/materials/1")
    assert page.status_code == 200
    table = re.search(r"<h2>版本</h2>(.*?)</table>", page.text, re.S).group(1)
    rows = re.findall(
        r"<tr><td>第 (\d+) 版</td><td>(\d{4}-\d\d-\d\d \d\d:\d\d)</td><td>(\d+)</td>"
        r"<td>([^<]*)</td><td>(.*?)</td></tr>",
        table,
    )
    assert [r[0] for r in rows] == ["2", "1"]
    assert int(rows[0][2]) > int(rows[1][2]) > 5000
    assert all(r[3] == "讲话.txt" for r in rows)
    assert "当前版本" in rows[0][4] and rows[1][4] == ""
