"""The search query language, snippets and tokenisation (no index needed)."""

from __future__ import annotations

from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wenxing.search.engine import snippet
from wenxing.search.query import MAX_QUERY_CHARS, QueryError, parse
from wenxing.search.tokenize import index_streams, normalise, words


def test_terms_phrases_exclusions_and_filters():
    query = parse('乡村振兴 "全过程人民民主" -旅游 kind:讲话 分类：党建 tag:两会 year:2024')
    assert query.terms == ["乡村振兴"]
    assert query.phrases == ["全过程人民民主"]
    assert query.excluded == ["旅游"]
    assert (query.kind, query.category, query.tag) == ("讲话", "党建", "两会")
    # 2024 in the publisher's zone (Asia/Shanghai by default): its midnights, not UTC's
    assert query.since == 1704067200 - 8 * 3600 and query.until == 1735689600 - 8 * 3600


def test_chinese_quotes_dates_and_open_quotes():
    query = parse("“一企一策” 起:2024-03-01 止：2024年6月30日 「河湖长制")
    assert query.phrases == ["一企一策", "河湖长制"]
    assert query.since == 1709251200 - 8 * 3600 and query.until == 1719792000 - 8 * 3600


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "请输入要搜索的内容"),
        ("   \u3000 ", "请输入要搜索的内容"),
        ("-旅游", "请至少输入一个要查找的词"),
        ("乡" * 10_000, f"请精简到 {MAX_QUERY_CHARS} 个字以内"),
        (" ".join("甲乙丙丁戊己庚辛壬癸子丑寅"), "搜索词太多了"),
        ("year:24", "年份“24”无法识别"),
        ("since:2024-13-01", "日期“2024-13-01”无法识别"),
    ],
)
def test_bad_queries_get_a_chinese_reason(text, message):
    with pytest.raises(QueryError) as refused:
        parse(text)
    assert message in refused.value.user_message


def test_unknown_filters_and_metacharacters_are_plain_text():
    query = parse("foo:bar '; DROP TABLE x; -- (.*) [a-z]+ \\ % _")
    assert "foo:bar" in query.terms and "(.*)" in query.terms and query.kind is None


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_any_text_parses_or_is_refused_in_chinese(text):
    try:
        query = parse(text)
    except QueryError as refused:
        assert any("\u4e00" <= ch <= "\u9fff" for ch in refused.user_message)
    else:
        assert query.positive or query.filtered


def test_normalising_width_case_and_traditional_characters():
    assert normalise("營商環境 ＰＰＰ ５Ｇ") == "营商环境 ppp 5g"
    assert words(normalise("國內生產總值")) == ["国内", "生产总值"]


def test_jargon_stays_whole_and_sub_words_are_indexed():
    words_stream, sub_stream = index_streams("推行河湖长制和一企一策，推进乡村振兴。")
    assert words_stream.split() == ["推行", "河湖长制", "和", "一企一策", "推进", "乡村振兴"]
    assert {"乡村", "振兴", "乡村振兴", "河湖", "河湖长制"} <= set(sub_stream.split())


def test_snippet_is_short_and_marks_the_terms():
    text = (
        "前言。" * 40
        + "坚持农业农村优先发展，大力实施乡村振兴战略，推动脱贫攻坚与乡村振兴有机衔接。"
        + "结语。" * 40
    )
    piece, spans = snippet(text, ["乡村振兴", "脱贫攻坚"], 60)
    assert len(piece) <= 62 and piece.startswith("…") and piece.endswith("…")
    marked = [piece[s:e] for s, e in spans]
    assert marked.count("乡村振兴") == 2 and "脱贫攻坚" in marked


@given(st.text(min_size=0, max_size=400), st.lists(st.text(min_size=1, max_size=5), max_size=4))
def test_snippet_never_exceeds_its_width(text, terms):
    piece, spans = snippet(text, [normalise(t) for t in terms], 60)
    assert len(piece.strip("…")) <= 60
    for start, end in spans:
        assert 0 <= start < end <= len(piece)


# Text like the library's, with the forms normalising has to deal with: traditional
# characters, full-width letters, digits and punctuation, capitals, signs jieba keeps.
_ALPHABET = st.sampled_from(
    list(
        "乡村振兴河湖长制一企一策营商环境發展鄉村振興營商環境國內生產總值乾燥的了和在推进"
        "，。、；：？！“”（）《》—…·\u3000 \n\t-+.%#&_abcPPP０１２ＡＢｐｐｐ125½①㈠㎡℃ﬁ\u0301"
    )
)
_TEXT = st.text(alphabet=_ALPHABET, max_size=120) | st.text(max_size=60)


@settings(max_examples=400, deadline=None)
@given(_TEXT)
def test_normalise_is_nfkc_then_simplified_then_lower_case(text):
    import unicodedata

    from wenxing.search.tokenize import _t2s

    assert normalise(text) == _t2s().convert(unicodedata.normalize("NFKC", text)).lower()


