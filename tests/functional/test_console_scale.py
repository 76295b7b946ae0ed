"""What keeps the console fast at a hundred thousand rows, on both databases: the text
search goes through a trigram index that follows every insert, edit and delete and finds
exactly what a LIKE would; a member's membership end is kept on the member by every period
written (grants, codes, roster imports) so the expiring and expired filters read one
column; counts stop at a limit and the list says "more than"; per-day counts take each
local day's own bounds."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import delete, func, select, update

from tests.helpers import account, signed_in
from wenxing.db import migrate, substring
from wenxing.db.base import utcnow
from wenxing.db.daily import per_local_day
from wenxing.materials import listing
from wenxing.materials.models import Material, MaterialVersion
from wenxing.members import directory
from wenxing.members.models import Member, Subscription
from wenxing.members.subscriptions import grant, plans
from wenxing.schema import metadata
from wenxing.web.app import create_app


def _material(session, title: str, tags: str = "") -> int:
    made = Material(title=title, kind="通知", tags=tags, status="draft", created_at=utcnow())
    session.add(made)
    session.flush()
    session.add(
        MaterialVersion(
            material_id=made.id,
            number=1,
            title=title,
            kind="通知",
            source_name=f"{made.id}.txt",
            source_format="txt",
            content_hash=f"{made.id:064d}",
            body_hash=f"{made.id:064d}",
            body=title,
            chars=len(title),
            outline="[]",
            keywords="[]",
            minhash=b"",
        )
    )
    return made.id


def _found(runtime, text: str) -> list[int]:
    with runtime.db.reading() as session:
        hits = session.scalars(
            select(Material.id).where(
                substring.contains(session, [Material.title, Material.tags], text)
            )
        )
        return sorted(hits)


def test_the_text_index_follows_every_change_and_finds_what_like_finds(runtime):
    with runtime.db.transaction() as session:
        first = _material(session, "关于乡村振兴的调研报告", "重点,Rural")
        second = _material(session, "年终总结：100%完成_任务")
        third = _material(session, "讲话稿")
    assert _found(runtime, "乡村振兴") == [first]  # through the index (4 characters)
    assert _found(runtime, "村") == [first]  # too short for it: read row by row
    assert _found(runtime, "rural") == [first]  # a tag, Latin letters in any case
    assert _found(runtime, "100%完成_") == [second]  # % and _ stand for themselves
    assert _found(runtime, "0%完") == [second]
    assert _found(runtime, "100%_") == []
    with runtime.db.transaction() as session:
        session.get(Material, third).title = "在全市乡村振兴大会上的讲话"
        session.execute(delete(Material).where(Material.id == first))
    assert _found(runtime, "乡村振兴") == [third]
    with runtime.db.transaction() as session:
        session.execute(update(Material).where(Material.id == third).values(tags="乡村振兴"))
        session.get(Material, third).title = "讲话稿"
    assert _found(runtime, "乡村振兴") == [third]  # by its tag now
    with runtime.db.reading() as session:
        assert substring.missing(session.connection()) == []
    assert migrate.schema_drift(runtime.db.engine, metadata) == []


def test_members_search_by_part_of_a_name_or_phone(runtime):
    publisher = runtime.publisher_settings()
    with runtime.db.transaction() as session:
        li = account(session, publisher, "李明华", subscribed=False, phone="13912345678")
        account(session, publisher, "王芳", subscribed=False, username="wangfang")
        number = li.number
    now = utcnow()
    with runtime.db.reading() as session:

        def names(q: str) -> list[str]:
            rows = directory.page(session, directory.MemberFilter(q=q), now, limit=10, offset=0)
            return [m.name for m in rows]

        assert names("明华") == ["李明华"]
        assert names("2345") == ["李明华"]
        assert names("WANGF") == ["王芳"]
        assert names(number.lower()) == ["李明华"]


def test_the_membership_end_is_kept_by_every_period_and_filters_read_it(runtime):
    publisher = runtime.publisher_settings()
    month = plans(publisher)["month"]
    now = utcnow()
    with runtime.db.transaction() as session:
        soon = account(session, publisher, "快到期", subscribed=False, username="soon")
        session.add(
            Subscription(
                member_id=soon.id,
                plan="month",
                starts_at=now - timedelta(days=25),
                ends_at=now + timedelta(days=3),
                source="test",
            )
        )
        soon.membership_ends = now + timedelta(days=3)
        later = account(session, publisher, "续费了", subscribed=False, username="later")
        session.flush()
        grant(session, later.id, month, actor="test", reason="test", now=now - timedelta(days=28))
        first_end = session.get(Member, later.id).membership_ends
        assert first_end is not None and first_end < now + timedelta(days=7)
        grant(session, later.id, month, actor="test", reason="test", now=now)  # stacks
        ends = session.scalar(
            select(func.max(Subscription.ends_at)).where(Subscription.member_id == later.id)
        )
        assert session.get(Member, later.id).membership_ends == ends > first_end
        gone = account(session, publisher, "已到期", subscribed=False, username="gone")
        session.flush()
        grant(session, gone.id, month, actor="test", reason="test", now=now - timedelta(days=90))
        account(session, publisher, "从没买过", subscribed=False, username="never")
    with runtime.db.reading() as session:

        def names(wanted: directory.MemberFilter) -> set[str]:
            return {m.name for m in directory.page(session, wanted, now, limit=50, offset=0)}

        assert names(directory.MemberFilter(expiring_days=7)) == {"快到期"}
        assert names(directory.MemberFilter(expired=True)) == {"已到期"}
        figures = directory.figures(session, now)
        assert (figures["subscribed"], figures["expiring_7"]) == (2, 1)


def test_counts_stop_at_their_limit_and_the_list_says_more_than(runtime, monkeypatch):
    with runtime.db.transaction() as session:
        for n in range(7):
            _material(session, f"通知第{n}号")
        account(session, runtime.publisher_settings(), "boss", subscribed=False, username="boss")
        session.scalar(select(Member).where(Member.username == "boss")).role = "admin"
    monkeypatch.setattr(listing, "TEXT_COUNT_LIMIT", 3)
    monkeypatch.setattr(listing, "COUNT_LIMIT", 5)
    monkeypatch.setattr(directory, "COUNT_LIMIT", 5)
    with runtime.db.reading() as session:
        shown = listing.material_page(session, listing.MaterialFilter(q="通知"), size=2)
        assert (shown.more, shown.limit, len(shown.rows)) == (True, 3, 2)
        whole = listing.material_page(session, listing.MaterialFilter(), size=2)
        assert (whole.more, whole.total) == (True, 6)
        one_page = listing.material_page(session, listing.MaterialFilter(q="第6号"))
        assert (one_page.more, one_page.total) == (False, 1)
    boss = signed_in(create_app(runtime), "boss")
    assert "超过 3 份材料符合条件" in boss.get("/console/materials", params={"q": "通知"}).text
    assert "共 1 份材料符合条件" in boss.get("/console/materials", params={"q": "第6号"}).text
    with runtime.db.transaction() as session:
        for n in range(6):
            account(
                session,
                runtime.publisher_settings(),
                f"会员{n}",
                subscribed=False,
                username=f"mem{n}",
            )
    assert "超过 5 位会员符合条件" in boss.get("/console/members").text


def test_each_local_day_is_counted_between_its_own_bounds(runtime):
    # Berlin's clocks go back on 27 October 2024: that day is 25 hours long.
    moments = [
        datetime(2024, 10, 26, 21, 59),  # 23:59 on the 26th in Berlin (UTC+2)
        datetime(2024, 10, 26, 22, 0),  # 00:00 on the 27th
        datetime(2024, 10, 27, 22, 59),  # 23:59 on the 27th (UTC+1 by now)
        datetime(2024, 10, 27, 23, 0),  # 00:00 on the 28th
    ]
    publisher = runtime.publisher_settings()
    with runtime.db.transaction() as session:
        for n, moment in enumerate(moments):
            account(
                session, publisher, f"m{n}", subscribed=False, username=f"mem{n}"
            ).created_at = moment
    days = [date(2024, 10, 26), date(2024, 10, 27), date(2024, 10, 28)]
    with runtime.db.reading() as session:
        assert per_local_day(session, Member.created_at, days, "Europe/Berlin") == [1, 2, 1]


def test_the_dashboard_estimates_revenue_by_plan_at_list_prices(runtime):
    from wenxing import settings
    from wenxing.members.codes import generate_code
    from wenxing.members.models import ActivationCode
    from wenxing.web.console import dashboard_figures

    publisher = runtime.publisher_settings()
    priced = [
        {**p, "price": 39} if p["code"] == "month" else {k: v for k, v in p.items() if k != "price"}
        for p in publisher.plans
    ]
    now = utcnow()
    with runtime.db.transaction() as session:
        settings.change(session, "plans", priced, actor="test")
        for plan, count in (("month", 3), ("year", 2)):
            for _ in range(count):
                session.add(
                    ActivationCode(
                        code=generate_code(),
                        plan=plan,
                        state="redeemed",
                        redeemed_at=now - timedelta(minutes=5),
                        created_at=now - timedelta(days=1),
                    )
                )
        account(session, publisher, "boss", subscribed=False, username="boss")
        session.scalar(select(Member).where(Member.username == "boss")).role = "admin"
    plans_now = runtime.publisher_settings().plans
    with runtime.db.reading() as session:
        shown = dashboard_figures(session, now, "Asia/Shanghai", plans_now)
    assert shown["revenue"][-1] == 3 * 39 and sum(shown["revenue"]) == 117
    by_plan = {p["name"]: (p["redeemed"], p["yuan"]) for p in shown["revenue_by_plan"]}
    month, year = (next(p["name"] for p in plans_now if p["code"] == c) for c in ("month", "year"))
    assert by_plan[month] == (3, 117) and by_plan[year] == (2, 0)
    page = signed_in(create_app(runtime), "boss").get("/console").text
    assert 'id="chart-revenue"' in page and "按标价估算" in page and "未定价" in page
