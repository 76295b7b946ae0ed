"""The console's settings page (admins): every publisher setting, each with its own form.

The settings are the fields of ``config.publisher.PublisherSettings``; a new field shows
up here by itself. A value is read and checked exactly as ``wenxing settings set`` does
(``config.publisher.parse_setting`` then ``settings.change``): lists are typed as JSON,
numbers and text as they are. A refused value is shown again beside its field with the
reason (the sentence of its DomainError's code, web/error_messages.py), and nothing is
stored; a change is stored with a ``setting:change`` audit event in the same transaction.
Settings are read afresh by every request, so the next page or copy follows the change.
"""

from __future__ import annotations

import json

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from wenxing import settings as publisher_settings
from wenxing.config.publisher import PUBLISHER_SETTINGS, SPECS, SettingSpec, parse_setting
from wenxing.config.sms import shown_setting
from wenxing.i18n import N_, _
from wenxing.web import auth
from wenxing.web.console import AdminDep, admin
from wenxing.web.deps import RuntimeDep, csrf_checked, render, runtime_of
from wenxing.web.error_messages import user_message

# text settings edited in a textarea
_MULTILINE_TEXT = frozenset({"wording_variants", "terms_text", "privacy_text"})

# Name and help line of each setting in the site's language; a setting declared later
# without an entry here shows its name and the English help line of its declaration.
_SHOWN = {
    "terms_text": (N_("用户协议"), N_("注册页链接的用户协议全文（/terms），段与段之间空一行。")),
    "privacy_text": (
        N_("隐私政策"),
        N_("注册页链接的隐私政策全文（/privacy），段与段之间空一行。"),
    ),
    "icp_number": (
        N_("ICP备案号"),
        N_("显示在每个页面底部，链接到工信部备案网站；留空就不显示。"),
    ),
    "signup_without_sms": (
        N_("未开通短信时的手机号注册"),
        N_(
            "没有配置短信发送时：“仍可用手机号注册”（默认）不验证手机号，"
            "适合没有短信账号的自建站；“只能用用户名注册”即关闭手机号注册。配置了短信后，"
            "用手机号注册一律要填短信验证码。"
        ),
    ),
    "brand": (N_("品牌"), N_("出版方的品牌名，显示在网站页头。")),
    "masthead": (
        N_("刊头"),
        N_(
            "每份材料开头印的刊头，JSON 列表，每项一行；导入文件时也会去掉这些行。"
            "{member_group} 和 {free_group} 会换成下面两项群信息，别的花括号不能用。"
        ),
    ),
    "member_group": (N_("会员群"), N_("会员如何加入会员群（只给会员看，刊头里也会印）。")),
    "free_group": (N_("免费QQ群"), N_("访客如何加入免费 QQ 群（所有人都能看到）。")),
    "member_qq_group": (
        N_("会员群 QQ 群号"),
        N_("会员群的群号；“会员群”一项留空时，刊头和首页印群号和加群链接。"),
    ),
    "member_qq_link": (
        N_("会员群加群链接"),
        N_("会员群的加群链接（https://qm.qq.com/…）；机器人只让会员有效期内的账户加入。"),
    ),
    "free_qq_group": (
        N_("免费QQ群群号"),
        N_("免费群的群号；“免费QQ群”一项留空时，刊头和首页印群号和加群链接。"),
    ),
    "free_qq_link": (N_("免费QQ群加群链接"), N_("免费群的加群链接，任何人都可加入。")),
    "qq_grace_days": (
        N_("会员群宽限天数"),
        N_("会员到期后机器人先私聊提醒，过了这么多天仍未续费就移出会员群（0 到 90）。"),
    ),
    "near_duplicate_threshold": (
        N_("近似重复阈值"),
        N_("导入时与已有材料的相似度达到这个值（大于 0，最大 1）就当作近似重复跳过。"),
    ),
    "marking_strength": (
        N_("措辞标记强度"),
        N_(
            "副本的标记强度：“不换措辞”只加看不见的标记，每 20 个字最多 1 个；“标准”（默认）"
            "还在审核过的位置换措辞，看不见的标记同样每 20 个字最多 1 个；“加强”措辞同“标准”，"
            "看不见的标记每 20 个字最多 3 个，短摘录也能追查，但另存为 GBK 时问号更多。"
        ),
    ),
    "wording_group_reviews": (
        N_("措辞变体审核结果"),
        N_("各组措辞变体的审核结果（批准或否决），请在“措辞审核”页面上修改。"),
    ),
    "wording_variants": (
        N_("措辞变体表"),
        N_("出版方自己编辑的措辞变体表，格式同随附的 variants.txt；留空就用随附的表。"),
    ),
    "accusation_bound": (
        N_("误指上限"),
        N_("每次追查时，无辜的人被指认的最大概率（大于 0，最大 0.001）。"),
    ),
    "plans": (
        N_("套餐"),
        N_(
            "卡密对应的套餐，JSON 列表，每项有 code（代码）、name（名称）、months（月数）、"
            "archive_months（从订阅开始往前可读的月数）、daily_quota（每天可下载份数）。"
        ),
    ),
    "max_sessions": (N_("设备数上限"), N_("一个账户同时可以登录的设备数。")),
    "session_idle_days": (
        N_("闲置退出天数"),
        N_("一台设备这么多天没有使用，服务器就让它退出登录（1 到 3650）。"),
    ),
    "session_lifetime_days": (
        N_("登录最长有效天数"),
        N_("登录后满这么多天，无论是否使用都要重新登录（不少于闲置退出天数，最多 3650）。"),
    ),
    "sharing_networks": (
        N_("共享提醒网段数"),
        N_("一个账户 24 小时内从超过这么多个不同的 /24 网段登录，就提醒管理员（疑似共享）。"),
    ),
    "redeem_failures_per_hour": (
        N_("每小时兑换失败上限"),
        N_("每个账户、每个地址每小时允许兑换卡密失败的次数。"),
    ),
    "search_per_minute": (
        N_("每分钟搜索次数"),
        N_("每个账户（访客按地址）每分钟可以搜索的次数。"),
    ),
    "report_file_mb": (
        N_("举报文件大小上限"),
        N_("举报时每个证据文件的最大大小，单位 MB（最大 200）。"),
    ),
    "report_reward_plan": (
        N_("举报奖励套餐"),
        N_(
            "举报成立后奖励给举报人的套餐代码（须是上面套餐中的一个）：有账号的加到会员期，"
            "没有账号的在回执页领取兑换码。"
        ),
    ),
    "reports_per_hour": (
        N_("每小时举报次数"),
        N_("每个地址每小时可以提交的举报数。"),
    ),
    "reports_per_day_contact": (
        N_("每天举报次数（按联系方式）"),
        N_("同一个联系方式（手机号或微信号）每天可以提交的举报数。"),
    ),
    "requests_per_day": (
        N_("每天发布需求条数"),
        N_("每个账户 24 小时内在需求板上最多可以发布的需求条数（至少 1）。"),
    ),
    "timezone": (
        N_("时区"),
        N_("出版方所在的时区（如 Asia/Shanghai）：每日下载额度在当地午夜重置。"),
    ),
    "extra_promo_patterns": (
        N_("另外去掉的推广行"),
        N_("导入时在文件开头和结尾另外去掉的推广行，JSON 列表，每项一个正则表达式。"),
    ),
}


