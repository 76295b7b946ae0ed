"""The one error model (wenxing/errors.py, web/error_messages.py).

Every code has an English sentence (logs, the CLI) and a Chinese one (the site); every code
raised in the source exists; each sentence can be filled with the params its code is raised
with; and a member reads, for each error, the sentence the site showed before codes existed
(the English-matching tables the codes replaced are kept below as the record of it).
"""

from __future__ import annotations

import ast
import pickle
import re
import string
from pathlib import Path

import pytest

from wenxing.errors import ENGLISH, DomainError
from wenxing.web.error_messages import CHINESE, FALLBACK, user_message

SOURCE = Path(__file__).resolve().parents[2] / "src" / "wenxing"
CODE = re.compile(r"^[a-z_]+\.[a-z_]+$")


def _english_fields(code: str) -> set[str]:
    return {
        field for _text, field, _spec, _conv in string.Formatter().parse(ENGLISH[code]) if field
    }


def _chinese_fields(code: str) -> set[str]:
    return set(re.findall(r"%\((\w+)\)s", CHINESE[code]))


def _sample(code: str) -> DomainError:
    return DomainError(code, **{field: f"<{field}>" for field in _english_fields(code)})


def test_every_code_has_its_chinese_sentence_and_none_is_the_fallback():
    assert set(ENGLISH) == set(CHINESE), (
        f"codes without a Chinese sentence: {sorted(set(ENGLISH) - set(CHINESE))}; "
        f"sentences without a code: {sorted(set(CHINESE) - set(ENGLISH))}"
    )
    assert len(ENGLISH) >= 90
    for code in ENGLISH:
        assert CODE.match(code), code
        chinese = user_message(_sample(code))
        assert re.search(r"[\u4e00-\u9fff]", chinese), (code, chinese)
        # neither today's general sentence nor the general ones the English tables fell
        # back to when a reworded message no longer matched
        if code == "read.uncoded":  # transitional, see web/import_messages.py
            continue
        for general in (FALLBACK.split("%")[0], "无法导入（", "注册信息有误", "卡密无法兑换"):
            assert general not in chinese, (code, chinese)


@pytest.mark.parametrize("code", sorted(ENGLISH))
def test_each_sentence_takes_only_the_params_its_code_is_raised_with(code):
    assert _chinese_fields(code) <= _english_fields(code), code
    error = _sample(code)
    english = str(error)
    assert "\n" not in english and not re.search(r"[\u4e00-\u9fff]", ENGLISH[code]), english
    chinese = user_message(error)
    assert "%(" not in chinese
    for field in _chinese_fields(code):
        assert f"<{field}>" in chinese


def _raised_codes() -> dict[str, list[str]]:
    """Every string literal shaped like a code of a known kind (``read.``, ``setting.``, …)
    passed as an argument of a call (in any position: helpers take the code after values) in src/wenxing outside web/ and cli/: the codes raised,
    and where."""
    kinds = {code.split(".")[0] for code in ENGLISH}
    found: dict[str, list[str]] = {}
    for path in sorted(SOURCE.rglob("*.py")):
        if {"web", "cli"} & set(path.relative_to(SOURCE).parts[:-1]):
            continue  # they show errors; the domains raise them
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            for argument in [*node.args, *(k.value for k in node.keywords)]:
                if (
                    isinstance(argument, ast.Constant)
                    and isinstance(argument.value, str)
                    and CODE.match(argument.value)
                    and argument.value.split(".")[0] in kinds
                ):
                    where = f"{path.relative_to(SOURCE)}:{node.lineno}"
                    found.setdefault(argument.value, []).append(where)
    return found


def test_every_code_raised_in_the_source_is_in_the_catalogue():
    raised = _raised_codes()
    assert len(raised) >= 80, sorted(raised)
    unknown = {code: where for code, where in raised.items() if code not in ENGLISH}
    assert not unknown, f"raised but not declared in wenxing/errors.py: {unknown}"
    # and nothing is declared that nothing raises (a code left behind by a reworded rule)
    # CodeTypo's default; ReadError's transitional code for a reason given as English
    unused = sorted(set(ENGLISH) - set(raised) - {"code.typo", "read.uncoded"})
    assert not unused, f"declared but never raised: {unused}"


def test_no_web_module_reads_an_errors_english():
    """The site does not match English exception text in the modules the tables lived in
    (import_messages.py keeps a transitional table for the reasons without codes yet)."""
    for name in ("settings_page.py", "account.py", "error_messages.py"):
        text = (SOURCE / "web" / name).read_text("utf-8")
        assert "import re\n" not in text, name


