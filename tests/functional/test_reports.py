"""Resale reports in the domain: intake, tracing in the background, decisions and rewards,
on both databases (the web pages have their own tests)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from tests.helpers import SAMPLE
from wenxing import audit, jobs
from wenxing.db.base import utcnow
from wenxing.delivery.issue import issue_copy
from wenxing.materials import catalog
from wenxing.members.models import AccountSession, ActivationCode, Member
from wenxing.members.subscriptions import membership_end
from wenxing.reports import decisions, intake
from wenxing.reports.cases import trace_report
from wenxing.reports.intake import EvidenceFile, Limits, ReportRefused, Submission
from wenxing.reports.models import Accusation, Leak, Report, ReportEvidence

LIMITS = Limits(max_file_bytes=20 * 1048576, per_hour_ip=5, per_day_contact=3)


@pytest.fixture
def library(cli, runtime):
    assert cli("import", str(SAMPLE), "--publish", "--json").code == 0
    for name in ("张三", "李四", "王五", "赵六"):
        assert cli("members", "add", name, "--json").code == 0
    return runtime


def issue(runtime, number: str, fmt: str):
    publisher = runtime.publisher_settings()
    with runtime.db.transaction() as session:
        member = session.scalar(select(Member).where(Member.number == number))
        material = catalog.get_material(session, 1)
        return issue_copy(
            session, runtime.secret, publisher, member, material, fmt, actor="publisher:test"
        )


def submit(runtime, form: Submission, *, reporter=None, ip="203.0.113.9", now=None):
    with runtime.db.transaction() as session:
        who = session.get(Member, reporter) if reporter else None
        report = intake.submit(
            session,
            form,
            reporter=who,
            ip=ip,
            user_agent="test",
            limits=LIMITS,
            now=now or utcnow(),
        )
        return report.id


def traced(runtime, report_id: int) -> tuple[Report, list[Accusation]]:
    jobs.run_pending(runtime)
    with runtime.db.reading() as session:
        report = session.get(Report, report_id)
        assert report.state != "received", "the tracing job did not run"
        accused = list(session.scalars(select(Accusation).where(Accusation.report_id == report_id)))
        numbers = {a.member_id: session.get(Member, a.member_id).number for a in accused}
    for a in accused:
        a.number = numbers[a.member_id]
    return report, accused


def confirm(runtime, report_id: int, sanction: str = "suspend"):
    with runtime.db.transaction() as session:
        return decisions.confirm(
            session,
            report_id,
            editor="WX-admin",
            reason="闲鱼链接属实",
            sanction=sanction,
            publisher=runtime.publisher_settings(),
            now=utcnow(),
        )


def test_a_docx_upload_names_its_member_and_confirming_rewards_once(library):
    runtime = library
    copy = issue(runtime, "WX-10002", "docx")
    first = submit(
        runtime,
        Submission(
            platform="xianyu",
            link="https://example.invalid/item/1",
            contact="13900139000",
            files=[EvidenceFile("资料.docx", copy.data)],
        ),
    )
    report, accused = traced(runtime, first)
    assert report.state == "traced"
    assert [(a.number, a.basis) for a in accused] == [("WX-10002", "marks")]
    assert accused[0].score > accused[0].threshold and accused[0].flag is None
    copies = json.loads(accused[0].copies)
    assert [c["id"] for c in copies] == [copy.copy_id] and copies[0]["format"] == "docx"
    with runtime.db.reading() as session:
        [evidence] = session.scalars(select(ReportEvidence)).all()
        assert evidence.sha256 and evidence.size == len(copy.data) and evidence.data == copy.data
        assert evidence.error is None and evidence.chars > 1000

    # The leaker signed in on a phone: confirming ends that session too.
    with runtime.db.transaction() as session:
        member = session.scalar(select(Member).where(Member.number == "WX-10002"))
        session.add(AccountSession(id="s1", member_id=member.id, ip="198.51.100.7"))
    outcome = confirm(runtime, first)
    assert outcome.sanctioned == ["WX-10002"] and outcome.reward == "gift_code"
    with runtime.db.reading() as session:
        member = session.scalar(select(Member).where(Member.number == "WX-10002"))
        assert member.status == "suspended"
        assert session.get(AccountSession, "s1").ended_at is not None
        code = session.scalar(select(ActivationCode).where(ActivationCode.state == "issued"))
        assert code is not None and code.plan == "year"
        report = session.get(Report, first)
        assert report.reward_code and report.reward_code.replace("-", "") == code.code

    # The same leak reported again: confirmed, but no second reward.
    again = submit(
        runtime,
        Submission(
            platform="taobao", contact="wxid_reseller9", files=[EvidenceFile("a.docx", copy.data)]
        ),
    )
    _report, accused = traced(runtime, again)
    assert [a.number for a in accused] == ["WX-10002"]
    second = confirm(runtime, again)
    assert second.reward == "none" and second.reward_code is None
    with runtime.db.reading() as session:
        assert session.scalar(select(func.count()).select_from(ActivationCode)) == 1
        assert session.scalar(select(func.count()).select_from(Leak)) == 1
        types = [e.type for e in session.scalars(select(audit.AuditEvent))]
    assert types.count(audit.REPORT_REWARD) == 1
    assert types.count(audit.REPORT_CONFIRM) == 2
    assert types.count(audit.REPORT_REWARD_WITHHELD) == 1


def test_a_pasted_excerpt_names_its_reader_and_a_member_reporter_gets_a_year(library):
    runtime = library
    page = issue(runtime, "WX-10003", "html").data.decode("utf-8")
    from wenxing.reports.evidence import read_evidence_bytes

    text = read_evidence_bytes(page.encode(), ".html").text
    start = text.index("同志们")
    excerpt = text[start + 200 : start + 600]
    assert len(excerpt) == 400
    with runtime.db.reading() as session:
        reporter = session.scalar(select(Member).where(Member.number == "WX-10004")).id
    report_id = submit(runtime, Submission(platform="group", text=excerpt), reporter=reporter)
    _report, accused = traced(runtime, report_id)
    assert [a.number for a in accused] == ["WX-10003"]
    before = utcnow()
    outcome = confirm(runtime, report_id, sanction="suspend")
    assert outcome.reward == "membership"
    with runtime.db.reading() as session:
        ends = membership_end(session, reporter, before)
        leaker = session.scalar(select(Member).where(Member.number == "WX-10003"))
        assert leaker.status == "suspended"  # rewards need a suspension (issue 19)
    assert ends is not None and ends - before > timedelta(days=360)


def test_reporting_ones_own_copy_is_recognised_and_not_rewarded(library):
    runtime = library
    copy = issue(runtime, "WX-10001", "txt")
    with runtime.db.reading() as session:
        own = session.scalar(select(Member).where(Member.number == "WX-10001")).id
    report_id = submit(
        runtime,
        Submission(platform="pan", files=[EvidenceFile("x.txt", copy.data)]),
        reporter=own,
    )
    _report, [accusation] = traced(runtime, report_id)
    assert accusation.number == "WX-10001" and accusation.flag == "own_copy"
    outcome = confirm(runtime, report_id)
    assert outcome.reward == "withheld"
    with runtime.db.reading() as session:
        assert session.scalar(select(func.count()).select_from(ActivationCode)) == 0
        report = session.get(Report, report_id)
        assert "reporter is the accused" in report.reward_note


def test_a_reporter_on_the_leakers_network_is_flagged(library):
    runtime = library
    copy = issue(runtime, "WX-10002", "txt")
    with runtime.db.transaction() as session:
        leaker = session.scalar(select(Member).where(Member.number == "WX-10002"))
        session.add(
            AccountSession(
                id="d1", member_id=leaker.id, ip="198.51.100.7", network="198.51.100.0/24"
            )
        )
    report_id = submit(
        runtime,
        Submission(
            platform="xianyu", contact="13700137000", files=[EvidenceFile("x.txt", copy.data)]
        ),
        ip="198.51.100.23",
    )
    _report, [accusation] = traced(runtime, report_id)
    assert accusation.flag == "shared" and "198.51.100.0/24" in accusation.flag_detail
    assert confirm(runtime, report_id).reward == "withheld"


def test_bad_evidence_is_kept_and_explained_never_a_crash(library):
    runtime = library
    files = [
        EvidenceFile("empty.txt", b""),
        EvidenceFile(
            "unrelated.txt", "今天天气很好，我们去公园散步，看见许多人在放风筝。".encode() * 5
        ),
        EvidenceFile("broken.pdf", b"%PDF-1.4 this is not really a pdf"),
    ]
    report_id = submit(runtime, Submission(platform="other", contact="13600136000", files=files))
    report, accused = traced(runtime, report_id)
    assert report.state == "traced" and accused == []
    with runtime.db.reading() as session:
        rows = session.scalars(
            select(ReportEvidence)
            .where(ReportEvidence.report_id == report_id)
            .order_by(ReportEvidence.id)
        ).all()
        kept = [(r.filename, r.size, r.error) for r in rows]
        data = [r.data for r in rows]
    assert [k[0] for k in kept] == ["empty.txt", "unrelated.txt", "broken.pdf"]
    assert all(error for _n, _s, error in kept)
    assert kept[1][2] == "no_material"
    assert data == [f.data for f in files]  # stored as received
    with pytest.raises(decisions.DecisionError) as refused:
        confirm(runtime, report_id)
    assert refused.value.code == "nobody"
    with runtime.db.transaction() as session:
        decisions.reject(
            session, report_id, editor="WX-admin", reason="未发现本站资料", now=utcnow()
        )
    with runtime.db.reading() as session:
        report = session.get(Report, report_id)
        assert report.state == "rejected" and report.decision_reason == "未发现本站资料"


def test_intake_refuses_clearly_and_stores_nothing(library):
    runtime = library
    cases = [
        (Submission(platform="xianyu", contact="13500135000"), "no_evidence"),
        (Submission(platform="xianyu", text="一段文字"), "contact_needed"),
        (
            Submission(platform="xianyu", contact="not a contact!", text="一段文字"),
            "contact_invalid",
        ),
        (Submission(platform="weibo", contact="13500135000", text="一段文字"), "platform"),
        (
            Submission(
                platform="xianyu",
                contact="13500135000",
                files=[EvidenceFile("big.pdf", b"x" * (LIMITS.max_file_bytes + 1))],
            ),
            "file_too_large",
        ),
    ]
    for form, code in cases:
        with pytest.raises(ReportRefused) as refused:
            submit(runtime, form)
        assert refused.value.code == code
    with runtime.db.reading() as session:
        assert session.scalar(select(func.count()).select_from(Report)) == 0
        assert session.scalar(select(func.count()).select_from(jobs.Job)) == 0


def test_rate_limits_per_address_and_per_contact(library):
    runtime = library
    for i in range(LIMITS.per_day_contact):
        submit(
            runtime,
            Submission(platform="other", contact="13400134000", text=f"证据{i}"),
            ip=f"192.0.2.{i}",
        )
    with pytest.raises(ReportRefused) as refused:
        submit(
            runtime,
            Submission(platform="other", contact="13400134000", text="再一次"),
            ip="192.0.2.99",
        )
    assert refused.value.code == "rate_contact"
    for i in range(LIMITS.per_hour_ip):
        submit(
            runtime,
            Submission(platform="other", contact=f"1330013300{i}", text="证据"),
            ip="192.0.2.200",
        )
    with pytest.raises(ReportRefused) as refused:
        submit(
            runtime,
            Submission(platform="other", contact="13200132000", text="证据"),
            ip="192.0.2.200",
        )
    assert refused.value.code == "rate_ip"


def test_receipt_opens_only_with_its_contact(library):
    runtime = library
    report_id = submit(
        runtime, Submission(platform="other", contact="+86 138-0013-8000", text="证据")
    )
    with runtime.db.reading() as session:
        receipt = intake.format_receipt(session.get(Report, report_id).receipt)
        assert receipt.startswith("JB-") and len(receipt) == 15
        assert intake.find_for_check(session, receipt.lower(), "13800138000").id == report_id
        assert (
            intake.find_for_check(session, receipt.replace("-", ""), "138 0013 8000").id
            == report_id
        )
        assert intake.find_for_check(session, receipt, "13800138001") is None
        assert intake.find_for_check(session, "JB-0000-0000-00", "13800138000") is None


def test_a_job_that_fails_is_retried_then_left_failed(runtime):
    calls = []

    @jobs.handler("test.fail")
    def failing(_runtime, payload):
        calls.append(payload)
        raise RuntimeError("boom")

    with runtime.db.transaction() as session:
        job_id = jobs.enqueue(session, "test.fail", n=1).id
    assert jobs.run_pending(runtime) == 1
    with runtime.db.reading() as session:
        job = session.get(jobs.Job, job_id)
        assert job.state == "queued" and job.attempts == 1 and "boom" in job.error
        assert job.run_after > utcnow()
    assert jobs.run_pending(runtime) == 0  # not before its delay
    for _ in range(jobs.MAX_ATTEMPTS - 1):
        with runtime.db.transaction() as session:
            session.get(jobs.Job, job_id).run_after = utcnow() - timedelta(seconds=1)
        jobs.run_pending(runtime)
    with runtime.db.reading() as session:
        job = session.get(jobs.Job, job_id)
    assert job.state == "failed" and job.attempts == jobs.MAX_ATTEMPTS and len(calls) == 3


def test_trace_runs_again_after_a_crash_without_doubling(library):
    runtime = library
    copy = issue(runtime, "WX-10002", "txt")
    report_id = submit(
        runtime,
        Submission(
            platform="other", contact="13100131000", files=[EvidenceFile("x.txt", copy.data)]
        ),
    )
    trace_report(runtime, report_id)  # as a runner that died after storing would leave it
    with runtime.db.transaction() as session:
        session.get(Report, report_id).state = "received"
    trace_report(runtime, report_id)
    with runtime.db.reading() as session:
        assert (
            session.scalar(
                select(func.count())
                .select_from(Accusation)
                .where(Accusation.report_id == report_id)
            )
            == 1
        )


def test_a_cleaned_copy_and_a_mixed_copy_through_a_report(library):
    """The fingerprint's promises hold through the report pipeline: a copy with zero-width
    characters stripped and NFKC applied still names its member; a copy mixed from two
    members' copies names one or both of them and nobody else."""
    import unicodedata

    runtime = library
    a = issue(runtime, "WX-10001", "txt").data.decode("utf-8")
    b = issue(runtime, "WX-10002", "txt").data.decode("utf-8")
    cleaned = "".join(
        ch
        for ch in unicodedata.normalize("NFKC", a)
        if unicodedata.category(ch) != "Cf" and not ch.isspace()
    )
    mixed = "\n".join(
        pa if i % 2 else pb
        for i, (pa, pb) in enumerate(zip(a.split("\n"), b.split("\n"), strict=True))
    )
    first = submit(runtime, Submission(platform="group", contact="13900000001", text=cleaned))
    second = submit(
        runtime,
        Submission(
            platform="pan",
            contact="13900000002",
            files=[EvidenceFile("mixed.txt", mixed.encode("utf-8"))],
        ),
    )
    _report, accused = traced(runtime, first)
    assert [x.number for x in accused] == ["WX-10001"] and accused[0].basis == "marks"
    _report, accused = traced(runtime, second)
    named = {x.number for x in accused}
    assert named and named <= {"WX-10001", "WX-10002"}


