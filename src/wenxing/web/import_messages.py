"""The console's words for the importer's reasons.

The importer (``materials.importer``, ``materials.pipeline``, ``materials.readers``) gives
each skipped or failed file a :class:`wenxing.errors.DomainError` (an ``import.*`` or
``read.*`` code): the CLI prints its English, the console shows editors the sentence of its
code from the one catalogue, ``web/error_messages.py``, its details (a material number, a
limit, a parser's note) filling the sentence's placeholders.

Transitional: the reasons of the office formats, the reading sandbox and the file rules
(``materials/office.py``, ``sandbox.py``, ``materials/file_rules.py``) do not have codes
yet; they arrive as ``read.uncoded`` with their English, which the table below still words.
Give them codes (wenxing/errors.py) and this table goes.
"""

from __future__ import annotations

import re
from typing import Any

from wenxing.errors import DomainError
from wenxing.i18n import N_, _
from wenxing.materials.importer import ImportReport
from wenxing.web.error_messages import user_message

# (English reason of an uncoded ReadError, message with the pattern's named groups)
_UNCODED: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), message)
    for pattern, message in (
        (r"not an old Word (?P<suffix>\S+) file", N_("不是有效的旧版 Word %(suffix)s 文件")),
        (r"reading \.doc needs LibreOffice", N_("读取 .doc 需要 LibreOffice，服务器上没有安装")),
        (r"LibreOffice could not", N_("LibreOffice 无法读取这个文档（已损坏或格式不支持）")),
        (r"converting the document took longer", N_("超时：转换文档用时超过上限")),
        (r"damaged (?P<fmt>\S+) file \((?P<detail>.*)\)", N_("%(fmt)s 文件已损坏（%(detail)s）")),
        (r"not a valid (?P<fmt>\S+) file", N_("不是有效的 %(fmt)s 文件")),
        (r"not an RTF file", N_("不是有效的 RTF 文件")),
        (r"RTF nests groups more than (?P<n>\d+) levels", N_("太大：RTF 嵌套超过 %(n)s 层")),
        (r"reading needed more than (?P<mb>\d+) MB of memory",
         N_("太大：读取这个文件需要超过 %(mb)s MB 内存，已停止")),
        (r"reading (?:used more than \d+ s of CPU|took longer than [\d.]+ s)",
         N_("超时：读取这个文件用时超过上限，已停止")),
        (r"the reading process died", N_("无法读取：读取文件的进程意外退出")),
        (r"more than (?P<n>\d+) characters of text", N_("太大：文字超过 %(n)s 字")),
        (r"archive has (?P<n>\d+) members", N_("太大：压缩包里有 %(n)s 个文件，超过上限")),
        (r"archive member .* unpacks", N_("太大：文件解压后比压缩时大得异常（疑似压缩炸弹）")),
        (r"document has more than (?P<n>\d+) elements", N_("太大：文档元素超过 %(n)s 个")),
        (r".* nests elements more than", N_("无法读取：文档嵌套层数过多")),
        (r".* declares a DTD", N_("无法读取：文档声明了 DTD（实体展开不被接受）")),
        (r"PDF pages? (?:\d+ )?draws? more than (?P<mb>\d+) MB",
         N_("太大：PDF 页面内容超过 %(mb)s MB 的上限")),
    )
)  # fmt: skip


def import_message(reason: Exception) -> str:
    """``reason`` (the importer's DomainError) in the site's language."""
    if isinstance(reason, DomainError) and reason.code == "read.uncoded":
        text = str(reason)
        for pattern, message in _UNCODED:
            found = pattern.match(text)
            if found:
                return _(message) % found.groupdict()
    return user_message(reason)


def translated_report(report: ImportReport) -> dict[str, list[dict[str, Any]]]:
    """An import report with its reasons and errors in the site's language."""
    return {
        "imported": report.imported,
        "skipped": [{**s, "reason": import_message(s["reason"])} for s in report.skipped],
        "failed": [{**f, "error": import_message(f["error"])} for f in report.failed],
    }
