"""Settings: process settings from ``WENXING_*`` variables, publisher settings from the database.

Two sources, one declared list each:

* :class:`Settings` holds what a process needs before it can open the database
  (database URL, secret, size limits). It is read from the environment.
* :data:`PUBLISHER_SETTINGS` declares every setting kept in the ``settings`` table
  (masthead, group details, import rules, later plans and quotas). Each entry has a
  name, a default and a help line; :class:`PublisherSettings` reads them with the
  defaults filled in. Documentation is generated from the same list.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import select
from sqlalchemy.orm import Session

from wenxing.errors import DomainError

DEFAULT_DATABASE_URL = "sqlite:///./wenxing.db"


class Settings(BaseSettings):
    """Process settings, from ``WENXING_*`` environment variables."""

    model_config = SettingsConfigDict(env_prefix="WENXING_", extra="ignore")

    database_url: str = Field(DEFAULT_DATABASE_URL, description="SQLAlchemy URL of the database")
    secret: str | None = Field(
        None,
        description="server secret; when unset, a key file beside the database is used",
        repr=False,
    )
    secret_file: Path | None = Field(
        None, description="where the server secret is kept when WENXING_SECRET is unset"
    )
    max_file_mb: float = Field(20.0, description="largest source file import accepts, in MB")
    max_unpacked_mb: float = Field(
        200.0, description="largest uncompressed size of a .docx archive, in MB"
    )
    search_dir: Path | None = Field(
        None,
        description="folder of this node's search index; by default beside the SQLite "
        "database, or ./wenxing-search-DBNAME for PostgreSQL",
    )
    locale: str = Field(
        "zh_CN", description="language of the site (a catalogue in src/wenxing/locale/)"
    )
    threads: int = Field(
        16,
        ge=1,
        le=256,
        description="requests one `wenxing serve` worker works on at once; more wait their turn",
    )
    jobs: bool = Field(
        True,
        description="whether each `wenxing serve` worker runs background jobs (tracing "
        "reports); turn off when `wenxing jobs run` processes do it",
    )
    public_url: str = Field(
        "http://127.0.0.1:8000",
        description="the site's address as members reach it (links in group robots' announcements)",
    )
    bot_retry_seconds: float = Field(
        5.0,
        gt=0,
        description="first delay before a failed group-robot delivery is tried again; it "
        "doubles with every failure, up to 60 times the first (5 minutes by default)",
    )
    environment: str = Field(
        "production",
        pattern="^(production|development)$",
        description="`development` makes every start compare the database's schema with the "
        "models (what `alembic check` does) and refuse a database that drifted",
    )
    password_cost: Literal["standard", "test"] = Field(
        "standard",
        description="argon2id cost of password hashes: standard (argon2's recommended "
        "parameters), or test (cheap, for test suites only: never on a server)",
    )
    sandbox_memory_mb: int = Field(
        512,
        ge=64,
        description="address space of the child process that reads each evidence file or "
        "console upload, in MB (a file needing more is refused as too large)",
    )
    sandbox_cpu_seconds: int = Field(
        60, ge=1, description="CPU seconds that child process may use (then: timed out)"
    )
    sandbox_wall_seconds: float = Field(
        300.0, gt=0, description="seconds that child process may take in all before it is killed"
    )
    sandbox_output_chars: int = Field(
        20_000_000, ge=1000, description="characters of text one file may give"
    )
    webhook_private_networks: str = Field(
        "",
        description="networks (CIDR, comma-separated) a group robot's webhook may resolve to "
        "although they are private, loopback or link-local (an in-house receiver); empty: none",
    )
    webhook_ca_file: Path | None = Field(
        None,
        description="extra certificate authorities (PEM) trusted for group robots' webhooks "
        "(an in-house receiver's); the system's are always trusted",
    )
    host: str = Field("127.0.0.1", description="address `wenxing serve` listens on")
    port: int = Field(8000, description="port `wenxing serve` listens on")

    @property
    def max_file_bytes(self) -> int:
        return int(self.max_file_mb * 1024 * 1024)

    @property
    def max_unpacked_bytes(self) -> int:
        return int(self.max_unpacked_mb * 1024 * 1024)

    def _beside_database(self, suffix: str) -> tuple[Path | None, str]:
        """(the SQLite file + suffix, or None for a server database; the database name)."""
        from sqlalchemy.engine import make_url

        url = make_url(self.database_url)
        if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
            db_path = Path(url.database)
            return db_path.with_name(db_path.name + suffix), url.database
        return None, url.database or "default"

    def search_path(self) -> Path:
        """This node's search index folder."""
        if self.search_dir is not None:
            return self.search_dir
        beside, name = self._beside_database(".search")
        return beside or Path(f"wenxing-search-{name}")

    def key_file(self) -> Path:
        """Where the server secret lives when it is not given in the environment."""
        if self.secret_file is not None:
            return self.secret_file
        return self._beside_database(".key")[0] or Path("wenxing.key")


