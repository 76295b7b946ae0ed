"""Readers: every supported format and encoding, and every way a file is refused."""

from __future__ import annotations

import io
import os
import random
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import pypdf
import pytest
from docx import Document
from docx.enum.text import WD_BREAK
from docx.oxml import parse_xml
from docx.oxml.ns import nsdecls, qn
from fpdf import FPDF
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.materials import ENCODED_TWINS, corpus_params, corpus_root
from wenxing.materials.readers import (
    SUPPORTED_SUFFIXES,
    ReadError,
    SourceText,
    decode_text,
    read_bytes,
    read_source,
)

MB = 1024 * 1024
LIMITS = {"max_bytes": 20 * MB, "max_unpacked_bytes": 200 * MB}
SRC = Path(__file__).resolve().parents[2] / "src"

SPEECH = (
    "在全区重点工作推进会上的讲话\n"
    "同志们：\n"
    "今天我们召开全区重点工作推进会，主要任务是总结前一阶段工作，安排部署下一阶段重点任务。\n"
    "一、统一思想，提高认识\n"
    "2024年全区GDP增长5.2%，一是项目建设提速，二是民生保障有力。\n"
    "谢谢大家！"
)


def read(data: bytes, suffix: str, max_unpacked_bytes: int = 200 * MB) -> SourceText:
    return read_bytes(data, suffix, max_unpacked_bytes=max_unpacked_bytes)


def reason(data: bytes, suffix: str, max_unpacked_bytes: int = 200 * MB) -> str:
    with pytest.raises(ReadError) as caught:
        read(data, suffix, max_unpacked_bytes)
    return str(caught.value)


# --- plain text ------------------------------------------------------------------------


CJK_ONLY = "统一思想提高认识进一步抓好落实"  # UTF-16 without a single zero byte


@pytest.mark.parametrize(
    ("text", "encoded", "encoding"),
    [
        (SPEECH, SPEECH.encode("utf-8"), "utf-8"),
        (SPEECH, SPEECH.encode("utf-8-sig"), "utf-8-sig"),
        (SPEECH, SPEECH.encode("gbk"), "gb18030"),
        (SPEECH, SPEECH.encode("gb18030"), "gb18030"),
        (SPEECH, b"\xff\xfe" + SPEECH.encode("utf-16-le"), "utf-16-le"),
        (SPEECH, b"\xfe\xff" + SPEECH.encode("utf-16-be"), "utf-16-be"),
        (SPEECH, SPEECH.encode("utf-16-le"), "utf-16-le"),
        (SPEECH, SPEECH.encode("utf-16-be"), "utf-16-be"),
        (CJK_ONLY, CJK_ONLY.encode("utf-16-le"), "utf-16-le"),
        (CJK_ONLY, CJK_ONLY.encode("utf-16-be"), "utf-16-be"),
    ],
    ids=["utf8", "utf8-bom", "gbk", "gb18030", "utf16le-bom", "utf16be-bom", "utf16le",
         "utf16be", "utf16le-cjk-only", "utf16be-cjk-only"],
)  # fmt: skip
def test_text_in_each_encoding(text: str, encoded: bytes, encoding: str) -> None:
    source = read(encoded, ".txt")
    assert source == SourceText(text=text, format="txt", encoding=encoding, title_hint=None)


def test_gb18030_beyond_gbk() -> None:
    text = "㐀䶵 are CJK extension A, 𠀀 is extension B: GBK has neither."
    assert decode_text(text.encode("gb18030")) == (text, "gb18030")


def test_line_ends_become_lf() -> None:
    text, _ = decode_text("第一段\r\n第二段\r第三段\n\r\n第四段".encode())
    assert text == "第一段\n第二段\n第三段\n\n第四段"


def test_cut_off_utf8_stays_utf8() -> None:
    data = (SPEECH * 20).encode()[:-1]
    text, encoding = decode_text(data)
    assert encoding == "utf-8"
    assert text[:-1] == (SPEECH * 20)[:-1] and text[-1] == "\ufffd"


def test_leading_bom_character_is_dropped() -> None:
    assert decode_text("\ufeff同志们：".encode("utf-16-le")) == ("同志们：", "utf-16-le")


