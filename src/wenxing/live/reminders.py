"""Expiry reminders: a member is told 7 days and 1 day before their membership ends (the
end of their current run of back-to-back subscriptions).

``remind_expiring`` is run every few minutes by each app process's hub (and may be run by
anything with a clock to pass in); the notification's once-only key names the reminder,
the member and the end date, so several workers checking at once, or a check every few
minutes for a week, tell a member once per reminder. A membership extended to a new end
gets its reminders again for that end.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from wenxing.config import PublisherSettings
from wenxing.db.engine import Database
from wenxing.i18n import _
from wenxing.live import announce, events
from wenxing.live.notify import already_notified, dedupe_key, notify
from wenxing.members.pricing import offers
from wenxing.members.subscriptions import ending_between

REMINDERS = (7, 1)  # days before the end, the latest first in time


def remind_expiring(db: Database, now: datetime) -> int:
    """Send the reminders due at ``now``; returns how many notifications were added."""
    with db.transaction() as session:
        return remind_expiring_in(session, now)


def remind_expiring_in(session: Session, now: datetime) -> int:
    ending = ending_between(session, now, now + timedelta(days=max(REMINDERS)))
    if not ending:
        return 0
    which = {member_id: _reminder_due(ends_at - now) for member_id, ends_at in ending.items()}
    due = {
        member_id: f"expiry:{which[member_id]}:{member_id}:{ends_at.date().isoformat()}"
        for member_id, ends_at in ending.items()
    }
    # Every few minutes for a week the same members are due: those told already are
    # skipped in one read (at 100,000 members, 1,400 inserts that did nothing took 0.4 s).
    told = already_notified(session, (dedupe_key(key, m) for m, key in due.items()))
    timezone = announce.publisher_timezone(session)
    renew = renewal_line(PublisherSettings.load(session))
    added = 0
    for member_id, ends_at in sorted(ending.items()):
        if dedupe_key(due[member_id], member_id) in told:
            continue
        days = which[member_id]
        date = announce.local_date(ends_at, timezone)
        if days == 1:
            title = _("会员将于 %(date)s 到期（不到 1 天），请及时续费") % {"date": date}
        else:
            left = math.ceil((ends_at - now) / timedelta(days=1))
            title = _("会员将于 %(days)s 天后（%(date)s）到期") % {"days": left, "date": date}
        count = notify(
            session,
            [member_id],
            announce.EXPIRY,
            title + renew,
            link="/account#pay",
            dedupe=due[member_id],
        )
        if count:
            events.emit(
                session,
                events.SUBSCRIPTION_EXPIRING,
                f"member:{member_id}",
                days=days,
                ends_at=ends_at.isoformat(),
                link="/account",
            )
        added += count
    return added


def renewal_line(publisher: PublisherSettings) -> str:
    """The plans on sale with their prices, added to a reminder ("" when none is priced)."""
    priced = [f"{o.name} {o.price}" for o in offers(publisher) if o.price]
    if not priced:
        return ""
    return _("。续费：%(plans)s，购买卡密后在账户页兑换") % {"plans": "、".join(priced)}


def _reminder_due(left: timedelta) -> int:
    """Which reminder a membership ending after ``left`` is due: the 1-day one within a
    day, the 7-day one otherwise (a member who joins 3 days before an end is told then)."""
    return 1 if left <= timedelta(days=1) else 7
