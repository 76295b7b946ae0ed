"""Domain events: what a domain says happened, and who reacts, in the same transaction.

A domain raises an event where its change is made (``raise_(session, MaterialPublished(…))``)
and knows nothing of who listens. Packages above it subscribe with ``@handles(EventType)``:
the search index notes the material's change, the live package announces it (the outbox
event, notifications), the robots queue their deliveries. ``wiring.install()`` imports the
subscribing modules once per process (the runtime calls it); raising an event before that
is an error rather than a change nobody hears of.

Handlers run at once, in the raising transaction (in no order to rely on), so
what an event causes is stored exactly when the event is, and an error in a handler rolls
the whole change back. (Nothing reacts after the commit yet: the one thing done then, waking
this process's live pages, belongs to the live outbox, ``live/events.py``.) The events a
transaction raised are kept on its session until it ends (``raised``), with a scratch dict a
handler may use to do its work once per transaction (``in_transaction``).

Events carry ids and plain values, never rows: a handler loads what it needs, and a frozen
event can be kept, compared and logged.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, TypeVar

from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session


@dataclass(frozen=True)
class MaterialPublished:
    """A material became public (the console's 发布, an import with ``--publish``).
    ``run`` names the import run of several files it belongs to: it is announced with the
    run's digest (``ImportRunEnded``) rather than on its own."""

    material_id: int
    run: str | None = None


@dataclass(frozen=True)
class MaterialUnpublished:
    """A published material went back to draft."""

    material_id: int


@dataclass(frozen=True)
class MaterialRevised:
    """A published material has a new current version (``number``)."""

    material_id: int
    number: int


@dataclass(frozen=True)
class MaterialEdited:
    """A material's title, kind, category or tags were edited (its text is unchanged)."""

    material_id: int


@dataclass(frozen=True)
class VersionStored:
    """An import stored a version's text (``number`` 1 of a new material, or a later one),
    published or not."""

    material_id: int
    number: int


@dataclass(frozen=True)
class ImportRunEnded:
    """An import run of several files with ``--publish`` ended (finished or stopped): what it
    published is announced together. A run that never says so (its process died) is
    announced once nothing has been added to it for ``RUN_ABANDONED_SECONDS``."""

    run: str


RUN_ABANDONED_SECONDS = 600


@dataclass(frozen=True)
class SubscriptionGranted:
    """A member was given membership: a code redeemed, a grant, a report's reward."""

    member_id: int
    plan: str
    plan_name: str
    ends_at: datetime


@dataclass(frozen=True)
class ReportDecided:
    """A report was confirmed or rejected. ``sanctioned`` holds ``(member id, "warn" |
    "suspend")`` for each member the decision sanctioned."""

    report_id: int
    receipt: str
    state: str  # "confirmed" | "rejected"
    reporter_id: int | None
    sanctioned: tuple[tuple[int, str], ...] = ()


@dataclass(frozen=True)
class PublicationAnnounced:
    """The live outbox announced publications (``material.published`` or ``material.digest``,
    outbox event ``event_id``) to ``audience``; ``held`` ones wait for their run's digest.
    Raised by live/announce.py for the robots, which announce it in the groups."""

    event_id: int
    audience: str
    held: bool = False


@dataclass(frozen=True)
class RequestPosted:
    """A member posted a request on the board (the staff's pages show it live)."""

    request_id: int
    topic: str
    kind: str | None
    deadline: date | None
    member_number: str


@dataclass(frozen=True)
class RequestAnswered:
    """An editor answered a request: ``state`` "fulfilled" (with ``material_id`` and its
    ``material_title``) or "declined". ``audience`` is its requester and every supporter,
    told ``title``/``body`` with ``link`` in the site's language."""

    request_id: int
    topic: str
    state: str
    audience: tuple[int, ...]
    material_id: int | None
    material_title: str | None
    title: str
    body: str | None
    link: str


EVENT_TYPES: tuple[type, ...] = (
    MaterialPublished,
    MaterialUnpublished,
    MaterialRevised,
    MaterialEdited,
    VersionStored,
    ImportRunEnded,
    SubscriptionGranted,
    ReportDecided,
    PublicationAnnounced,
    RequestPosted,
    RequestAnswered,
)

E = TypeVar("E")
Handler = Callable[[Session, Any], None]
_handlers: dict[type, list[Handler]] = {}
_installed = False
_TRANSACTION = "wenxing_domain_events"  # session.info key of the transaction's dict


class NotInstalled(RuntimeError):
    """An event was raised before ``wiring.install()``: its handlers would be missed."""


def handles(*types: type) -> Callable[[Callable[[Session, E], None]], Callable[[Session, E], None]]:
    """Register ``handler(session, event)`` to run in the transaction that raises an event of
    one of ``types`` (registered when its module is imported, by ``wiring.install()``)."""
    for type_ in types:
        if type_ not in EVENT_TYPES:
            raise ValueError(f"not a domain event: {type_!r}")

    def register(handler: Callable[[Session, E], None]) -> Callable[[Session, E], None]:
        for type_ in types:
            registered = _handlers.setdefault(type_, [])
            if handler not in registered:
                registered.append(handler)
        return handler

    return register


def handlers_of(type_: type) -> tuple[Handler, ...]:
    return tuple(_handlers.get(type_, ()))


def mark_installed() -> None:
    """Called by ``wiring.install()`` once the handlers' modules are imported."""
    global _installed
    _installed = True


def raise_(session: Session, event: object) -> None:
    """Raise ``event`` in the caller's transaction: record it on the session and run its
    handlers now, in the same transaction."""
    if type(event) not in EVENT_TYPES:
        raise ValueError(f"not a domain event: {event!r}")
    if not _installed:
        raise NotInstalled(
            f"{type(event).__name__} raised before wenxing.wiring.install() was called"
        )
    in_transaction(session).setdefault("raised", []).append(event)
    for handler in _handlers.get(type(event), ()):
        handler(session, event)


def in_transaction(session: Session) -> dict[str, Any]:
    """A dict that lives as long as the session's transaction: forgotten at its commit or
    rollback (for the events raised, and for handlers that work once per transaction)."""
    kept = session.info.get(_TRANSACTION)
    if kept is None:
        kept = session.info[_TRANSACTION] = {}
        sa_event.listen(session, "after_commit", _forget, once=True)
        sa_event.listen(session, "after_rollback", _forget, once=True)
    return kept


def raised(session: Session) -> list[object]:
    """The events raised so far in the session's transaction, in order."""
    return list(in_transaction(session).get("raised", ()))


def _forget(session: Session) -> None:
    session.info.pop(_TRANSACTION, None)