def test_an_unknown_code_is_refused_at_once():
    with pytest.raises(KeyError, match=r"add it to wenxing\.errors\.ENGLISH"):
        DomainError("read.no_such_code")


def test_errors_cross_process_boundaries_with_their_code_and_params():
    from wenxing.materials.readers import ReadError
    from wenxing.members.codes import CodeTypo
    from wenxing.reports.evidence import EvidenceError

    for error in (
        ReadError("read.too_large", limit="20.0"),
        CodeTypo(),
        EvidenceError("empty file", "empty"),
    ):
        back = pickle.loads(pickle.dumps(error))
        assert type(back) is type(error)
        assert (back.code, back.params, str(back)) == (error.code, error.params, str(error))
        assert back.__dict__ == error.__dict__


def test_a_list_param_is_joined_per_language():
    error = DomainError("setting.choice", name="marking_strength", choices=["off", "light"])
    assert str(error) == "setting marking_strength must be one of off, light"
    assert user_message(error) == "只能是 off、light 之一。"


def test_something_that_is_no_domain_error_is_still_shown_in_chinese():
    assert user_message(ValueError("odd")) == "这个值不能用：odd"


# --- the site says what it said before ----------------------------------------------------
# The English-matching tables that translated errors before they had codes (from
# web/import_messages.py, web/settings_page.py and web/account.py as they were), applied to
# the English of each code: the catalogue must give the very same Chinese.

