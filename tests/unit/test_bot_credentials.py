"""Group robots' credentials sealed at rest: a value opens with the server secret, row and
column it was sealed for, and with nothing else; what does not open fails as Unreadable."""

from __future__ import annotations

import base64

import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from hypothesis import given, settings
from hypothesis import strategies as st

from wenxing.live.bot_credentials import (
    PREFIX,
    Credentials,
    Unreadable,
    associated_data,
    is_sealed,
    read,
    seal,
    unseal,
    write,
)
from wenxing.live.models import Robot
from wenxing.serverkey import derive_key

PROPERTY = settings(max_examples=150, deadline=None)
SECRET = b"server-secret-" + b"0123456789abcdef" * 2
OTHER_SECRET = b"another-server-" + b"fedcba9876543210" * 2
URL = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa"
SIGNING = "SECd1n9ta1k0123456789abcdef0123456789abcdef"

values = st.text(max_size=600)
secrets_ = st.binary(min_size=32, max_size=64)
ids = st.integers(min_value=1, max_value=2**31 - 1)
fields = st.sampled_from(["webhook_url", "secret"])


@PROPERTY
@given(secret=secrets_, robot_id=ids, field=fields, value=values)
def test_a_sealed_value_opens_to_itself(secret, robot_id, field, value):
    sealed = seal(secret, robot_id, field, value)
    assert is_sealed(sealed) and sealed.startswith(PREFIX)
    assert unseal(secret, robot_id, field, sealed) == value


@PROPERTY
@given(secret=secrets_, other=secrets_, robot_id=ids, other_id=ids, field=fields, value=values)
def test_another_secret_row_or_column_does_not_open_it(
    secret, other, robot_id, other_id, field, value
):
    sealed = seal(secret, robot_id, field, value)
    if other != secret:
        with pytest.raises(Unreadable):
            unseal(other, robot_id, field, sealed)
    if other_id != robot_id:
        with pytest.raises(Unreadable):
            unseal(secret, other_id, field, sealed)  # moved to another robot's row
    other_field = "secret" if field == "webhook_url" else "webhook_url"
    with pytest.raises(Unreadable):
        unseal(secret, robot_id, other_field, sealed)  # moved to the other column


@PROPERTY
@given(value=values, position=st.integers(min_value=0), bit=st.integers(0, 7))
def test_a_changed_byte_does_not_open(value, position, bit):
    sealed = seal(SECRET, 7, "secret", value)
    raw = bytearray(base64.b64decode(sealed[len(PREFIX) :]))
    raw[position % len(raw)] ^= 1 << bit
    with pytest.raises(Unreadable):
        unseal(SECRET, 7, "secret", PREFIX + base64.b64encode(bytes(raw)).decode())


@pytest.mark.parametrize(
    "damaged",
    [
        PREFIX,
        PREFIX + "not base64!",
        PREFIX + "AAAA",
        PREFIX + base64.b64encode(b"x" * 27).decode(),
    ],
)
def test_a_damaged_value_is_unreadable_not_an_error(damaged):
    with pytest.raises(Unreadable):
        unseal(SECRET, 1, "webhook_url", damaged)


def test_every_sealing_differs_and_holds_nothing_of_the_value():
    first, second = (seal(SECRET, 1, "webhook_url", URL) for _ in range(2))
    assert first != second  # a fresh nonce each time
    for sealed in (first, second):
        raw = base64.b64decode(sealed[len(PREFIX) :])
        assert b"693a91f6" not in raw and "693a91f6" not in sealed and "qyapi" not in sealed


def test_the_key_is_derived_for_this_use_only():
    # Sealing does not use the server secret itself, nor a key another use derives.
    sealed = seal(SECRET, 1, "secret", SIGNING)
    raw = base64.b64decode(sealed[len(PREFIX) :])
    associated = associated_data(1, "secret")
    own = derive_key(SECRET, "robot-credentials")
    assert AESGCM(own).decrypt(raw[:12], raw[12:], associated) == SIGNING.encode()
    for key in (SECRET[:32], derive_key(SECRET, "fingerprint"), derive_key(SECRET, "session")):
        with pytest.raises(InvalidTag):
            AESGCM(key).decrypt(raw[:12], raw[12:], associated)


def test_a_plain_value_from_before_sealing_is_read_as_it_is():
    assert not is_sealed(URL) and not is_sealed(SIGNING) and not is_sealed(None)
    assert unseal(SECRET, 1, "webhook_url", URL) == URL


def test_a_robots_credentials_written_and_read():
    robot = Robot(id=3, name="r", platform="dingtalk", audience="member", webhook_url="")
    write(SECRET, robot, URL, SIGNING)
    assert is_sealed(robot.webhook_url) and is_sealed(robot.secret)
    assert URL not in robot.webhook_url and SIGNING not in robot.secret
    assert read(SECRET, robot) == Credentials(URL, SIGNING)
    write(SECRET, robot, URL, None)
    assert robot.secret is None and read(SECRET, robot) == Credentials(URL, None)
    with pytest.raises(Unreadable):
        read(OTHER_SECRET, robot)
    legacy = Robot(id=4, name="r", platform="feishu", audience="free", webhook_url=URL, secret="")
    assert read(SECRET, legacy) == Credentials(URL, None)


def test_a_robot_without_an_id_cannot_be_sealed():
    robot = Robot(name="r", platform="wecom", audience="member", webhook_url="")
    with pytest.raises(ValueError, match="id"):
        write(SECRET, robot, URL, None)
