"""Who acts: a member (on the site, through the API) or the publisher (the command line,
the console's editors). Services that treat the two differently decide by an ``Actor``'s
``role``, never by reading its spelling; the spelling (``str(actor)``: "publisher:cli",
"member:web") is what logs and the issuance log store.

``Actor.of`` reads a stored or passed spelling once, at the boundary: one that names the
publisher ("publisher", "publisher:…", as stored since the first release) is the
publisher's, any other a member's."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Role(enum.Enum):
    MEMBER = "member"
    PUBLISHER = "publisher"


@dataclass(frozen=True)
class Actor:
    role: Role
    name: str  # the spelling logs store: "publisher:cli", "member:web"

    def __str__(self) -> str:
        return self.name

    @property
    def is_publisher(self) -> bool:
        """The publisher acting (a copy handed out, a setting changed): a member's limits,
        entitlement and quota do not apply to it."""
        return self.role is Role.PUBLISHER

    @classmethod
    def publisher(cls, via: str) -> Actor:
        """The publisher acting through ``via`` ("cli", an editor's account)."""
        return cls(Role.PUBLISHER, f"{Role.PUBLISHER.value}:{via}")

    @classmethod
    def member(cls, via: str) -> Actor:
        """A member asking through ``via`` ("web", "api")."""
        return cls(Role.MEMBER, f"{Role.MEMBER.value}:{via}")

    @classmethod
    def of(cls, spelled: str | Actor) -> Actor:
        """The actor a spelling names (an ``Actor`` is itself)."""
        if isinstance(spelled, Actor):
            return spelled
        role = Role.PUBLISHER if spelled.startswith(PUBLISHER_SPELLING) else Role.MEMBER
        return cls(role, spelled)


PUBLISHER_SPELLING = Role.PUBLISHER.value  # how every publisher's spelling begins
