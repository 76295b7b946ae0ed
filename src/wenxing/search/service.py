"""Searching as a member, a visitor or the publisher: gating, rate limits, the index kept current.

Everyone sees titles, headings and snippets of at most 60 characters, well under the 100
consecutive characters that only a logged, fingerprinted copy may carry (rule 1 of the
architecture); members read the section itself on the reader page. Visitors and free users
get at most 20 materials a query, members and staff 50, and every account or address may
run a limited number of searches a minute, so the search box cannot be used to page
through the library.
"""

from __future__ import annotations

import calendar
import logging
from datetime import datetime
from typing import cast

from sqlalchemy import Table, delete, insert, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from wenxing.i18n import _
from wenxing.limits import Subject, hold
from wenxing.search import fallback
from wenxing.search.engine import Results, run
from wenxing.search.models import SearchUsage
from wenxing.search.query import QueryError, parse
from wenxing.search.sync import IndexUnusable, NodeIndex, _recoverable

log = logging.getLogger(__name__)

SNIPPET_CHARS = 60
FRESH_SECONDS = 0.5  # another worker's publish is searchable within this; this worker's at once
MAX_LIMIT = 50
VISITOR_LIMIT = 20
_USAGE = cast(Table, SearchUsage.__table__)  # a mapped class's table is a Table


class RateLimited(QueryError):
    def __init__(self, retry_after: int):
        super().__init__("too many searches", _("搜索太频繁了，请稍后再试"))
        self.retry_after = retry_after


def search(node: NodeIndex, text: str, *, limit: int = 10, member: bool = False) -> Results:
    """Parse and run a query on this node's index, applying pending changes first
    (``member``: a member or staff, who may see more materials a query)."""
    query = parse(text, node.timezone())
    cap = max(1, min(limit, MAX_LIMIT if member else VISITOR_LIMIT))
    try:
        node.catch_up(fresh_for=FRESH_SECONDS)
        index = node.index
        if index is None:
            raise IndexUnusable(node.problem or "search index unusable")
        return run(index, query, limit=cap, snippet_chars=SNIPPET_CHARS)
    except IndexUnusable as exc:
        log.warning("searching the database while the index is rebuilt: %s", exc)
    except BaseException as exc:  # the index failed under the query: rebuilt meanwhile
        if isinstance(exc, SQLAlchemyError) or not _recoverable(exc):
            raise
        node.give_up(f"query failed: {exc}")
    return fallback.run(node.db, query, limit=cap, snippet_chars=SNIPPET_CHARS)


def count_search(session: Session, subject: str, per_minute: int, now: datetime) -> int:
    """Count one search for ``subject`` (an account number or an address) and return the
    minute's count; RateLimited when the minute's allowance is used up. Old minutes are
    cleared as they go.

    The count is raised in the database (``count = count + 1`` while under the allowance,
    the new count returned), so parallel searches in several workers each take one of the
    minute's searches; the minute's first search inserts the row, and the loser of that
    insert counts on the winner's row."""
    minute = minute_of(now)
    hold(session, Subject("search", subject))
    counted = _count_one(session, subject, minute, per_minute)
    if counted is not None:
        return counted
    if session.execute(select(_USAGE.c.count).where(*_row(subject, minute))).first() is None:
        try:
            with session.begin_nested():
                session.execute(insert(_USAGE).values(subject=subject, minute=minute, count=1))
        except IntegrityError:  # another worker counted this minute's first search
            counted = _count_one(session, subject, minute, per_minute)
            if counted is not None:
                return counted
        else:
            session.execute(delete(_USAGE).where(_USAGE.c.minute < minute - 60))
            return 1
    raise RateLimited(retry_after(now))


def minute_of(now: datetime) -> int:
    """The rate limit's minute of ``now`` (naive UTC)."""
    return calendar.timegm(now.timetuple()) // 60


def retry_after(now: datetime) -> int:
    """Seconds until the next minute's allowance."""
    return 60 - now.second


def _row(subject: str, minute: int) -> tuple:
    return (_USAGE.c.subject == subject, _USAGE.c.minute == minute)


def _count_one(session: Session, subject: str, minute: int, per_minute: int) -> int | None:
    """One more search in the subject's minute if the row exists and is under the allowance
    (the new count), else None."""
    return session.execute(
        update(_USAGE)
        .where(*_row(subject, minute), _USAGE.c.count < per_minute)
        .values(count=_USAGE.c.count + 1)
        .returning(_USAGE.c.count)
    ).scalar()
