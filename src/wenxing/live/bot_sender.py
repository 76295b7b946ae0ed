"""Sending group robots' deliveries: claims, retries with a growing delay, a thread per process.

A delivery is a row (``bot_deliveries``), so it survives a restart. Every app process runs
a ``Sender`` that claims due rows one at a time:

* a claim is ``SELECT … FOR UPDATE SKIP LOCKED`` on PostgreSQL (senders of other workers
  pass over the row) and, everywhere, an update conditional on the row still being as it
  was read (on SQLite the write lock already lets one claimer in at a time); so two senders
  never send the same row, and with one row per (robot, event) no announcement goes twice;
* a claimed row is ``sending``; if its sender dies mid-send the claim goes stale after
  ``STALE_SECONDS`` and another sender takes it (the one case where a receiver may see a
  message twice: it arrived, and the sender died before recording it);
* a failure that may pass (connection refused, timeout, HTTP 5xx or 429, a platform's
  rate-limit code) is tried again after ``WENXING_BOT_RETRY_SECONDS`` × 2^(attempts−1),
  at most 60 times that, with jitter; one that will not (a rejected signature, a wrong
  URL) fails at once; after ``GIVE_UP_SECONDS`` of failures the row is ``failed``.

A receiver that is down for ten minutes is caught up within the longest delay (5 minutes
with the default) of its return.

A robot's webhook URL and secret are opened (``bot_credentials``) just before each send. A
robot whose values do not open with this server secret sends nothing: its deliveries wait
as after a failure that may pass (a warning in the log each time), and go out when its
webhook is re-entered in the console, unless a day has passed.
"""

from __future__ import annotations

import logging
import random
import ssl
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import httpx2
from sqlalchemy import ColumnElement, select, update
from sqlalchemy.exc import OperationalError

from wenxing import metrics
from wenxing.background import PollingThread, first_line
from wenxing.db.base import utcnow
from wenxing.db.engine import Database, is_sqlite, rowcount
from wenxing.live import bot_credentials, events, outbound, qq_send, webhook_guard
from wenxing.live.bot_formats import Message, Outcome, build_request, read_reply
from wenxing.live.bots import announcement
from wenxing.live.models import BotDelivery, LiveEvent, Robot
from wenxing.live.qq_formats import QQ_PLATFORMS

log = logging.getLogger("wenxing.bots")

STALE_SECONDS = 120
GIVE_UP_SECONDS = 24 * 3600
TIMEOUT_SECONDS = 10.0
POLL_SECONDS = 2.0
MAX_DELAY_FACTOR = 60  # the longest delay, in first delays
UNREADABLE = "cannot decrypt the robot's webhook and secret with this server secret: re-enter them"


@dataclass(frozen=True)
class Claimed:
    id: int
    robot_id: int
    event_id: int
    attempts: int  # including this one
    claimed_at: datetime
    created_at: datetime


def http_client(ca_file: str | Path | None = None) -> httpx2.Client:
    """A client for webhooks: no proxy from the environment (trust_env=False), no
    redirects; certificates checked against the system's authorities, and those in
    ``ca_file`` (``WENXING_WEBHOOK_CA_FILE``, an in-house receiver's) when given."""
    verify: ssl.SSLContext | bool = True
    if ca_file:
        verify = ssl.create_default_context()
        verify.load_verify_locations(cafile=str(ca_file))
    return httpx2.Client(
        timeout=TIMEOUT_SECONDS, trust_env=False, follow_redirects=False, verify=verify
    )


