"""The requests board (需求): members ask for materials, others add their support, editors
fulfil a request with a published material or decline it with a reason.

Posting is limited per account in any 24 hours (the publisher's ``requests_per_day``, passed
in by the caller). The count and the new row are one step: the poster's member row is
locked first (PostgreSQL; SQLite's write transactions are serialised already), so two posts
at the same instant cannot both see room for one more.

Who takes part: accounts that may read member materials now (an active subscription) and
editors and admins; free users, lapsed members and suspended accounts read the board only.
A request's text is the member's own words and untrusted: the pages escape it.

Services run in the caller's transaction and never commit. Posting raises
``RequestPosted`` (the live package tells the staff: ``request.created``); fulfilling or
declining raises ``RequestAnswered`` (the live package tells the requester and every
supporter: ``request.fulfilled`` / ``request.declined``) and writes an audit event, all in
the same transaction. Refusals are
``RequestRefused`` with a ``reason`` code the web layer words (``web/requests_page.py``).
"""

from __future__ import annotations

from wenxing.requests.board import (
    ANSWER_CHARS,
    OCCASION_CHARS,
    STATES,
    TAB_STATES,
    TABS,
    TAKING_PART,
    TOPIC_CHARS,
    RequestRefused,
    Wording,
    decline,
    fulfil,
    get_request,
    may_take_part,
    post_request,
    support,
    withdraw_support,
)
from wenxing.requests.listing import RequestRow, board, counts, place_of, rows_of

__all__ = [
    "ANSWER_CHARS",
    "OCCASION_CHARS",
    "STATES",
    "TABS",
    "TAB_STATES",
    "TAKING_PART",
    "TOPIC_CHARS",
    "RequestRefused",
    "RequestRow",
    "Wording",
    "board",
    "counts",
    "decline",
    "fulfil",
    "get_request",
    "may_take_part",
    "place_of",
    "post_request",
    "rows_of",
    "support",
    "withdraw_support",
]
