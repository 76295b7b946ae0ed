"""Paged lists: which rows a page shows and the pager under the list.

A list counts its rows, makes the :class:`Page` asked for (``?page=N``, from 1)
and reads ``limit``/``offset`` rows; a page past the last is the caller's to refuse (the
site's pages answer 404, the API an empty list). ``templates/pager.html``'s ``pager``
macro shows the links: previous, the first and last pages and two on each side of this
one, next, and "第 N 页，共 M 页"; nothing when the list fits on one page. A list with a
search or filters gives the macro :func:`link`'s prefix, so every page keeps them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated
from urllib.parse import urlencode

from fastapi import Query

MAX_PAGE = 100_000  # the highest ?page= the routes accept
PageNumber = Annotated[int, Query(ge=1, le=MAX_PAGE)]  # a route's ?page= (else 400)
AROUND = 2  # pages linked on each side of the one shown


@dataclass(frozen=True)
class Page:
    number: int  # the page asked for, from 1
    size: int  # rows to a page
    total: int  # rows over all pages

    @property
    def count(self) -> int:
        """Pages in the list: at least 1, an empty list being one empty page."""
        return max(1, -(-self.total // self.size))

    @property
    def past_the_end(self) -> bool:
        return self.number > self.count

    @property
    def offset(self) -> int:
        return (self.number - 1) * self.size

    @property
    def links(self) -> list[int | None]:
        """The page numbers to link, in order, None where a run is left out (…)."""
        shown = {1, self.count} | set(
            range(max(1, self.number - AROUND), min(self.count, self.number + AROUND) + 1)
        )
        numbers: list[int | None] = []
        for number in sorted(shown):
            if numbers and number - 1 != numbers[-1]:
                numbers.append(None)
            numbers.append(number)
        return numbers


def link(path: str, **query: str) -> str:
    """The pager's link prefix for the list at ``path`` searched or filtered by ``query``:
    the values given (empty ones left out) URL-encoded, then ``page=`` for the number."""
    kept = urlencode({name: value for name, value in query.items() if value})
    return f"{path}?{kept}&page=" if kept else f"{path}?page="
