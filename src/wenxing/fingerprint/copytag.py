"""Exact copy ids for file formats (document properties, PDF ids): short and unforgeable.

Two schemes, both still read:

* ``WX2-…`` (every copy issued now): the tag signs the copy id, the recipient's member
  number and the material version together, under one key for the whole installation. A
  tag therefore says on its own whom its copy was issued to, and it can be checked against
  the issuance row it names: a tag accuses only when that row agrees with it. Copy ids are
  random 64-bit numbers, so a restored database never hands the same id out again.
* ``WX1-…`` (copies issued before): the tag signs the copy id alone, under the material
  version's key. Such ids were the log's row numbers, which a restore could hand out again;
  tracing reads them with that caution (``reports.trace``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass

_TAG_BYTES = 10
_V2 = "WX2-"
_NUMBER = re.compile(r"WX-(\d{1,9})")


@dataclass(frozen=True)
class SignedCopy:
    """What a ``WX2`` tag says: the copy, its recipient and the material version."""

    copy_id: int
    member: str  # the member number, e.g. WX-10034
    version_id: int


def _encode(body: bytes, mac: bytes, prefix: str) -> str:
    return prefix + base64.b32encode(body + mac).decode("ascii").rstrip("=")


def _decode(tag: str, prefix: str, body_bytes: int) -> bytes | None:
    """The raw bytes of a tag of this scheme, or None (one spelling per tag: the unused low
    bits of the last character must be 0)."""
    text = tag.strip().upper()
    if not text.startswith(prefix):
        return None
    raw = text[len(prefix) :]
    try:
        data = base64.b32decode(raw + "=" * (-len(raw) % 8))
    except ValueError:
        return None
    if len(data) != body_bytes + _TAG_BYTES:
        return None
    if base64.b32encode(data).decode("ascii").rstrip("=") != raw:
        return None
    return data


def sign_copy(key: bytes, copy_id: int, member: str, version_id: int) -> str:
    """A ``WX2`` tag naming one issued copy, its recipient and its material version; only
    the key holder can make one. ``member`` is a member number (``WX-10034``)."""
    match = _NUMBER.fullmatch(member)
    if match is None:
        raise ValueError(f"not a member number: {member!r}")
    body = (
        copy_id.to_bytes(8, "big")
        + version_id.to_bytes(4, "big")
        + int(match.group(1)).to_bytes(4, "big")
    )
    return _encode(body, _mac(key, b"wenxing:copy:v2:", body), _V2)


def read_signed_copy(key: bytes, tag: str) -> SignedCopy | None:
    """What a ``WX2`` tag made with this key says, or None for anything else."""
    data = _decode(tag, _V2, 16)
    if data is None:
        return None
    body, mac = data[:16], data[16:]
    if not hmac.compare_digest(mac, _mac(key, b"wenxing:copy:v2:", body)):
        return None
    return SignedCopy(
        copy_id=int.from_bytes(body[:8], "big"),
        version_id=int.from_bytes(body[8:12], "big"),
        member=f"WX-{int.from_bytes(body[12:16], 'big')}",
    )


def make_copy_tag(key: bytes, copy_id: int) -> str:
    """A ``WX1`` tag (the first scheme: the copy id alone, under a version's key). New
    copies carry :func:`sign_copy`'s tags; this remains for reading and for tests."""
    body = copy_id.to_bytes(8, "big")
    return _encode(body, _mac(key, b"wenxing:copy:", body), "WX1-")


def read_copy_tag(key: bytes, tag: str) -> int | None:
    """The copy id in a ``WX1`` tag made with this key, or None for anything else."""
    data = _decode(tag, "WX1-", 8)
    if data is None:
        return None
    body, mac = data[:8], data[8:]
    if not hmac.compare_digest(mac, _mac(key, b"wenxing:copy:", body)):
        return None
    return int.from_bytes(body, "big")


def _mac(key: bytes, label: bytes, body: bytes) -> bytes:
    return hmac.new(key, label + body, hashlib.sha256).digest()[:_TAG_BYTES]
