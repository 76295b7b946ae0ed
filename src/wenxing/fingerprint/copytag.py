"""An exact copy id for file formats (document properties, PDF ids): short and unforgeable."""

from __future__ import annotations

import base64
import hashlib
import hmac

_TAG_BYTES = 10


def make_copy_tag(key: bytes, copy_id: int) -> str:
    """A tag naming one issued copy, e.g. ``WX1-AE3F…``; only the key holder can make one."""
    body = copy_id.to_bytes(8, "big")
    mac = hmac.new(key, b"wenxing:copy:" + body, hashlib.sha256).digest()[:_TAG_BYTES]
    return "WX1-" + base64.b32encode(body + mac).decode("ascii").rstrip("=")


def read_copy_tag(key: bytes, tag: str) -> int | None:
    """The copy id in a tag made with this key, or None for anything else."""
    text = tag.strip().upper()
    if not text.startswith("WX1-"):
        return None
    raw = text[4:]
    try:
        data = base64.b32decode(raw + "=" * (-len(raw) % 8))
    except ValueError:
        return None
    if len(data) != 8 + _TAG_BYTES:
        return None
    if base64.b32encode(data).decode("ascii").rstrip("=") != raw:
        return None  # one spelling per tag: the unused low bits of the last character must be 0
    body, mac = data[:8], data[8:]
    expected = hmac.new(key, b"wenxing:copy:" + body, hashlib.sha256).digest()[:_TAG_BYTES]
    return int.from_bytes(body, "big") if hmac.compare_digest(mac, expected) else None
