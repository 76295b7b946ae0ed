"""The PNG icon beside the SVG favicon is drawn at commit time by scripts/favicon_png.py
(issue 22): 180×180 for phones' home screens, opaque (iOS blackens transparent corners),
and drawn from the SVG as it is now (its SHA-256 is kept in the PNG)."""

from __future__ import annotations

import hashlib
from pathlib import Path

from PIL import Image

STATIC = Path(__file__).resolve().parents[2] / "src" / "wenxing" / "web" / "static"


def test_the_touch_icon_is_180_pixels_opaque_and_drawn_from_the_current_svg():
    with Image.open(STATIC / "apple-touch-icon.png") as icon:
        assert icon.size == (180, 180)
        assert icon.mode == "RGB"  # no transparency to blacken
        kept = icon.text.get("source-sha256")
        corner, centre = icon.getpixel((0, 0)), icon.getpixel((90, 40))
    svg = (STATIC / "favicon.svg").read_bytes()
    assert kept == hashlib.sha256(svg).hexdigest(), (
        "favicon.svg changed: run .venv/bin/python scripts/favicon_png.py"
    )
    assert corner == (0x8B, 0x1A, 0x1A)  # the SVG's background, full-bleed
    assert corner != centre  # the character is drawn
