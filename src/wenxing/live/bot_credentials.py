"""Group robots' credentials at rest: the webhook URL (whose key, access token or hook id lets
anyone post into the group) and the signing secret are stored sealed, never plain.

A sealed value is ``v1:`` + base64(nonce ‖ AES-256-GCM ciphertext and tag), with a fresh
12-byte nonce each time, under a key derived from the server secret for this use alone
(``derive_key(secret, "robot-credentials")``), and with the robot's id and the column as
associated data: a value copied into another robot's row, or into the other column, does
not open. The server secret lives outside the database, so a copy of the database (a
backup) holds no robot's key in any form.

A value without the prefix is a plain one written before sealing (revision 0008): it is
read as it is, and ``seal_plain_rows`` seals it (``wenxing init``, and every robot sender
when it starts). A sealed value that does not open — the server secret is not the one it
was sealed under, or the value is damaged — raises ``Unreadable``: the console shows the
robot as needing its webhook re-entered and the sender sends nothing through it.
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from wenxing.live.models import Robot
from wenxing.serverkey import derive_key

PREFIX = "v1:"
PURPOSE = "robot-credentials"  # the derived key's purpose: used for nothing else
NONCE_BYTES = 12
TAG_BYTES = 16
FIELDS = ("webhook_url", "secret", "event_secret")


class Unreadable(ValueError):
    """A sealed value that does not open with this server secret for this row and column."""


@dataclass(frozen=True)
class Credentials:
    """A robot's webhook URL and signing secret (None when it signs nothing), opened; for a
    QQ robot the framework's or platform's address, its access token or app secret, and
    OneBot's event-report signing secret."""

    url: str
    secret: str | None
    event_secret: str | None = None


def associated_data(robot_id: int, field: str) -> bytes:
    """What a value is bound to besides the key: its version, robot and column."""
    if field not in FIELDS:
        raise ValueError(f"not a robot credential column: {field}")
    return f"wenxing:robot:v1:{robot_id}:{field}".encode()


def _cipher(server_secret: bytes) -> AESGCM:
    return AESGCM(derive_key(server_secret, PURPOSE))


def is_sealed(stored: str | None) -> bool:
    return stored is not None and stored.startswith(PREFIX)


def seal(server_secret: bytes, robot_id: int, field: str, value: str) -> str:
    nonce = os.urandom(NONCE_BYTES)
    sealed = _cipher(server_secret).encrypt(
        nonce, value.encode("utf-8"), associated_data(robot_id, field)
    )
    return PREFIX + base64.b64encode(nonce + sealed).decode("ascii")


def unseal(server_secret: bytes, robot_id: int, field: str, stored: str) -> str:
    """The value, or Unreadable; a value without the prefix is plain (from before sealing)."""
    if not is_sealed(stored):
        return stored
    try:
        raw = base64.b64decode(stored[len(PREFIX) :], validate=True)
        if len(raw) < NONCE_BYTES + TAG_BYTES:
            raise ValueError("too short")
        opened = _cipher(server_secret).decrypt(
            raw[:NONCE_BYTES], raw[NONCE_BYTES:], associated_data(robot_id, field)
        )
        return opened.decode("utf-8")
    except (InvalidTag, ValueError):  # (binascii.Error and UnicodeDecodeError are ValueErrors)
        raise Unreadable(
            f"robot {robot_id}'s {field} cannot be decrypted with this server secret"
        ) from None


def read(server_secret: bytes, robot: Robot) -> Credentials:
    """A robot's credentials opened, or Unreadable."""
    url = unseal(server_secret, robot.id, "webhook_url", robot.webhook_url)
    secret = unseal(server_secret, robot.id, "secret", robot.secret) if robot.secret else None
    events = robot.event_secret
    event_secret = unseal(server_secret, robot.id, "event_secret", events) if events else None
    return Credentials(url, secret or None, event_secret or None)


def read_or_none(server_secret: bytes, robot: Robot) -> Credentials | None:
    """A robot's credentials opened, or None when they do not open (re-entered, they will)."""
    try:
        return read(server_secret, robot)
    except Unreadable:
        return None


def write(
    server_secret: bytes,
    robot: Robot,
    url: str,
    secret: str | None,
    event_secret: str | None = None,
) -> None:
    """Set a robot's credentials, sealed; the robot needs its id (flush it first)."""
    if robot.id is None:
        raise ValueError("a robot's credentials are sealed for its id: flush it first")
    robot.webhook_url = seal(server_secret, robot.id, "webhook_url", url)
    robot.secret = seal(server_secret, robot.id, "secret", secret) if secret else None
    sealed = seal(server_secret, robot.id, "event_secret", event_secret) if event_secret else None
    robot.event_secret = sealed


def seal_plain_rows(session: Session, server_secret: bytes) -> int:
    """Seal the plain values left from before sealing; how many robots had any.

    Each update applies only if the value is still the plain one read, so senders of
    several processes starting together (or a webhook re-entered meanwhile) are safe."""
    sealed = 0
    for robot_id, url, secret in session.execute(
        select(Robot.id, Robot.webhook_url, Robot.secret).order_by(Robot.id)
    ):
        changed = False
        for field, value in (("webhook_url", url), ("secret", secret)):
            if value is None or is_sealed(value):
                continue
            column = getattr(Robot, field)
            new = seal(server_secret, robot_id, field, value) if value else None
            session.execute(
                update(Robot)
                .where(Robot.id == robot_id, column == value)
                .values({field: new})
                .execution_options(synchronize_session=False)
            )
            changed = True
        sealed += changed
    return sealed
