"""组稿 on both databases: the basket's rules, a draft's export laid out and numbered in its
new order, one ledger line counted once, and the trace of a leaked draft (whole, stripped
of invisible marks, an excerpt of one piece, two members' pieces mixed)."""

from __future__ import annotations

import io
import itertools
import re
import unicodedata
import zipfile
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from tests.helpers import REPO, SAMPLE
from wenxing.cli.tracing import trace_document
from wenxing.compose import basket, drafts, export, pieces
from wenxing.db.base import utcnow
from wenxing.delivery.figures import most_read
from wenxing.delivery.issue import NotEntitled, copies_left_today
from wenxing.delivery.layout import layout_of
from wenxing.delivery.models import IssuedCopy, IssuedPiece
from wenxing.errors import DomainError
from wenxing.materials.importer import ImportOptions, MaterialImporter
from wenxing.materials.models import Material, MaterialVersion
from wenxing.members.models import Member
from wenxing.members.service import add_member
from wenxing.members.subscriptions import grant, plans
from wenxing.reports.evidence import read_evidence_bytes
from wenxing.reports.trace import trace_all

FILES = [
    SAMPLE,
    REPO / "tests/fixtures/materials/reports/county_2017.txt",
    REPO / "tests/fixtures/materials/reports/congress_2022.txt",
]


@pytest.fixture
def world(runtime):
    importer = MaterialImporter(runtime.db, runtime.settings, runtime.publisher_settings())
    importer.run(FILES, ImportOptions(publish=True))
    month = plans(runtime.publisher_settings())["month"]
    with runtime.db.transaction() as session:
        ids = [add_member(session, name).id for name in ("张三", "李四", "王五", "赵六")]
        for member_id in ids[:3]:
            grant(
                session,
                member_id,
                month,
                actor="test",
                reason="test",
                now=utcnow() - timedelta(minutes=1),
            )
        found = {}
        for material in session.scalars(select(Material).order_by(Material.id)):
            version = session.scalars(
                select(MaterialVersion).where(MaterialVersion.material_id == material.id)
            ).one()
            found[material.id] = (version.id, pieces.extents(version))
    return ids, found


def anchor_of(extents, heading_start: str) -> str:
    return next(e.anchor for e in extents.values() if e.label.startswith(heading_start))


def _member(session, member_id):
    return session.get(Member, member_id)


def add(runtime, member_id, material_id, version_id, anchor):
    with runtime.db.transaction() as session:
        return basket.add_piece(
            session,
            runtime.publisher_settings(),
            _member(session, member_id),
            material_id,
            version_id,
            anchor,
        )


def build_draft(runtime, member_id, found, choice):
    """A draft of ``choice`` [(material, heading start)], reordered, one heading renamed
    and a paragraph of the member's own added; its id."""
    for material_id, start in choice:
        version_id, extents = found[material_id]
        add(runtime, member_id, material_id, version_id, anchor_of(extents, start))
    with runtime.db.transaction() as session:
        draft = drafts.start_draft(session, member_id, "在全县重点工作会议上的讲话")
        parts = drafts.draft_view(session, member_id, draft.id).parts
        drafts.move_part(session, member_id, draft.id, parts[2].id, -1)  # third goes second
        drafts.set_heading(session, member_id, draft.id, parts[0].id, "坚定推进乡村振兴", 1)
        drafts.add_text(session, member_id, draft.id, parts[0].id, "同志们，下面我再讲几点。")
        return draft.id


def export_draft(runtime, member_id, draft_id, fmt="docx"):
    with runtime.db.transaction() as session:
        pending = export.record_export(
            session,
            runtime.secret,
            runtime.publisher_settings(),
            _member(session, member_id),
            draft_id,
            fmt,
            actor="member",
        )
    return pending.render()


def docx_paragraphs(data: bytes) -> list[str]:
    xml = zipfile.ZipFile(io.BytesIO(data)).read("word/document.xml").decode()
    paragraphs = re.findall(r"<w:p[ >].*?</w:p>", xml)
    return ["".join(re.findall(r"<w:t[^>]*>([^<]*)</w:t>", p)) for p in paragraphs]


def invisible(ch: str) -> bool:
    """A mark that takes no place: a format character or a variation selector."""
    return unicodedata.category(ch) == "Cf" or "\ufe00" <= ch <= "\ufe0f" or ch >= "\U000e0100"


def visible(text: str) -> str:
    return "".join(ch for ch in text if not invisible(ch))


