"""Every string a user sees goes through the one translation catalogue.

These tests fail when the rule is broken: the committed .pot is stale (run
``scripts/dev i18n``), a template prints Chinese outside ``_()``/``{% trans %}``, a web
module has a Chinese literal outside ``_``/``N_``/``ngettext``, or switching the
catalogue leaves the site in Chinese.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_keywords, parse_mapping_cfg
from babel.messages.pofile import read_po, write_po
from fastapi.testclient import TestClient
from jinja2 import nodes

from tests.helpers import REPO, import_sample
from wenxing import i18n
from wenxing.config import Settings
from wenxing.web.app import _template_environment, create_app

SOURCE = REPO / "src" / "wenxing"
TEMPLATES = SOURCE / "web" / "templates"
WEB = SOURCE / "web"
HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")

# Calls whose leading string arguments are messages (how many: one, or singular and plural),
# in Python and in Jinja2 (the i18n extension turns {% trans %} into gettext/ngettext calls).
PY_MARKERS = {"_": 1, "N_": 1, "ngettext": 2}
JINJA_MARKERS = {"_": 1, "gettext": 1, "ngettext": 2}

# Chinese literals in src/wenxing/web/*.py that are not messages, each with its reason.
EXEMPT = {
    ("app.py", "文行 wenxing"): "the product's name, in the OpenAPI description for developers",
    ("console_plans.py", "元"): "a unit an admin may type after a plan's price, stripped",
}


# --- (a) the committed template is up to date ---------------------------------------------


def _dev_keywords() -> dict:
    """Babel's default keywords and the -k options `scripts/dev i18n` gives pybabel extract
    (as pybabel does without --no-default-keywords)."""
    script = (REPO / "scripts" / "dev").read_text("utf-8")
    line = next(line for line in script.splitlines() if "pybabel" in line and "extract" in line)
    specs = re.findall(r"-k\s+(\S+)", line)
    assert specs, "scripts/dev i18n passes no -k keywords to pybabel extract"
    return {**DEFAULT_KEYWORDS, **parse_keywords(specs)}


def _extracted() -> set:
    with (REPO / "babel.cfg").open(encoding="utf-8") as cfg:
        method_map, options_map = parse_mapping_cfg(cfg, "babel.cfg")
    found = {
        message
        for _filename, _line, message, _comments, _context in extract_from_dir(
            str(SOURCE), method_map, options_map, keywords=_dev_keywords()
        )
    }
    return {m for m in found if m}


def _catalogue_ids(path: Path, **kwargs) -> set:
    with path.open("rb") as f:
        catalog = read_po(f, **kwargs)
    return {m.id for m in catalog if m.id}


def test_extraction_finds_the_messages():
    messages = _extracted()
    assert len(messages) > 150  # a config that matches no file would extract nothing
    assert "登录" in messages  # templates
    assert "手机号、用户名或密码不正确" in messages  # web/*.py
    assert "请输入要搜索的内容" in messages  # domain messages (search/query.py)
    assert ("%(num)s 字", "%(num)s 字") in messages  # plurals


def test_committed_template_is_up_to_date():
    extracted = _extracted()
    committed = _catalogue_ids(i18n.LOCALE_DIR / f"{i18n.DOMAIN}.pot")
    missing, stale = extracted - committed, committed - extracted
    assert not missing and not stale, (
        f"src/wenxing/locale/wenxing.pot is stale (run `scripts/dev i18n`): "
        f"missing {sorted(map(str, missing))[:10]}, no longer used {sorted(map(str, stale))[:10]}"
    )


@pytest.mark.parametrize("locale", i18n.available_locales())
def test_every_catalogue_has_every_message(locale):
    committed = _catalogue_ids(i18n.LOCALE_DIR / f"{i18n.DOMAIN}.pot")
    po = i18n.LOCALE_DIR / locale / "LC_MESSAGES" / f"{i18n.DOMAIN}.po"
    assert po.is_file()
    assert _catalogue_ids(po, locale=locale) == committed, f"run `scripts/dev i18n` ({po})"


# --- (b) templates print no Chinese outside the catalogue --------------------------------


def han_outside_messages(source: str) -> list[tuple[int, str]]:
    """(line, text) of every piece of Chinese a template prints that is not a message."""
    tree = _template_environment().parse(source)
    messages = set()
    for call in tree.find_all(nodes.Call):
        if isinstance(call.node, nodes.Name) and call.node.name in JINJA_MARKERS:
            count = JINJA_MARKERS[call.node.name]
            messages.update(id(a) for a in call.args[:count] if isinstance(a, nodes.Const))
    found = []
    for node in tree.find_all((nodes.TemplateData, nodes.Const)):
        text = node.data if isinstance(node, nodes.TemplateData) else node.value
        if isinstance(text, str) and HAN.search(text) and id(node) not in messages:
            found.append((node.lineno, text.strip()))
    return found


@pytest.mark.parametrize(
    ("source", "bad"),
    [
        ("<p>登录</p>", True),
        ('{{ _("登录") }}', False),
        ("{% trans %}登录{% endtrans %}", False),
        ("{% trans n=3 %}共 {{ n }} 份{% endtrans %}", False),
        ('{{ ngettext("%(num)s 字", "%(num)s 字", 3) }}', False),
        ("{# 中文注释 #}<p>{{ x }}</p>", False),
        ('{{ x or "未知" }}', True),
        ('{{ _("共 %(n)s 份", n="三") }}', True),
        ('{{ _("%(n)s", "三") }}', True),
        ('<input placeholder="搜索">', True),
        ('{% if x %}{{ _("是") }}{% else %}否{% endif %}', True),
        ("<p>{{ _('x') }}</p>", False),
    ],
)
def test_the_template_check_tells_marked_from_bare(source, bad):
    assert bool(han_outside_messages(source)) is bad


def _templates() -> list[Path]:
    return sorted(TEMPLATES.rglob("*.html"))


def test_there_are_templates_to_check():
    assert len(_templates()) >= 19 and (TEMPLATES / "console" / "layout.html") in _templates()


@pytest.mark.parametrize("path", _templates(), ids=lambda p: str(p.relative_to(TEMPLATES)))
def test_templates_mark_every_chinese_string(path):
    found = han_outside_messages(path.read_text("utf-8"))
    assert not found, f"{path.relative_to(REPO)}: Chinese outside _() or {{% trans %}}: {found}"


# --- (c) web modules mark every Chinese literal --------------------------------------------


def han_literals_outside_messages(source: str, name: str) -> list[tuple[int, str]]:
    """(line, text) of Chinese string literals that are neither messages nor docstrings."""
    tree = ast.parse(source)
    allowed: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            first = node.body[0] if node.body else None
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                allowed.add(id(first.value))  # a docstring
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in PY_MARKERS
        ):
            count = PY_MARKERS[node.func.id]
            allowed.update(id(a) for a in node.args[:count] if isinstance(a, ast.Constant))
    return [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and HAN.search(node.value)
        and id(node) not in allowed
        and (name, node.value) not in EXEMPT
    ]


@pytest.mark.parametrize(
    ("source", "bad"),
    [
        ('x = _("登录")', False),
        ('X = {"a": N_("会员")}', False),
        ('x = ngettext("%(num)s 字", "%(num)s 字", n)', False),
        ('def f():\n    """中文说明。"""\n    return 1', False),
        ('x = "登录"', True),
        ('x = f"第 {n} 版"', True),
        ('x = _("第 %(n)s 版", "多余")', True),  # only the message itself is marked
        ('raise PageError(404, "没有这份材料")', True),
        ('x = _(f"第 {n} 版")', True),  # an f-string cannot be a message
        ('x = _("the English") + "中文"', True),
    ],
)
def test_the_module_check_tells_marked_from_bare(source, bad):
    assert bool(han_literals_outside_messages(source, "example.py")) is bad


def _web_modules() -> list[Path]:
    return sorted(WEB.glob("*.py"))


@pytest.mark.parametrize("path", _web_modules(), ids=lambda p: p.name)
def test_web_modules_mark_every_chinese_literal(path):
    found = han_literals_outside_messages(path.read_text("utf-8"), path.name)
    assert not found, f"{path.relative_to(REPO)}: Chinese literals outside _/N_/ngettext: {found}"


def test_exemptions_are_still_needed():
    for (name, text), reason in EXEMPT.items():
        assert reason and text in (WEB / name).read_text("utf-8"), f"stale exemption {name}"


# --- the importer's reasons reach the console translated ----------------------------------
# The importer's reasons are coded DomainErrors now; tests/unit/test_errors.py requires a
# Chinese sentence for every code raised in the source, and the same Chinese as before.


# --- (d) the site follows the catalogue --------------------------------------------------

ENGLISH = {
    "登录": "Sign in",
    "注册": "Sign up",
    "资料库": "Library",
    "最新资料": "Newest materials",
    "手机号、用户名或会员号": "Phone number, username or member number",
    "密码": "Password",
    "文行": "wenxing",
    "没有这份材料": "No such material",
    "页面不存在": "Page not found",
    "登录并开通会员后即可阅读全文和下载。": "Sign in and become a member to read it all.",
    "请输入要搜索的内容": "Type something to search for",
    ("%(num)s 字", "%(num)s 字"): ("%(num)s character", "%(num)s characters"),
    "举报倒卖": "Report a resale",
    "提交举报": "Send the report",
    "请上传文件或粘贴文字作为证据": "Attach a file or paste text as evidence",
}


@pytest.fixture
def english(tmp_path_factory, monkeypatch) -> Path:
    """An `en` catalogue translating a few messages, in a folder i18n reads instead of
    src/wenxing/locale; the language and the compiled catalogues are restored after."""
    folder = tmp_path_factory.mktemp("locale")
    catalog = Catalog(locale="en", domain=i18n.DOMAIN, project="wenxing")
    for msgid, msgstr in ENGLISH.items():
        catalog.add(msgid, msgstr)
    (folder / "en" / "LC_MESSAGES").mkdir(parents=True)
    with (folder / "en" / "LC_MESSAGES" / f"{i18n.DOMAIN}.po").open("wb") as f:
        write_po(f, catalog)
    monkeypatch.setattr(i18n, "LOCALE_DIR", folder)
    monkeypatch.setattr(i18n, "_locale", i18n._locale)  # undone after the test
    i18n.translations.cache_clear()
    yield folder
    i18n.translations.cache_clear()


def _client(runtime, locale: str) -> TestClient:
    runtime.settings = Settings(**{**runtime.settings.model_dump(), "locale": locale})
    import_sample(runtime)
    return TestClient(create_app(runtime))


def test_the_site_speaks_the_catalogue_language(runtime, english):
    client = _client(runtime, "en")
    assert i18n.available_locales() == ["en", "zh_CN"]

    home = client.get("/")
    assert home.status_code == 200
    assert '<html lang="en">' in home.text
    assert "Newest materials" in home.text and "最新资料" not in home.text
    assert "Library · wenxing</title>" in home.text
    assert re.search(r"\d+ characters", home.text)  # plurals follow the language's rules
    assert ">Sign in</a>" in home.text and ">Sign up</a>" in home.text

    signin = client.get("/signin")
    assert (
        "Phone number, username or member number" in signin.text
        and ">Password</label>" in signin.text
    )
    assert "<title>Sign in · wenxing</title>" in signin.text

    # Domain messages (delivery refusals, search errors) and error pages follow too.
    material = client.get("/materials/1")
    assert "Sign in and become a member to read it all." in material.text
    assert client.get("/materials/999").text.count("No such material") == 1
    assert "Page not found" in client.get("/no/such/page").text
    refused = client.get("/api/v1/search", params={"q": " "})
    assert refused.status_code == 400
    assert refused.json() == {"error": "Type something to search for"}

    # The report page and its refusals (worded from the reports domain's codes) follow too.
    report = client.get("/report")
    assert "<title>Report a resale · wenxing</title>" in report.text
    assert ">Send the report</button>" in report.text and "提交举报" not in report.text
    client.get("/report")
    refused = client.post(
        "/report",
        data={
            "platform": "other",
            "contact": "13900139000",
            "csrf_token": client.cookies["wx_csrf"],
        },
    )
    assert refused.status_code == 400 and "Attach a file or paste text as evidence" in refused.text

    # What the catalogue does not translate yet is shown in the source language.
    assert "试读" in material.text


def test_the_source_language_is_the_default(runtime):
    client = _client(runtime, "zh_CN")
    home = client.get("/")
    assert '<html lang="zh-CN">' in home.text and "最新资料" in home.text
    assert re.search(r"\d+ 字", home.text)


def test_a_language_without_a_catalogue_fails_at_start_up(runtime):
    runtime.settings = Settings(**{**runtime.settings.model_dump(), "locale": "fr"})
    with pytest.raises(ValueError, match="no translation catalogue"):
        create_app(runtime)