@pytest.mark.parametrize("twin", sorted(ENCODED_TWINS))
def test_encoded_twin_reads_as_its_utf8_original(twin: str, fixture_library: Path) -> None:
    original, _encode, encoding = ENCODED_TWINS[twin]
    source = read_source(fixture_library / "encoded" / twin, **LIMITS)
    assert source.encoding == encoding
    assert source.text.removeprefix("\ufeff") == original.read_text(encoding="utf-8")


def _corpus_gbk_files() -> list[Path]:
    root = corpus_root()
    return sorted((root / "raw_gbk").glob("*.gbk.txt")) if root else []


@pytest.mark.parametrize("gbk_path", corpus_params(_corpus_gbk_files()))
def test_gbk_corpus_matches_its_utf8_twin(gbk_path: Path, corpus: Path) -> None:
    source = read_source(gbk_path, **LIMITS)
    assert source.encoding == "gb18030"
    utf8_path = corpus / "gwr_district_hailar" / gbk_path.name.replace(".gbk.txt", ".txt")
    twin = utf8_path.read_text(encoding="utf-8").replace("\r\n", "\n")
    assert source.text == twin


@pytest.mark.parametrize("suffix", [".txt", ".md"])
@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"", "empty file"),
        (b" \n\t\r\n", "file has no text"),
        ("\u3000\u3000\n".encode(), "file has no text"),
        ("\ufeff".encode("utf-8"), "file has no text"),
        (random.Random(7).randbytes(4096), "binary data, not text"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + random.Random(8).randbytes(500),
         "binary data, not text"),
        ("正文".encode() + b"\x00\x01\x02", "binary data, not text"),
        (b"text\x01\x02\x03\x04\x05\x06\x07\x08 with controls", "binary data, not text"),
    ],
    ids=["empty", "whitespace", "ideographic-space", "bom-only", "random", "png", "nul",
         "controls"],
)  # fmt: skip
def test_refused_text(data: bytes, expected: str, suffix: str) -> None:
    assert reason(data, suffix) == expected


def test_a_few_control_characters_are_tolerated() -> None:
    text, _ = decode_text("第一页\f第二页，正文足够长，控制字符占比很低。".encode())
    assert "\f" in text


# --- markdown --------------------------------------------------------------------------

MARKDOWN = """\
<!-- exported from the editor -->
# 关于**全区**重点工作的报告

> 引言：*本报告*供内部讨论。

## 一、总体情况

- 项目建设[提速](https://example.com/a)；
* 民生保障_有力_；
+ [x] 已完成 ![图片](img.png)

1. 经济运行稳中有进
2. 社会事业全面发展

---

```
代码块内容 **保持原样**
```

| 指标 | 数值 |
|------|-----:|
| GDP | 5.2% |

变量名 snake_case_name 不变，转义 \\*星号\\*。
"""


def test_markdown_reads_as_plain_text() -> None:
    source = read(MARKDOWN.encode(), ".md")
    assert source.format == "md"
    assert source.encoding == "utf-8"
    assert source.title_hint == "关于全区重点工作的报告"
    lines = [line for line in source.text.split("\n") if line.strip()]
    assert lines == [
        "关于全区重点工作的报告",
        "引言：本报告供内部讨论。",
        "一、总体情况",
        "项目建设提速；",
        "民生保障有力；",
        "已完成 ",
        "1. 经济运行稳中有进",
        "2. 社会事业全面发展",
        "代码块内容 **保持原样**",
        "指标\t数值",
        "GDP\t5.2%",
        "变量名 snake_case_name 不变，转义 *星号*。",
    ]


def test_markdown_without_heading_has_no_title() -> None:
    assert read("## 二级标题\n正文".encode("gbk"), ".md").title_hint is None


# --- docx ------------------------------------------------------------------------------


