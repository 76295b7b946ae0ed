"""The evidence sandbox and the shape rules (issue 19): each limit stops what it should
with its reason, and never with a traceback; normal files read as before."""

from __future__ import annotations

import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests import bombs
from wenxing import sandbox
from wenxing.materials import file_rules
from wenxing.materials.readers import ReadError
from wenxing.reports import evidence
from wenxing.reports.evidence import EvidenceError, read_evidence, read_sandboxed

LIMITS = sandbox.Limits()


def test_memory_over_the_limit_is_too_large():
    with pytest.raises(sandbox.SandboxError) as stopped:
        sandbox.call("builtins:bytearray", 2 * 1024**3, limits=LIMITS)
    assert stopped.value.reason == "too_large" and "512 MB" in str(stopped.value)


def test_cpu_over_the_limit_is_a_timeout():
    started = time.monotonic()
    with pytest.raises(sandbox.SandboxError) as stopped:
        sandbox.call("builtins:sum", range(10**13), limits=sandbox.Limits(cpu_seconds=1))
    assert stopped.value.reason == "timeout" and "CPU" in str(stopped.value)
    # 1 s of CPU at nice 10: on a busy machine that is many seconds of wall time.
    assert time.monotonic() - started < 120


def test_wall_time_over_the_limit_kills_the_child():
    started = time.monotonic()
    with pytest.raises(sandbox.SandboxError) as stopped:
        sandbox.call("time:sleep", 60, limits=sandbox.Limits(wall_seconds=1.0))
    assert stopped.value.reason == "timeout" and time.monotonic() - started < 10


def test_a_child_that_dies_is_crashed_and_output_over_the_cap_too_large():
    with pytest.raises(sandbox.SandboxError) as died:
        sandbox.call("os:abort", limits=LIMITS)
    assert died.value.reason == "crashed"
    with pytest.raises(sandbox.SandboxError) as long:
        sandbox.call("builtins:str", "x" * 5000, limits=sandbox.Limits(output_chars=1000))
    assert long.value.reason == "too_large"


def test_reader_errors_come_back_as_themselves():
    with pytest.raises(EvidenceError) as refused:
        read_sandboxed(b"\x00\x01\x02" * 100, "x.bin", LIMITS)
    assert refused.value.reason == "unsupported"
    with pytest.raises(ReadError):
        sandbox.call(
            "wenxing.materials.readers:read_source_positional",
            "/nonexistent/file.docx",
            1000,
            1000,
            limits=LIMITS,
        )


def test_normal_evidence_reads_the_same_inside_and_outside():
    text = "关于进一步加强基层治理工作的通知\n各乡镇、各部门：\n" * 20
    docx = bombs.docx_of(text.splitlines())
    for data, name in ((text.encode(), "a.txt"), (docx, "a.docx")):
        assert read_sandboxed(data, name, LIMITS) == read_evidence(data, name)


@pytest.mark.parametrize(
    ("make", "name", "reason"),
    [
        (lambda: bombs.empty_paragraphs_docx(2_000_000), "a.docx", "too_large"),
        (lambda: bombs.nested_docx(2_000), "a.docx", "too_large"),
        (lambda: bombs.billion_laughs_docx(9), "a.docx", "too_large"),
        (lambda: bombs.zip_bomb(250), "a.docx", "too_large"),
        (lambda: bombs.many_members_zip(3_000), "a.docx", "too_large"),
        (lambda: bombs.shared_stream_pdf(3_000, ops=15_000), "a.pdf", "too_large"),
        (lambda: bombs.huge_png(12_000, 12_000), "a.png", "image_too_large"),
        (lambda: bombs.many_pages_tiff(300), "a.tif", "too_many_pages"),
    ],
    ids=["paragraphs", "nested", "laughs", "zip", "members", "pdf", "png", "tiff"],
)
def test_each_bomb_is_refused_quickly_with_its_reason(make, name, reason):
    data = make()
    started = time.monotonic()
    with pytest.raises(EvidenceError) as refused:
        read_sandboxed(data, name, LIMITS)
    assert refused.value.reason == reason, str(refused.value)
    assert time.monotonic() - started < 10


def test_a_long_pdf_is_read_to_its_first_pages_and_says_so():
    data = bombs.shared_stream_pdf(80, ops=40)
    found = read_sandboxed(data, "a.pdf", LIMITS)
    assert found.note == f"read the first {file_rules.PDF_MAX_PAGES} of 80 pages"


def test_without_the_rules_the_sandbox_is_the_net():
    """An expanding document the rules would refuse, parsed anyway (as a reader with a
    gap in its rules would): the sandbox stops it at its memory limit."""
    data = bombs.empty_paragraphs_docx(3_000_000)
    with pytest.raises(sandbox.SandboxError) as stopped:
        sandbox.call(
            "docx:Document", _BytesPath(data), limits=sandbox.Limits(memory_mb=256, cpu_seconds=30)
        )
    assert stopped.value.reason in ("too_large", "crashed", "timeout")


class _BytesPath:
    """Picklable stand-in for a file object holding ``data`` (python-docx reads it)."""

    def __init__(self, data: bytes) -> None:
        self.data, self.at = data, 0

    def seek(self, at: int, whence: int = 0) -> int:
        self.at = {0: at, 1: self.at + at, 2: len(self.data) + at}[whence]
        return self.at

    def tell(self) -> int:
        return self.at

    def read(self, size: int = -1) -> bytes:
        end = len(self.data) if size < 0 else self.at + size
        chunk, self.at = self.data[self.at : end], min(end, len(self.data))
        return chunk

    def seekable(self) -> bool:
        return True


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(min_size=1, max_size=2000), st.sampled_from(["a.txt", "a.docx", "a.pdf"]))
def test_any_bytes_give_evidence_or_an_evidence_error(data, name):
    try:
        found = read_sandboxed(data, name, LIMITS)
    except EvidenceError as exc:
        assert exc.reason in evidence.REASONS
    else:
        assert isinstance(found.text, str)


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 50), st.integers(0, 30))
def test_zip_rules_pass_what_is_small_and_refuse_what_is_many(members, extra):
    data = bombs.many_members_zip(members + extra)
    shape = file_rules.check_zip(data)
    assert shape.members == members + extra + 1
