"""After signing in or redeeming, only a path of this site is followed: every spelling a
browser reads as another host goes home instead."""

import pytest

from wenxing.web.auth import local_target


@pytest.mark.parametrize(
    "target",
    ["/materials/3", "/account#pay", "/search?q=%E8%AE%B2%E8%AF%9D&page=2", "/"],
)
def test_a_path_of_this_site_is_followed(target):
    assert local_target(target) == target


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example",
        "/\\evil.example",
        "\\/evil.example",
        "/\t/evil.example",
        "/\n/evil.example",
        "https://evil.example/",
        "javascript:alert(1)",
        "evil.example",
        "",
        "/ok\x00",
    ],
)
def test_another_host_in_any_spelling_goes_home(target):
    assert local_target(target) == "/"
