"""The per-minute search allowance: every search counted in the database before it runs.

Every limit is exact under concurrency (rule 9 of the architecture), so a search is
counted by ``service.count_search`` in a write transaction holding its subject
(``wenxing.limits``): however many worker processes serve, a subject gets exactly
``search_per_minute`` searches a minute. (An earlier version let each process allow a
tenth of the allowance in memory between writes, which gave every worker a few more.)
"""

from __future__ import annotations

from datetime import datetime

from wenxing.db.engine import Database
from wenxing.search.service import count_search


class SearchAllowance:
    """One database's search counts."""

    def __init__(self, db: Database):
        self._db = db

    def take(
        self,
        subject: str,
        per_minute: int,
        now: datetime,
        *,
        address: str | None = None,
        zone: str | None = None,
    ) -> None:
        """Count one search of ``subject`` at ``now`` (naive UTC), and against ``address``
        (the address a signed-in account searches from) for the day, the publisher's day in
        ``zone``; RateLimited when the
        minute's or the day's allowance is used up (nothing is written then)."""
        with self._db.transaction() as session:
            count_search(session, subject, per_minute, now, address=address, zone=zone)

    def flush(self) -> None:
        """Nothing waits to be written (kept for the runtime's shutdown)."""
