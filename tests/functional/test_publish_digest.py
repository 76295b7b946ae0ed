"""An import run that publishes several materials announces them once (live/digests.py):
one notification per member and one announcement per robot, through the real command line
and the console, on both databases. A single publication is announced as before; a run
stopped by an error announces what it published; a run whose process died is announced
once, later, by the hub; nothing is announced twice."""

from __future__ import annotations

import json
import random
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests import tls
from tests.conftest import TEST_SECRET, Cli
from tests.functional.test_bots import PUBLIC_URL, Receiver, _no_body_text, _robot
from tests.helpers import account, in_threads, signed_in
from wenxing.db.base import utcnow
from wenxing.live import bot_sender, digests
from wenxing.live.models import BotDelivery, DigestItem, LiveEvent, Notification
from wenxing.materials import catalog
from wenxing.settings import change as change_setting
from wenxing.web.app import create_app
from wenxing.web.auth import CSRF_COOKIE

TOPICS = ("乡村振兴", "营商环境", "河湖长制", "安全生产", "基层治理", "生态保护", "教育强县")
VOCABULARY = (  # two characters a word
    "坚持推进完善加强落实深化统筹提升构建健全巩固拓展强化优化培育壮大"
    "机制体系能力水平质量效益结构布局基础保障服务产业人才资金项目改革"
    "创新协调绿色开放共享民生就业收入教育医疗住房养老交通水利农业工业"
    "园区企业乡镇社区群众干部队伍作风纪律责任考核督查监管风险"
)
WORDS = [VOCABULARY[i : i + 2] for i in range(0, len(VOCABULARY), 2)]


def documents(folder: Path, numbers) -> dict[str, str]:
    """A report file per number, each its own text (no two near-duplicates); their bodies
    by title."""
    folder.mkdir(parents=True, exist_ok=True)
    bodies = {}
    for n in numbers:
        rng = random.Random(n)
        title = f"关于{TOPICS[n]}工作的调研报告"
        paragraphs = ["".join(rng.choices(WORDS, k=40)) + "。" for _ in range(6)]
        lines = [title, "一、基本情况", *paragraphs[:3], "二、存在问题", *paragraphs[3:]]
        (folder / f"{n:02d}.txt").write_text("\n".join(lines), "utf-8")
        bodies[title] = "\n".join(paragraphs)
    return bodies


@pytest.fixture
def site(runtime):
    """Three members, a free user and an editor; two member-group robots, a free-group
    robot and a disabled one (rows only: what is queued is counted, not sent)."""
    publisher = runtime.publisher_settings()
    names = ("member0", "member1", "member2", "free", "writer")
    with runtime.db.transaction() as session:
        made = {
            n: account(session, publisher, n, subscribed=n != "free", username=n) for n in names
        }
        made["writer"].role = "editor"
        session.flush()
        members, free = [made[n].id for n in names[:3]], made["free"].id
    robots = [
        _robot(runtime, "wecom", "http://127.0.0.1:9/member-wecom"),
        _robot(runtime, "feishu", "http://127.0.0.1:9/member-feishu"),
        _robot(runtime, "wecom", "http://127.0.0.1:9/free-wecom", audience="free"),
    ]
    off = _robot(runtime, "dingtalk", "http://127.0.0.1:9/off")
    with runtime.db.transaction() as session:
        from wenxing.live.models import Robot

        session.get(Robot, off).enabled = False
    cli = Cli(
        runtime.settings.database_url,
        {
            "WENXING_SECRET": TEST_SECRET,
            "WENXING_DATABASE_URL": runtime.settings.database_url,
            "WENXING_SEARCH_DIR": str(runtime.settings.search_dir),
        },
    )
    return {"members": members, "free": free, "robots": robots, "cli": cli}


def notices(runtime, member_id: int) -> list[Notification]:
    with runtime.db.reading() as session:
        return list(
            session.scalars(
                select(Notification)
                .where(Notification.member_id == member_id, Notification.kind == "material")
                .order_by(Notification.id)
            )
        )


