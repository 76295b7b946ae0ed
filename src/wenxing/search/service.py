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
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from wenxing.search.engine import Results, run
from wenxing.search.models import SearchUsage
from wenxing.search.query import QueryError, parse
from wenxing.search.sync import NodeIndex

SNIPPET_CHARS = 60
MAX_LIMIT = 50
VISITOR_LIMIT = 20


class RateLimited(QueryError):
    def __init__(self, retry_after: int):
        super().__init__("too many searches", "搜索太频繁了，请稍后再试")
        self.retry_after = retry_after


def search(node: NodeIndex, text: str, *, limit: int = 10, member: bool = False) -> Results:
    """Parse and run a query on this node's index, applying pending changes first
    (``member``: a member or staff, who may see more materials a query)."""
    query = parse(text)
    node.catch_up()
    cap = MAX_LIMIT if member else VISITOR_LIMIT
    return run(node.index, query, limit=max(1, min(limit, cap)), snippet_chars=SNIPPET_CHARS)


def count_search(session: Session, subject: str, per_minute: int, now: datetime) -> None:
    """Count one search for ``subject`` (an account number or an address); RateLimited when
    the minute's allowance is used up. Old minutes are cleared as they go."""
    minute = calendar.timegm(now.timetuple()) // 60  # ``now`` is naive UTC
    row = session.get(SearchUsage, (subject, minute))
    if row is None:
        try:
            with session.begin_nested():
                session.add(SearchUsage(subject=subject, minute=minute, count=1))
        except IntegrityError:  # another worker counted this minute's first search
            row = session.get(SearchUsage, (subject, minute))
        else:
            session.query(SearchUsage).filter(SearchUsage.minute < minute - 60).delete()
            return
    if row.count >= per_minute:
        raise RateLimited(60 - now.second)
    row.count += 1
