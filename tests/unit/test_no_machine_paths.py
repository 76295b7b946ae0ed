"""The repository names no folder of one machine (issue 16): a newcomer's clone, CI and a
deployment each keep their checkout, caches and corpus somewhere else. Benchmarks and docs
name folders relative to the repository (``build/``, ``../shared/corpus``) or take them from
an option or ``WENXING_*`` variable."""

from __future__ import annotations

import re
import subprocess

from tests.helpers import REPO

# Folders of the machines wenxing has been built on, and home folders in general.
MACHINE_FOLDER = re.compile(r"(?<![\w.])/(work|home/\w+|root|Users/\w+|tmp/lone)/")
# The history of changes may say where a figure was measured; nothing reads it as a path.
EXEMPT = {"CHANGELOG.md"}


def test_no_tracked_file_names_a_machines_folder():
    tracked = (
        subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True)
        .stdout.decode()
        .split("\0")
    )
    found = []
    for name in filter(None, tracked):
        if name in EXEMPT or not (REPO / name).is_file():
            continue
        try:
            text = (REPO / name).read_text("utf-8")
        except UnicodeDecodeError:
            continue  # images, fonts
        for number, line in enumerate(text.splitlines(), 1):
            if MACHINE_FOLDER.search(line):
                found.append(f"{name}:{number}: {line.strip()[:100]}")
    assert not found, "\n".join(found)