def deliveries(runtime) -> list[tuple[int, str, dict]]:
    """(robot, event type, event payload) of every robot delivery."""
    with runtime.db.reading() as session:
        rows = session.execute(
            select(BotDelivery.robot_id, LiveEvent.type, LiveEvent.payload)
            .join(LiveEvent, LiveEvent.id == BotDelivery.event_id)
            .order_by(BotDelivery.id)
        ).all()
    return [(robot, type_, json.loads(payload)) for robot, type_, payload in rows]


def published_events(runtime) -> list[tuple[str, dict]]:
    with runtime.db.reading() as session:
        rows = session.execute(
            select(LiveEvent.type, LiveEvent.payload)
            .where(LiveEvent.type.in_(["material.published", "material.digest"]))
            .order_by(LiveEvent.id)
        ).all()
    return [(type_, json.loads(payload)) for type_, payload in rows]


def assert_one_digest(runtime, site, titles: list[str]) -> int:
    """Each member has one notification naming the count and the first title, linking to
    the digest's page; each enabled robot one delivery of the digest's event. Returns
    the digest's id."""
    (_robot, type_, payload), *others = deliveries(runtime)
    assert type_ == "material.digest" and payload["count"] == len(titles)
    assert sorted(r for r, _t, _p in deliveries(runtime)) == sorted(site["robots"])
    assert all(p == payload for _r, _t, p in others)
    digest = payload["digest"]
    for member in site["members"]:
        (notice,) = notices(runtime, member)
        assert notice.title == f"新材料 {len(titles)} 份：《{titles[0]}》等"
        assert notice.link == f"/published/{digest}"
    assert notices(runtime, site["free"]) == []
    return digest


def test_a_folder_published_by_the_command_line_is_announced_once(runtime, site, tmp_path):
    bodies = documents(tmp_path / "library", range(4))
    titles = list(bodies)
    result = site["cli"]("import", str(tmp_path / "library"), "--publish", "--json")
    assert result.code == 0, result
    assert [i["title"] for i in result.json()["imported"]] == titles
    digest = assert_one_digest(runtime, site, titles)

    # Open pages heard of each material as it was published (held: no notice of its own),
    # then of the digest, which names the first five with kind, date and link.
    events = published_events(runtime)
    assert [t for t, _p in events] == ["material.published"] * 4 + ["material.digest"]
    assert all(p["held"] for _t, p in events[:4])
    payload = events[-1][1]
    assert [m["title"] for m in payload["materials"]] == titles
    assert {m["kind"] for m in payload["materials"]} == {"调研报告"}
    assert payload["link"] == f"/published/{digest}"
    for body in bodies.values():
        assert _no_body_text(body, json.dumps(payload, ensure_ascii=False), window=20)

    # The page the notification links to lists them, for anyone; titles, never text.
    page = TestClient(create_app(runtime)).get(f"/published/{digest}")
    assert page.status_code == 200
    assert all(title in page.text for title in titles) and "共 4 份" in page.text
    for body in bodies.values():
        assert _no_body_text(body, page.text, window=20)
    assert TestClient(create_app(runtime)).get("/published/999").status_code == 404


def test_a_folder_uploaded_and_published_in_the_console_is_announced_once(runtime, site, tmp_path):
    bodies = documents(tmp_path / "upload", range(3))
    editor = signed_in(create_app(runtime), "writer")
    files = [
        ("files", (f"年度/{path.name}", path.read_bytes(), "text/plain"))
        for path in sorted((tmp_path / "upload").iterdir())
    ]
    done = editor.post(
        "/console/materials/upload",
        data={"csrf_token": editor.cookies[CSRF_COOKIE], "publish": "1"},
        files=files,
    )
    assert done.status_code == 200 and "导入 3 份" in done.text
    assert_one_digest(runtime, site, list(bodies))

    # One file uploaded and published: announced on its own, as before.
    (one,) = documents(tmp_path / "one", [3])
    done = editor.post(
        "/console/materials/upload",
        data={"csrf_token": editor.cookies[CSRF_COOKIE], "publish": "1"},
        files=[("files", ("03.txt", (tmp_path / "one" / "03.txt").read_bytes(), "text/plain"))],
    )
    assert done.status_code == 200 and "导入 1 份" in done.text
    for member in site["members"]:
        assert [n.title for n in notices(runtime, member)][1:] == [f"新材料：{one}"]
    last = deliveries(runtime)[-3:]
    assert [(t, p["material"]) for _r, t, p in last] == [("material.published", 4)] * 3
    assert "held" not in last[0][2]


