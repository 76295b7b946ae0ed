"""The console's words for the importer's reasons.

The importer (``materials.importer``, ``materials.pipeline``, ``materials.readers``) explains
a skipped or failed file in one line of English, which the CLI prints as it is. The console
shows editors the same reasons in the site's language: each known English form is matched
here and replaced by a catalogue message, its details (a material number, a limit, a
parser's note) carried over as named placeholders. A reason no pattern knows is still shown,
inside a general message, so nothing is lost when the importer learns a new one.
"""

from __future__ import annotations

import re
from typing import Any

from wenxing.i18n import N_, _

# (English reason as the importer writes it, message with the pattern's named groups)
_REASONS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), message)
    for pattern, message in (
        (r"already imported as material (?P<id>\d+) version (?P<version>\d+)",
         N_("已导入过：材料 %(id)s 第 %(version)s 版")),
        (r"same text as material (?P<id>\d+)", N_("与材料 %(id)s 的正文相同")),
        (r"near-duplicate of material (?P<id>\d+) 《(?P<title>.*)》 \(similarity (?P<similarity>[\d.]+)\)",
         N_("与材料 %(id)s《%(title)s》几乎相同（相似度 %(similarity)s）")),
        (r"unchanged since material (?P<id>\d+) version (?P<version>\d+)",
         N_("与材料 %(id)s 第 %(version)s 版相比没有变化")),
        (r"cannot list folder: (?P<detail>.*)", N_("无法读取文件夹：%(detail)s")),
        (r"unsupported file type \((?:none|no extension)\)", N_("不支持没有扩展名的文件")),
        (r"unsupported file type (?P<suffix>\S+)", N_("不支持 %(suffix)s 文件")),
        (r"no such file or folder", N_("文件或文件夹不存在")),
        (r"internal error while reading: (?P<detail>.*)", N_("读取时出现内部错误（%(detail)s）")),
        (r"worker failed: (?P<detail>.*)", N_("读取文件的进程出错（%(detail)s）")),
        (r"database error: (?P<detail>.*)", N_("写入数据库时出错（%(detail)s）")),
        (r"cannot read file: (?P<detail>.*)", N_("无法读取文件：%(detail)s")),
        (r"no material text left after removing masthead and promotion",
         N_("去掉刊头和推广内容后没有正文")),
        (r"file holds a title but no text", N_("文件只有标题，没有正文")),
        (r"not a regular file", N_("不是普通文件")),
        (r"empty file", N_("文件是空的")),
        (r"file is larger than the (?P<limit>[\d.]+) MB limit", N_("文件超过 %(limit)s MB 的上限")),
        (r"file not found", N_("文件不存在")),
        (r"permission denied", N_("没有读取这个文件的权限")),
        (r"old Word \.doc format is not supported",
         N_("不支持旧版 Word .doc 格式，请另存为 .docx 后重新导入")),
        (r"file has no text", N_("文件里没有文字")),
        (r"not an old Word (?P<suffix>\S+) file", N_("不是有效的旧版 Word %(suffix)s 文件")),
        (r"reading \.doc needs LibreOffice", N_("读取 .doc 需要 LibreOffice，服务器上没有安装")),
        (r"LibreOffice could not", N_("LibreOffice 无法读取这个文档（已损坏或格式不支持）")),
        (r"converting the document took longer", N_("超时：转换文档用时超过上限")),
        (r"damaged (?P<fmt>\S+) file \((?P<detail>.*)\)", N_("%(fmt)s 文件已损坏（%(detail)s）")),
        (r"not a valid (?P<fmt>\S+) file", N_("不是有效的 %(fmt)s 文件")),
        (r"not an RTF file", N_("不是有效的 RTF 文件")),
        (r"RTF nests groups more than (?P<n>\d+) levels", N_("太大：RTF 嵌套超过 %(n)s 层")),
        (r"binary data, not text", N_("文件是二进制数据，不是文本")),
        (r"encrypted or password-protected Word file", N_("Word 文件已加密或设有密码")),
        (r"damaged \.docx file: (?P<detail>.*)", N_(".docx 文件已损坏（%(detail)s）")),
        (r"not a valid \.docx file", N_("不是有效的 .docx 文件")),
        (r"archive expands beyond the (?P<limit>[\d.]+) MB limit",
         N_("文件解压后超过 %(limit)s MB 的上限")),
        (r"not a valid PDF file", N_("不是有效的 PDF 文件")),
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
        (r"PDF has no text layer", N_("PDF 没有文字层（扫描件需要文字识别，目前还不支持）")),
        (r"encrypted PDF needs AES", N_("PDF 使用 AES 加密，服务器缺少 cryptography 组件")),
        (r"encrypted PDF", N_("PDF 已加密（需要密码才能打开）")),
        (r"damaged PDF file: (?P<detail>.*)", N_("PDF 文件已损坏（%(detail)s）")),
    )
)  # fmt: skip


def import_message(reason: str) -> str:
    """``reason`` (the importer's English) in the site's language."""
    for pattern, message in _REASONS:
        found = pattern.match(reason)
        if found:
            return _(message) % found.groupdict()
    return _("无法导入（%(detail)s）") % {"detail": reason}


def translated_report(report: dict[str, list[dict[str, Any]]]) -> dict[str, list[dict[str, Any]]]:
    """An import report (``ImportReport.as_dict()``) with its reasons and errors translated."""
    return {
        "imported": report["imported"],
        "skipped": [{**s, "reason": import_message(s["reason"])} for s in report["skipped"]],
        "failed": [{**f, "error": import_message(f["error"])} for f in report["failed"]],
    }