def traced(runtime, data: bytes, suffix: str) -> dict:
    evidence = read_evidence_bytes(data, suffix)
    with runtime.db.reading() as session:
        results = trace_all(session, runtime.secret, evidence, 1e-6)
    return trace_document(results)


CHOICE = [(1, "二、"), (2, "二、"), (3, "三、")]
TRIALS = 40


def test_a_piece_the_member_may_not_read_is_refused_with_the_reason(runtime, world):
    ids, found = world
    version_id, extents = found[1]
    with pytest.raises(DomainError) as refused:
        add(runtime, ids[3], 1, version_id, anchor_of(extents, "二、"))  # a free account
    assert refused.value.code == "compose.preview_free"
    with pytest.raises(DomainError) as unknown:
        add(runtime, ids[0], 1, version_id, "s999")
    assert unknown.value.code == "compose.no_such_piece"
    with pytest.raises(DomainError):
        add(runtime, ids[0], 2, version_id, "s1")  # a version of another material
    assert add(runtime, ids[0], 1, version_id, "s1") == 1
    assert add(runtime, ids[0], 1, version_id, "s1") == 1  # the same piece again: no change
    with runtime.db.reading() as session:
        [piece] = basket.basket(session, ids[0])
        assert piece.source_title == "在全区重点工作推进会上的讲话" and piece.path


def test_an_exported_draft_is_numbered_in_its_new_order_and_counted_once(runtime, world):
    ids, found = world
    draft_id = build_draft(runtime, ids[0], found, CHOICE)
    with runtime.db.reading() as session:
        left_before = copies_left_today(
            session, runtime.publisher_settings(), _member(session, ids[0]), utcnow()
        )
    issued = export_draft(runtime, ids[0], draft_id)
    paragraphs = [visible(p) for p in docx_paragraphs(issued.data)]
    headings = [
        p
        for p in paragraphs
        if re.match(r"^(?:[一二三四五六七八九十]+、|（[一二三四五六七八九十]+）)", p)
    ]
    # sample's 二、 renamed (一、), congress's 三、 moved up (二、) with its （一）…（三）, then
    # county's 二、 (三、) with its own （一）…（四） numbered anew under it.
    assert headings[0] == "一、坚定推进乡村振兴"
    assert headings[1] == "二、全面加强党的建设"
    assert [h[:3] for h in headings[2:5]] == ["（一）", "（二）", "（三）"]
    assert headings[2].startswith("（一）加强政治建设")
    assert headings[5].startswith("三、2017年主要目标")
    assert [h[:3] for h in headings[6:10]] == ["（一）", "（二）", "（三）", "（四）"]
    assert "同志们，下面我再讲几点。" in paragraphs
    assert (
        any("WX-10001" in p for p in docx_paragraphs(issued.data)) is False
    )  # recipient in header
    header = zipfile.ZipFile(io.BytesIO(issued.data)).read("word/header1.xml").decode()
    assert "会员 WX-10001" in header
    with runtime.db.reading() as session:
        rows = session.scalars(select(IssuedCopy).where(IssuedCopy.member_id == ids[0])).all()
        assert [r.format for r in rows] == ["d-docx"]
        held = session.scalars(
            select(IssuedPiece.material_id)
            .where(IssuedPiece.copy_id == rows[0].id)
            .order_by(IssuedPiece.position)
        ).all()
        assert held == [1, 3, 2]
        left_after = copies_left_today(
            session, runtime.publisher_settings(), _member(session, ids[0]), utcnow()
        )
    assert left_before is not None and left_after == left_before - 1
    text = export_draft(runtime, ids[0], draft_id, "txt").data.decode()
    assert "会员 WX-10001" in text and "一、坚定推进乡村振兴" in visible(text)