def docx_bytes(document) -> bytes:
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def add_list(document, levels, *, abstract_id: int, num_ids: list[int], restart_at=None):
    """Define an abstract list (levels: (numFmt, lvlText, start)) and numbering instances."""
    numbering = document.part.numbering_part.element
    lvls = "".join(
        f'<w:lvl w:ilvl="{i}"><w:start w:val="{start}"/><w:numFmt w:val="{fmt}"/>'
        f'<w:lvlText w:val="{text}"/></w:lvl>'
        for i, (fmt, text, start) in enumerate(levels)
    )
    abstract = parse_xml(
        f'<w:abstractNum {nsdecls("w")} w:abstractNumId="{abstract_id}">{lvls}</w:abstractNum>'
    )
    # The schema wants every abstractNum before the first num.
    numbering.find(qn("w:num")).addprevious(abstract)
    for num_id in num_ids:
        override = ""
        if restart_at is not None and num_id != num_ids[0]:
            start = f'<w:startOverride w:val="{restart_at}"/>'
            override = f'<w:lvlOverride w:ilvl="0">{start}</w:lvlOverride>'
        numbering.append(
            parse_xml(
                f'<w:num {nsdecls("w")} w:numId="{num_id}">'
                f'<w:abstractNumId w:val="{abstract_id}"/>{override}</w:num>'
            )
        )


def numbered(document, text: str, num_id: int, ilvl: int) -> None:
    num_pr = document.add_paragraph(text)._p.get_or_add_pPr().get_or_add_numPr()
    num_pr.get_or_add_ilvl().val = ilvl
    num_pr.get_or_add_numId().val = num_id


def test_docx_paragraphs_breaks_and_title() -> None:
    document = Document()
    document.core_properties.title = "  在全区重点工作推进会上的讲话 "
    document.add_paragraph("同志们：")
    paragraph = document.add_paragraph("第一行")
    paragraph.add_run().add_break()
    paragraph.add_run("第二行")
    paragraph.add_run().add_break(WD_BREAK.PAGE)
    document.add_paragraph("")
    document.add_paragraph("谢谢大家！")
    source = read(docx_bytes(document), ".docx")
    assert source == SourceText(
        text="同志们：\n第一行\n第二行\n\n谢谢大家！",
        format="docx",
        encoding=None,
        title_hint="在全区重点工作推进会上的讲话",
    )


def test_docx_without_title_or_text() -> None:
    document = Document()
    document.add_paragraph("正文")
    assert read(docx_bytes(document), ".docx").title_hint is None
    assert reason(docx_bytes(Document()), ".docx") == "file has no text"


def test_docx_automatic_outline_numbering() -> None:
    document = Document()
    add_list(
        document,
        [("chineseCounting", "%1、", 1), ("chineseCounting", "（%2）", 1),
         ("decimal", "%3.", 1), ("decimal", "（%4）", 1)],
        abstract_id=50,
        num_ids=[50],
    )  # fmt: skip
    for ilvl, text in [
        (0, "统一思想"), (1, "充分肯定成绩"), (1, "清醒认识问题"), (2, "经济"), (3, "就业"),
        (3, "物价"), (2, "民生"), (0, "突出重点"), (1, "抓项目"), (2, "投资"),
    ]:  # fmt: skip
        numbered(document, text, 50, ilvl)
    document.add_paragraph("第一项", style="List Number")  # numbering inherited from the style
    document.add_paragraph("第二项", style="List Number")
    document.add_paragraph("要点", style="List Bullet")
    assert read(docx_bytes(document), ".docx").text.split("\n") == [
        "一、统一思想", "（一）充分肯定成绩", "（二）清醒认识问题", "1. 经济", "（1）就业",
        "（2）物价", "2. 民生", "二、突出重点", "（一）抓项目", "1. 投资",
        "1. 第一项", "2. 第二项", "要点",
    ]  # fmt: skip