def _figures(tokens: list[str], *, sub: bool = False) -> list[str]:
    """jieba's tokens with figures joined back: 6 . 5 % is 6.5% (and 6.5 in sub-words)."""
    out: list[str] = []
    at = 0
    while at < len(tokens):
        token = tokens[at]
        if token.isascii() and token.isdigit():
            if tokens[at + 1 : at + 2] == ["."] and tokens[at + 2 : at + 3] != []:
                after = tokens[at + 2]
                if after.isascii() and after.isdigit():
                    token, at = f"{token}.{after}", at + 2
            if tokens[at + 1 : at + 2] == ["%"]:
                out += [f"{token}%", token] if sub else [f"{token}%"]
                at += 2
                continue
        out.append(token)
        at += 1
    return out


def test_figures_keep_their_decimals_and_percent_signs():
    from wenxing.search.tokenize import words

    words_stream, sub_stream = index_streams("增长6.5%，达3.5万亿元")
    assert words_stream.split() == ["增长", "6.5%", "达", "3.5", "万亿元"]
    assert sub_stream.split() == ["增长", "6.5%", "6.5", "达", "3.5", "万亿", "亿元", "万亿元"]
    assert words(normalise("６.５％")) == ["6.5%"]


@settings(max_examples=400, deadline=None)
@given(_TEXT)
def test_index_streams_are_the_segmented_words_without_punctuation(text):
    from wenxing.search.tokenize import _is_word, _segmenter

    normal = normalise(text)
    segmenter = _segmenter()
    expected_words = [t for t in _figures(segmenter.cut(normal, False)) if _is_word(t)]
    expected_sub = [
        t for t in _figures(segmenter.cut_for_search(normal, False), sub=True) if _is_word(t)
    ]
    words_stream, sub_stream = index_streams(text)
    assert words_stream.split() == expected_words
    assert sub_stream.split() == expected_sub


@settings(max_examples=400, deadline=None)
@given(_TEXT)
def test_character_and_pair_streams_are_the_runs_characters_and_bigrams(text):
    from wenxing.search.tokenize import chars_stream, index_form, pairs, pairs_stream, run_of

    form = index_form(text)
    assert chars_stream(form) == " ".join(run_of(form))
    assert pairs_stream(form) == " ".join(pairs(run_of(form)))


_TERMS = st.lists(
    st.sampled_from(["乡村振兴", "振兴", "营商环境", "ppp", "12", "发展", "干燥", "村"])
    | st.text(alphabet=_ALPHABET, min_size=1, max_size=3),
    min_size=1,
    max_size=3,
)


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=_ALPHABET, max_size=300), _TERMS)
def test_snippet_highlights_are_where_the_terms_are(text, terms):
    # A text of its own starting or ending with 「…」 would read as the snippet's ellipsis.
    text = "甲" + text if text.startswith("…") else text
    text = text + "甲" if text.endswith("…") else text
    terms = [normalise(t) for t in terms]
    needles = [t.replace(" ", "") for t in terms if t.replace(" ", "")]
    piece, spans = snippet(text, terms, 60)
    shown = piece.removeprefix("…").removesuffix("…")
    shift = len(piece) - len(piece.removeprefix("…"))
    assert shown in text.replace("\n", " ")
    assert len(shown) <= 60
    assert spans == sorted(spans)
    for (_s, end), (start, _e) in pairwise(spans):
        assert end <= start  # merged, never overlapping
    for start, end in spans:
        assert shift <= start < end <= shift + len(shown)
        marked = normalise(piece[start:end])
        assert any(n in marked for n in needles), (piece[start:end], needles)
    # Every whole occurrence in what is shown is marked: where normalising keeps lengths,
    # exactly there; where it does not (「…」 is three characters), somewhere.
    normal = normalise(shown)
    for needle in needles:
        at = normal.find(needle)
        if at >= 0 and len(normal) != len(shown):
            assert spans, (needle, shown)
            continue
        while at >= 0:
            s, e = at + shift, at + shift + len(needle)
            assert any(a <= s and e <= b for a, b in spans), (needle, shown, spans)
            at = normal.find(needle, at + 1)


def test_snippet_finds_traditional_and_full_width_forms():
    text = "前言。" * 30 + "全面推進鄉村振興，推廣ＰＰＰ模式。" + "结语。" * 30
    piece, spans = snippet(text, [normalise("乡村振兴"), normalise("PPP")], 60)
    marked = [piece[s:e] for s, e in spans]
    assert "鄉村振興" in marked and "ＰＰＰ" in marked


@settings(max_examples=600, deadline=None)
@given(st.text(alphabet=_ALPHABET, max_size=300), _TERMS)
def test_the_snippet_form_finds_terms_where_the_full_form_does(text, terms):
    """Snippets narrow only the full-width forms a term can hold (none for terms in
    Chinese): the terms are found at the same offsets as in the fully narrowed form."""
    from wenxing.search.snippet import _found
    from wenxing.search.tokenize import same_length_form

    needles = [normalise(t).replace(" ", "") for t in terms]
    needles = [(n, needle) for n, needle in enumerate(needles) if needle]
    full = same_length_form(text)
    partial = same_length_form(text, [needle for _n, needle in needles])
    assert len(partial) == len(full)
    assert _found(partial, needles) == _found(full, needles)


def test_lower_casing_makes_no_character_without_case():
    """What ``same_length_form`` relies on to skip lower-casing for terms without case:
    no character lower-cases to another that case mapping leaves alone."""
    for code in range(0x110000):
        char = chr(code)
        lowered = char.lower()
        if len(lowered) == 1 and lowered != char:
            assert lowered.upper() != lowered, hex(code)