_BEFORE_IMPORT = (
    (r"already imported as material (?P<id>\d+) version (?P<version>\d+)", "已导入过：材料 %(id)s 第 %(version)s 版"),
    (r"same text as material (?P<id>\d+)", "与材料 %(id)s 的正文相同"),
    (r"near-duplicate of material (?P<id>\d+) 《(?P<title>.*)》 \(similarity (?P<similarity>[\d.]+)\)", "与材料 %(id)s《%(title)s》几乎相同（相似度 %(similarity)s）"),
    (r"unchanged since material (?P<id>\d+) version (?P<version>\d+)", "与材料 %(id)s 第 %(version)s 版相比没有变化"),
    (r"cannot list folder: (?P<detail>.*)", "无法读取文件夹：%(detail)s"),
    (r"unsupported file type \((?:none|no extension)\)", "不支持没有扩展名的文件"),
    (r"unsupported file type (?P<suffix>\S+)", "不支持 %(suffix)s 文件"),
    (r"no such file or folder", "文件或文件夹不存在"),
    (r"internal error while reading: (?P<detail>.*)", "读取时出现内部错误（%(detail)s）"),
    (r"worker failed: (?P<detail>.*)", "读取文件的进程出错（%(detail)s）"),
    (r"database error: (?P<detail>.*)", "写入数据库时出错（%(detail)s）"),
    (r"cannot read file: (?P<detail>.*)", "无法读取文件：%(detail)s"),
    (r"no material text left after removing masthead and promotion", "去掉刊头和推广内容后没有正文"),
    (r"file holds a title but no text", "文件只有标题，没有正文"),
    (r"not a regular file", "不是普通文件"),
    (r"empty file", "文件是空的"),
    (r"file is larger than the (?P<limit>[\d.]+) MB limit", "文件超过 %(limit)s MB 的上限"),
    (r"file not found", "文件不存在"),
    (r"permission denied", "没有读取这个文件的权限"),
    (r"old Word \.doc format is not supported", "不支持旧版 Word .doc 格式，请另存为 .docx 后重新导入"),
    (r"file has no text", "文件里没有文字"),
    (r"binary data, not text", "文件是二进制数据，不是文本"),
    (r"encrypted or password-protected Word file", "Word 文件已加密或设有密码"),
    (r"damaged \.docx file: (?P<detail>.*)", ".docx 文件已损坏（%(detail)s）"),
    (r"not a valid \.docx file", "不是有效的 .docx 文件"),
    (r"archive expands beyond the (?P<limit>[\d.]+) MB limit", "文件解压后超过 %(limit)s MB 的上限"),
    (r"not a valid PDF file", "不是有效的 PDF 文件"),
    (r"PDF has no text layer", "PDF 没有文字层（扫描件需要文字识别，目前还不支持）"),
    (r"encrypted PDF needs AES", "PDF 使用 AES 加密，服务器缺少 cryptography 组件"),
    (r"encrypted PDF", "PDF 已加密（需要密码才能打开）"),
    (r"damaged PDF file: (?P<detail>.*)", "PDF 文件已损坏（%(detail)s）"),
)  # fmt: skip
_BEFORE_SETTINGS = (
    (r"expects a whole number", "请填写整数。"),
    (r"expects a number", "请填写数字。"),
    (r"expects a JSON list", '请填写 JSON 列表，例如 ["第一行", "第二行"]。'),
    (r"expects a list of strings", "列表里的每一项都要是用引号括起来的文字。"),
    (r"expects list", "请填写 JSON 列表（用方括号括起来）。"),
    (r"expects (str|int|float)", "格式不对。"),
    (r"must be one of (?P<choices>.+)$", "只能是 %(choices)s 之一。"),
    (r"accusation_bound must be", "要大于 0，最大 0.001。"),
    (r"near_duplicate_threshold must be", "要大于 0，最大 1。"),
    (r"must be at least 1", "至少为 1。"),
    (r"masthead line (?P<n>\d+)", "第 %(n)s 行：花括号里只能是 {member_group} 或 {free_group}。"),
    (r"(?P<pattern>'.*') is not a regular expression: (?P<detail>.+)$", "%(pattern)s 不是正确的正则表达式（%(detail)s）。"),
    (r"unknown time zone", "没有这个时区，请填写如 Asia/Shanghai 的时区名。"),
    (r"plan (?P<n>\d+) must be an object", "第 %(n)s 个套餐要写成 JSON 对象 {…}。"),
    (r"plan (?P<n>\d+) lacks (?P<fields>.+)$", "第 %(n)s 个套餐缺少 %(fields)s。"),
    (r"plan (?P<n>\d+) needs a unique code", "第 %(n)s 个套餐的 code 为空，或与别的套餐重复。"),
    (r"plan (?P<plan>.+): (?P<field>\w+) must be a whole number", "套餐 %(plan)s 的 %(field)s 要填整数。"),
    (r"plan (?P<plan>\S+) is still granted by (?P<count>\d+) unredeemed", "套餐 %(plan)s 还有 %(count)s 张未兑换的卡密，请先作废这些卡密。"),
    (r"plan (?P<plan>\S+) is the reward for resale reports", "套餐 %(plan)s 是举报奖励套餐，请先修改“举报奖励套餐”。"),
    (r"report_reward_plan: no plan .*; the plans are (?P<choices>.+)$", "只能是 %(choices)s 之一。"),
    (r"report_file_mb must be", "要大于 0，最大 200。"),
    (r"^line (?P<n>\d+): an empty context rule", "第 %(n)s 行：有一条空的上下文规则。"),
    (r"^line (?P<n>\d+): a context rule is longer", "第 %(n)s 行：上下文规则超过 32 个字。"),
    (r"^line (?P<n>\d+): a group needs 2 or 4", "第 %(n)s 行：每组要有 2 个或 4 个不为空的说法。"),
    (r"^line (?P<n>\d+): forms of a group must", "第 %(n)s 行：同一组的说法字数要相同。"),
    (r"^line (?P<n>\d+): a form is repeated", "第 %(n)s 行：同一组里有重复的说法。"),
    (r"^line (?P<n>\d+): forms cannot contain spaces", "第 %(n)s 行：说法里不能有空格。"),
    (r"^line (?P<n>\d+): (?P<form>\S+) is already in the group on line (?P<other>\d+)", "第 %(n)s 行：“%(form)s”已经在第 %(other)s 行的组里了。"),
)  # fmt: skip
_BEFORE_SIGN_UP = (
    (r"phone number or a username", "请填写手机号或用户名"),
    (r"username is 3", "用户名为 3–40 位字母、数字或下划线，以字母开头"),
    (
        r"cannot be used to sign up",
        "这个用户名或手机号不能用来注册，请换一个；已经有账号的，请直接登录",
    ),
    (r"password needs at least", "密码至少 %(min)s 位"),
    (r"not a mainland mobile number", "手机号格式不正确"),
    (r"already belongs to a member", "这个手机号已经注册过了"),
    (r"needs a name", "请填写称呼"),
    (r"name is longer", "称呼太长了"),
)