def test_docx_lists_continue_unless_restarted() -> None:
    document = Document()
    add_list(document, [("decimal", "%1、", 1)], abstract_id=60, num_ids=[60, 61])
    add_list(document, [("decimal", "%1、", 1)], abstract_id=62, num_ids=[62, 63], restart_at=5)
    for num_id in (60, 60, 61, 62, 62, 63, 63):
        numbered(document, "项", num_id, 0)
    assert read(docx_bytes(document), ".docx").text.split("\n") == [
        "1、项", "2、项", "3、项", "1、项", "2、项", "5、项", "6、项",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("fmt", "value", "expected"),
    [
        ("chineseCounting", 1, "一"), ("chineseCounting", 10, "十"),
        ("chineseCounting", 11, "十一"), ("chineseCounting", 20, "二十"),
        ("chineseCounting", 99, "九十九"), ("chineseCounting", 105, "一百零五"),
        ("chineseCountingThousand", 1010, "一千零一十"), ("chineseLegalSimplified", 12, "壹拾贰"),
        ("ideographTraditional", 3, "丙"), ("decimalEnclosedCircle", 3, "③"),
        ("decimalFullWidth", 12, "１２"), ("lowerLetter", 2, "b"), ("upperLetter", 28, "BB"),
        ("lowerRoman", 4, "iv"), ("upperRoman", 1994, "MCMXCIV"), ("decimal", 7, "7"),
        ("bullet", 1, ""), ("none", 1, ""), ("someFutureFormat", 3, "3"),
    ],
)  # fmt: skip
def test_docx_number_formats(fmt: str, value: int, expected: str) -> None:
    document = Document()
    add_list(document, [(fmt, "%1、", value)], abstract_id=70, num_ids=[70])
    numbered(document, "正文", 70, 0)
    text = read(docx_bytes(document), ".docx").text
    assert text == ("正文" if fmt == "bullet" else f"{expected}、正文")


def test_docx_body_order_and_merged_table_cells() -> None:
    document = Document()
    document.add_paragraph("表前")
    table = document.add_table(rows=3, cols=3)
    for r, row in enumerate(["甲乙丙", "丁戊己", "庚辛壬"]):
        for c, text in enumerate(row):
            table.cell(r, c).text = text
    table.cell(0, 0).merge(table.cell(0, 1)).text = "合并"
    table.cell(1, 2).merge(table.cell(2, 2)).text = "竖并"
    document.add_paragraph("表后")
    assert read(docx_bytes(document), ".docx").text.split("\n") == [
        "表前", "合并\t丙", "丁\t戊\t竖并", "庚\t辛", "表后",
    ]  # fmt: skip


def zip_bytes(members: dict[str, bytes], *, level: int = 6) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def docx_with_zeros(megabytes: int) -> bytes:
    document = Document()
    document.add_paragraph("正文")
    buffer = io.BytesIO(docx_bytes(document))
    with (
        zipfile.ZipFile(buffer, "a", zipfile.ZIP_DEFLATED, compresslevel=1) as archive,
        archive.open("word/media/zeros.bin", "w") as member,
    ):
        chunk = bytes(MB)  # written in chunks: the bomb never sits in memory whole
        for _ in range(megabytes):
            member.write(chunk)
    return buffer.getvalue()


def test_docx_zip_bomb_beyond_the_unpacked_limit() -> None:
    data = docx_with_zeros(300)
    assert len(data) < 2 * MB
    expected = "archive expands beyond the 200 MB limit (zip bomb?)"
    assert reason(data, ".docx", max_unpacked_bytes=200 * MB) == expected


def test_docx_zip_bomb_by_compression_ratio() -> None:
    expected = "archive expands beyond the 200 MB limit (zip bomb?)"
    assert reason(docx_with_zeros(11), ".docx", max_unpacked_bytes=200 * MB) == expected
    assert read(docx_with_zeros(9), ".docx", max_unpacked_bytes=200 * MB).text == "正文"


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (random.Random(3).randbytes(3000), "not a valid .docx file (not a zip archive)"),
        (b"{\\rtf1\\ansi text}", "not a valid .docx file (not a zip archive)"),
        (zip_bytes({"content.xml": b"<x/>"}), "not a valid .docx file"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600),
         "old Word .doc format is not supported; save it as .docx and import again"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(80) + "EncryptedPackage".encode("utf-16-le"),
         "encrypted or password-protected Word file"),
    ],
    ids=["random", "rtf", "no-document-part", "ole-doc", "ole-encrypted"],
)  # fmt: skip
def test_refused_docx(data: bytes, expected: str) -> None:
    assert reason(data, ".docx") == expected


