"""The one catalogue of what a refused input means, in the site's language.

Every :class:`wenxing.errors.DomainError` code has its sentence here, marked with ``N_`` so
``scripts/dev i18n`` extracts it like every other message, and translated where it is shown
by :func:`user_message`; its params fill the sentence's named placeholders (a list param is
joined with "、"). ``tests/unit/test_errors.py`` fails when a code has no sentence here, so
a new error cannot reach a member as the generic fallback.
"""

from __future__ import annotations

from wenxing.errors import DomainError, joined
from wenxing.i18n import N_, _

CHINESE: dict[str, str] = {
    # reading a file as a material
    "read.not_regular_file": N_("不是普通文件"),
    "read.empty_file": N_("文件是空的"),
    "read.file_not_found": N_("文件不存在"),
    "read.permission_denied": N_("没有读取这个文件的权限"),
    "read.cannot_read": N_("无法读取文件：%(detail)s"),
    "read.too_large": N_("文件超过 %(limit)s MB 的上限"),
    "read.doc_format": N_("不支持旧版 Word .doc 格式，请另存为 .docx 后重新导入"),
    "read.unsupported_type": N_("不支持 %(suffix)s 文件"),
    "read.no_extension": N_("不支持没有扩展名的文件"),
    "read.no_text": N_("文件里没有文字"),
    "read.binary": N_("文件是二进制数据，不是文本"),
    "read.docx_encrypted": N_("Word 文件已加密或设有密码"),
    "read.docx_damaged": N_(".docx 文件已损坏（%(detail)s）"),
    "read.docx_not_zip": N_("不是有效的 .docx 文件"),
    "read.docx_invalid": N_("不是有效的 .docx 文件"),
    "read.zip_bomb": N_("文件解压后超过 %(limit)s MB 的上限"),
    "read.pdf_invalid": N_("不是有效的 PDF 文件"),
    "read.pdf_no_text_layer": N_("PDF 没有文字层（扫描件需要文字识别，目前还不支持）"),
    "read.pdf_needs_aes": N_("PDF 使用 AES 加密，服务器缺少 cryptography 组件"),
    "read.pdf_encrypted": N_("PDF 已加密（需要密码才能打开）"),
    "read.pdf_damaged": N_("PDF 文件已损坏（%(detail)s）"),
    "read.evidence": N_("无法读取证据文件（%(detail)s）"),
    # transitional: web/import_messages.py words the reasons it knows of these
    "read.uncoded": N_("无法导入（%(detail)s）"),
    # importing
    "import.no_text_left": N_("去掉刊头和推广内容后没有正文"),
    "import.title_only": N_("文件只有标题，没有正文"),
    "import.no_such_path": N_("文件或文件夹不存在"),
    "import.unsupported_type": N_("不支持 %(suffix)s 文件"),
    "import.no_extension": N_("不支持没有扩展名的文件"),
    "import.cannot_list_folder": N_("无法读取文件夹：%(detail)s"),
    "import.internal_error": N_("读取时出现内部错误（%(detail)s）"),
    "import.worker_failed": N_("读取文件的进程出错（%(detail)s）"),
    "import.database_error": N_("写入数据库时出错（%(detail)s）"),
    "import.disk_full": N_("数据库所在的磁盘已满，请腾出空间后重新导入"),
    "import.same_bytes": N_("已导入过：材料 %(id)s 第 %(version)s 版"),
    "import.same_text": N_("与材料 %(id)s 的正文相同"),
    "import.near_duplicate": N_("与材料 %(id)s《%(title)s》几乎相同（相似度 %(similarity)s）"),
    "import.unchanged": N_("与材料 %(id)s 第 %(version)s 版相比没有变化"),
    # publisher settings
    "setting.whole_number": N_("请填写整数。"),
    "setting.number": N_("请填写数字。"),
    "setting.json_list": N_('请填写 JSON 列表，例如 ["第一行", "第二行"]。'),
    "setting.not_from_text": N_("这个设置不能直接填写，请在它自己的页面上修改。"),
    "setting.list_of_strings": N_("列表里的每一项都要是用引号括起来的文字。"),
    "setting.list_type": N_("请填写 JSON 列表（用方括号括起来）。"),
    "setting.wrong_type": N_("格式不对。"),
    "setting.choice": N_("只能是 %(choices)s 之一。"),
    "setting.accusation_bound": N_("要大于 0，最大 0.001。"),
    "setting.near_duplicate_threshold": N_("要大于 0，最大 1。"),
    "setting.report_file_mb": N_("要大于 0，最大 200。"),
    "setting.at_least_one": N_("至少为 1。"),
    "setting.session_days": N_("最多 3650 天。"),
    "setting.session_lifetime_order": N_(
        "登录最长有效天数（%(lifetime)s）不能少于闲置退出天数（%(idle)s）。"
    ),
    "setting.reward_plan": N_("只能是 %(choices)s 之一。"),
    "setting.regex": N_("%(pattern)s 不是正确的正则表达式（%(detail)s）。"),
    "setting.timezone": N_("没有这个时区，请填写如 Asia/Shanghai 的时区名。"),
    "setting.group_reviews": N_("每组措辞变体只能标为 approved（批准）或 vetoed（否决）。"),
    "setting.masthead_braces": N_("第 %(n)s 行：花括号里只能是 {member_group} 或 {free_group}。"),
    "setting.plan_object": N_("第 %(n)s 个套餐要写成 JSON 对象 {…}。"),
    "setting.plan_fields": N_("第 %(n)s 个套餐缺少 %(fields)s。"),
    "setting.plan_code": N_("第 %(n)s 个套餐的 code 为空，或与别的套餐重复。"),
    "setting.plan_whole_number": N_("套餐 %(plan)s 的 %(field)s 要填整数。"),
    "setting.plan_price": N_("套餐 %(plan)s 的价格要填不小于 0 的数字（元）。"),
    "setting.plan_shop_url": N_("套餐 %(plan)s 的购买链接要以 https:// 或 http:// 开头。"),
    "setting.plan_qr": N_("套餐 %(plan)s 的收款码图片不存在，请重新上传。"),
    "setting.qr_too_large": N_("收款码图片不能超过 %(kb)s KB。"),
    "setting.qr_type": N_("收款码图片要是 PNG 或 JPEG 格式。"),
    "setting.qr_unreadable": N_("图片里没有读出二维码，请上传清晰、完整的二维码图片。"),
    "setting.qr_elsewhere": N_(
        "二维码指向 %(link)s，与购买链接 %(shop_url)s 不一致，请上传同一购买地址的二维码或改正链接。"
    ),
    "setting.plan_has_codes": N_("套餐 %(plan)s 还有 %(count)s 张未兑换的卡密，请先作废这些卡密。"),
    "setting.plan_is_reward": N_("套餐 %(plan)s 是举报奖励套餐，请先修改“举报奖励套餐”。"),
    "variants.empty_context": N_("第 %(n)s 行：有一条空的上下文规则。"),
    "variants.long_context": N_("第 %(n)s 行：上下文规则超过 32 个字。"),
    "variants.group_size": N_("第 %(n)s 行：每组要有 2 个或 4 个不为空的说法。"),
    "variants.form_lengths": N_("第 %(n)s 行：同一组的说法字数要相同。"),
    "variants.repeated_form": N_("第 %(n)s 行：同一组里有重复的说法。"),
    "variants.spaces": N_("第 %(n)s 行：说法里不能有空格。"),
    "variants.form_elsewhere": N_("第 %(n)s 行：“%(form)s”已经在第 %(other)s 行的组里了。"),
    # the console's bulk actions on materials
    "material.title": N_("标题不能为空，也不能超过 %(chars)s 字"),
    "material.kind": N_("请选择一种类型"),
    "material.tags": N_("标签最多 %(tags)s 个，每个不超过 %(chars)s 字"),
    "material.bulk_none": N_("请先勾选材料"),
    "material.bulk_too_many": N_("一次最多处理 %(limit)s 份材料"),
    "material.bulk_action": N_("不支持这个操作"),
    "material.bad_tag": N_("标签为 1 到 %(chars)s 个字，不能有逗号"),
    "material.bad_category": N_("分类不能超过 %(chars)s 个字"),
    "material.too_many_tags": N_("《%(title)s》已经有 %(tags)s 个标签了"),
    # members and accounts
    "member.bulk_none": N_("请先勾选会员"),
    "member.bulk_too_many": N_("一次最多处理 %(limit)s 位会员"),
    "member.grant_reason": N_("请填写赠送原因"),
    "member.phone_format": N_("手机号格式不正确"),
    "member.name_missing": N_("请填写称呼"),
    "member.name_too_long": N_("称呼太长了"),
    "member.phone_taken": N_("这个手机号已经注册过了"),
    "member.bad_reference": N_("没有这个会员号"),
    "member.paid_until": N_("会员到期日要写成 2027-06-30 这样的日期"),
    "member.phone_repeated": N_("手机号 %(phone)s 在第 %(line)s 行也出现了"),
    "member.suspension_reason": N_("请填写暂停原因"),
    "member.already_suspended": N_("会员当前状态不能这样操作"),
    "member.not_suspended": N_("会员当前状态不能这样操作"),
    "qq.number": N_("QQ 号是 5 到 12 位数字，不以 0 开头"),
    "qq.taken": N_("这个 QQ 号已绑定另一个账户；请先在那个账户里解除绑定"),
    "setting.qq_group": N_("%(name)s：QQ 群号是 5 到 12 位数字，不以 0 开头"),
    "setting.qq_link": N_("%(name)s：加群链接要以 https:// 开头，不能含空格"),
    "setting.qq_grace_days": N_("qq_grace_days：宽限天数是 0 到 90 的整数"),
    "account.password_short": N_("密码至少 %(min)s 位"),
    "account.identifier_missing": N_("请填写手机号或用户名"),
    "account.username_format": N_("用户名为 3–40 位字母、数字或下划线，以字母开头"),
    "account.identifier_unavailable": N_(
        "这个用户名或手机号不能用来注册，请换一个；已经有账号的，请直接登录"
    ),
    "account.unclaimed": N_(
        "这个手机号已在本站的会员名单中，账号还没有领取。请领取账号：设置密码后即可登录，"
        "原有的会员权益都在。"
    ),
    "account.phone_unverified": N_(
        "本站暂未开通短信验证，手机号暂时不能用来注册，请用用户名注册。"
    ),
    "account.no_such_device": N_("没有这台已登录的设备"),
    "account.sign_in_failed": N_("手机号、用户名或密码不正确"),
    "account.sign_in_throttled": N_("尝试次数过多，请 15 分钟后再试"),
    "recovery.too_soon": N_("验证码已发送，请 %(seconds)s 秒后再获取。"),
    "recovery.too_many_sends": N_("获取验证码次数过多，请一小时后再试。"),
    "recovery.wrong_code": N_("验证码不正确或已过期"),
    "recovery.too_many_guesses": N_("验证码错误次数过多，请重新获取验证码。"),
    "recovery.link_invalid": N_("链接无效、已使用或已过期，请联系客服重新生成。"),
    "recovery.code_needed": N_("请填写手机收到的验证码"),
    "sms.refused": N_("短信发送失败，请稍后再试。"),
    "sms.unreachable": N_("短信服务暂时无法连接，请稍后再试。"),
    "setting.json_object": N_('%(name)s 需要填写 JSON 对象，如 {"provider": "aliyun"}'),
    "setting.sms_fields": N_("短信设置缺少：%(fields)s"),
    "setting.sms_unknown": N_("短信设置中有不认识的项：%(fields)s"),
    "setting.sms_provider": N_("短信服务商只能是：%(choices)s"),
    "setting.sms_endpoint": N_("短信接口地址只能是服务商的地址或本机地址：%(endpoint)s"),
    # activation codes
    "code.length": N_("卡密格式不正确，请按 xxxx-xxxx-xxxx-xxxx-x 输入"),
    "code.character": N_("卡密格式不正确，请按 xxxx-xxxx-xxxx-xxxx-x 输入"),
    "code.not_canonical": N_("卡密格式不正确，请按 xxxx-xxxx-xxxx-xxxx-x 输入"),
    "code.typo": N_("卡密有误：请检查是否输错了某个字符"),
    "code.not_found": N_("没有这个卡密"),
    "code.redeemed": N_("这个卡密已经被使用过了"),
    "code.revoked": N_("这个卡密已作废"),
    "code.expired": N_("这个卡密已过期"),
    "code.too_many_attempts": N_("尝试次数过多，请一小时后再试"),
    "code.plan_gone": N_("这个卡密对应的套餐已经停用，请联系出版方"),
    "code.not_revocable": N_("只有未使用的卡密可以作废"),
    "code.batch_count": N_("数量为 %(low)s 到 %(high)s"),
    "code.batch_label": N_("请填写批次名称"),
    "code.batch_exists": N_("这个批次名称已经用过了"),
    "code.no_batch": N_("没有这个批次"),
    "code.expiry_past": N_("截止日期要在今天以后"),
    "reading.position": N_("阅读位置格式不正确"),
    # the basket and drafts
    "compose.no_such_piece": N_("找不到这一段：材料可能已经更新，请刷新页面后再加入。"),
    "compose.no_such_basket_piece": N_("素材篮里没有这一段。"),
    "compose.no_such_draft": N_("找不到这份草稿。"),
    "compose.no_such_part": N_("草稿里没有这一部分。"),
    "compose.unpublished": N_("《%(title)s》尚未发布或已下架，不能用于组稿。"),
    "compose.preview_free": N_("《%(title)s》仅对会员开放，开通会员后才能加入素材篮和组稿。"),
    "compose.outside_window": N_(
        "《%(title)s》不在您当前会员权益的时间范围内，续费或升级套餐后才能用于组稿。"
    ),
    "compose.suspended": N_("您的账号已被暂停，暂时不能组稿。如有疑问请联系管理员。"),
    "compose.inactive": N_("您的账号已停用，暂时不能组稿。"),
    "compose.refused": N_("您暂时不能使用《%(title)s》组稿。"),
    "compose.basket_full": N_("素材篮最多放 %(limit)s 段，请先组成草稿或移除一些。"),
    "compose.draft_full": N_("一份草稿最多 %(limit)s 个部分。"),
    "compose.too_many_drafts": N_("最多保存 %(limit)s 份草稿，请先删除一些。"),
    "compose.empty_basket": N_("素材篮是空的：在阅读页标题旁点“加入素材篮”。"),
    "compose.empty_draft": N_("草稿里还没有素材段落，不能导出。"),
    "compose.title": N_("草稿标题需要 1 到 %(limit)s 个字。"),
    "compose.heading": N_("标题需要 1 到 %(limit)s 个字。"),
    "compose.level": N_("标题层级只能是 一、（一）1.（1） 四级之一。"),
    "compose.move": N_("请选择上移、下移或要移到的位置。"),
    "compose.text": N_("自己写的段落需要 1 到 %(limit)s 个字。"),
    "compose.format": N_("草稿只能导出为 %(choices)s。"),
}

# Shown only for an error that is not a DomainError (a bug, or a library's own exception).
FALLBACK = N_("这个值不能用：%(detail)s")


def user_message(error: Exception) -> str:
    """``error`` in the site's language: its code's sentence filled with its params."""
    if not isinstance(error, DomainError):
        return _(FALLBACK) % {"detail": str(error)}
    message = _(CHINESE[error.code])
    params = joined(error.params, "、")
    return message % params if "%(" in message else message
