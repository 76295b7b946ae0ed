"""The audit log in Chinese: a sentence per event type, its details as labelled fields.

``describe(event)`` gives the sentence (who did what to whom) and the details a person can
read; a detail the catalogue has no label for is shown under its own name, never as JSON.
``tests/unit/test_audit_words.py`` requires a sentence for every event type.
"""

from __future__ import annotations

import json
from typing import Any

from wenxing import audit
from wenxing.i18n import N_, _

# type -> sentence; %(actor)s is who did it, %(subject)s what or whom it was about
SENTENCES: dict[str, str] = {
    audit.CODE_GENERATE: N_("%(actor)s 生成了卡密批次 %(subject)s"),
    audit.CODE_REDEEM: N_("%(actor)s 兑换了卡密 %(subject)s"),
    audit.CODE_REDEEM_FAILED: N_("%(actor)s 兑换卡密失败"),
    audit.CODE_REVOKE: N_("%(actor)s 作废了卡密 %(subject)s"),
    audit.CODE_EXPIRY: N_("%(actor)s 修改了批次 %(subject)s 的截止日期"),
    audit.GIFT_CODE: N_("%(actor)s 赠出了卡密 %(subject)s"),
    audit.CODE_EXPORT: N_("%(actor)s 导出了卡密批次 %(subject)s"),
    audit.MEMBER_CREATE: N_("新账号 %(subject)s 注册"),
    audit.MEMBER_IMPORT: N_("%(actor)s 导入了会员 %(subject)s"),
    audit.MEMBER_SUSPEND: N_("%(actor)s 暂停了账号 %(subject)s"),
    audit.MEMBER_REINSTATE: N_("%(actor)s 恢复了账号 %(subject)s"),
    audit.MEMBER_SIGN_IN: N_("%(subject)s 登录"),
    audit.MEMBER_SIGN_IN_FAILED: N_("有人登录 %(subject)s 失败"),
    audit.MEMBER_SIGN_UP_FAILED: N_("一次注册没有成功"),
    audit.MEMBER_SHARING_FLAG: N_("账号 %(subject)s 疑似多人共用"),
    audit.MEMBER_ROLE: N_("%(actor)s 修改了 %(subject)s 的角色"),
    audit.MEMBER_PASSWORD: N_("%(subject)s 的密码已修改"),
    audit.MEMBER_WARN: N_("%(actor)s 警告了 %(subject)s"),
    audit.MEMBER_SIGN_OUT_ALL: N_("%(actor)s 让 %(subject)s 在所有设备上退出登录"),
    audit.MEMBER_EXPORT: N_("%(actor)s 导出了会员名单"),
    audit.SUBSCRIPTION_GRANT: N_("%(actor)s 给 %(subject)s 赠送了会员"),
    audit.SETTING_CHANGE: N_("%(actor)s 修改了设置 %(subject)s"),
    audit.REQUEST_FULFIL: N_("%(actor)s 完成了需求 %(subject)s"),
    audit.REQUEST_DECLINE: N_("%(actor)s 婉拒了需求 %(subject)s"),
    audit.REPORT_SUBMIT: N_("收到举报 %(subject)s"),
    audit.REPORT_TRACE: N_("举报 %(subject)s 已完成溯源"),
    audit.REPORT_CONFIRM: N_("%(actor)s 确认了举报 %(subject)s"),
    audit.REPORT_REJECT: N_("%(actor)s 驳回了举报 %(subject)s"),
    audit.REPORT_REWARD: N_("举报 %(subject)s 的举报人得到奖励"),
    audit.REPORT_REWARD_WITHHELD: N_("举报 %(subject)s 的奖励暂不发放"),
    audit.REPORT_FLAG: N_("举报 %(subject)s 被标记为可疑"),
    audit.REPORT_CHECK_FAILED: N_("有人查询举报回执失败"),
    audit.REPORT_EVIDENCE_DOWNLOAD: N_("%(actor)s 下载了举报 %(subject)s 的证据"),
    audit.REPORT_TRACE_FAILED: N_("举报 %(subject)s 的溯源没有完成"),
    audit.REPORT_EVIDENCE_PURGED: N_("举报 %(subject)s 的证据文件已到期删除"),
    audit.ROBOT_ADD: N_("%(actor)s 添加了群机器人 %(subject)s"),
    audit.ROBOT_ENABLE: N_("%(actor)s 启用了群机器人 %(subject)s"),
    audit.ROBOT_DISABLE: N_("%(actor)s 停用了群机器人 %(subject)s"),
    audit.ROBOT_DELETE: N_("%(actor)s 删除了群机器人 %(subject)s"),
    audit.ROBOT_TEST: N_("%(actor)s 测试了群机器人 %(subject)s"),
    audit.ROBOT_WEBHOOK: N_("%(actor)s 修改了群机器人 %(subject)s 的地址"),
    audit.WORDING_REVIEW: N_("%(actor)s 审核了措辞变体"),
    audit.WORDING_VETO: N_("%(actor)s 否决了一处措辞标记"),
    audit.MATERIAL_PUBLISH: N_("%(actor)s 发布了材料"),
    audit.MATERIAL_UNPUBLISH: N_("%(actor)s 下架了材料"),
    audit.MATERIAL_CATEGORY: N_("%(actor)s 修改了材料的分类"),
    audit.MATERIAL_TAG: N_("%(actor)s 给材料添加了标签"),
    audit.MATERIAL_DELETE: N_("%(actor)s 删除了草稿"),
}