# The named choices of a setting, as the select offers them (the stored value beside).
_CHOICE_NAMES = {
    "marking_strength": {
        "off": N_("不换措辞"),
        "light": N_("标准"),
        "strong": N_("加强"),
    },
    "signup_without_sms": {"open": N_("仍可用手机号注册"), "closed": N_("只能用用户名注册")},
}


def _choices(spec: SettingSpec) -> list[dict[str, str]]:
    names = _CHOICE_NAMES.get(spec.name, {})
    return [{"value": str(c), "name": _(names[c]) if c in names else str(c)} for c in spec.choices]


def refusal_message(error: ValueError) -> str:
    """A refused setting value's reason in the site's language (the sentence of its code)."""
    return user_message(error)


def _text(spec: SettingSpec, value) -> str:
    """A setting's value as it is typed into its field."""
    if spec.kind is list:
        return json.dumps(value, ensure_ascii=False, indent=2)
    if spec.kind is dict:  # one line (an input); the SMS secret masked
        return json.dumps(shown_setting(spec.name, value), ensure_ascii=False)
    if isinstance(value, float):  # as a decimal (0.000001), never 1e-06
        return format(value, ".15f").rstrip("0").removesuffix(".") or "0"
    return str(value)


def _field(spec: SettingSpec) -> str:
    if spec.kind is list or spec.name in _MULTILINE_TEXT:
        return "textarea"
    return "select" if spec.choices else "input"


router = APIRouter(prefix="/console", dependencies=[Depends(admin)], include_in_schema=False)


def show(
    request: Request,
    who,
    *,
    typed: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    saved: str = "",
    status: int = 200,
) -> HTMLResponse:
    current = runtime_of(request).publisher_settings()
    rows = []
    for spec in PUBLISHER_SETTINGS:
        label, help_line = _SHOWN.get(spec.name, (None, None))
        value = current.json_value(spec.name)
        rows.append(
            {
                "name": spec.name,
                "label": _(label) if label else spec.name,
                "help": _(help_line) if help_line else spec.help,
                "field": _field(spec),
                "choices": _choices(spec),
                "text": (typed or {}).get(spec.name, _text(spec, value)),
                "default": value == spec.default,
                "error": (errors or {}).get(spec.name),
                "lines": max(3, min(20, _text(spec, value).count("\n") + 2)),
            }
        )
    notice = None
    if saved in SPECS:
        label = _SHOWN.get(saved, (None,))[0]
        notice = _("已保存：%(name)s") % {"name": _(label) if label else saved}
    context = {"who": who.__dict__, "rows": rows, "notice": notice}
    return render(request, "console/settings.html", {"console": True, **context}, status)


@router.get("/settings", response_class=HTMLResponse)
def settings_page(request: Request, who: AdminDep, saved: str = "") -> HTMLResponse:
    return show(request, who, saved=saved)


@router.post("/settings/{name}", response_class=HTMLResponse, dependencies=[Depends(csrf_checked)])
def change(
    request: Request,
    who: AdminDep,
    runtime: RuntimeDep,
    name: str,
    value: str = Form(""),
) -> Response:
    if name not in SPECS:
        message = {"message": _("没有这个设置")}
        return render(request, "console/message.html", {"console": True, **message}, 404)
    typed = value.replace("\r\n", "\n")  # browsers send a textarea's lines with CR LF
    try:
        parsed = parse_setting(name, typed)
        with runtime.db.transaction() as session:
            publisher_settings.change(
                session, name, parsed, actor=who.number, ip=auth.client_ip(request)
            )
    except ValueError as refused:
        errors = {name: refusal_message(refused)}
        return show(request, who, typed={name: typed}, errors=errors, status=400)
    return RedirectResponse(f"/console/settings?saved={name}#setting-{name}", 303)
