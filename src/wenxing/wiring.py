"""Who reacts to what: the one place the subscribing modules are brought in.

The domains raise events (``events.raise_``) and never import the packages above them; those
packages subscribe with ``@events.handles(…)`` and the background jobs register with
``@jobs.handler(…)``, both when their module is imported. ``install()`` is that import, done
once per process by the runtime (``runtime.initialise`` and ``open_runtime``), so the web
app, the command line and a job runner all react to the same events in the same way.
"""

from __future__ import annotations

from wenxing import events
from wenxing.live import announce, bots, digests, qq_door, request_notices
from wenxing.reports import cases
from wenxing.search import sync

# The modules that subscribe (imported above for that). The handlers of one event must not
# depend on each other's order: what one handler's work causes is an event of its own (the
# robots hear of an announcement through ``PublicationAnnounced``, raised once it is stored).
SUBSCRIBERS = (sync, announce, digests, bots, request_notices, cases)
JOB_MODULES = (cases, qq_door)  # register background jobs (@jobs.handler)


def install() -> None:
    """Make the handlers live in this process (idempotent): every domain event then has a
    handler, and raising one is allowed."""
    missing = [t.__name__ for t in events.EVENT_TYPES if not events.handlers_of(t)]
    if missing:  # a subscriber module lost its @handles: fail at start-up, not silently
        raise RuntimeError(f"domain events without a handler: {', '.join(missing)}")
    events.mark_installed()
