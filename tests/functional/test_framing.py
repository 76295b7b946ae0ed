"""Nobody is accused by what a leaker can type: a copy whose visible recipient line names an
innocent member accuses that member nowhere (not through `wenxing trace`, not through a
filed report), is flagged as a possible forgery, and the marks name the real leaker
wherever they suffice. On both databases; the tests that only trace share one installation
per database (a module world)."""

from __future__ import annotations

import json
import unicodedata

import pytest
from sqlalchemy import select

from tests.helpers import SAMPLE
from wenxing import jobs
from wenxing.db.base import utcnow
from wenxing.reports import cases, intake
from wenxing.reports.intake import EvidenceFile, Limits, Submission
from wenxing.reports.models import Accusation, ReportTrace

LIMITS = Limits(max_file_bytes=20 * 1048576, per_hour_ip=5, per_day_contact=3)
LEAKER, INNOCENT = "WX-10001", "WX-10003"


def _issue(cli, folder) -> dict[str, str]:
    """The sample published, three members, copies issued to the first and the third."""
    assert cli("import", str(SAMPLE), "--publish", "--json").code == 0
    for name in ("张三", "李四", "王五"):
        assert cli("members", "add", name, "--json").code == 0
    made = cli(
        "copy", "1", "--member", "1", "--member", "3", "--format", "txt", "--out", str(folder)
    )
    assert made.code == 0
    return {p.name: p.read_text("utf-8") for p in folder.iterdir()}


@pytest.fixture(scope="module")
def copies(module_cli, tmp_path_factory):
    """Shared by the tests that only trace (one installation per database)."""
    return _issue(module_cli, tmp_path_factory.mktemp("copies"))


@pytest.fixture
def own_copies(cli, tmp_path):
    """On the test's own installation, for a test that files a report."""
    return _issue(cli, tmp_path / "copies")


def forged(text: str) -> str:
    """The leaker's copy with its recipient line edited to the innocent member's number."""
    assert LEAKER in text
    return text.replace(LEAKER, INNOCENT)


def stripped(text: str) -> str:
    """Every invisible character removed (format characters and variation selectors)."""
    return "".join(
        ch
        for ch in unicodedata.normalize("NFKC", text)
        if unicodedata.category(ch) not in ("Cf", "Mn")
    )


def leaker_copy(copies: dict[str, str]) -> str:
    [text] = [t for t in copies.values() if LEAKER in t]
    return text


@pytest.mark.parametrize("treatment", ["whole", "stripped"])
def test_wenxing_trace_never_accuses_by_the_visible_line(module_cli, copies, tmp_path, treatment):
    evidence = forged(leaker_copy(copies))
    if treatment == "stripped":
        evidence = stripped(evidence)
    path = tmp_path / "forged.txt"
    path.write_text(evidence, "utf-8")
    result = module_cli("trace", str(path), "--json").json()
    accused = [a["member"] for a in result["accused"]]
    assert INNOCENT not in accused
    assert accused == [LEAKER]  # the marks (wording alone when stripped) suffice here
    assert result["forgery_suspected"] is True
    assert result["leads"] == [
        {"member": INNOCENT, "exists": True, "issued_copies": 1, "standing": "contradicted"}
    ]
    printed = module_cli("trace", str(path))
    assert f"visible member number {INNOCENT} (a lead only)" in printed.stdout
    assert "POSSIBLE FORGERY" in printed.stdout


def test_a_visible_line_without_marks_behind_it_accuses_no_one(module_cli, copies, tmp_path):
    """The recipient line alone (the marks too few to read) names nobody, and says so."""
    lines = forged(leaker_copy(copies)).split("\n")
    header = [line for line in lines if INNOCENT in line]
    path = tmp_path / "line.txt"
    path.write_text(stripped("\n".join(header + lines[9:11])), "utf-8")
    result = module_cli("trace", str(path), "--json").json()
    assert result["accused"] == []
    assert result["forgery_suspected"] is True
    assert [lead["standing"] for lead in result["leads"]] == ["unsupported"]


def test_a_genuine_copy_s_line_agrees_with_its_marks(module_cli, copies, tmp_path):
    path = tmp_path / "genuine.txt"
    path.write_text(leaker_copy(copies), "utf-8")
    result = module_cli("trace", str(path), "--json").json()
    assert [a["member"] for a in result["accused"]] == [LEAKER]
    assert result["forgery_suspected"] is False
    assert [lead["standing"] for lead in result["leads"]] == ["agrees"]


@pytest.mark.parametrize("treatment", ["whole", "stripped"])
def test_a_filed_report_of_a_forged_copy_accuses_only_the_leaker(own_copies, runtime, treatment):
    evidence = forged(leaker_copy(own_copies))
    if treatment == "stripped":
        evidence = stripped(evidence)
    with runtime.db.transaction() as session:
        report = intake.submit(
            session,
            Submission(
                platform="xianyu",
                contact="13900139000",
                files=[EvidenceFile("资料.txt", evidence.encode("utf-8"))],
            ),
            reporter=None,
            ip="203.0.113.9",
            user_agent="test",
            limits=LIMITS,
            now=utcnow(),
        )
        report_id = report.id
    assert cases.TRACE_JOB == "report.trace"  # (importing cases registers its handler)
    jobs.run_pending(runtime)
    with runtime.db.reading() as session:
        accused = session.execute(
            select(Accusation.basis, Accusation.member_id).where(Accusation.report_id == report_id)
        ).all()
        [trace] = session.scalars(select(ReportTrace).where(ReportTrace.report_id == report_id))
        result = json.loads(trace.result)
    assert accused == [("marks", 1)]  # member id 1 is WX-10001, the leaker
    assert all(basis != "visible_line" for basis, _member in accused)
    assert result["forgery_suspected"] is True
    assert [lead["standing"] for lead in result["leads"]] == ["contradicted"]
