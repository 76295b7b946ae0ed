"""Exporting a draft: every piece marked for its member, laid out like every copy.

:func:`record_export` (in the caller's write transaction) checks the member may read every
material a piece comes from, counts the draft once against the daily downloads and writes
its ledger lines (``delivery.drafts``); :meth:`PendingDraft.render` (after the commit, no
database) marks each version the draft takes pieces of with that version's own plan and key,
cuts the pieces out, renumbers the headings in the draft's order and renders a .docx (GB/T
9704, masthead, recipient line: ``delivery.docx``) or .txt. The member's own paragraphs and
headings are theirs and carry no marks.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from wenxing import fingerprint
from wenxing.actors import Actor
from wenxing.compose import numbering, pieces
from wenxing.compose.drafts import draft_view
from wenxing.compose.models import PIECE
from wenxing.compose.rules import refusal
from wenxing.config import PublisherSettings
from wenxing.delivery.docx import DocxFormat
from wenxing.delivery.drafts import AssembledCopy, PieceRefused, PieceSource, record_assembled
from wenxing.delivery.issue import IssuedFile
from wenxing.delivery.layout import (
    HEADING,
    TEXT,
    Block,
    CopyContent,
    Layout,
    MarkedBlock,
    fill,
    layout_of,
)
from wenxing.delivery.render import Format, TxtFormat, recipient_line
from wenxing.errors import DomainError
from wenxing.materials.models import Material, MaterialVersion
from wenxing.members.models import Member

EXPORT_FORMATS: dict[str, Format] = {f.name: f for f in (DocxFormat(), TxtFormat())}


@dataclass(frozen=True)
class PiecePart:
    version_id: int
    title: str
    body: str
    outline: str
    extent: pieces.Extent
    heading: str | None  # the member's wording, None to keep the source's
    level: int


@dataclass(frozen=True)
class TextPart:
    text: str


@dataclass(frozen=True)
class Line:
    """One paragraph of the exported draft before numbering: ``level`` set for a heading
    that is numbered in the draft's order (its marker is replaced)."""

    style: str
    head: str  # a run-in heading's words (before its text), or ""
    text: str
    level: int | None = None


@dataclass(frozen=True)
class PendingDraft:
    copy: AssembledCopy
    title: str
    parts: tuple[PiecePart | TextPart, ...]
    form: Format

    def render(self) -> IssuedFile:
        lines = number(assemble(self.parts, self.copy))
        layout, blocks = draft_layout(self.title, lines)
        content = CopyContent(
            title=self.title,
            blocks=blocks,
            toc=(),
            masthead=self.copy.masthead,
            recipient_line=recipient_line(self.copy.member_number, self.copy.issued_on),
            member_number=self.copy.member_number,
            issued_on=self.copy.issued_on,
            copy_tag=self.copy.copy_tag,
            copy_id=self.copy.copy_id,
        )
        data = self.form.render(self.form.prepare(layout, self.copy.masthead), content)
        name = "".join(ch for ch in self.title if ch not in '\\/:*?"<>|\n\r\t')[:60] or "draft"
        return IssuedFile(
            self.copy.copy_id,
            self.copy.member_number,
            self.form.name,
            data,
            f"{name}-{self.copy.member_number}.{self.form.name}",
            self.form.media_type,
        )


def record_export(
    session: Session,
    secret: bytes,
    publisher: PublisherSettings,
    member: Member,
    draft_id: int,
    fmt: str,
    *,
    actor: Actor | str,
    ip: str | None = None,
    user_agent: str | None = None,
) -> PendingDraft:
    """Check and log the export of a draft; render it with :meth:`PendingDraft.render`."""
    form = EXPORT_FORMATS.get(fmt)
    if form is None:
        raise DomainError("compose.format", choices=sorted(EXPORT_FORMATS))
    view = draft_view(session, member.id, draft_id)
    sources: list[PieceSource] = []
    parts: list[PiecePart | TextPart] = []
    for part in view.parts:
        if part.kind != PIECE:
            parts.append(TextPart(part.text or ""))
            continue
        material = session.get(Material, part.material_id)
        version = session.get(MaterialVersion, part.version_id)
        extent = pieces.extent(version, part.anchor or "") if version else None
        if material is None or version is None or extent is None:
            raise DomainError("compose.no_such_piece", anchor=part.anchor or "")
        sources.append(PieceSource(material, version, extent.anchor))
        parts.append(
            PiecePart(
                version.id,
                version.title,
                version.body,
                version.outline,
                extent,
                part.heading,
                part.level,
            )
        )
    if not sources:
        raise DomainError("compose.empty_draft")
    if member.status != "active":
        raise refusal(member.status, sources[0].material.title)
    try:
        copy = record_assembled(
            session, secret, publisher, member, sources, fmt, actor=actor, ip=ip,
            user_agent=user_agent,
        )  # fmt: skip
    except PieceRefused as refused:
        raise refusal(refused.reason, refused.title) from None
    return PendingDraft(copy, view.title, tuple(parts), form)


