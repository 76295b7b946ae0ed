"""Markdown read as plain text: marks, links, fences, tables and rules go; the first level-1
heading is the title hint; numbered items ("1. ") stay, being outline markers here."""

from __future__ import annotations

import re
import string

_HTML_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
_FENCE = re.compile(r"^\s{0,3}(`{3,}|~{3,})")
_RULE = re.compile(r"^\s{0,3}(?:(?:-\s*){3,}|(?:\*\s*){3,}|(?:_\s*){3,}|=+\s*)$")
_TABLE_RULE = re.compile(r"^\s*\|?\s*:?-+:?\s*(?:\|\s*:?-+:?\s*)*\|?\s*$")
_LINK_DEFINITION = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*\S+.*$")
_HEADING = re.compile(r"^\s{0,3}(#{1,6})(?:\s+(.*?))?(?:\s+#+)?\s*$")
_SETEXT_H1 = re.compile(r"^\s{0,3}=+\s*$")
_BLOCKQUOTE = re.compile(r"^\s{0,3}(?:>\s?)+")
_BULLET = re.compile(r"^\s*[-*+]\s+(?:\[[ xX]\]\s+)?")
_ESCAPE = re.compile(r"\\([!-/:-@\[-`{-~])")
_ESCAPED_BASE = 0xE000  # escaped punctuation parks in the private use area meanwhile
_UNESCAPE = {_ESCAPED_BASE + ord(c): c for c in string.punctuation}
_INLINE_RULES = (
    (re.compile(r"!\[[^\]]*\](?:\([^)]*\)|\[[^\]]*\])"), ""),
    (re.compile(r"\[([^\]]*)\](?:\([^)]*\)|\[[^\]]*\])"), r"\1"),
    (re.compile(r"<((?:https?|mailto):[^>\s]+)>"), r"\1"),
    (re.compile(r"(`+)(.+?)\1"), r"\2"),
    (re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1"), r"\2"),
    (re.compile(r"\*(?=[^\s*])([^*]+?)(?<=\S)\*"), r"\1"),
    # Underscores inside ASCII words (snake_case) are not emphasis; next to CJK they are.
    (re.compile(r"(?<![A-Za-z0-9_])_(?=[^\s_])([^_]+?)(?<=\S)_(?![A-Za-z0-9_])"), r"\1"),
    (re.compile(r"~~(?=\S)(.+?)(?<=\S)~~"), r"\1"),
)


def strip_markdown(text: str) -> tuple[str, str | None]:
    """Markdown to plain text; numbered items like "1. " stay, being outline markers here."""
    out: list[str] = []
    title: str | None = None
    fence: str | None = None
    for line in _HTML_COMMENT.sub("", text).split("\n"):
        fence_match = _FENCE.match(line)
        if fence is not None:
            closing = fence_match and fence_match.group(1)[0] == fence[0]
            if fence_match and closing and len(fence_match.group(1)) >= len(fence):
                fence = None
            else:
                out.append(line)
            continue
        if fence_match:
            fence = fence_match.group(1)
            continue
        if _SETEXT_H1.match(line) and title is None and out and out[-1].strip():
            title = out[-1].strip()
        if _RULE.match(line) or _TABLE_RULE.match(line) or _LINK_DEFINITION.match(line):
            continue
        line = _BLOCKQUOTE.sub("", line)
        heading = _HEADING.match(line)
        if heading:
            line = _strip_inline(heading.group(2) or "").strip()
            if title is None and len(heading.group(1)) == 1 and line:
                title = line
        else:
            line = _strip_inline(_table_row(_BULLET.sub("", line)))
        out.append(line)
    return "\n".join(out), title


def _table_row(line: str) -> str:
    stripped = line.strip()
    if len(stripped) > 1 and stripped.startswith("|") and stripped.endswith("|"):
        return "\t".join(cell.strip() for cell in stripped[1:-1].split("|"))
    return line


def _strip_inline(line: str) -> str:
    line = _ESCAPE.sub(lambda m: chr(_ESCAPED_BASE + ord(m.group(1))), line)
    for pattern, replacement in _INLINE_RULES:
        line = pattern.sub(replacement, line)
    return line.translate(_UNESCAPE)