def claim(db: Database, now: datetime | None = None) -> Claimed | None:
    """Claim the longest-waiting due delivery of an enabled robot, or return None."""
    now = now or utcnow()
    due = (BotDelivery.state == "pending") & (BotDelivery.next_at <= now)
    stale = (BotDelivery.state == "sending") & (
        BotDelivery.claimed_at < now - timedelta(seconds=STALE_SECONDS)
    )
    with db.transaction() as session:
        query = (
            select(BotDelivery)
            .join(Robot, Robot.id == BotDelivery.robot_id)
            .where(due | stale, Robot.enabled.is_(True))
            .order_by(BotDelivery.next_at, BotDelivery.id)
            .limit(1)
        )
        if not is_sqlite(session.get_bind()):
            query = query.with_for_update(of=BotDelivery, skip_locked=True)
        row = session.scalars(query).first()
        if row is None:
            return None
        same: ColumnElement[bool] = BotDelivery.claimed_at.is_(None)
        if row.claimed_at is not None:
            same = BotDelivery.claimed_at == row.claimed_at
        taken = rowcount(
            session.execute(
                update(BotDelivery)
                .where(BotDelivery.id == row.id, BotDelivery.state == row.state, same)
                .values(state="sending", claimed_at=now, attempts=BotDelivery.attempts + 1)
                .execution_options(synchronize_session=False)
            )
        )
        if not taken:
            return None
        return Claimed(row.id, row.robot_id, row.event_id, row.attempts + 1, now, row.created_at)


def post(
    client: httpx2.Client,
    platform: str,
    url: str,
    secret: str | None,
    message: Message,
    policy: webhook_guard.Policy,
    resolve: webhook_guard.Resolver | None = None,
    *,
    qq: qq_send.Target | None = None,
):
    """Send one message through a robot now, to the address its host resolved to and
    that ``policy`` allows (``webhook_guard.pin``); (HTTP status or None, Outcome). A QQ
    robot (``qq``: its group and app id) speaks through ``qq_send``."""
    if platform in QQ_PLATFORMS:
        target = qq or qq_send.Target("", None)
        opened = bot_credentials.Credentials(url, secret)
        return qq_send.announce(client, platform, opened, target, message, policy, resolve)
    request = build_request(platform, url, secret, message, time.time())
    answer = outbound.post_json(client, request.url, request.content(), policy, resolve=resolve)
    if not isinstance(answer, outbound.Answer):
        return answer
    return answer.status, read_reply(platform, answer.status, answer.text)


def deliver_one(runtime, client: httpx2.Client) -> bool:
    """Claim and send one delivery; False when none was due."""
    db = runtime.db
    job = claim(db)
    if job is None:
        return False
    publisher = runtime.publisher_settings()
    with db.reading() as session:
        robot = session.get(Robot, job.robot_id)
        event = session.get(LiveEvent, job.event_id)
        if robot is None:
            return True  # the robot was deleted with its deliveries meanwhile
        message = None
        if event is not None:
            message = announcement(
                session, event, robot.audience, runtime.settings.public_url, publisher.timezone
            )
        platform = robot.platform
        target = qq_send.Target(robot.target or "", robot.app_id)
        opened = bot_credentials.read_or_none(runtime.secret, robot)
    if (utcnow() - job.created_at).total_seconds() > GIVE_UP_SECONDS:
        _finish(db, job, None, Outcome(False, error="not sent within 24 hours; given up"), 0)
    elif message is None:
        _finish(db, job, None, Outcome(False, error="the material is no longer published"), 0)
    elif opened is None:
        log.warning(
            "robot %s delivery %s not sent: its webhook and secret cannot be decrypted with "
            "this server secret (re-enter them in the console)",
            job.robot_id,
            job.id,
        )
        outcome = Outcome(False, retry=True, error=UNREADABLE)
        _finish(db, job, None, outcome, runtime.settings.bot_retry_seconds)
    else:
        policy = webhook_guard.Policy.for_runtime(runtime)
        status, outcome = post(
            client, platform, opened.url, opened.secret, message, policy, qq=target
        )
        if not outcome.ok:
            log.warning("robot %s delivery %s: %s", job.robot_id, job.id, outcome.error)
        _finish(db, job, status, outcome, runtime.settings.bot_retry_seconds)
    return True


