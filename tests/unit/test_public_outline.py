"""What of an outline node is public: a section's heading, an item's run-in heading (at most
16 characters), never an item's running sentence."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from wenxing.materials.outline import PUBLIC_ITEM_HEADING, public_heading


def item(marker: str, heading: str, text_after: str) -> dict:
    return {
        "type": "item",
        "marker": marker,
        "heading": heading,
        "start": 0,
        "end": len(marker) + len(heading) + len(text_after),
    }


def test_a_run_in_heading_stays():
    node = item("一是", "着力构建良好发展环境", "。深入推进“放管服”改革，进一步精简行政审批。")
    assert public_heading(node) == "着力构建良好发展环境"


def test_a_long_run_in_heading_is_cut():
    heading = "坚持以人民为中心的发展思想不断增进民生福祉提高人民生活品质"
    node = item("二是", heading, "。各级政府要……")
    assert public_heading(node) == heading[:PUBLIC_ITEM_HEADING]


def test_an_item_that_is_one_running_sentence_shows_no_heading():
    sentence = "各地区各部门要切实把思想和行动统一到党中央决策部署上来，确保各项任务落地见效"
    node = item("三是", sentence, "")
    assert public_heading(node) == ""


def test_a_section_heading_is_public_up_to_60_characters():
    node = {
        "type": "section",
        "marker": "一、",
        "heading": "坚定不移贯彻新发展理念",
        "start": 0,
        "end": 500,
    }
    assert public_heading(node) == "坚定不移贯彻新发展理念"


@given(
    marker=st.sampled_from(["一是", "二是", "（一）", "1."]),
    heading=st.text(alphabet="改革发展稳定民生保障服务建设", min_size=0, max_size=80),
    after=st.text(alphabet="。，的了各级政府要", min_size=0, max_size=80),
)
def test_an_item_never_shows_more_than_16_characters_of_its_own_text(marker, heading, after):
    shown = public_heading(item(marker, heading, after))
    assert len(shown) <= PUBLIC_ITEM_HEADING and heading.startswith(shown)
