"""How far this node's search index is behind the database, for the metrics' gauges."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from wenxing.search.models import SearchChange
from wenxing.search.sync import NodeIndex


def index_state(session: Session, node: NodeIndex | None) -> tuple[int, bool]:
    """(changes recorded in the database and not yet in ``node``'s index, whether the
    index is being rebuilt); a node not opened yet counts as current."""
    last_change = session.scalar(select(func.max(SearchChange.id))) or 0
    applied = node.last_applied() if node is not None else last_change
    return max(0, last_change - applied), node is not None and node.index is None
