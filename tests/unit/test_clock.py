"""The publisher's clock (wenxing/clock.py): stored UTC shown in the publisher's zone."""

from datetime import date, datetime

from wenxing import clock


def test_a_late_utc_evening_is_the_next_day_in_beijing():
    moment = datetime(2027, 12, 6, 17, 30)  # naive UTC, as stored
    assert clock.show(moment, "Asia/Shanghai", clock.DATE) == "2027-12-07"
    assert clock.chinese_date(moment, "Asia/Shanghai") == "2027年12月07日"
    assert clock.day_of(moment, "Asia/Shanghai") == "2027-12-07"
    assert clock.today("Asia/Shanghai", moment) == date(2027, 12, 7)
    assert clock.show(moment, "America/New_York") == "2027-12-06 12:30"


def test_midnight_and_back():
    now = datetime(2027, 12, 6, 17, 30)
    assert clock.next_midnight(now, "Asia/Shanghai") == datetime(2027, 12, 7, 16, 0)
    assert clock.stored(datetime(2027, 12, 8), "Asia/Shanghai") == datetime(2027, 12, 7, 16, 0)


def test_zones_are_named_in_chinese():
    assert clock.zone_name("Asia/Shanghai") == "北京时间"
    assert clock.zone_name("Asia/Tokyo") == "东九区"
    assert clock.zone_name("Asia/Kolkata") == "东五区（5:30）"
    assert clock.zone_name("Etc/GMT+5") == "西五区"
    assert clock.zone_name("Asia/Kamchatka") == "东十二区"
    assert clock.show(None, "Asia/Shanghai") == ""