def test_concurrent_runners_run_each_job_once(runtime):
    """Four runners (threads; on PostgreSQL each claims with SKIP LOCKED) share 40 jobs."""
    import threading
    from collections import Counter

    ran: list[int] = []
    lock = threading.Lock()

    @jobs.handler("test.count")
    def count(_runtime, payload):
        with lock:
            ran.append(payload["n"])

    with runtime.db.transaction() as session:
        for n in range(40):
            jobs.enqueue(session, "test.count", n=n)
    workers = [threading.Thread(target=jobs.run_pending, args=(runtime, f"w{i}")) for i in range(4)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(60)
    assert sorted(ran) == list(range(40)) and max(Counter(ran).values()) == 1
    with runtime.db.reading() as session:
        states = Counter(session.scalars(select(jobs.Job.state)))
        claimers = {j.claimed_by for j in session.scalars(select(jobs.Job))}
    assert states == {"done": 40}
    assert claimers <= {"w0", "w1", "w2", "w3"}


def test_reports_and_jobs_on_the_command_line(library, cli):
    runtime = library
    copy = issue(runtime, "WX-10002", "txt")
    report_id = submit(
        runtime,
        Submission(
            platform="xianyu", contact="13900000003", files=[EvidenceFile("x.txt", copy.data)]
        ),
    )
    listed = cli("reports", "list", "--json")
    assert listed.code == 0, listed
    [item] = listed.json()["reports"]
    assert item["state"] == "received" and item["accused"] == 0
    ran = cli("jobs", "run", "--once", "--json")
    assert ran.code == 0 and ran.json() == {"ran": 1, "announcements": 0}
    shown = cli("reports", "show", item["receipt"].lower(), "--json")
    assert shown.code == 0, shown
    case = shown.json()
    assert case["state"] == "traced" and case["decision"] is None
    assert [a["member"] for a in case["accused"]] == ["WX-10002"]
    assert case["evidence"][0]["filename"] == "x.txt" and case["evidence"][0]["error"] is None
    assert case["traces"][0]["material"]["id"] == 1
    assert cli("reports", "list", "--state", "confirmed", "--json").json() == {"reports": []}
    missing = cli("reports", "show", "JB-2222-2222-22", "--json")
    assert missing.code == 1 and missing.stdout == "" and "no report" in missing.stderr
    assert report_id


def test_a_report_whose_tracing_keeps_failing_goes_to_the_editors(library, monkeypatch):
    """Tracing that fails for good (three attempts) leaves the report decidable, each piece
    of evidence marked trace_failed and an audit event saying why, not stuck 'received'."""
    from wenxing.reports import cases

    runtime = library
    monkeypatch.setattr(cases, "identify_versions", lambda *_a: 1 / 0)
    report_id = submit(runtime, Submission(platform="other", contact="13900000004", text="证据"))
    for _ in range(jobs.MAX_ATTEMPTS):
        jobs.run_pending(runtime)
        with runtime.db.transaction() as session:
            for job in session.scalars(select(jobs.Job).where(jobs.Job.state == "queued")):
                job.run_after = utcnow() - timedelta(seconds=1)
    with runtime.db.reading() as session:
        report = session.get(Report, report_id)
        [evidence] = session.scalars(
            select(ReportEvidence).where(ReportEvidence.report_id == report_id)
        ).all()
        failed = session.scalar(
            select(audit.AuditEvent).where(audit.AuditEvent.type == audit.REPORT_TRACE_FAILED)
        )
    assert report.state == "traced"
    assert evidence.error == "trace_failed" and "ZeroDivisionError" in evidence.error_detail
    assert failed is not None and "ZeroDivisionError" in failed.details
    with runtime.db.transaction() as session:
        decisions.reject(session, report_id, editor="WX-admin", reason="证据不足", now=utcnow())