def test_a_leaked_draft_names_its_member_and_the_materials_of_its_pieces(runtime, world):
    ids, found = world
    for member_id in ids[1:3]:  # others hold copies of the same sections: never accused
        build_draft(runtime, member_id, found, CHOICE)
        export_draft(runtime, member_id, drafts_of(runtime, member_id)[0], "txt")
    draft_id = build_draft(runtime, ids[0], found, CHOICE)
    issued = export_draft(runtime, ids[0], draft_id)
    whole = traced(runtime, issued.data, ".docx")
    assert {a["member"] for a in whole["accused"]} == {"WX-10001"}
    assert {a["material"] for a in whole["accused"]} == {1, 2, 3}
    assert {m["material"]["id"] for m in whole["materials"]} == {1, 2, 3}
    text = export_draft(runtime, ids[0], draft_id, "txt").data.decode()
    stripped = "".join(
        ch
        for ch in unicodedata.normalize("NFKC", text)
        if unicodedata.category(ch) != "Cf" and not ch.isspace()
    )
    bare = traced(runtime, stripped.encode(), ".txt")
    assert {a["member"] for a in bare["accused"]} == {"WX-10001"}
    # Every piece is found; the shortest (three paragraphs) holds too few wording marks
    # alone to accuse anyone within the bound once the invisible marks are gone.
    assert {m["material"]["id"] for m in bare["materials"]} == {1, 2, 3}
    assert {1, 2} <= {a["material"] for a in bare["accused"]}
    # The recipient line's number is a lead: the draft is a copy of each material it holds.
    for found_material in bare["materials"]:
        [lead] = found_material["visible_recipients"]
        assert lead == {"member": "WX-10001", "exists": True, "issued_copies": 2}  # .docx, .txt
    body = visible(text)
    start = body.index("坚定推进乡村振兴")
    excerpt = text_slice(text, start + 20, 600)
    one = traced(runtime, excerpt.encode(), ".txt")
    assert {a["member"] for a in one["accused"]} == {"WX-10001"}
    assert {a["material"] for a in one["accused"]} == {1}


def test_a_draft_mixing_two_members_pieces_names_both(runtime, world):
    ids, found = world
    texts = []
    for member_id in ids[:2]:
        build_draft(runtime, member_id, found, CHOICE)
        texts.append(export_draft(runtime, member_id, drafts_of(runtime, member_id)[0], "txt"))
    a, b = (t.data.decode() for t in texts)
    a_piece = a[a.index("坚定推进乡村振兴") :][:900]  # member 1's piece of material 1
    b_tail = b[b.index("三、2017年") :]  # member 2's piece of material 2
    mixed = traced(runtime, (a_piece + "\n" + b_tail).encode(), ".txt")
    named = {(x["member"], x["material"]) for x in mixed["accused"]}
    assert ("WX-10001", 1) in named and ("WX-10002", 2) in named
    assert {m for m, _ in named} == {"WX-10001", "WX-10002"}


def test_quota_refuses_the_draft_once_used_up(runtime, world):
    """Each export of other pieces is a new copy and counts; once the day's downloads are
    spent a new one is refused, while a draft exported earlier today is still handed out."""
    ids, found = world
    sections = [
        (material_id, version_id, anchor)
        for material_id, (version_id, extents) in sorted(found.items())
        for anchor in extents
    ]
    with runtime.db.reading() as session:
        left = copies_left_today(
            session, runtime.publisher_settings(), _member(session, ids[0]), utcnow()
        )
    choices = [c for size in (1, 2) for c in itertools.combinations(sections, size)]
    assert left is not None and 2 * len(choices) > left
    spent, last = 0, None
    for number, choice in enumerate(choices):
        for material_id, version_id, anchor in choice:
            add(runtime, ids[0], material_id, version_id, anchor)
        with runtime.db.transaction() as session:
            draft_id = drafts.start_draft(session, ids[0], f"稿{number}").id
        for fmt in ("txt", "docx"):
            if spent < left:
                last = (draft_id, fmt, export_draft(runtime, ids[0], draft_id, fmt).copy_id)
                spent += 1
        if spent == left:
            break
    for material_id, version_id, anchor in sections:  # pieces no copy today holds together
        add(runtime, ids[0], material_id, version_id, anchor)
    with runtime.db.transaction() as session:
        fresh = drafts.start_draft(session, ids[0], "再一稿").id
    with pytest.raises(NotEntitled) as refused:
        export_draft(runtime, ids[0], fresh, "txt")
    assert refused.value.reason == "quota"
    draft_id, fmt, copy_id = last
    assert export_draft(runtime, ids[0], draft_id, fmt).copy_id == copy_id