def test_damaged_docx() -> None:
    members = {"[Content_Types].xml": b"<Types", "word/document.xml": b"<w:document"}
    assert reason(zip_bytes(members), ".docx").startswith("damaged .docx file: ")


# --- files on disk ---------------------------------------------------------------------


def test_read_source_dispatches_on_suffix(tmp_path: Path) -> None:
    path = tmp_path / "讲话.TXT"
    path.write_bytes(SPEECH.encode("gbk"))
    assert read_source(path, **LIMITS).encoding == "gb18030"
    assert (
        frozenset({".docx", ".txt", ".md", ".pdf", ".doc", ".wps", ".odt", ".rtf", ".epub"})
        == SUPPORTED_SUFFIXES
    )


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("old.doc", "not an old Word .doc file (not an OLE document)"),
        ("notes.xyz", "unsupported file type .xyz"),
        ("README", "unsupported file type (no extension)"),
    ],
)
def test_read_source_refuses_other_types(tmp_path: Path, name: str, expected: str) -> None:
    path = tmp_path / name
    path.write_bytes(SPEECH.encode())
    with pytest.raises(ReadError) as caught:
        read_source(path, **LIMITS)
    assert str(caught.value) == expected


def test_read_source_refusals(tmp_path: Path) -> None:
    def refusal(path: Path, **limits: int) -> str:
        with pytest.raises(ReadError) as caught:
            read_source(path, **{**LIMITS, **limits})
        return str(caught.value)

    empty = tmp_path / "empty.txt"
    empty.touch()
    big = tmp_path / "big.txt"
    big.write_bytes(b"a" * (MB + 1))
    assert refusal(tmp_path / "missing.txt") == "file not found"
    assert refusal(tmp_path) == "not a regular file"
    assert refusal(empty) == "empty file"
    assert refusal(big, max_bytes=MB) == "file is larger than the 1.0 MB limit"
    assert refusal(big, max_bytes=MB // 2) == "file is larger than the 0.5 MB limit"
    assert read_source(big, **LIMITS).text == "a" * (MB + 1)


PERMISSION_CHECK = """
import sys
from pathlib import Path
from wenxing.materials.readers import ReadError, read_source
try:
    read_source(Path(sys.argv[1]), max_bytes=1 << 20, max_unpacked_bytes=1 << 20)
except ReadError as err:
    print(err)
"""


def test_unreadable_file_is_refused() -> None:
    # tmp_path may sit inside a directory other users cannot enter; use a fresh one.
    folder = Path(tempfile.mkdtemp())
    try:
        path = folder / "secret.txt"
        path.write_bytes(SPEECH.encode())
        path.chmod(0)
        if os.geteuid() != 0:
            with pytest.raises(ReadError, match=r"^permission denied$"):
                read_source(path, **LIMITS)
            return
        # Root reads anything; a child without the DAC capabilities is refused like a user.
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("running as root and setpriv is not available to drop privileges")
        command = [setpriv, "--bounding-set=-dac_override,-dac_read_search", sys.executable,
                   "-c", PERMISSION_CHECK, str(path)]  # fmt: skip
        env = {**os.environ, "PYTHONPATH": str(SRC), "PYTHONDONTWRITEBYTECODE": "1"}
        done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
        if done.returncode != 0 and "setpriv" in done.stderr:
            pytest.skip(f"cannot drop root's file capabilities: {done.stderr.strip()}")
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == "permission denied"
    finally:
        shutil.rmtree(folder)


# --- pdf -------------------------------------------------------------------------------


def cjk_font() -> Path | None:
    try:
        listed = subprocess.run(
            ["fc-list", ":lang=zh", "file"], capture_output=True, text=True, check=False
        ).stdout
    except OSError:
        listed = ""
    candidates = [Path(line.split(":")[0].strip()) for line in listed.splitlines()]
    candidates += sorted(Path("/usr/share/fonts/truetype").glob("*/*.tt[cf]"))
    preferred = sorted(
        (path for path in candidates if path.suffix.lower() in (".ttf", ".ttc")),
        key=lambda path: "wqy" not in path.name,  # a sans font extracts most cleanly
    )
    return next((path for path in preferred if path.is_file()), None)


FONT = cjk_font()
needs_font = pytest.mark.skipif(FONT is None, reason="no CJK TrueType font found by fc-list")

PARAGRAPHS = [
    "关于全区重点工作的报告",
    "同志们：",
    "今天我们召开全区重点工作推进会，主要任务是深入贯彻落实上级会议精神，总结前一阶段工作，"
    "分析当前形势，安排部署下一阶段重点任务。刚才，几位同志作了很好的发言，讲得都很实在。",
    "一、统一思想，提高认识",
    "（一）充分肯定成绩。过去一年，全区上下齐心协力，各项工作取得了新的进展，"
    "经济运行稳中有进，民生保障持续改善，社会大局和谐稳定。",
]


class SpeechPdf(FPDF):
    def footer(self) -> None:
        self.set_y(-15)
        label = f"- {self.page_no()} -" if self.page_no() % 2 else f"第 {self.page_no()} 页"
        self.cell(0, 10, label, align="C")


def pdf_bytes(paragraphs: list[str], *, owner: str | None = None, user: str | None = None):
    pdf = SpeechPdf(format="A4")
    pdf.add_font("cjk", fname=str(FONT))
    pdf.set_font("cjk", size=16)
    pdf.add_page()
    for text in paragraphs:
        if text == "\f":
            pdf.add_page()
        else:
            pdf.multi_cell(0, 9, text, new_x="LMARGIN", new_y="NEXT")
    if owner is not None:
        pdf.set_encryption(owner_password=owner, user_password=user)
    return bytes(pdf.output())


@needs_font
def test_pdf_lines_rejoin_into_paragraphs() -> None:
    source = read(pdf_bytes(PARAGRAPHS), ".pdf")
    assert source == SourceText("\n".join(PARAGRAPHS), "pdf", None, None)


@needs_font
def test_pdf_paragraph_continues_across_pages() -> None:
    long_paragraph = "全区各级各部门要坚持问题导向，" * 80 + "确保各项任务落到实处。"
    data = pdf_bytes(["同志们：", long_paragraph, "谢谢大家！"])
    first, second = pypdf.PdfReader(io.BytesIO(data)).pages
    assert "问题导向" in first.extract_text() and "问题导向" in second.extract_text()
    assert read(data, ".pdf").text.split("\n") == ["同志们：", long_paragraph, "谢谢大家！"]


@needs_font
def test_pdf_spaces_between_cjk_characters_are_removed() -> None:
    source = read(pdf_bytes(["政 府 工 作 报 告", "正文 共有 GDP 5.2% 的增长。"]), ".pdf")
    assert source.text == "政府工作报告\n正文共有 GDP 5.2% 的增长。"


@needs_font
def test_pdf_with_owner_password_only_still_reads() -> None:
    assert read(pdf_bytes(PARAGRAPHS, owner="owner-secret"), ".pdf").text.startswith("关于")


@needs_font
def test_aes_pdf_with_owner_password_only_still_reads() -> None:
    # Many PDFs exported by office suites restrict printing with AES and an empty user password.
    reader = pypdf.PdfReader(io.BytesIO(pdf_bytes(PARAGRAPHS)))
    writer = pypdf.PdfWriter(clone_from=reader)
    writer.encrypt(user_password="", owner_password="owner-secret", algorithm="AES-256")
    buffer = io.BytesIO()
    writer.write(buffer)
    assert read(buffer.getvalue(), ".pdf").text.startswith("关于")


@needs_font
def test_pdf_with_user_password_is_refused() -> None:
    data = pdf_bytes(PARAGRAPHS, owner="owner-secret", user="user-secret")
    assert reason(data, ".pdf") == "encrypted PDF (a password is needed to open it)"


def test_pdf_without_text_layer() -> None:
    pdf = FPDF()
    pdf.add_page()
    pdf.rect(20, 20, 100, 60, style="F")
    expected = "PDF has no text layer (scanned pages need OCR, which is not available yet)"
    assert reason(bytes(pdf.output()), ".pdf") == expected


@needs_font
def test_damaged_and_fake_pdfs() -> None:
    data = pdf_bytes(PARAGRAPHS)
    truncated = data[: len(data) // 3]
    assert reason(truncated, ".pdf").startswith(("damaged PDF file: ", "PDF has no text layer"))
    assert reason(SPEECH.encode(), ".pdf") == "not a valid PDF file"


# --- properties ------------------------------------------------------------------------


def seed_files() -> dict[str, bytes]:
    document = Document()
    add_list(document, [("chineseCounting", "%1、", 1)], abstract_id=80, num_ids=[80])
    numbered(document, "统一思想", 80, 0)
    document.add_table(rows=2, cols=2).cell(0, 0).text = "表"
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("helvetica", size=12)
    pdf.multi_cell(0, 8, "Plain text in a PDF for the fuzzer to break. " * 5)
    odt = zip_bytes(
        {
            "mimetype": b"application/vnd.oasis.opendocument.text",
            "content.xml": (
                '<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:'
                'office:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0">'
                "<office:body><office:text><text:h>统一思想</text:h><text:p>正文<text:s text:c="
                '"2"/>第一段</text:p></office:text></office:body></office:document-content>'
            ).encode(),
        }
    )
    epub = zip_bytes(
        {
            "mimetype": b"application/epub+zip",
            "META-INF/container.xml": b'<container><rootfiles><rootfile full-path="c.opf"/>'
            b"</rootfiles></container>",
            "c.opf": b'<package><manifest><item id="a" href="a.xhtml"/></manifest>'
            b'<spine><itemref idref="a"/></spine></package>',
            "a.xhtml": "<html><body><p>统一思想</p><p>正文</p></body></html>".encode(),
        }
    )
    rtf = b"{\\rtf1\\ansi\\ansicpg936{\\fonttbl{\\f0 SimSun;}}\\f0 \\'cd\\'b3\\'d2\\'bb\\u24605?\\u24819?\\par}"
    return {
        ".docx": docx_bytes(document),
        ".pdf": bytes(pdf.output()),
        ".txt": SPEECH.encode("gbk"),
        ".md": MARKDOWN.encode("utf-16"),
        ".odt": odt,
        ".epub": epub,
        ".rtf": rtf,
        # Damaged old Word files are refused before LibreOffice (no WordDocument stream):
        # converting one per fuzzed example would take seconds each.
        ".doc": b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600),
        ".wps": b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600),
    }


