"""Hostile evidence and hostile reporters cannot hurt the server (issue 19), on both
databases: bombs filed as reports end with a reason and a good report after them is
traced; a job's lease; intake refused before the body is read; rewards need a suspension
and stop at a yearly cap; evidence purged after the retention period.

The server-level attack (``wenxing serve --workers 2`` under the issue's bombs, RSS and
latency measured) is ``tests/functional/test_hostile_serve.py`` (marked ``hostile``)."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import anyio
import pytest
from sqlalchemy import func, select

from tests import bombs
from tests.functional.test_reports import confirm, issue, submit, traced
from tests.helpers import SAMPLE
from wenxing import audit, jobs
from wenxing.db.base import utcnow
from wenxing.members.models import ActivationCode, Member
from wenxing.reports import intake
from wenxing.reports.cases import TRACE_JOB
from wenxing.reports.intake import EvidenceFile, ReportRefused, Submission
from wenxing.reports.models import Report, ReportEvidence
from wenxing.settings import change as change_setting
from wenxing.web import reporting
from wenxing.web.app import create_app


@pytest.fixture
def library(cli, runtime):
    """The sample published and four members (as tests/functional/test_reports.py)."""
    assert cli("import", str(SAMPLE), "--publish", "--json").code == 0
    for name in ("张三", "李四", "王五", "赵六"):
        assert cli("members", "add", name, "--json").code == 0
    return runtime


# The issue's bombs, at sizes of the tests' own (the benchmark reads normal files only).
BOMBS = [
    ("paragraphs.docx", lambda: bombs.empty_paragraphs_docx(2_500_000), {"too_large"}),
    ("pages.pdf", lambda: bombs.shared_stream_pdf(5_000, ops=12_000), {"too_large"}),
    ("huge.png", lambda: bombs.huge_png(20_000, 20_000), {"image_too_large"}),
    ("members.zip", lambda: bombs.many_members_zip(10_000), {"too_large", "unsupported"}),
    ("pages.tif", lambda: bombs.many_pages_tiff(500), {"too_many_pages"}),
    ("laughs.docx", lambda: bombs.billion_laughs_docx(9), {"too_large"}),
    ("nested.docx", lambda: bombs.nested_docx(3_000), {"too_large"}),
    ("zip.docx", lambda: bombs.zip_bomb(300), {"too_large"}),
]


def test_every_bomb_ends_with_a_reason_and_a_good_report_is_traced_after(library):
    runtime = library
    files = [EvidenceFile(name, make()) for name, make, _reasons in BOMBS]
    hostile = submit(runtime, Submission(platform="other", contact="13100131001", files=files))
    started = time.monotonic()
    report, accused = traced(runtime, hostile)
    assert time.monotonic() - started < 60, "the bombs took the runner too long"
    assert report.state == "traced" and accused == []
    with runtime.db.reading() as session:
        rows = session.scalars(
            select(ReportEvidence)
            .where(ReportEvidence.report_id == hostile)
            .order_by(ReportEvidence.id)
        ).all()
        outcomes = [(row.filename, row.error, row.error_detail) for row in rows]
    for (name, _make, reasons), (filename, error, detail) in zip(BOMBS, outcomes, strict=True):
        assert filename == name
        assert error in reasons, (name, error, detail)
        assert detail and "Traceback" not in detail
    copy = issue(runtime, "WX-10002", "docx")
    good = submit(
        runtime,
        Submission(
            platform="xianyu", contact="13100131002", files=[EvidenceFile("a.docx", copy.data)]
        ),
    )
    started = time.monotonic()
    _report, accused = traced(runtime, good)
    assert time.monotonic() - started < 10
    assert [a.number for a in accused] == ["WX-10002"]


# --- job leases ----------------------------------------------------------------------------


def test_a_long_job_keeps_its_lease_and_is_not_run_twice(runtime, monkeypatch):
    monkeypatch.setattr(jobs, "LEASE_SECONDS", 0.6)
    runs = []

    @jobs.handler("test.long")
    def long(_runtime, payload):
        runs.append(payload)
        time.sleep(1.8)

    with runtime.db.transaction() as session:
        job_id = jobs.enqueue(session, "test.long", n=1).id
    worker = threading.Thread(target=jobs.run_pending, args=(runtime, "first"))
    worker.start()
    time.sleep(0.3)
    deadline = time.monotonic() + 1.3
    while time.monotonic() < deadline:  # well past the lease: renewed, so never stale
        assert jobs.claim(runtime.db, "second") is None
        time.sleep(0.1)
    worker.join(10)
    with runtime.db.reading() as session:
        job = session.get(jobs.Job, job_id)
    assert job.state == "done" and job.attempts == 1 and len(runs) == 1


def test_a_job_whose_runner_died_is_run_once_more_then_failed(library):
    """A runner killed mid-trace (a bomb took its process down) leaves the job running with
    an expired lease: it is claimed once more; when that runner dies too, the job fails
    with the reason and the report goes to the editors as it is."""
    runtime = library
    copy = issue(runtime, "WX-10001", "txt")
    report_id = submit(
        runtime,
        Submission(platform="pan", contact="13100131003", files=[EvidenceFile("a.txt", copy.data)]),
    )
    expired = utcnow() - timedelta(seconds=jobs.LEASE_SECONDS + 5)

    def die_holding_it() -> None:
        with runtime.db.transaction() as session:
            job = session.scalars(select(jobs.Job).where(jobs.Job.kind == TRACE_JOB)).one()
            job.state, job.claimed_by, job.claimed_at = "running", "dead-worker", expired
            job.attempts += 1

    die_holding_it()
    claimed = jobs.claim(runtime.db, "second")
    assert claimed is not None and not claimed.abandoned
    with runtime.db.reading() as session:
        assert session.get(jobs.Job, claimed.id).error == "lease lost 1"
    with runtime.db.transaction() as session:  # the second runner dies as well
        job = session.get(jobs.Job, claimed.id)
        job.claimed_at = expired
    assert jobs.run_pending(runtime) == 1
    with runtime.db.reading() as session:
        job = session.get(jobs.Job, claimed.id)
        report = session.get(Report, report_id)
        evidence = session.scalars(
            select(ReportEvidence).where(ReportEvidence.report_id == report_id)
        ).one()
        failed = session.scalars(
            select(audit.AuditEvent).where(audit.AuditEvent.type == audit.REPORT_TRACE_FAILED)
        ).all()
    assert job.state == "failed" and job.error == jobs.LOST_LEASE and job.attempts == 2
    assert report.state == "traced" and evidence.error == "trace_failed"
    assert len(failed) == 1
    assert jobs.run_pending(runtime) == 0  # never a third time


# --- intake ---------------------------------------------------------------------------------


def _post_endless(app, path: str, ip: str, headers: dict[str, str] | None = None):
    """POST a multipart body that never ends from ``ip``; (status, body bytes the app read)."""
    read = 0
    status = None

    async def receive():
        nonlocal read
        chunk = b"x" * 65536
        read += len(chunk)
        if read > 50 * 1048576:
            raise AssertionError("the app kept reading the endless body")
        return {"type": "http.request", "body": chunk, "more_body": True}

    async def send(message):
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    given = {"content-type": "multipart/form-data; boundary=b0undary", **(headers or {})}
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(k.encode(), v.encode()) for k, v in given.items()],
        "client": (ip, 40000),
        "server": ("testserver", 80),
    }

    async def run():
        await app(scope, receive, send)

    anyio.run(run)
    return status, read


def test_an_address_over_its_limit_is_refused_before_its_body_is_read(library):
    runtime = library
    ip = "198.51.100.77"
    hourly = int(runtime.publisher_settings().reports_per_hour)
    for number in range(hourly):
        submit(
            runtime,
            Submission(platform="other", contact=f"1310013{number:04d}", text="一段文字"),
            ip=ip,
        )
    app = create_app(runtime)
    for path in ("/report", "/api/v1/reports"):
        status, read = _post_endless(app, path, ip)
        assert (status, read) == (429, 0), path
    status, read = _post_endless(app, "/report", "198.51.100.78")  # another address: read
    assert read > 0 and status in (400, 403, 413)


def test_the_daily_total_and_the_report_total_refuse_before_the_body(library):
    runtime = library
    ip = "198.51.100.90"
    with runtime.db.transaction() as session:
        change_setting(session, "report_mb_per_day", 1.0, actor="publisher:test")
        change_setting(session, "report_total_mb", 2.0, actor="publisher:test")
    submit(
        runtime,
        Submission(
            platform="other",
            contact="13100131090",
            files=[EvidenceFile("a.txt", "证据".encode() * 150_000)],
        ),
        ip=ip,
    )
    app = create_app(runtime)
    over_day = str(2 * 1048576)
    status, read = _post_endless(app, "/report", ip, {"content-length": over_day})
    assert (status, read) == (429, 0)
    with runtime.db.transaction() as session:
        change_setting(session, "report_mb_per_day", 100.0, actor="publisher:test")
    over_total = str(4 * 1048576)
    status, read = _post_endless(app, "/report", "198.51.100.91", {"content-length": over_total})
    assert (status, read) == (413, 0)
    # Checked again on what was received: a report whose files add up past the total.
    halves = [EvidenceFile(f"{n}.txt", b"x" * (1048576 + 1)) for n in range(2)]
    with pytest.raises(ReportRefused) as refused, runtime.db.transaction() as session:
        intake.submit(
            session,
            Submission(platform="other", contact="13100131091", files=halves),
            reporter=None,
            ip="198.51.100.92",
            user_agent="test",
            limits=reporting.limits(runtime.publisher_settings()),
            now=utcnow(),
        )
    assert refused.value.code == "report_too_large"


# --- rewards --------------------------------------------------------------------------------


def _reported(runtime, member: str, contact: str, data: bytes | None = None) -> int:
    data = data if data is not None else issue(runtime, member, "txt").data
    report_id = submit(
        runtime,
        Submission(platform="xianyu", contact=contact, files=[EvidenceFile("a.txt", data)]),
    )
    _report, accused = traced(runtime, report_id)
    assert [a.number for a in accused] == [member]
    return report_id


def _codes(runtime) -> int:
    with runtime.db.reading() as session:
        return session.scalar(select(func.count()).select_from(ActivationCode))


def test_a_warning_thanks_and_only_a_suspension_rewards(library):
    runtime = library
    leaked = issue(runtime, "WX-10001", "txt").data
    warned = _reported(runtime, "WX-10001", "13100131101", leaked)
    outcome = confirm(runtime, warned, sanction="warn")
    assert outcome.reward == "thanks" and outcome.reward_code is None and _codes(runtime) == 0
    with runtime.db.reading() as session:
        leaker = session.scalar(select(Member).where(Member.number == "WX-10001"))
        note = session.get(Report, warned).reward_note
    assert leaker.status == "active" and "warned, not suspended" in note
    # The accomplice reports the same copy again: the leaker is suspended this time, and
    # that report (the first to get a sanction) is rewarded, once.
    suspended = _reported(runtime, "WX-10001", "13100131102", leaked)
    assert confirm(runtime, suspended).reward == "gift_code" and _codes(runtime) == 1
    again = _reported(runtime, "WX-10001", "13100131103", leaked)
    assert confirm(runtime, again).reward == "none" and _codes(runtime) == 1


def test_rewards_stop_at_the_yearly_cap(library):
    runtime = library
    with runtime.db.transaction() as session:
        change_setting(session, "report_rewards_per_year", 2, actor="publisher:test")
    contact = "13100131200"
    rewards = [
        confirm(runtime, _reported(runtime, member, contact)).reward
        for member in ("WX-10001", "WX-10002", "WX-10003")
    ]
    assert rewards == ["gift_code", "gift_code", "capped"] and _codes(runtime) == 2
    with runtime.db.reading() as session:
        capped = session.scalars(select(Report).where(Report.reward == "capped")).one()
        assert "2 rewards in the last 365 days" in capped.reward_note
        # A year on, the reporter may be rewarded again.
        for report in session.scalars(select(Report).where(Report.reward == "gift_code")):
            report.decided_at -= timedelta(days=366)
        from wenxing.reports.decisions import rewards_this_year

        assert rewards_this_year(session, capped, utcnow()) == 0


# --- retention ------------------------------------------------------------------------------


def test_evidence_is_purged_after_the_retention_period_keeping_hashes(library, cli):
    runtime = library
    old = _reported(runtime, "WX-10002", "13100131300")
    confirm(runtime, old)
    recent = _reported(runtime, "WX-10003", "13100131301")
    confirm(runtime, recent)
    waiting = _reported(runtime, "WX-10004", "13100131302")
    with runtime.db.transaction() as session:
        session.get(Report, old).decided_at = utcnow() - timedelta(days=181)
        session.get(Report, waiting).created_at = utcnow() - timedelta(days=400)
        before = {e.report_id: (e.sha256, e.size) for e in session.scalars(select(ReportEvidence))}
    result = cli("reports", "purge", "--json")
    assert result.code == 0, result
    document = result.json()
    assert document["retention_days"] == 180 and document["files"] == 1
    with runtime.db.reading() as session:
        rows = {e.report_id: e for e in session.scalars(select(ReportEvidence))}
        for report_id, row in rows.items():
            assert (row.sha256, row.size) == before[report_id]  # the hash and size stay
        assert rows[old].purged_at is not None
        assert (
            session.scalar(
                select(func.length(ReportEvidence.data)).where(ReportEvidence.id == rows[old].id)
            )
            == 0
        )
        assert rows[recent].purged_at is None and rows[waiting].purged_at is None
        purged = session.scalars(
            select(audit.AuditEvent).where(audit.AuditEvent.type == audit.REPORT_EVIDENCE_PURGED)
        ).all()
    assert len(purged) == 1
    assert cli("reports", "purge", "--json").json()["files"] == 0  # done once


# --- console imports ------------------------------------------------------------------------


def test_console_uploads_are_read_in_the_sandbox(runtime):
    """A stolen editor account uploading bombs: each file fails with a Chinese reason, the
    good one beside them is imported."""
    from tests.helpers import account, signed_in
    from wenxing.web.auth import CSRF_COOKIE

    with runtime.db.transaction() as session:
        account(
            session, runtime.publisher_settings(), "writer", subscribed=False, username="writer"
        ).role = "editor"
    editor = signed_in(create_app(runtime), "writer")
    files = [
        ("files", ("讲话.txt", SAMPLE.read_bytes(), "text/plain")),
        ("files", ("空段落.docx", bombs.empty_paragraphs_docx(2_000_000), "application/zip")),
        ("files", ("嵌套.docx", bombs.nested_docx(3_000), "application/zip")),
        ("files", ("实体.docx", bombs.billion_laughs_docx(9), "application/zip")),
        ("files", ("页面.pdf", bombs.shared_stream_pdf(1_000, ops=100_000), "application/pdf")),
    ]
    started = time.monotonic()
    done = editor.post(
        "/console/materials/upload",
        data={"csrf_token": editor.cookies[CSRF_COOKIE], "category": "讲话"},
        files=files,
    )
    assert done.status_code == 200 and time.monotonic() - started < 120
    assert "导入 1 份" in done.text and "失败 4 份" in done.text, done.text[-3000:]
    for reason in ("文件解压后超过", "嵌套层数过多", "声明了 DTD", "PDF 页面内容超过"):
        assert reason in done.text, reason
    assert "Traceback" not in done.text