def test_the_same_pieces_exported_again_today_are_the_same_copy(runtime, world):
    """Reordered, retitled, with another paragraph of the member's own, the same pieces in
    the same format are the copy of earlier today (same id, same marks, no second
    download); another format, or another set of pieces, is a new copy."""
    ids, found = world
    draft_id = build_draft(runtime, ids[0], found, CHOICE)
    first = export_draft(runtime, ids[0], draft_id)

    def left() -> int:
        with runtime.db.reading() as session:
            count = copies_left_today(
                session, runtime.publisher_settings(), _member(session, ids[0]), utcnow()
            )
        assert count is not None
        return count

    before = left()
    with runtime.db.transaction() as session:
        parts = drafts.draft_view(session, ids[0], draft_id).parts
        pieces_only = [part for part in parts if part.kind == "piece"]
        drafts.move_part(session, ids[0], draft_id, pieces_only[-1].id, -1)
        drafts.rename_draft(session, ids[0], draft_id, "改过的标题")
        drafts.add_text(session, ids[0], draft_id, pieces_only[0].id, "再补充一段自己的话。")
    again = export_draft(runtime, ids[0], draft_id)
    assert again.copy_id == first.copy_id and left() == before
    assert "再补充一段自己的话。" in "".join(visible(p) for p in docx_paragraphs(again.data))
    with runtime.db.reading() as session:
        assert session.scalar(select(func.count()).select_from(IssuedCopy)) == 1
        assert session.scalar(select(func.count()).select_from(IssuedPiece)) == 3
    as_text = export_draft(runtime, ids[0], draft_id, "txt")
    assert as_text.copy_id != first.copy_id and left() == before - 1
    version_id, extents = found[2]
    add(runtime, ids[0], 2, version_id, anchor_of(extents, "一、"))
    with runtime.db.transaction() as session:
        bigger = drafts.start_draft(session, ids[0], "又一稿").id
    assert export_draft(runtime, ids[0], bigger).copy_id != first.copy_id
    assert left() == before - 2


def drafts_of(runtime, member_id):
    with runtime.db.reading() as session:
        return [d.id for d in drafts.drafts_of(session, member_id)]


def text_slice(text: str, start: int, length: int) -> str:
    """``length`` visible characters of ``text`` from its ``start``-th visible one, with the
    invisible marks among them."""
    out, seen = [], 0
    for ch in text:
        shown = not invisible(ch)
        if start <= seen < start + length:
            out.append(ch)
        seen += shown
    return "".join(out)


def test_a_selected_run_of_paragraphs_is_a_piece(runtime, world):
    """Paragraphs selected on the reader page (``p<first>-<last>`` by block) go in the
    basket named by their section and numbers, never by their words; the export holds
    exactly them, marked, and its leak names the member."""
    ids, found = world
    version_id, extents = found[1]
    section = extents[anchor_of(extents, "二、")]
    first, last = section.first + 1, section.first + 3
    with runtime.db.reading() as session:
        version = session.get(MaterialVersion, version_id)
        blocks = layout_of(version.title, version.body, version.outline).blocks
        wanted = [version.body[b.start : b.end] for b in blocks[first : last + 1]]
        around = [version.body[b.start : b.end] for b in (blocks[section.first], blocks[last + 1])]
    for wrong in (f"p{last}-{first}", f"p{first}-{len(blocks)}", f"p0-{pieces.RUN_LIMIT}", "p1-"):
        with pytest.raises(DomainError) as refused:
            add(runtime, ids[0], 1, version_id, wrong)
        assert refused.value.code == "compose.no_such_piece", wrong
    assert add(runtime, ids[0], 1, version_id, f"p{first}-{last}") == 1
    with runtime.db.reading() as session:
        [piece] = basket.basket(session, ids[0])
    assert piece.path == f"{section.path} › 第 1–3 段"
    assert not any(paragraph[:6] in piece.path for paragraph in wanted)
    with runtime.db.transaction() as session:
        draft_id = drafts.start_draft(session, ids[0], "摘几段").id
    text = export_draft(runtime, ids[0], draft_id, "txt").data.decode()
    shown = visible(text)
    # (the wording marks change a word here and there: compared by 4-character shingles)
    assert all(share(paragraph, shown) > 0.7 for paragraph in wanted)
    assert all(share(paragraph, shown) < 0.2 for paragraph in around)
    accused = traced(runtime, text.encode(), ".txt")["accused"]
    assert [(a["member"], a["material"]) for a in accused] == [("WX-10001", 1)]


def share(paragraph: str, text: str) -> float:
    """The share of the paragraph's 4-character shingles found in ``text``."""
    grams = {paragraph[n : n + 4] for n in range(max(len(paragraph) - 3, 1))}
    return sum(gram in text for gram in grams) / len(grams)


def test_a_part_moves_to_any_place(runtime, world):
    ids, found = world
    draft_id = build_draft(runtime, ids[0], found, CHOICE)

    def order() -> list[int]:
        with runtime.db.reading() as session:
            return [part.id for part in drafts.draft_view(session, ids[0], draft_id).parts]

    start = order()
    assert len(start) == 4  # three pieces and the member's own paragraph
    with runtime.db.transaction() as session:
        drafts.move_part_to(session, ids[0], draft_id, start[3], 0)
    assert order() == [start[3], *start[:3]]
    with runtime.db.transaction() as session:
        drafts.move_part_to(session, ids[0], draft_id, start[3], 99)  # beyond the end: last
    assert order() == start
    with runtime.db.transaction() as session, pytest.raises(DomainError) as other:
        drafts.move_part_to(session, ids[1], draft_id, start[0], 1)
    assert other.value.code == "compose.no_such_draft"
    with runtime.db.transaction() as session, pytest.raises(DomainError) as where:
        drafts.move_part(session, ids[0], draft_id, start[0], 2)  # one place at a time
    assert where.value.code == "compose.move"
    assert order() == start


