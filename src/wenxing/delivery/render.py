"""Formats of a copy, and the .txt format.

A format renders in two steps so that a copy costs only marking and packaging:
``prepare(layout, masthead)`` does everything that is the same for every recipient of a
version (cached by ``delivery.cache``), and ``render(prepared, content)`` makes one copy's
bytes. Every format starts with the publisher's masthead and a recipient line.
"""

from __future__ import annotations

from typing import Any, Protocol

from wenxing.delivery.layout import CopyContent, Layout
from wenxing.i18n import N_


class Format(Protocol):
    name: str
    media_type: str
    label: str  # what a member sees on the download button (N_: translated where shown)

    def prepare(self, layout: Layout, masthead: tuple[str, ...]) -> Any: ...

    def render(self, prepared: Any, content: CopyContent) -> bytes: ...


def recipient_line(member_number: str, issued_on: str) -> str:
    """The visible line naming the recipient (members are told their copy is traceable)."""
    return (
        f"会员 {member_number} · {issued_on} · 本资料为会员个人专属副本，"
        "已嵌入可追溯标识，仅供本人学习使用，请勿转发、出售"
    )


class TxtFormat:
    """UTF-8 text: masthead, recipient line, title, body with the source's paragraphs."""

    name = "txt"
    media_type = "text/plain; charset=utf-8"
    label = N_("纯文本 .txt")

    def prepare(self, layout: Layout, masthead: tuple[str, ...]) -> str:
        return "\n".join(masthead)

    def render(self, prepared: str, content: CopyContent) -> bytes:
        text = f"{prepared}\n{content.recipient_line}\n\n{content.title}\n\n{content.body}\n"
        return text.encode("utf-8")
