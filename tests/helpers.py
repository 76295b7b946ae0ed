"""Small helpers shared by tests."""

from __future__ import annotations

import signal
import subprocess
import threading
from functools import cache
from pathlib import Path

from wenxing.config import DEFAULT_MASTHEAD
from wenxing.materials.cleaning import Cleaner
from wenxing.materials.outline import Node, Structure, parse

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "src" / "wenxing" / "demo" / "sample.txt"


def parse_text(text: str) -> Structure:
    return parse(Cleaner(DEFAULT_MASTHEAD).clean(text))


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
    from wenxing.materials.protect import protected_spans

    body = sample_body()
    return fingerprint.build_plan(
        body,
        FINGERPRINT_KEY,
        words(body),
        shipped_variants(),
        fingerprint.Profile(strength),
        protected_spans(body),
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


def stop_server(server: subprocess.Popen, timeout: float = 40) -> tuple[int, str]:
    """SIGTERM a ``wenxing serve`` process and wait for it: (its exit status, its stderr)."""
    server.send_signal(signal.SIGTERM)
    try:
        _out, err = server.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        server.kill()
        raise
    return server.returncode, err


def wait_ready(base: str, server: subprocess.Popen, workers: int = 1, timeout: float = 120) -> None:
    """Wait until every worker of a ``wenxing serve`` at ``base`` has answered /readyz 200
    (``bench/ready.py``: one ready answer can come from a worker already open while another
    still opens and answers 503)."""
    from bench.ready import wait_every_worker

    try:
        wait_every_worker(base, server.pid, workers, timeout, alive=lambda: server.poll() is None)
    except RuntimeError as problem:
        raise AssertionError(f"{problem} (exit status {server.poll()})") from None


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


def random_texts(folder: Path, count: int, chars: int = 3000) -> None:
    """``count`` distinct generated reports of about ``chars`` characters in ``folder``
    (never near-duplicates of each other: import keeps every one)."""
    import random

    pool = "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说产种面而方后多定行学法所民得经十三之进着等部度家电力里如水化高自二理起小物现实加量都两体制机当使点从业本去把性好应开它合还因由其些然前外天政四日那社义事平形相全表间样与关各重新线内数正心反你明看原又么利比或但质气第向道命此变条只没结解问意建月公无系军很情者最立代想已通并提直题党程展五果料象员革位入常文总次品式活设及管特件长求老头基资边流路级少图山统接知较将组见计别她手角期根论运农指几九区强放决西被干做必战先回则任取据处队南给色光门即保治北造百规热领七海口东导器压志世金增争济阶油思术极交受联什认六共权收证改清己美再采转更单风切打白教速花带安场身车例真务具万每目至达走积示议声报斗完类八离华名确才科张信马节话米整空元况今集温传土许步群广石记需段研界拉林律叫且究观越织装影算低持音众书布复容儿须际商非验连断深难近矿千周委素技备半办青省列习响约支般史感劳便团往酸历市克何除消构府称太准精值号率族维划选标写存候毛亲快效斯院查江型眼王按格养易置派层片始却专状育厂京识适属圆包火住调满县局照参红细引听该铁价严"
    rng = random.Random(20261207)
    folder.mkdir()
    for n in range(count):
        paragraphs = [
            "".join(rng.choice(pool) for _ in range(rng.randint(60, 120))) + "。"
            for _ in range(chars // 90)
        ]
        text = f"关于第{n}项工作的报告\n\n" + "\n\n".join(paragraphs) + "\n"
        (folder / f"{n:04d}.txt").write_text(text, encoding="utf-8")


def qr_png(text: str, scale: int = 4) -> bytes:
    """A PNG picture of a QR code holding ``text`` (zxing-cpp draws it; Pillow saves it)."""
    import io

    import numpy
    import zxingcpp
    from PIL import Image

    code = zxingcpp.create_barcode(text, zxingcpp.BarcodeFormat.QRCode)
    picture = Image.fromarray(numpy.asarray(zxingcpp.write_barcode_to_image(code, scale=scale)))
    out = io.BytesIO()
    picture.save(out, "PNG")
    return out.getvalue()