# The masthead exactly as the publisher prints it today (see shared/samples). Import strips
# these lines from incoming files; delivery prints them on every copy.
DEFAULT_MASTHEAD = [
    "仅供学习 禁止外传",
    "酷乐文行",
    "自建平台、实时分享",
    "根据实际需求和形式任务不断迭代",
    "现在订阅立享前3年的所有权益和资料",
    "【打击倒卖活动】",
    "举报倒卖会员资料的人，举报成功免费赠送一年会员材料！",
    "会员群：{member_group}    免费QQ群：{free_group}",
]


@dataclass(frozen=True)
class SettingSpec:
    name: str
    default: Any
    help: str
    choices: tuple[Any, ...] = ()


PUBLISHER_SETTINGS: tuple[SettingSpec, ...] = (
    SettingSpec("brand", "酷乐文行", "the publisher's brand, printed on every copy"),
    SettingSpec(
        "masthead",
        DEFAULT_MASTHEAD,
        "masthead lines printed at the head of every copy and stripped from imported files; "
        "{member_group} and {free_group} are filled from the group settings",
    ),
    SettingSpec("member_group", "", "how members join the member group (shown to members)"),
    SettingSpec("free_group", "", "how visitors join the free QQ group (shown to everyone)"),
    SettingSpec(
        "near_duplicate_threshold",
        0.9,
        "shingle similarity at or above which an imported file is skipped as a near-duplicate",
    ),
    SettingSpec(
        "marking_strength",
        "light",
        "how copies are marked: off (no wording variants; at most 1 invisible code point per "
        "20 visible characters), light (every reviewed wording place; the same invisible "
        "ceiling), strong (every reviewed wording place; at most 3 invisible per 20)",
        ("off", "light", "strong"),
    ),
    SettingSpec(
        "wording_group_reviews",
        {},
        "editors' decisions on wording-variant groups, keyed by the group's forms joined with a "
        "vertical bar: "
        "approved or vetoed (the shipped groups are approved unless vetoed; other groups wait "
        "for approval); edited on the console's wording review page",
    ),
    SettingSpec(
        "wording_variants",
        "",
        "the publisher's edited list of wording variants (same format as the shipped "
        "variants.txt); empty means the shipped list",
    ),
    SettingSpec(
        "accusation_bound",
        1e-6,
        "largest probability, per trace, that anyone innocent is accused",
    ),
    SettingSpec(
        "plans",
        [
            {"code": "month", "name": "月卡", "months": 1, "archive_months": 36, "daily_quota": 20},
            {"code": "year", "name": "年卡", "months": 12, "archive_months": 36, "daily_quota": 50},
            {
                "code": "3year",
                "name": "三年卡",
                "months": 36,
                "archive_months": 36,
                "daily_quota": 100,
            },
        ],
        "plans sold as activation codes: code, name, length in months, archive window in "
        "months back from the subscription's start, daily download quota",
    ),
    SettingSpec("max_sessions", 3, "signed-in devices an account may hold at once"),
    SettingSpec(
        "session_idle_days",
        30,
        "days a signed-in device may go unused before the server signs it out",
    ),
    SettingSpec(
        "session_lifetime_days",
        180,
        "days after signing in that the server signs a device out, however often it is used "
        "(at least session_idle_days)",
    ),
    SettingSpec(
        "sharing_networks",
        5,
        "distinct /24 networks an account may sign in from within 24 hours before the admin "
        "is alerted (account sharing)",
    ),
    SettingSpec(
        "redeem_failures_per_hour",
        10,
        "failed code redemptions allowed per account and per IP address in an hour",
    ),
    SettingSpec(
        "search_per_minute",
        30,
        "searches allowed per account (or per address for visitors) in a minute",
    ),
    SettingSpec(
        "report_file_mb",
        20.0,
        "largest evidence file a resale report accepts, in MB (each file)",
    ),
    SettingSpec(
        "report_total_mb",
        30.0,
        "largest total of one resale report's files, in MB (a larger request is refused "
        "before it is read)",
    ),
    SettingSpec(
        "report_mb_per_day",
        100.0,
        "evidence one address may send in resale reports in 24 hours, in MB",
    ),
    SettingSpec(
        "evidence_retention_days",
        180,
        "days a decided report's evidence files are kept; then `wenxing reports purge` "
        "deletes them, keeping their hashes and the trace",
    ),
    SettingSpec(
        "report_rewards_per_year",
        3,
        "rewards one reporter (account or contact) may receive in any 365 days",
    ),
    SettingSpec(
        "webhook_hosts",
        [],
        "hosts a group robot's webhook may point at besides the platforms' own "
        "(qyapi.weixin.qq.com, oapi.dingtalk.com, open.feishu.cn, open.larksuite.com); "
        "https only",
    ),
    SettingSpec(
        "report_reward_plan",
        "year",
        "the plan (its code) a reporter is given when their report is confirmed: added to "
        "their membership, or as a gift code when they have no account",
    ),
    SettingSpec(
        "reports_per_hour",
        5,
        "resale reports accepted per address in an hour",
    ),
    SettingSpec(
        "reports_per_day_contact",
        3,
        "resale reports accepted per contact (phone or WeChat id) in a day",
    ),
    SettingSpec(
        "requests_per_day",
        5,
        "requests an account may post on the requests board (/requests) in any 24 hours",
    ),
    SettingSpec(
        "timezone", "Asia/Shanghai", "the publisher's time zone: daily quotas reset at its midnight"
    ),
    SettingSpec(
        "extra_promo_patterns",
        [],
        "additional regular expressions for promotional lines to strip at the head and tail "
        "of imported files",
    ),
)