def retry_delay(first: float, attempts: int) -> float:
    """Seconds before the next try after ``attempts`` failed ones (doubling, capped, with
    ±10% jitter so that deliveries failed together do not all come back together)."""
    delay = min(first * 2 ** max(attempts - 1, 0), first * MAX_DELAY_FACTOR)
    return delay * random.uniform(0.9, 1.1)


def _finish(
    db: Database, job: Claimed, status: int | None, outcome: Outcome, first_delay: float
) -> None:
    now = utcnow()
    values: dict = {"last_status": status, "last_error": outcome.error}
    if outcome.ok:
        values.update(state="sent", sent_at=now, last_error=None)
    else:
        next_at = now + timedelta(seconds=retry_delay(first_delay, job.attempts))
        too_late = (next_at - job.created_at).total_seconds() > GIVE_UP_SECONDS
        if outcome.retry and not too_late:
            values.update(state="pending", next_at=next_at)
        else:
            values.update(state="failed")
    metrics.ROBOT_DELIVERIES.labels(
        {"sent": "sent", "pending": "retry"}.get(values["state"], "failed")
    ).inc()
    with db.transaction() as session:
        # Only our claim is finished: a row reclaimed meanwhile belongs to its new sender.
        session.execute(
            update(BotDelivery)
            .where(
                BotDelivery.id == job.id,
                BotDelivery.state == "sending",
                BotDelivery.claimed_at == job.claimed_at,
            )
            .values(**values)
            .execution_options(synchronize_session=False)
        )


def send_due(runtime, client: httpx2.Client | None = None, limit: int = 1000) -> int:
    """Send due deliveries until none is left (or ``limit``); how many were handled."""
    own = client is None
    client = client or http_client(runtime.settings.webhook_ca_file)
    try:
        done = 0
        while done < limit and deliver_one(runtime, client):
            done += 1
        return done
    finally:
        if own:
            client.close()


class Sender(PollingThread):
    """A thread that sends this process's share of robot deliveries until stopped: woken
    when this process commits events, and every ``poll_seconds`` for other processes'."""

    thread_name = "wenxing-bots"
    stop_seconds = 15.0
    log = log
    failed = "robot sender: claiming failed; trying again"

    def __init__(self, runtime, poll_seconds: float = POLL_SECONDS):
        super().__init__(poll_seconds)
        self.runtime = runtime

    def _loop(self) -> None:
        self._poll = min(self.poll_seconds, self.runtime.settings.bot_retry_seconds)
        self._seal_plain()
        with http_client(self.runtime.settings.webhook_ca_file) as self._client:
            super()._loop()

    def _seal_plain(self) -> None:
        """Seal robots' values still plain from before sealing (``wenxing init`` does it
        too; this covers a schema migrated with ``alembic upgrade``)."""
        try:
            with self.runtime.db.transaction() as session:
                sealed = bot_credentials.seal_plain_rows(session, self.runtime.secret)
        except OperationalError as exc:  # the database is away: one line, no traceback
            log.warning(
                "robot sender: sealing plain webhooks skipped, database unreachable (%s);"
                " the next start tries again",
                first_line(exc),
            )
            return
        except Exception:  # (they are read as plain meanwhile; the next start tries again)
            log.exception("robot sender: sealing plain webhooks failed")
            return
        if sealed:
            log.info("robot sender: sealed the plain webhooks and secrets of %d robots", sealed)

    def _mark(self) -> int:
        return events.committed_count()

    def _round(self) -> None:
        send_due(self.runtime, self._client, limit=100)

    def _wait(self, seen: int) -> None:
        # Short waits: stopping takes at most one of them.
        deadline = time.monotonic() + self._poll
        while not self._stop.is_set() and time.monotonic() < deadline:
            if events.wait_for_commit(seen, min(0.5, self._poll)) != seen:
                break
