"""The command line as outside scripts see it: a real process, stdout and stderr apart."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.conftest import TEST_SECRET
from tests.helpers import SAMPLE


def run(tmp_path, *args, env_extra=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith("WENXING_")}
    env.update(
        {"WENXING_SECRET": TEST_SECRET, "WENXING_DATABASE_URL": f"sqlite:///{tmp_path / 'w.db'}"}
    )
    env.update(env_extra or {})
    return subprocess.run(
        [sys.executable, "-m", "wenxing", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )


def test_json_documents_on_stdout_only(tmp_path):
    init = run(tmp_path, "init", "--json")
    assert init.returncode == 0 and init.stderr == ""
    assert json.loads(init.stdout)["revision"]
    imported = run(tmp_path, "import", str(SAMPLE), "--json")
    assert imported.returncode == 0, imported.stderr
    assert imported.stderr == ""
    assert json.loads(imported.stdout)["imported"][0]["id"] == 1
    shown = run(tmp_path, "materials", "show", "1", "--json")
    assert json.loads(shown.stdout)["title"] == "在全区重点工作推进会上的讲话"


def test_errors_are_one_line_without_traceback(tmp_path):
    not_ready = run(tmp_path, "materials", "list", "--json")
    assert not_ready.returncode == 1 and not_ready.stdout == ""
    assert not_ready.stderr == "error: database is not initialised: run `wenxing init`\n"
    bad_url = run(tmp_path, "--db", "mysql://x/y", "init")
    assert bad_url.returncode == 1
    assert bad_url.stderr.startswith("error: unsupported database 'mysql'")
    missing_folder = run(tmp_path, "--db", "sqlite:////nonexistent/dir/w.db", "init")
    assert missing_folder.returncode == 1 and "does not exist" in missing_folder.stderr
    for result in (not_ready, bad_url, missing_folder):
        assert "Traceback" not in result.stderr and result.stderr.count("\n") == 1


def test_a_damaged_pdf_gives_a_reason_and_no_library_noise(tmp_path):
    run(tmp_path, "init")
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer <<>>\n%%EOF")
    result = run(tmp_path, "import", str(broken), "--json")
    assert result.returncode == 1
    assert result.stderr == "error: 1 file failed to import\n"
    assert json.loads(result.stdout)["failed"][0]["path"] == str(broken)