def test_a_draft_counts_as_a_read_of_every_material_it_holds(runtime, world):
    """近30天最多人读: a draft with pieces of three materials is a read of each of them (not
    of its first piece's material alone); a member counts once per material."""
    ids, found = world
    since = utcnow() - timedelta(days=30)
    draft_id = build_draft(runtime, ids[0], found, CHOICE)
    export_draft(runtime, ids[0], draft_id, "txt")
    export_draft(runtime, ids[0], draft_id, "docx")
    version_id, extents = found[1]
    add(runtime, ids[1], 1, version_id, anchor_of(extents, "二、"))
    with runtime.db.transaction() as session:
        other = drafts.start_draft(session, ids[1], "一段").id
    export_draft(runtime, ids[1], other, "txt")
    with runtime.db.reading() as session:
        ranked = dict(most_read(session, since))
    assert ranked == {1: 2, 2: 1, 3: 1}


def test_drafts_are_the_owners_own(runtime, world):
    ids, found = world
    draft_id = build_draft(runtime, ids[0], found, CHOICE)
    with runtime.db.transaction() as session:
        with pytest.raises(DomainError) as other:
            drafts.rename_draft(session, ids[1], draft_id, "别人的")
        assert other.value.code == "compose.no_such_draft"
        copy = drafts.duplicate_draft(session, ids[0], draft_id, "副本")
        drafts.rename_draft(session, ids[0], draft_id, "改过的标题")
    with runtime.db.transaction() as session:
        listed = drafts.drafts_of(session, ids[0])
        assert {d.title for d in listed} == {"改过的标题", "副本"}
        assert all(d.pieces == 3 for d in listed)
        drafts.delete_draft(session, ids[0], copy.id)
    assert drafts_of(runtime, ids[0]) == [draft_id]
    with runtime.db.reading() as session:
        assert session.scalar(select(func.count()).select_from(IssuedCopy)) == 0


def test_no_innocent_is_accused_in_leaks_of_drafts(runtime, world):
    """Three members export the same three pieces; each trial leaks one member's draft
    whole, stripped of its invisible marks, or as a 600-character excerpt (at random), and
    the trace may name that member and no one else. 40 trials here (a trace of a draft is
    a few hundred milliseconds on a loaded machine); ``bench/compose.py`` runs 200."""
    import random

    ids, found = world
    texts = {}
    for number, member_id in zip(("WX-10001", "WX-10002", "WX-10003"), ids[:3], strict=True):
        build_draft(runtime, member_id, found, CHOICE)
        draft = drafts_of(runtime, member_id)[0]
        texts[number] = export_draft(runtime, member_id, draft, "txt").data.decode()
    rng = random.Random(25)
    innocents, named = 0, 0
    for _ in range(TRIALS):
        leaker = rng.choice(sorted(texts))
        text = texts[leaker]
        how = rng.choice(("whole", "stripped", "excerpt"))
        if how == "stripped":
            text = "".join(ch for ch in text if unicodedata.category(ch) != "Cf")
        elif how == "excerpt":
            shown = len(visible(text))
            text = text_slice(text, rng.randrange(200, shown - 600), 600)
        accused = {a["member"] for a in traced(runtime, text.encode(), ".txt")["accused"]}
        innocents += len(accused - {leaker})
        named += leaker in accused
    assert innocents == 0
    assert named >= 0.75 * TRIALS  # an excerpt of short pieces may name no one


def test_an_export_is_refused_when_a_piece_can_no_longer_be_read(runtime, world):
    from wenxing.materials.catalog import set_published

    ids, found = world
    draft_id = build_draft(runtime, ids[0], found, CHOICE)
    with runtime.db.transaction() as session:
        set_published(session, 2, False)
    with pytest.raises(DomainError) as refused:
        export_draft(runtime, ids[0], draft_id)
    assert refused.value.code == "compose.unpublished"
    assert refused.value.params == {"title": "政府工作报告"}
    with runtime.db.reading() as session:  # nothing was written, nothing counted
        assert session.scalar(select(func.count()).select_from(IssuedCopy)) == 0
