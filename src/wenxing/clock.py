"""The publisher's clock: the one place where stored times meet a time zone.

The database keeps naive UTC (``db.base.utcnow``); people see the publisher's time zone
(the ``timezone`` setting, Asia/Shanghai by default) on pages, in notifications, in
redemption messages and in CSV exports, whose headers name the zone
(:func:`zone_name`, e.g. 北京时间). Daily limits turn over at the publisher's midnight
(:func:`next_midnight`). Imports nothing of wenxing, so every layer may use it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

DEFAULT_ZONE = "Asia/Shanghai"
DATE = "%Y-%m-%d"
MINUTE = "%Y-%m-%d %H:%M"
_BEIJING = {"Asia/Shanghai", "Asia/Chongqing", "Asia/Chungking", "Asia/Harbin", "PRC"}
_NAMED = {"Asia/Hong_Kong": "香港时间", "Asia/Macau": "澳门时间", "Asia/Taipei": "台北时间"}
_DIGITS = "零一二三四五六七八九十"


@lru_cache(maxsize=32)
def zone(name: str | None) -> ZoneInfo:
    return ZoneInfo(name or DEFAULT_ZONE)


def local(moment: datetime, zone_name: str | None) -> datetime:
    """A stored time (naive UTC, or aware) as the publisher's wall clock shows it."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(zone(zone_name))


def stored(wall_time: datetime, zone_name: str | None) -> datetime:
    """A wall-clock time in the publisher's zone (naive or aware) as stored: naive UTC."""
    if wall_time.tzinfo is None:
        wall_time = wall_time.replace(tzinfo=zone(zone_name))
    return wall_time.astimezone(UTC).replace(tzinfo=None)


def today(zone_name: str | None, now: datetime | None = None) -> date:
    """The publisher's date now (or at the stored time ``now``)."""
    return local(now or datetime.now(UTC), zone_name).date()


def day_of(moment: datetime, zone_name: str | None) -> str:
    """The publisher's date of a stored time, as YYYY-MM-DD."""
    return local(moment, zone_name).strftime(DATE)


def next_midnight(now: datetime, zone_name: str | None) -> datetime:
    """The stored time (naive UTC) of the publisher's next midnight after ``now``."""
    wall = local(now, zone_name)
    midnight = datetime.combine(wall.date() + timedelta(days=1), datetime.min.time())
    return stored(midnight, zone_name)


def show(moment: datetime | date | None, zone_name: str | None, pattern: str = MINUTE) -> str:
    """A stored time formatted on the publisher's clock ('' for None; a date as it is)."""
    if moment is None:
        return ""
    if isinstance(moment, datetime):
        return local(moment, zone_name).strftime(pattern)
    return moment.strftime(pattern)


def chinese_date(moment: datetime, zone_name: str | None) -> str:
    """2027年12月07日 on the publisher's clock."""
    wall = local(moment, zone_name)
    return f"{wall.year}年{wall.month:02d}月{wall.day:02d}日"


def zone_name(name: str | None) -> str:
    """The zone as a person names it: 北京时间, 香港时间, or 东九区 / 西五区 by its offset now."""
    name = name or DEFAULT_ZONE
    if name in _BEIJING:
        return "北京时间"
    if name in _NAMED:
        return _NAMED[name]
    offset = datetime.now(zone(name)).utcoffset() or timedelta(0)
    minutes = int(offset.total_seconds() // 60)
    if minutes == 0:
        return "零时区"
    side = "东" if minutes > 0 else "西"
    hours, rest = divmod(abs(minutes), 60)
    label = f"{side}{_chinese_number(hours)}区"
    return f"{label}（{hours}:{rest:02d}）" if rest else label


def _chinese_number(n: int) -> str:
    if n <= 10:
        return _DIGITS[n]
    return "十" + (_DIGITS[n - 10] if n > 10 else "")
