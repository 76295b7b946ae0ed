"""Publisher settings: the typed model of the ``settings`` table.

:class:`PublisherSettings` is a frozen Pydantic model with one field per setting (its
default and its help line, from which ``docs/settings.md`` is generated) and one validator
per setting, which refuses a bad value with a :class:`~wenxing.errors.DomainError`. Code
reads a setting as a typed attribute (``publisher.timezone``); the command line and the
console's settings page, which work by name, use :data:`PUBLISHER_SETTINGS` and
:func:`parse_setting`. Rules that compare a setting with others or with stored rows (a
session's lifetime and idle days, a plan still wanted by codes) live in the one service
that changes a setting, ``wenxing.settings.change``.
"""

from __future__ import annotations

import copy
import json
import logging
import re
from dataclasses import dataclass
from typing import Any, Literal, get_args, get_origin
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator
from sqlalchemy import select
from sqlalchemy.orm import Session

from wenxing.config import texts
from wenxing.config.plans import DEFAULT_PLANS, check_plans
from wenxing.config.sms import check_sms_config
from wenxing.config.texts import DEFAULT_PRIVACY, DEFAULT_TERMS, filled_masthead_line
from wenxing.db.meta import SettingRow
from wenxing.errors import DomainError

log = logging.getLogger(__name__)

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