SEEDS = seed_files()


def test_seed_formats_read():
    assert read(SEEDS[".odt"], ".odt", max_unpacked_bytes=MB).text == "统一思想\n正文  第一段"
    assert read(SEEDS[".epub"], ".epub", max_unpacked_bytes=MB).text.split() == ["统一思想", "正文"]
    assert read(SEEDS[".rtf"], ".rtf", max_unpacked_bytes=MB).text.strip() == "统一思想"


@st.composite
def damaged(draw: st.DrawFn, seed: bytes) -> bytes:
    data = bytearray(seed)
    for _ in range(draw(st.integers(1, 8))):
        position = draw(st.integers(0, len(data) - 1))
        data[position : position + 4] = draw(st.binary(min_size=0, max_size=4))
    if draw(st.booleans()):
        data = data[: draw(st.integers(1, len(data)))]
    return bytes(data)


FUZZ = settings(max_examples=150, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow])  # fmt: skip


@FUZZ
@given(st.one_of(st.binary(max_size=512), damaged(SEEDS[".txt"]), damaged(SEEDS[".md"])))
def test_decode_text_returns_text_or_read_error(data: bytes) -> None:
    try:
        text, encoding = decode_text(data)
    except ReadError as err:
        assert str(err) and "\n" not in str(err)
    else:
        assert isinstance(text, str) and "\r" not in text and encoding


@pytest.mark.parametrize("suffix", sorted(SUPPORTED_SUFFIXES))
def test_read_bytes_raises_only_read_error(suffix: str) -> None:
    @FUZZ
    @given(st.one_of(st.binary(max_size=512), damaged(SEEDS[suffix])))
    def check(data: bytes) -> None:
        try:
            source = read(data, suffix, max_unpacked_bytes=10 * MB)
        except ReadError as err:
            assert str(err) and "\n" not in str(err)
        else:
            assert source.text.strip() and "\r" not in source.text

    check()