def assemble(parts: tuple[PiecePart | TextPart, ...], copy: AssembledCopy) -> list[Line]:
    """The draft's paragraphs in order: each piece cut from its version marked for the
    member (each version marked once), the member's own paragraphs between them."""
    marked: dict[int, tuple[MarkedBlock, ...]] = {}
    lines: list[Line] = []
    for part in parts:
        if isinstance(part, TextPart):
            lines.extend(Line(TEXT, "", row) for row in part.text.split("\n") if row)
            continue
        if part.version_id not in marked:
            layout = layout_of(part.title, part.body, part.outline)
            marking = copy.markings[part.version_id]
            cut = fingerprint.mark_spans(
                part.body, marking.plan, marking.key, copy.member_number, layout.cuts
            )
            marked[part.version_id] = fill(layout, cut)
        lines.extend(piece_lines(marked[part.version_id], part))
    return lines


def piece_lines(blocks: tuple[MarkedBlock, ...], part: PiecePart) -> list[Line]:
    """One piece's paragraphs, its headings given draft levels (the first at the part's)."""
    chosen = blocks[part.extent.first : part.extent.stop]
    ranks = [_heading_rank(b) for b in chosen]
    levels = numbering.piece_levels(ranks, part.level)
    lines = []
    for n, (block, level) in enumerate(zip(chosen, levels, strict=True)):
        run_in = block.block.head_end > block.block.start
        head, text = (block.head, block.text) if run_in else ("", block.whole)
        if n == 0 and part.heading:
            if run_in:
                head = part.heading
            elif block.block.style == HEADING:
                text = part.heading
            else:  # an item has no heading line: the member's heading goes above it
                lines.append(Line(HEADING, "", part.heading, part.level))
        style = HEADING if block.block.style == HEADING else block.block.style
        lines.append(Line(style, head, text, level))
    return lines


def _heading_rank(block: MarkedBlock) -> int | None:
    if block.block.style != HEADING and block.block.head_end == block.block.start:
        return None
    rank, _rest = numbering.split_marker(block.head or block.whole)
    return rank


def number(lines: list[Line]) -> list[Line]:
    """The lines with every numbered heading's marker set in the draft's order."""
    markers = iter(numbering.renumber([ln.level for ln in lines if ln.level is not None]))
    out = []
    for line in lines:
        if line.level is None:
            out.append(line)
            continue
        mark = next(markers)
        if line.head:
            out.append(Line(line.style, mark + numbering.split_marker(line.head)[1], line.text))
        else:
            out.append(Line(line.style, "", mark + numbering.split_marker(line.text)[1]))
    return out


def draft_layout(title: str, lines: list[Line]) -> tuple[Layout, tuple[MarkedBlock, ...]]:
    """The draft's own layout (offsets into its joined text) and its filled blocks."""
    blocks, filled, offset = [], [], 0
    for line in lines:
        rank = -1
        if line.style == HEADING or line.head:
            rank = numbering.split_marker(line.head or line.text)[0] or 1
        start, head_end = offset, offset + len(line.head)
        end = head_end + len(line.text)
        block = Block(line.style, rank, start, head_end, end)
        blocks.append(block)
        filled.append(MarkedBlock(block, line.head, line.text))
        offset = end + 1
    return Layout(title, tuple(blocks), ()), tuple(filled)