def test_single_publications_are_announced_one_by_one_as_before(runtime, site, tmp_path):
    cli = site["cli"]
    (first,) = documents(tmp_path / "a", [0])
    assert cli("import", str(tmp_path / "a" / "00.txt"), "--publish", "--json").code == 0
    (second,) = documents(tmp_path / "b", [1])
    assert cli("import", str(tmp_path / "b" / "01.txt"), "--json").code == 0  # a draft
    assert cli("materials", "publish", "2", "--json").code == 0
    # A folder of which one file is new: the run publishes one material, announced alone.
    third = list(documents(tmp_path / "c", [0, 1, 2]))[2]
    report = cli("import", str(tmp_path / "c"), "--publish", "--json").json()
    assert [i["title"] for i in report["imported"]] == [third] and len(report["skipped"]) == 2

    for member in site["members"]:
        got = [(n.title, n.link) for n in notices(runtime, member)]
        assert got == [
            (f"新材料：{first}", "/materials/1"),
            (f"新材料：{second}", "/materials/2"),
            (f"新材料：{third}", "/materials/3"),
        ]
    announced = [(t, p["material"]) for _r, t, p in deliveries(runtime)]
    assert announced == [("material.published", m) for m in (1, 2, 3) for _robot in range(3)]
    assert all("held" not in p for _r, _t, p in deliveries(runtime))
    assert all(t == "material.published" for t, _p in published_events(runtime))


def test_a_material_of_a_digest_republished_is_not_notified_again(runtime, site, tmp_path):
    """Members heard of it in the digest; a republication adds no notice of its own, as a
    material published on its own is notified once however often it is republished."""
    cli = site["cli"]
    titles = list(documents(tmp_path / "library", range(3)))
    assert cli("import", str(tmp_path / "library"), "--publish", "--json").code == 0
    assert cli("materials", "unpublish", "2", "--json").code == 0
    assert cli("materials", "publish", "2", "--json").code == 0
    for member in site["members"]:
        (notice,) = notices(runtime, member)
        assert notice.title == f"新材料 3 份：《{titles[0]}》等"


def test_a_run_stopped_by_an_error_announces_what_it_published(
    runtime, site, tmp_path, monkeypatch
):
    import wenxing.materials.importer as importer

    titles = list(documents(tmp_path / "library", range(5)))
    real = importer._add_version

    def stop_at_the_fourth(session, material, item, number):
        if item.path.endswith("03.txt"):
            raise RuntimeError("the disk went away")
        real(session, material, item, number)

    monkeypatch.setattr(importer, "_add_version", stop_at_the_fourth)
    stopped = site["cli"]("import", str(tmp_path / "library"), "--publish", "--json")
    assert stopped.code == 2 and "Traceback" not in stopped.stderr
    assert "internal error (RuntimeError: the disk went away)" in stopped.stderr
    with runtime.db.reading() as session:
        assert catalog.count_materials(session, published_only=True) == 3
    first = assert_one_digest(runtime, site, titles[:3])

    # The run again: the three are skipped (same files), the other two published and
    # announced together; nothing of the first run is announced again.
    monkeypatch.setattr(importer, "_add_version", real)
    again = site["cli"]("import", str(tmp_path / "library"), "--publish", "--json").json()
    assert [i["title"] for i in again["imported"]] == titles[3:]
    for member in site["members"]:
        assert [n.title for n in notices(runtime, member)] == [
            f"新材料 3 份：《{titles[0]}》等",
            f"新材料 2 份：《{titles[3]}》等",
        ]
    digests_sent = [p["digest"] for _r, _t, p in deliveries(runtime)]
    second = digests_sent[-1]
    assert digests_sent == [first] * 3 + [second] * 3 and second != first
    with runtime.db.reading() as session:
        ids = {m.title: m.id for m in catalog.list_materials(session)}
        assert digests.material_ids(session, first) == [ids[t] for t in titles[:3]]
        assert digests.material_ids(session, second) == [ids[t] for t in titles[3:]]
        assert session.scalar(select(DigestItem).where(DigestItem.announced_at.is_(None))) is None