# Settings counted per account, address or day: 0 would lock everyone out.
AT_LEAST_ONE = (
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


def _default(value: Any) -> Any:
    """A field default handed out afresh to every instance (callers may change copies)."""
    return Field(default_factory=lambda: copy.deepcopy(value))


class UnknownSetting(KeyError):
    pass


class PublisherSettings(BaseModel):
    """Publisher settings read from the ``settings`` table, defaults filled in."""

    model_config = ConfigDict(frozen=True, extra="ignore", use_attribute_docstrings=True)

    brand: str = "酷乐文行"
    """the publisher's brand, printed on every copy"""
    masthead: tuple[str, ...] = tuple(DEFAULT_MASTHEAD)
    """masthead lines printed at the head of every copy and stripped from imported files; {member_group} and {free_group} are filled from the group settings"""
    member_group: str = ""
    """how members join the member group (shown to members)"""
    free_group: str = ""
    """how visitors join the free QQ group (shown to everyone)"""
    member_qq_group: str = ""
    """the member group's QQ group number; with member_qq_link it fills {member_group} when member_group is empty"""
    member_qq_link: str = ""
    """the member group's join link (https://qm.qq.com/…); only members with a current plan are let in"""
    free_qq_group: str = ""
    """the free QQ group's number; with free_qq_link it fills {free_group} when free_group is empty"""
    free_qq_link: str = ""
    """the free QQ group's join link (https://qm.qq.com/…); anyone is let in"""
    qq_grace_days: int = 7
    """days after a member whose plan ended is reminded that the member group's robot removes them (0–90)"""
    near_duplicate_threshold: float = 0.9
    """shingle similarity at or above which an imported file is skipped as a near-duplicate"""
    marking_strength: Literal["off", "light", "strong"] = "light"
    """how copies are marked: off (no wording variants; at most 1 invisible code point per 20 visible characters), light (every reviewed wording place; the same invisible ceiling), strong (every reviewed wording place; at most 3 invisible per 20)"""
    wording_group_reviews: dict[str, Literal["approved", "vetoed"]] = _default({})
    """editors' decisions on wording-variant groups, keyed by the group's forms joined with a vertical bar: approved or vetoed (the shipped groups are approved unless vetoed; other groups wait for approval); edited on the console's wording review page"""
    wording_variants: str = ""
    """the publisher's edited list of wording variants (same format as the shipped variants.txt); empty means the shipped list"""
    accusation_bound: float = 1e-6
    """largest probability, per trace, that anyone innocent is accused"""
    plans: tuple[dict[str, Any], ...] = _default(tuple(DEFAULT_PLANS))
    """plans sold as activation codes: code, name, length in months, archive window in months back from the subscription's start, daily download quota; optionally price (yuan), shop_url (where its codes are sold) and qr (an uploaded payment QR image), shown beside the redeem box"""
    max_sessions: int = 3
    """signed-in devices an account may hold at once"""
    session_idle_days: int = 30
    """days a signed-in device may go unused before the server signs it out"""
    session_lifetime_days: int = 180
    """days after signing in that the server signs a device out, however often it is used (at least session_idle_days)"""
    sharing_networks: int = 5
    """distinct /24 networks an account may sign in from within 24 hours before the admin is alerted (account sharing)"""
    redeem_failures_per_hour: int = 10
    """failed code redemptions allowed per account and per IP address in an hour"""
    search_per_minute: int = 30
    """searches allowed per account (or per address for visitors) in a minute"""
    report_file_mb: float = 20.0
    """largest evidence file a resale report accepts, in MB (each file)"""
    report_total_mb: float = 30.0
    """largest total of one resale report's files, in MB (a larger request is refused before it is read)"""
    report_mb_per_day: float = 100.0
    """evidence one address may send in resale reports in 24 hours, in MB"""
    evidence_retention_days: int = 180
    """days a decided report's evidence files are kept; then `wenxing reports purge` deletes them, keeping their hashes and the trace"""
    report_rewards_per_year: int = 3
    """rewards one reporter (account or contact) may receive in any 365 days"""
    webhook_hosts: tuple[str, ...] = ()
    """hosts a group robot's webhook may point at besides the platforms' own (qyapi.weixin.qq.com, oapi.dingtalk.com, open.feishu.cn, open.larksuite.com, and the QQ official platform's api.sgroup.qq.com and bots.qq.com); https only, except a OneBot framework's address"""
    report_reward_plan: str = "year"
    """the plan (its code) a reporter is given when their report is confirmed: added to their membership, or as a gift code when they have no account"""
    reports_per_hour: int = 5
    """resale reports accepted per address in an hour"""
    reports_per_day_contact: int = 3
    """resale reports accepted per contact (phone or WeChat id) in a day"""
    requests_per_day: int = 5
    """requests an account may post on the requests board (/requests) in any 24 hours"""
    timezone: str = "Asia/Shanghai"
    """the publisher's time zone: daily quotas reset at its midnight"""
    extra_promo_patterns: tuple[str, ...] = ()
    """additional regular expressions for promotional lines to strip at the head and tail of imported files"""
    terms_text: str = DEFAULT_TERMS
    """the user agreement (用户协议) shown at /terms and linked from sign-up; paragraphs separated by blank lines"""
    privacy_text: str = DEFAULT_PRIVACY
    """the privacy policy (隐私政策) shown at /privacy and linked from sign-up; paragraphs separated by blank lines"""
    icp_number: str = ""
    """the site's ICP filing number (ICP备案号), shown in every page's footer linked to beian.miit.gov.cn; empty shows none"""
    sms: dict[str, str] = _default({})
    """the SMS sender of verification codes (password reset, claiming an imported account): a JSON object with provider (aliyun or tencent), key_id, key_secret, sign_name, template, app_id (tencent) and, for tests, a loopback endpoint; {} sends none. The secret is shown back as its last 4 characters; sending that back keeps the stored secret"""

    signup_without_sms: Literal["open", "closed"] = "open"
    """when no SMS sender is set up (the sms setting is {}), whether sign-up with a phone number stays open without verifying it (open: self-hosted sites work without an SMS account) or is closed (closed: sign-up by username only); with a sender, a phone is always verified by an SMS code"""

    # --- one validator per setting (each runs on the value as given, before its type) ----

    @field_validator("marking_strength", "signup_without_sms", mode="before")
    @classmethod
    def _choice(cls, value: Any, info: ValidationInfo) -> Any:
        name = str(info.field_name)
        choices = get_args(cls.model_fields[name].annotation)
        if value not in choices:
            raise DomainError("setting.choice", name=name, choices=list(choices))
        return value

    @field_validator("accusation_bound", mode="before")
    @classmethod
    def _accusation_bound(cls, value: float) -> float:
        return _above_zero(value, 1e-3, "setting.accusation_bound")

    @field_validator(*AT_LEAST_ONE, mode="before")
    @classmethod
    def _at_least_one(cls, value: int, info: ValidationInfo) -> int:
        if value < 1:
            raise DomainError("setting.at_least_one", name=info.field_name)
        if info.field_name in ("session_idle_days", "session_lifetime_days") and value > 3650:
            # ten years: a day count that large is a typing slip
            raise DomainError("setting.session_days", name=info.field_name)
        return value

    @field_validator(*texts.QQ_GROUP_SETTINGS, "qq_grace_days", mode="before")
    @classmethod
    def _qq_groups(cls, value: Any, info: ValidationInfo) -> Any:
        return texts.check_qq_setting(str(info.field_name), value)

    @field_validator("webhook_hosts", mode="before")
    @classmethod
    def _webhook_hosts(cls, hosts: list) -> list:
        _all_text("webhook_hosts", hosts)
        return hosts

    @field_validator("masthead", mode="before")
    @classmethod
    def _masthead(cls, lines: list[str]) -> list[str]:
        """Only the two group placeholders may appear: copies fill them in with ``str.format``."""
        _all_text("masthead", lines)
        for number, line in enumerate(lines, start=1):
            try:
                line.format(member_group="", free_group="")
            except (KeyError, IndexError, ValueError, AttributeError, TypeError):
                raise DomainError("setting.masthead_braces", n=number) from None
        return lines

    @field_validator("extra_promo_patterns", mode="before")
    @classmethod
    def _promo_patterns(cls, patterns: list[str]) -> list[str]:
        _all_text("extra_promo_patterns", patterns)
        for pattern in patterns:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise DomainError(
                    "setting.regex",
                    name="extra_promo_patterns",
                    pattern=repr(pattern),
                    detail=str(exc),
                ) from None
        return patterns

    @field_validator("report_file_mb", mode="before")
    @classmethod
    def _report_file_mb(cls, value: float) -> float:
        return _above_zero(value, 200, "setting.report_file_mb")

    @field_validator("near_duplicate_threshold", mode="before")
    @classmethod
    def _near_duplicate_threshold(cls, value: float) -> float:
        return _above_zero(value, 1, "setting.near_duplicate_threshold")

    @field_validator("timezone", mode="before")
    @classmethod
    def _timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise DomainError("setting.timezone", zone=value) from None
        return value

    @field_validator("sms", mode="before")
    @classmethod
    def _sms(cls, value: dict) -> dict:
        return check_sms_config(value)

    @field_validator("wording_group_reviews", mode="before")
    @classmethod
    def _group_reviews(cls, value: dict) -> dict:
        if not all(isinstance(k, str) and v in ("approved", "vetoed") for k, v in value.items()):
            raise DomainError("setting.group_reviews", name="wording_group_reviews")
        return value

    @field_validator("wording_variants", mode="before")
    @classmethod
    def _wording_variants(cls, value: str) -> str:
        if value.strip():
            # Loaded when a variant list is set, not a circle: the fingerprint package costs
            # a quarter second of imports every process reading settings would pay.
            from wenxing.fingerprint.variants import parse_variant_list

            parse_variant_list(value)  # raises VariantListError (a DomainError) naming the line
        return value

    @field_validator("plans", mode="before")
    @classmethod
    def _plans(cls, value: list) -> list:
        return check_plans(value)

    @field_validator("*", mode="before")
    @classmethod
    def _of_its_type(cls, value: Any, info: ValidationInfo) -> Any:
        """Every setting, first (Pydantic runs the "before" validators defined last first):: of the declared type (a whole float is a whole number,
        a whole number a float), strictly: text is never read as a number here."""
        return _typed(str(info.field_name), value)

    # --- reading ---------------------------------------------------------------------------

    @classmethod
    def load(cls, session: Session) -> PublisherSettings:
        """The stored settings, defaults filled in. A stored value its validator refuses
        (written by hand into the table) is logged and its default used instead."""
        rows = session.scalars(select(SettingRow)).all()
        stored = {row.name: json.loads(row.value) for row in rows if row.name in cls.model_fields}
        try:
            return cls.model_validate(stored)
        except ValidationError as exc:
            refused = {str(error["loc"][0]) for error in exc.errors() if error["loc"]}
            log.warning("stored settings refused, their defaults used: %s", sorted(refused))
            return cls.model_validate({k: v for k, v in stored.items() if k not in refused})

    @classmethod
    def defaults(cls) -> PublisherSettings:
        return cls()

    @classmethod
    def check(cls, name: str, value: Any) -> Any:
        """``value`` for setting ``name`` as its validator accepts it (JSON-ready: lists,
        not tuples), or the :class:`DomainError` saying why not."""
        if name not in cls.model_fields:
            raise UnknownSetting(name)
        try:
            return cls.model_validate({name: value}).json_value(name)
        except ValidationError as exc:
            raise _refusal(name, exc) from None

    def json_value(self, name: str) -> Any:
        """One setting by name, as stored and shown (lists, not tuples)."""
        if name not in type(self).model_fields:
            raise UnknownSetting(name)
        return self.model_dump(mode="json", include={name})[name]

    def as_json(self) -> dict[str, Any]:
        """Every setting by name, in declaration order, as stored and shown."""
        return self.model_dump(mode="json")

    def masthead_lines(self) -> list[str]:
        """The masthead as copies print it: the group placeholders filled in; a part of a
        line naming a group that is not set is left out (``会员群：`` with nothing after
        it), and so is a line left with nothing."""
        groups = texts.group_texts(self)
        filled = (filled_masthead_line(line, groups) for line in self.masthead)
        return [line for line in filled if line is not None]


def _typed(name: str, value: Any) -> Any:
    expected = _kind(PublisherSettings.model_fields[name].annotation)
    if expected is float and isinstance(value, int):
        value = float(value)
    if expected is int and isinstance(value, float) and value.is_integer():
        value = int(value)
    if expected is list and isinstance(value, tuple):
        value = list(value)
    if not isinstance(value, expected):
        got = type(value).__name__
        if expected is list:
            raise DomainError("setting.list_type", name=name, got=got)
        raise DomainError("setting.wrong_type", name=name, expected=expected.__name__, got=got)
    return value


def _above_zero(value: float, most: float, code: str) -> float:
    """``value`` when it is above 0 and at most ``most``; else the setting's DomainError."""
    if not 0 < value <= most:
        raise DomainError(code)
    return value


def _all_text(name: str, items: list) -> None:
    if not all(isinstance(item, str) for item in items):
        raise DomainError("setting.list_of_strings", name=name)


def _kind(annotation: Any) -> type:
    """The JSON type of a setting's annotation: str, int, float, list or dict."""
    origin = get_origin(annotation)
    if origin is Literal:
        return type(get_args(annotation)[0])
    if origin is tuple:
        return list
    return origin or annotation


def _refusal(name: str, exc: ValidationError) -> ValueError:
    """The validator's own DomainError out of Pydantic's wrapping."""
    for error in exc.errors():
        raised = error.get("ctx", {}).get("error")
        if isinstance(raised, ValueError):
            return raised
    expected = _kind(PublisherSettings.model_fields[name].annotation).__name__
    return DomainError("setting.wrong_type", name=name, expected=expected, got="a value")


@dataclass(frozen=True)
class SettingSpec:
    """One setting as the command line, the console and the docs list it (by name)."""

    name: str
    default: Any  # as stored (JSON)
    help: str
    kind: type  # str, int, float, list or dict
    choices: tuple[Any, ...] = ()


def _specs() -> tuple[SettingSpec, ...]:
    defaults = PublisherSettings.defaults()
    specs = []
    for name, field in PublisherSettings.model_fields.items():
        annotation = field.annotation
        choices = get_args(annotation) if get_origin(annotation) is Literal else ()
        help_line = " ".join((field.description or "").split())
        specs.append(
            SettingSpec(name, defaults.json_value(name), help_line, _kind(annotation), choices)
        )
    return tuple(specs)


PUBLISHER_SETTINGS: tuple[SettingSpec, ...] = _specs()
SPECS: dict[str, SettingSpec] = {spec.name: spec for spec in PUBLISHER_SETTINGS}


def parse_setting(name: str, raw: str, *, lines: bool = False) -> Any:
    """A publisher setting's value from text, as typed (``lines``: a list given one item per
    line, as in a file). The CLI and the console both read values this way, then store them
    with ``wenxing.settings.change``, which checks them; a DomainError on bad text."""
    if name not in SPECS:
        raise UnknownSetting(name)
    kind = SPECS[name].kind
    if kind is str:
        return raw
    if kind is int:
        try:
            return int(raw)
        except ValueError:
            raise DomainError("setting.whole_number", name=name, raw=raw) from None
    if kind is float:
        try:
            return float(raw)
        except ValueError:
            raise DomainError("setting.number", name=name, raw=raw) from None
    if kind is dict:
        try:
            value = json.loads(raw or "{}")
        except json.JSONDecodeError:
            raise DomainError("setting.json_object", name=name) from None
        if not isinstance(value, dict):
            raise DomainError("setting.json_object", name=name)
        return value
    if kind is list:
        if lines:
            return [line for line in raw.splitlines() if line.strip()]
        try:
            return json.loads(raw)
        except json.JSONDecodeError:
            raise DomainError("setting.json_list", name=name) from None
    raise DomainError("setting.not_from_text", name=name)


_changed_here = 0  # settings this process has stored (its cached copies are then stale)


def note_stored() -> None:
    """Count a setting stored by this process (``wenxing.settings.change`` calls it)."""
    global _changed_here
    _changed_here += 1


def settings_changes_here() -> int:
    return _changed_here
