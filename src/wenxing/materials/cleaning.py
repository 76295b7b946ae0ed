"""Cleaning a source text into the paragraphs of a material.

What goes: the publisher's own masthead (from settings), other sites' promotional lines at
the head and tail (公众号, QQ群, 扫码, 本文档由…提供 …), web-page chrome in the front matter
(来源：, 时间：), indentation, blank lines and invisible characters. What stays: every
character of the material itself, ``×`` placeholders included.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence

# Zero-width and other invisible characters. They carry no meaning in a material and are
# exactly what fingerprints (ours and other sites') are made of, so they never enter a body.
_INVISIBLE = dict.fromkeys(
    map(
        ord,
        "\u200b\u200c\u200d\u200e\u200f\u2060\u2061\u2062\u2063\u2064\ufeff\u00ad\u180e"
        "\ufe04\ufe05\ufe06\ufe07",  # the variation selectors wenxing marks copies with
    ),
    None,
)
_EDGE_SPACE = " \t\u3000\u00a0\u2002\u2003\u2009\u202f\u205f\x0b\x0c"

# Promotional lines other sites put at the head or tail of a file. A line is only taken
# for promotion while it is short: a real paragraph that mentions 微信 stays.
_PROMO_MAX_CHARS = 80
DEFAULT_PROMO_PATTERNS = (
    r"公众号",
    r"(QQ|qq|微信|VX|vx|Vx)\s*群",
    r"(微信|VX|vx|wx|WX|QQ|qq)\s*(号)?\s*[:：]",
    r"加\s*(微信|V|v|QQ|qq)",
    r"扫码|扫一扫|二维码",
    r"更多(精品|资料|范文|材料|文章|内容)",
    r"本(文档|文|资料|材料)由.{0,30}(提供|整理|分享|收集)",
    r"仅供.{0,12}(学习|交流|参考|使用)",
    r"(免费|付费)?(下载|领取).{0,10}(资料|文档|范文|材料)",
    r"(原文|文章|本文)?链接\s*[:：]|https?://|www\.",
    r"【法宝引证码】|法宝引证码",
    r"(淘宝|闲鱼|微店|店铺)",
    r"(转载|版权).{0,12}(注明|所有|声明)",
    r"^[-—_=*·.~#\s]{3,}$",
)
# Web-page chrome that news sites wrap around a text: breadcrumbs, font-size switches,
# share buttons, time stamps, and "related articles" lists at the tail.
_CHROME = re.compile(
    r"^(来源|时间|发布时间|发布日期|作者|编辑|责任编辑|字号|浏览次数|点击数|阅读量|分享到"
    r"|您的位置|当前位置)\s*[:：]"
    r"|^(首页|收藏|点赞|打印|打印本页|关闭|关闭窗口|返回顶部|分享|分享到.{0,6}|【字体[:：]?)$"
    r"|^\d{4}[-/.]\d{1,2}[-/.]\d{1,2}(\s+\d{1,2}:\d{2}(:\d{2})?)?$"
    r"|^》》.*《《$|^[大中小【】|>＞]$"
)
_TAIL_CUT = re.compile(
    r"^(相关(文档|报道|阅读|新闻|链接|推荐|文章)|推荐阅读|延伸阅读|【纠错】|责任编辑)"
)
_TAIL_CUT_WINDOW = 30
_FRONT_MATTER_LINES = 12


def normalise_line(line: str) -> str:
    """NFC, no invisible characters, no indentation or trailing spaces."""
    line = unicodedata.normalize("NFC", line).translate(_INVISIBLE)
    return line.strip(_EDGE_SPACE)


def _loose(line: str) -> str:
    return re.sub(r"\s+", "", line)


def masthead_patterns(masthead_lines: Sequence[str]) -> list[re.Pattern[str]]:
    """One pattern per masthead line; group placeholders match whatever was filled in."""
    patterns = []
    for raw in masthead_lines:
        parts = re.split(r"\{[a-z_]+\}", _loose(raw))
        if not "".join(parts):
            continue
        body = ".*".join(re.escape(part) for part in parts)
        patterns.append(re.compile(f"^{body}$"))
    return patterns


class Cleaner:
    """Strips mastheads and promotion; built once per import run from the settings."""

    def __init__(self, masthead_lines: Sequence[str], extra_promo: Iterable[str] = ()):
        self._masthead = masthead_patterns(masthead_lines)
        self._promo = [re.compile(p) for p in (*DEFAULT_PROMO_PATTERNS, *extra_promo)]

    def is_masthead(self, line: str) -> bool:
        loose = _loose(line)
        return any(p.match(loose) for p in self._masthead)

    def is_promotion(self, line: str) -> bool:
        if len(line) > _PROMO_MAX_CHARS:
            return False
        return any(p.search(line) for p in self._promo)

    def _is_noise(self, line: str) -> bool:
        return (
            (len(line) <= 2 and "谢" not in line)
            or self.is_masthead(line)
            or self.is_promotion(line)
            or bool(_CHROME.match(line))
        )

    def clean(self, text: str) -> list[str]:
        """The material's paragraphs, one per item, none empty."""
        lines = [normalise_line(line) for line in text.split("\n")]
        paragraphs = _cut_related_lists([line for line in lines if line])
        start = 0
        while start < len(paragraphs) and self._is_noise(paragraphs[start]):
            start += 1
        end = len(paragraphs)
        while end > start and self._is_noise(paragraphs[end - 1]):
            end -= 1
        kept = paragraphs[start:end]
        # Masthead lines can also be interleaved with the title block of a delivered copy
        # (a member's copy re-imported); drop them anywhere in the front matter.
        head = [
            p
            for p in kept[:_FRONT_MATTER_LINES]
            if not (self.is_masthead(p) or _CHROME.match(p) or self._is_source_line(p))
        ]
        return _drop_repeated_title(head + kept[_FRONT_MATTER_LINES:])

    def _is_source_line(self, line: str) -> bool:
        return len(line) <= _PROMO_MAX_CHARS and bool(
            re.search(r"【法宝引证码】|原文链接\s*[:：]", line)
        )


def _cut_related_lists(paragraphs: list[str]) -> list[str]:
    for index in range(max(0, len(paragraphs) - _TAIL_CUT_WINDOW), len(paragraphs)):
        if _TAIL_CUT.match(paragraphs[index]) and len(paragraphs[index]) <= 20:
            return paragraphs[:index]
    return paragraphs


def same_line(a: str, b: str) -> bool:
    """Equal up to full-/half-width forms, dashes and spaces (a title printed twice)."""

    def key(text: str) -> str:
        text = unicodedata.normalize("NFKC", text)
        return re.sub(r"[—–－―-]+", "-", re.sub(r"\s+", "", text))

    return key(a) == key(b)


def _drop_repeated_title(paragraphs: list[str]) -> list[str]:
    # Some sites print the title twice, once as the page heading and once in the text.
    if len(paragraphs) >= 2 and len(paragraphs[0]) <= 150 and same_line(*paragraphs[:2]):
        return paragraphs[1:]
    return paragraphs