_SPECS = {spec.name: spec for spec in PUBLISHER_SETTINGS}


class UnknownSetting(KeyError):
    pass


class PublisherSettings:
    """Publisher settings read from the ``settings`` table, defaults filled in."""

    def __init__(self, values: dict[str, Any]):
        self._values = values

    @classmethod
    def load(cls, session: Session) -> PublisherSettings:
        from wenxing.db.meta import SettingRow

        rows = session.scalars(select(SettingRow)).all()
        stored = {row.name: json.loads(row.value) for row in rows if row.name in _SPECS}
        return cls(stored)

    @classmethod
    def defaults(cls) -> PublisherSettings:
        return cls({})

    def __getitem__(self, name: str) -> Any:
        if name not in _SPECS:
            raise UnknownSetting(name)
        # A copy: callers may change what they get without touching the declared default.
        return copy.deepcopy(self._values.get(name, _SPECS[name].default))

    def __iter__(self) -> Iterator[tuple[str, Any]]:
        for spec in PUBLISHER_SETTINGS:
            yield spec.name, self[spec.name]

    def masthead_lines(self) -> list[str]:
        return [
            line.format(member_group=self["member_group"], free_group=self["free_group"])
            for line in self["masthead"]
        ]


_changed_here = 0  # settings this process has stored (its cached copies are then stale)


def settings_changes_here() -> int:
    return _changed_here


def set_publisher_setting(session: Session, name: str, value: Any) -> None:
    """Store one publisher setting (the caller's transaction commits it)."""
    from wenxing.db.meta import SettingRow

    global _changed_here
    _changed_here += 1

    if name not in _SPECS:
        raise UnknownSetting(name)
    expected = type(_SPECS[name].default)
    if expected is float and isinstance(value, int):
        value = float(value)
    if expected is int and isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, expected):
        got = type(value).__name__
        if expected is list:
            raise DomainError("setting.list_type", name=name, got=got)
        raise DomainError("setting.wrong_type", name=name, expected=expected.__name__, got=got)
    spec = _SPECS[name]
    if spec.choices and value not in spec.choices:
        raise DomainError("setting.choice", name=name, choices=list(spec.choices))
    if name == "accusation_bound" and not 0 < value <= 1e-3:
        raise DomainError("setting.accusation_bound")
    if (
        name
        in (
            "max_sessions",
            "sharing_networks",
            "redeem_failures_per_hour",
            "search_per_minute",
            "reports_per_hour",
            "reports_per_day_contact",
            "requests_per_day",
            "session_idle_days",
            "session_lifetime_days",
        )
        and value < 1
    ):
        raise DomainError("setting.at_least_one", name=name)
    if name in ("session_idle_days", "session_lifetime_days"):
        _check_session_days(session, name, value)
    if name == "plans":
        _check_plans(value)
        _check_plans_in_use(session, {plan["code"] for plan in value})
    if name == "report_reward_plan":
        codes = [plan["code"] for plan in PublisherSettings.load(session)["plans"]]
        if value not in codes:
            raise DomainError("setting.reward_plan", plan=value, choices=codes)
    if name in ("masthead", "extra_promo_patterns") and not all(isinstance(v, str) for v in value):
        raise DomainError("setting.list_of_strings", name=name)
    if name == "masthead":
        _check_masthead(value)
    if name == "extra_promo_patterns":
        for pattern in value:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise DomainError(
                    "setting.regex", name=name, pattern=repr(pattern), detail=str(exc)
                ) from None
    if name == "report_file_mb" and not 0 < value <= 200:
        raise DomainError("setting.report_file_mb")
    if name == "near_duplicate_threshold" and not 0 < value <= 1:
        raise DomainError("setting.near_duplicate_threshold")
    if name == "timezone":
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise DomainError("setting.timezone", zone=value) from None
    if name == "wording_group_reviews" and not all(
        isinstance(k, str) and v in ("approved", "vetoed") for k, v in value.items()
    ):
        raise DomainError("setting.group_reviews", name=name)
    if name == "wording_variants" and value.strip():
        from wenxing.fingerprint.variants import parse_variant_list

        parse_variant_list(value)  # raises VariantListError (a ValueError) naming the line
    row = session.get(SettingRow, name)
    encoded = json.dumps(value, ensure_ascii=False)
    if row is None:
        session.add(SettingRow(name=name, value=encoded))
    else:
        row.value = encoded