def test_a_run_that_died_before_announcing_is_announced_once_later(
    runtime, site, tmp_path, monkeypatch, caplog
):
    titles = list(documents(tmp_path / "library", range(3)))

    def died(*_args, **_kwargs):
        raise ConnectionError("server closed the connection unexpectedly")

    monkeypatch.setattr(digests, "announce_run", died)
    result = site["cli"]("import", str(tmp_path / "library"), "--publish", "--json")
    assert result.code == 0 and len(result.json()["imported"]) == 3
    assert "announcing the import run's publications failed" in caplog.text
    assert "Traceback" not in result.stderr
    monkeypatch.undo()
    assert deliveries(runtime) == [] and notices(runtime, site["members"][0]) == []

    # The hub's round: not while the run may still be going; once, after that.
    assert digests.announce_abandoned(runtime.db, utcnow()) == 0
    later = utcnow() + timedelta(seconds=digests.ABANDONED_SECONDS + 1)
    assert digests.announce_abandoned(runtime.db, later) == 3
    assert_one_digest(runtime, site, titles)
    assert digests.announce_abandoned(runtime.db, later + timedelta(hours=1)) == 0
    assert len(deliveries(runtime)) == 3


def test_a_run_announced_from_several_processes_at_once_is_announced_once(runtime, site, tmp_path):
    """The run's end and the hubs of several workers may announce the same run together:
    one of them does."""
    from wenxing.live import announce
    from wenxing.materials.models import Material

    run = digests.new_run()
    with runtime.db.transaction() as session:
        for n, title in enumerate(("第一份材料", "第二份材料", "第三份材料")):
            material = Material(
                title=title,
                kind="讲话",
                source_path=f"/tmp/{n}.txt",
                status="published",
                published_at=utcnow(),
                current_version=1,
            )
            session.add(material)
            session.flush()
            announce.material_published(session, material, run=run)
    counts = []

    def close(_number: int) -> None:
        with runtime.db.transaction() as session:
            counts.append(digests.announce_run(session, run))

    assert in_threads(4, close) == []
    assert sorted(counts) == [0, 0, 0, 3]
    assert len(deliveries(runtime)) == 3
    assert all(len(notices(runtime, m)) == 1 for m in site["members"])


def test_a_robot_announces_a_digest_with_titles_kinds_dates_and_a_link(runtime, site, tmp_path):
    runtime.settings = runtime.settings.model_copy(
        update={
            "public_url": PUBLIC_URL,
            # local TLS stand-ins, allowed as test_bots allows them (the webhook guard)
            "webhook_private_networks": "127.0.0.0/8",
            "webhook_ca_file": tls.certificates().ca_file,
        }
    )
    receivers = {"wecom": Receiver("wecom"), "feishu": Receiver("feishu")}
    try:
        with runtime.db.transaction() as session:
            change_setting(session, "webhook_hosts", ["127.0.0.1"], actor="publisher:test")
        with runtime.db.transaction() as session:
            from wenxing.live.models import Robot

            for robot in session.scalars(select(Robot)):
                robot.enabled = False
        for platform, receiver in receivers.items():
            _robot(runtime, platform, receiver.url)
        bodies = documents(tmp_path / "library", range(7))
        titles = list(bodies)
        assert site["cli"]("import", str(tmp_path / "library"), "--publish").code == 0
        with runtime.db.transaction() as session:  # unpublished before it was announced
            catalog.set_published(session, 2, False)
        assert bot_sender.send_due(runtime) == 2
        (digest,) = {p["digest"] for _r, _t, p in deliveries(runtime)}
        for platform, receiver in receivers.items():
            (got,) = receiver.texts()
            assert "新材料 6 份" in got, platform
            shown = [t for t in titles if t in got]
            assert shown == [titles[n] for n in (0, 2, 3, 4, 5)], platform  # five, as now
            assert "……共 6 份" in got and "调研报告 · 20" in got
            assert f"{PUBLIC_URL}/published/{digest}" in got
            for body in bodies.values():
                assert _no_body_text(body, got, window=20), platform
        with runtime.db.reading() as session:
            states = {d.state for d in session.scalars(select(BotDelivery))}
        assert states == {"sent"}
    finally:
        for receiver in receivers.values():
            receiver.stop()