# Each table and the errors it translated, raised with params like the real ones.
_SETTINGS_ERRORS = [
    DomainError("setting.whole_number", name="max_sessions", raw="x"),
    DomainError("setting.number", name="accusation_bound", raw="x"),
    DomainError("setting.json_list", name="masthead"),
    DomainError("setting.list_of_strings", name="masthead"),
    DomainError("setting.list_type", name="plans", got="dict"),
    DomainError("setting.wrong_type", name="brand", expected="str", got="int"),
    DomainError("setting.choice", name="marking_strength", choices=["off", "light", "strong"]),
    DomainError("setting.accusation_bound"),
    DomainError("setting.near_duplicate_threshold"),
    DomainError("setting.at_least_one", name="max_sessions"),
    DomainError("setting.masthead_braces", n=2),
    DomainError("setting.regex", name="extra_promo_patterns", pattern=repr("(a"), detail="x"),
    DomainError("setting.timezone", zone="Mars/Base"),
    DomainError("setting.plan_object", n=1),
    DomainError("setting.plan_fields", n=2, fields="code, months"),
    DomainError("setting.plan_code", n=3),
    DomainError("setting.plan_whole_number", plan="year", field="months"),
    DomainError("setting.plan_has_codes", plan="year", count=4),
    DomainError("setting.plan_is_reward", plan="month"),
    DomainError("setting.reward_plan", plan="gold", choices=["month", "year"]),
    DomainError("setting.report_file_mb"),
    DomainError("variants.empty_context", n=4),
    DomainError("variants.long_context", n=4),
    DomainError("variants.group_size", n=4),
    DomainError("variants.form_lengths", n=4),
    DomainError("variants.repeated_form", n=4),
    DomainError("variants.spaces", n=4),
    DomainError("variants.form_elsewhere", n=9, form="召开", other=3),
]
_SIGN_UP_ERRORS = [
    DomainError("account.identifier_missing"),
    DomainError("account.username_format"),
    DomainError("account.identifier_unavailable"),
    DomainError("account.password_short", min=8),
    DomainError("member.phone_format", phone="12345"),
    DomainError("member.phone_taken", phone="13800138000"),
    DomainError("member.name_missing"),
    DomainError("member.name_too_long"),
]


def _before(table, text: str, *, search: bool, choices: bool = False, min_: int = 0) -> str:
    for pattern, message in table:
        found = re.search(pattern, text) if search else re.match(pattern, text)
        if found:
            values = found.groupdict()
            if choices and "choices" in values:
                values["choices"] = "、".join(values["choices"].split(", "))
            if "%(min)s" in message:
                values["min"] = min_
            return message % values if values else message
    raise AssertionError(f"the old tables did not know {text!r}")


def _import_errors() -> list[DomainError]:
    examples = {
        "limit": "20.0",
        "detail": "OSError",
        "suffix": ".rtf",
        "id": 12,
        "version": 3,
        "title": "关于做好年终工作的通知",
        "similarity": "0.93",
    }
    codes = [c for c in ENGLISH if c.split(".")[0] in ("read", "import")]
    codes = [c for c in codes if c not in ("read.evidence", "read.uncoded", "import.disk_full")]
    return [DomainError(c, **{f: examples[f] for f in _english_fields(c)}) for c in codes]


@pytest.mark.parametrize("error", _import_errors(), ids=lambda e: e.code)
def test_an_import_reason_reads_as_before(error):
    assert user_message(error) == _before(_BEFORE_IMPORT, str(error), search=False)


@pytest.mark.parametrize("error", _SETTINGS_ERRORS, ids=lambda e: e.code)
def test_a_refused_setting_reads_as_before(error):
    assert user_message(error) == _before(_BEFORE_SETTINGS, str(error), search=True, choices=True)


@pytest.mark.parametrize("error", _SIGN_UP_ERRORS, ids=lambda e: e.code)
def test_a_refused_sign_up_reads_as_before(error):
    assert user_message(error) == _before(_BEFORE_SIGN_UP, str(error), search=True, min_=8)


def test_the_comparisons_cover_every_code_the_old_tables_knew():
    compared = {e.code for e in _import_errors() + _SETTINGS_ERRORS + _SIGN_UP_ERRORS}
    assert len(compared) >= 70


def test_a_reason_without_a_code_yet_is_still_worded_for_the_console():
    from wenxing.materials.readers import ReadError
    from wenxing.web.import_messages import import_message

    uncoded = ReadError("not an RTF file")
    assert (uncoded.code, str(uncoded)) == ("read.uncoded", "not an RTF file")
    assert import_message(uncoded) == "不是有效的 RTF 文件"
    assert import_message(ReadError("something new")) == "无法导入（something new）"
    assert import_message(ReadError("read.empty_file")) == "文件是空的"