# detail key -> its label
LABELS: dict[str, str] = {
    "reason": N_("原因"),
    "plan": N_("套餐"),
    "ends_at": N_("到期"),
    "expires_at": N_("截止"),
    "count": N_("数量"),
    "ids": N_("材料编号"),
    "value": N_("值"),
    "batch": N_("批次"),
    "channel": N_("渠道"),
    "sessions": N_("退出的设备数"),
    "report": N_("举报回执"),
    "line": N_("行号"),
    "paid_until": N_("付费到"),
    "error": N_("原因"),
    "code": N_("卡密"),
    "role": N_("角色"),
    "old": N_("原值"),
    "new": N_("新值"),
    "q": N_("搜索"),
    "filter": N_("筛选条件"),
    "expiring": N_("即将到期天数"),
    "expired": N_("已到期"),
    "suspended": N_("已暂停"),
    "flagged": N_("疑似共享"),
    "label": N_("批次"),
    "count_codes": N_("卡密数"),
    "state": N_("状态"),
    "material": N_("材料"),
    "version": N_("版本"),
    "platform": N_("平台"),
    "member": N_("会员"),
    "name": N_("名称"),
    "kind": N_("类型"),
    "identifier": N_("登录名"),
    "ip": N_("地址"),
    "setting": N_("设置"),
    "user_agent": N_("设备"),
    "after": N_("改为"),
    "before": N_("原为"),
    "previous": N_("原为"),
    "entry": N_("输入"),
    "files": N_("文件"),
    "networks": N_("网络"),
    "accused": N_("被举报会员"),
    "detail": N_("说明"),
    "flag": N_("标记"),
    "reward": N_("奖励"),
    "sanction": N_("处理"),
    "why": N_("原因"),
}
SYSTEM_ACTORS = {
    "system": N_("系统"),
    "cli": N_("命令行"),
    "publisher:cli": N_("命令行"),
    "anonymous": N_("访客"),
    "visitor": N_("访客"),
    "demo": N_("演示数据"),
}


def _value(value: Any) -> str:
    if isinstance(value, list):
        return "、".join(_value(v) for v in value[:50]) + ("……" if len(value) > 50 else "")
    if isinstance(value, bool):
        return _("是") if value else _("否")
    if isinstance(value, dict):
        return "；".join(f"{_label(k)}：{_value(v)}" for k, v in value.items())
    if value is None:
        return "—"
    return str(value)


def _label(key: str) -> str:
    return _(LABELS[key]) if key in LABELS else key


def describe(type_: str, actor: str, subject: str | None, details: str) -> dict[str, Any]:
    """The event as a sentence and labelled fields."""
    who = _(SYSTEM_ACTORS[actor]) if actor in SYSTEM_ACTORS else actor
    sentence = _(SENTENCES[type_]) if type_ in SENTENCES else _("事件")
    try:
        fields = json.loads(details or "{}")
    except ValueError:
        fields = {}
    if not isinstance(fields, dict):
        fields = {}
    return {
        "sentence": sentence % {"actor": who, "subject": subject or ""},
        "fields": [(_label(k), _value(v)) for k, v in fields.items()],
    }


def type_names() -> list[tuple[str, str]]:
    """(type, a short Chinese name) for the audit log's filter, in the catalogue's order."""
    return [(t, (_(s) % {"actor": "", "subject": ""}).strip()) for t, s in SENTENCES.items()]
