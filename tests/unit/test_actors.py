"""Who acts is a typed value: services decide by its role, and a spelling is read once."""

from __future__ import annotations

import pytest

from wenxing.actors import Actor, Role


def test_the_publisher_and_a_member_are_told_apart_by_their_role():
    publisher, member = Actor.publisher("cli"), Actor.member("web")
    assert (publisher.role, publisher.is_publisher, str(publisher)) == (
        Role.PUBLISHER,
        True,
        "publisher:cli",
    )
    assert (member.role, member.is_publisher, str(member)) == (Role.MEMBER, False, "member:web")


@pytest.mark.parametrize(
    ("spelled", "is_publisher"),
    [
        ("publisher:cli", True),
        ("publisher:10001", True),
        ("publisher", True),
        ("member:web", False),
        ("member", False),
        ("test", False),
        ("WX-10001", False),
        ("", False),
    ],
)
def test_a_spelling_is_read_once_and_kept_as_it_is_stored(spelled, is_publisher):
    actor = Actor.of(spelled)
    assert actor.is_publisher is is_publisher
    assert str(actor) == spelled  # the issuance log stores what it stored before


def test_an_actor_is_its_own_actor():
    actor = Actor.publisher("console")
    assert Actor.of(actor) is actor
