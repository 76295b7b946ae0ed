"""Small helpers shared by tests."""

from __future__ import annotations

import threading
from functools import cache
from pathlib import Path

from wenxing.config import DEFAULT_MASTHEAD
from wenxing.materials.cleaning import Cleaner
from wenxing.materials.outline import Node, Structure, parse

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "src" / "wenxing" / "demo" / "sample.txt"
SHARED = REPO.parent / "shared"
CORPUS = SHARED / "corpus"


def parse_text(text: str) -> Structure:
    return parse(Cleaner(DEFAULT_MASTHEAD).clean(text))


def corpus_files() -> list[Path]:
    return sorted(p for p in CORPUS.glob("*/*.txt") if p.parent.name != "raw_gbk")


def walk(nodes: list[Node]):
    for node in nodes:
        yield node
        yield from walk(node.children)


FINGERPRINT_KEY = b"material-key-0123456789abcdef!!!"


@cache
def shipped_variants():
    from wenxing.fingerprint import parse_variant_list

    return parse_variant_list(
        (REPO / "src/wenxing/fingerprint/data/variants.txt").read_text("utf-8")
    )


@cache
def sample_body() -> str:
    return parse_text(SAMPLE.read_text("utf-8")).body


def sample_copy(member: str = "WX-10001", strength: str = "strong", copy_id: int = 1):
    """A marked copy of the sample for renderer tests: (CopyContent, plan, base body)."""
    import json

    from wenxing import fingerprint
    from wenxing.delivery.layout import CopyContent, fill, layout_of
    from wenxing.delivery.render import recipient_line

    structure = parse_text(SAMPLE.read_text("utf-8"))
    body = structure.body
    plan = _sample_plan(strength)
    layout = layout_of(structure.title, body, json.dumps(structure.outline_dicts()))
    pieces = fingerprint.mark_spans(body, plan, FINGERPRINT_KEY, member, layout.cuts)
    content = CopyContent(
        title=structure.title,
        blocks=fill(layout, pieces),
        toc=layout.toc,
        masthead=tuple(line.format(member_group="", free_group="") for line in DEFAULT_MASTHEAD),
        recipient_line=recipient_line(member, "2026-11-26"),
        member_number=member,
        issued_on="2026-11-26",
        copy_tag=fingerprint.make_copy_tag(FINGERPRINT_KEY, copy_id),
        copy_id=copy_id,
    )
    return content, plan, body


@cache
def _sample_plan(strength: str):
    from wenxing import fingerprint
    from wenxing.materials.keywords import words

    body = sample_body()
    return fingerprint.build_plan(
        body, FINGERPRINT_KEY, words(body), shipped_variants(), fingerprint.Profile(strength)
    )


def trace_sample_text(text: str, recipients: list[str], strength: str = "strong") -> list[str]:
    """Members the fingerprint accuses for evidence ``text`` of the sample."""
    from wenxing import fingerprint

    plan = _sample_plan(strength)
    reading = fingerprint.read_evidence(sample_body(), plan, text)
    verdict = fingerprint.accuse(reading, FINGERPRINT_KEY, recipients)
    return [score.member for score in verdict.accused]


PASSWORD = "correct horse 42"


def import_sample(runtime, publish: bool = True):
    from wenxing.materials.importer import ImportOptions, MaterialImporter

    importer = MaterialImporter(runtime.db, runtime.settings, runtime.publisher_settings())
    return importer.run([SAMPLE], ImportOptions(publish=publish))


def account(session, publisher, name: str, *, subscribed: bool, **identifier):
    """A signed-up account (password ``PASSWORD``), with a month's plan that started a
    minute ago when ``subscribed``."""
    from datetime import timedelta

    from wenxing.db.base import utcnow
    from wenxing.members import accounts
    from wenxing.members.subscriptions import grant, plans

    member = accounts.sign_up(session, name=name, password=PASSWORD, **identifier)
    session.flush()
    if subscribed:
        month = plans(publisher)["month"]
        grant(
            session,
            member.id,
            month,
            actor="test",
            reason="test",
            now=utcnow() - timedelta(minutes=1),
        )
    return member


def signed_in(app, username: str, password: str = PASSWORD):
    """A TestClient of ``app`` signed in through the sign-in form (fails if it is refused)."""
    from fastapi.testclient import TestClient

    from wenxing.web.auth import CSRF_COOKIE

    client = TestClient(app)
    client.get("/signin")
    response = client.post(
        "/signin",
        data={
            "identifier": username,
            "password": password,
            "csrf_token": client.cookies[CSRF_COOKIE],
            "next": "/",
        },
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    return client


def in_threads(count: int, work) -> list[BaseException]:
    """``work(number)`` in ``count`` threads started together; what they raised."""
    barrier = threading.Barrier(count)
    errors: list[BaseException] = []

    def run(number: int) -> None:
        try:
            barrier.wait()
            work(number)
        except BaseException as exc:  # reported by the test
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors
