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
from dataclasses import dataclass, replace
from datetime import datetime
from typing import cast

from sqlalchemy import Table, delete, insert, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from wenxing import clock
from wenxing.i18n import _
from wenxing.limits import Subject, hold
from wenxing.search import fallback
from wenxing.search.engine import CANDIDATES, Results, run
from wenxing.search.facets import tag_counts
from wenxing.search.models import SearchUsage
from wenxing.search.query import QueryError, parse
from wenxing.search.sync import IndexUnusable, NodeIndex, _recoverable

log = logging.getLogger(__name__)

SNIPPET_CHARS = 60
FRESH_SECONDS = 0.5  # another worker's publish is searchable within this; this worker's at once
MAX_LIMIT = 50
VISITOR_LIMIT = 20
# A day's searches: this many minutes' worth of ``search_per_minute`` per account or address
# (600 at the default 30), and an address, whichever accounts search from it, this many
# subjects' worth: words probed one character at a time (a fragment either is in the
# library or not) cost searches, and a day ends that (docs/search.md, "Limits").
DAY_MINUTES = 20
ADDRESS_ACCOUNTS = 5
_DAY = "#day"
_USAGE = cast(Table, SearchUsage.__table__)  # a mapped class's table is a Table


class RateLimited(QueryError):
    def __init__(self, retry_after: int, *, daily: bool = False):
        if daily:
            super().__init__("searches of the day used up", _("今天的搜索次数已用完，请明天再试"))
        else:
            super().__init__("too many searches", _("搜索太频繁了，请稍后再试"))
        self.retry_after = retry_after


@dataclass(frozen=True)
class Browse:
    """How the search page asks: which page, in which order, with the chips' counts and,
    when nothing holds every term, the materials holding the most of them."""

    page: int = 1
    newest: bool = False
    facets: bool = False
    partial: bool = False


def search(
    node: NodeIndex,
    text: str,
    *,
    limit: int = 10,
    member: bool = False,
    browse: Browse | None = None,
) -> Results:
    """Parse and run a query on this node's index, applying pending changes first
    (``member``: a member or staff, who may see more materials a query). Pages go no
    deeper than the ranking (``CANDIDATES`` materials): a page past it is empty."""
    zone = node.timezone()
    query = parse(text, zone)
    cap = max(1, min(limit, MAX_LIMIT if member else VISITOR_LIMIT))
    browse = browse or Browse()
    offset = min((max(1, browse.page) - 1) * cap, CANDIDATES)
    try:
        node.catch_up(fresh_for=FRESH_SECONDS)
        index = node.index
        if index is None:
            raise IndexUnusable(node.problem or "search index unusable")
        results = run(
            index,
            query,
            limit=max(0, min(cap, CANDIDATES - offset)),
            snippet_chars=SNIPPET_CHARS,
            offset=offset,
            newest=browse.newest,
            facets=browse.facets,
            partial=browse.partial,
            zone=zone,
        )
    except IndexUnusable as exc:
        log.warning("searching the database while the index is rebuilt: %s", exc)
    except BaseException as exc:  # the index failed under the query: rebuilt meanwhile
        if isinstance(exc, SQLAlchemyError) or not _recoverable(exc):
            raise
        node.give_up(f"query failed: {exc}")
    else:
        if results.facets is not None and results.ranked:
            with node.db.reading() as session:
                results.facets = replace(results.facets, tag=tag_counts(session, results.ranked))
        return results
    return fallback.run(node.db, query, limit=cap, snippet_chars=SNIPPET_CHARS)


def count_search(
    session: Session,
    subject: str,
    per_minute: int,
    now: datetime,
    *,
    address: str | None = None,
    zone: str | None = None,
) -> int:
    """Count one search for ``subject`` (an account number or an address) and return the
    minute's count; RateLimited when the minute's allowance is used up, or the day's
    (``DAY_MINUTES`` minutes' worth a subject; with ``address``, the address a signed-in
    account searches from, ``ADDRESS_ACCOUNTS`` subjects' worth for all the accounts
    searching from it). The day is the publisher's (``zone``, the ``timezone`` setting):
    it turns over at their midnight, as the downloads' daily quota does. Nothing is counted when one of them refuses (the caller's
    transaction rolls back). Old minutes are cleared as they go.

    The count is raised in the database (``count = count + 1`` while under the allowance,
    the new count returned), so parallel searches in several workers each take one of the
    minute's searches; the minute's first search inserts the row, and the loser of that
    insert counts on the winner's row. A day's count is a row of its own (the subject with
    ``#day``, at the local day's last minute, so it is cleared an hour after the day ends)."""
    minute = minute_of(now)
    hold(session, Subject("search", subject))
    counted = _take(session, subject, minute, per_minute, clear=minute - 60)
    if counted is None:
        raise RateLimited(retry_after(now))
    per_day = per_minute * DAY_MINUTES
    last = minute_of(clock.next_midnight(now, zone)) - 1
    if _take(session, subject + _DAY, last, per_day) is None:
        raise RateLimited(60 * (last - minute) + retry_after(now), daily=True)
    if address is not None and address != subject:
        hold(session, Subject("search", address))
        if _take(session, address + _DAY, last, per_day * ADDRESS_ACCOUNTS) is None:
            raise RateLimited(60 * (last - minute) + retry_after(now), daily=True)
    return counted


def _take(
    session: Session, key: str, slot: int, allowance: int, clear: int | None = None
) -> int | None:
    """One more in ``key``'s ``slot`` (a minute) under ``allowance``: the new count, or None
    when the allowance is used up. ``clear``: rows of minutes before it go (after the
    insert that opens a new minute)."""
    counted = _count_one(session, key, slot, allowance)
    if counted is not None:
        return counted
    if session.execute(select(_USAGE.c.count).where(*_row(key, slot))).first() is not None:
        return None
    try:
        with session.begin_nested():
            session.execute(insert(_USAGE).values(subject=key, minute=slot, count=1))
    except IntegrityError:  # another worker counted this slot's first search
        return _count_one(session, key, slot, allowance)
    if clear is not None:
        session.execute(delete(_USAGE).where(_USAGE.c.minute < clear))
    return 1


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
