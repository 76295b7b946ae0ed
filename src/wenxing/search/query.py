"""The query language members type, parsed into terms, phrases, exclusions and filters.

    乡村振兴 营商环境          both terms (all terms must match)
    "全过程人民民主"            a phrase, exactly (ASCII or Chinese quotes)
    河湖长制 -旅游              exclude materials whose section mentions 旅游
    kind:讲话  分类:党建  tag:两会  year:2024  since:2024-03-01  until:2024-06-30

Filter names have Chinese forms (类型 分类 标签 年份 起 止) and take either colon. Anything
that cannot be a filter is a term, so a query never fails on punctuation, quotes left open
or SQL and regex metacharacters: they are text like any other.
"""

from __future__ import annotations

import re
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from wenxing import clock
from wenxing.i18n import _

MAX_QUERY_CHARS = 200
MAX_TERMS = 12

_FILTERS = {
    "kind": "kind",
    "类型": "kind",
    "类别": "kind",
    "category": "category",
    "分类": "category",
    "栏目": "category",
    "tag": "tag",
    "标签": "tag",
    "year": "year",
    "年份": "year",
    "since": "since",
    "起": "since",
    "从": "since",
    "until": "until",
    "止": "until",
    "到": "until",
}
_TOKEN = re.compile(r'(-|－)?(?:"([^"]*)"?|“([^”]*)”?|「([^」]*)」?|(\S+))')
_FILTER = re.compile(r"^([A-Za-z]+|[\u4e00-\u9fff]{1,2})[:：](.+)$")


class QueryError(ValueError):
    """A query that cannot be run; ``user_message`` says why in the site's language."""

    def __init__(self, message: str, user_message: str):
        super().__init__(message)
        self.user_message = user_message


@dataclass
class Query:
    terms: list[str] = field(default_factory=list)
    phrases: list[str] = field(default_factory=list)
    excluded: list[str] = field(default_factory=list)
    kind: str | None = None
    category: str | None = None
    tag: str | None = None
    since: int | None = None  # Unix seconds, inclusive
    until: int | None = None  # Unix seconds, exclusive

    @property
    def positive(self) -> list[str]:
        return self.terms + self.phrases

    @property
    def filtered(self) -> bool:
        return any(
            v is not None for v in (self.kind, self.category, self.tag, self.since, self.until)
        )


def parse(text: str, zone: str | None = None) -> Query:
    """The query in ``text``; its date filters are days of ``zone`` (the publisher's time
    zone; Asia/Shanghai, the default setting, when not given)."""
    token = _ZONE.set(zone or "Asia/Shanghai")
    try:
        return _parse(text)
    finally:
        _ZONE.reset(token)


def _parse(text: str) -> Query:
    text = (text or "").replace("\u3000", " ").strip()
    if not text:
        raise QueryError("empty query", _("请输入要搜索的内容"))
    if len(text) > MAX_QUERY_CHARS:
        raise QueryError(
            f"query longer than {MAX_QUERY_CHARS} characters",
            _("搜索内容太长了，请精简到 %(n)s 个字以内") % {"n": MAX_QUERY_CHARS},
        )
    query = Query()
    for match in _TOKEN.finditer(text):
        negated = bool(match.group(1))
        quoted = next((g for g in match.group(2, 3, 4) if g is not None), None)
        word = (quoted if quoted is not None else match.group(5) or "").strip()
        if not word:
            continue
        if quoted is None and not negated and _apply_filter(query, word):
            continue
        if negated:
            query.excluded.append(word)
        elif quoted is not None and len(word) > 1:
            query.phrases.append(word)
        else:
            query.terms.append(word)
    if len(query.positive) + len(query.excluded) > MAX_TERMS:
        raise QueryError(
            f"more than {MAX_TERMS} terms",
            _("搜索词太多了，请不要超过 %(n)s 个") % {"n": MAX_TERMS},
        )
    if not query.positive and not query.filtered:
        if query.excluded:
            raise QueryError(
                "only exclusions", _("请至少输入一个要查找的词（“-”开头的词表示排除）")
            )
        raise QueryError("nothing to search for", _("请输入要搜索的内容"))
    return query


def _apply_filter(query: Query, word: str) -> bool:
    match = _FILTER.match(word)
    name = _FILTERS.get(match.group(1).lower()) if match else None
    if name is None or match is None:
        return False
    value = match.group(2).strip()
    if name in ("kind", "category", "tag"):
        setattr(query, name, value)
        return True
    if name == "year":
        if not re.fullmatch(r"(19|20)\d\d", value):
            raise QueryError(
                f"bad year {value!r}",
                _("年份“%(value)s”无法识别，请写成 2024 这样的四位数") % {"value": value},
            )
        query.since = _seconds(date(int(value), 1, 1))
        query.until = _seconds(date(int(value) + 1, 1, 1))
        return True
    day = _day(value)
    if day is None:
        raise QueryError(
            f"bad date {value!r}",
            _("日期“%(value)s”无法识别，请写成 2024-03-01 这样的格式") % {"value": value},
        )
    if name == "since":
        query.since = _seconds(day)
    else:
        query.until = _seconds(day + timedelta(days=1))
    return True


def _day(value: str) -> date | None:
    match = re.fullmatch(r"(\d{4})[-/.年](\d{1,2})(?:[-/.月](\d{1,2})日?)?月?", value)
    if not match:
        return None
    try:
        return date(int(match.group(1)), int(match.group(2)), int(match.group(3) or 1))
    except ValueError:
        return None


# Date filters name days of the publisher's calendar (its midnight, not UTC's): a material
# published at 03:00 on 1 January Beijing time is of that year. ``parse`` takes the zone.
_ZONE: ContextVar[str] = ContextVar("search_zone", default="Asia/Shanghai")


def _seconds(day: date) -> int:
    zone = clock.zone(_ZONE.get())
    return int(datetime(day.year, day.month, day.day, tzinfo=zone).timestamp())