def _check_session_days(session: Session, name: str, value: int) -> None:
    """A session's absolute lifetime is never shorter than its idle period (nor longer than
    ten years: a day count that large is a typing slip)."""
    if value > 3650:
        raise DomainError("setting.session_days", name=name)
    stored = PublisherSettings.load(session)
    idle = value if name == "session_idle_days" else stored["session_idle_days"]
    lifetime = value if name == "session_lifetime_days" else stored["session_lifetime_days"]
    if lifetime < idle:
        raise DomainError("setting.session_lifetime_order", idle=idle, lifetime=lifetime)


def _check_masthead(lines: list[str]) -> None:
    """Only the two group placeholders may appear: copies fill them in with ``str.format``."""
    for number, line in enumerate(lines, start=1):
        try:
            line.format(member_group="", free_group="")
        except (KeyError, IndexError, ValueError, AttributeError, TypeError):
            raise DomainError("setting.masthead_braces", n=number) from None


def parse_setting(name: str, raw: str, *, lines: bool = False) -> Any:
    """A publisher setting's value from text, as typed (``lines``: a list given one item per
    line, as in a file). The CLI and the console both read values this way, then store them
    with :func:`set_publisher_setting`, which checks them; ValueError on bad text."""
    if name not in _SPECS:
        raise UnknownSetting(name)
    default = _SPECS[name].default
    if isinstance(default, str):
        return raw
    if isinstance(default, int):
        try:
            return int(raw)
        except ValueError:
            raise DomainError("setting.whole_number", name=name, raw=raw) from None
    if isinstance(default, float):
        try:
            return float(raw)
        except ValueError:
            raise DomainError("setting.number", name=name, raw=raw) from None
    if isinstance(default, list):
        if lines:
            return [line for line in raw.splitlines() if line.strip()]
        try:
            return json.loads(raw)
        except json.JSONDecodeError:
            raise DomainError("setting.json_list", name=name) from None
    raise DomainError("setting.not_from_text", name=name)


def _check_plans(value: list) -> None:
    codes = set()
    for number, item in enumerate(value, start=1):
        if not isinstance(item, dict):
            raise DomainError("setting.plan_object", n=number)
        missing = {"code", "name", "months", "archive_months", "daily_quota"} - set(item)
        if missing:
            raise DomainError("setting.plan_fields", n=number, fields=", ".join(sorted(missing)))
        if not str(item["code"]).strip() or item["code"] in codes:
            raise DomainError("setting.plan_code", n=number)
        codes.add(item["code"])
        for field in ("months", "archive_months", "daily_quota"):
            if not isinstance(item[field], int) or item[field] < (1 if field == "months" else 0):
                raise DomainError("setting.plan_whole_number", plan=item["code"], field=field)


def _check_plans_in_use(session: Session, codes: set[str]) -> None:
    """A plan may not disappear while codes that would grant it are still to be redeemed,
    or while it is the reward for confirmed resale reports."""
    from sqlalchemy import func

    from wenxing.db.base import utcnow
    from wenxing.members.models import ActivationCode

    usable = ActivationCode.expires_at.is_(None) | (ActivationCode.expires_at > utcnow())
    waiting = session.execute(
        select(ActivationCode.plan, func.count())
        .where(ActivationCode.state == "issued", ActivationCode.plan.not_in(codes), usable)
        .group_by(ActivationCode.plan)
    ).all()
    if waiting:
        plan, count = waiting[0]
        raise DomainError("setting.plan_has_codes", plan=plan, count=count)
    reward = PublisherSettings.load(session)["report_reward_plan"]
    if reward not in codes:
        raise DomainError("setting.plan_is_reward", plan=reward)
