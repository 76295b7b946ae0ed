"""Draw the PNG icon beside the SVG favicon, at commit time (never at run time).

Phones that put a site on the home screen (iOS's 添加到主屏幕, WeChat's and most Android
browsers' shortcuts) want a PNG ``apple-touch-icon`` of 180×180 pixels; they round the
corners themselves and fill transparent ones with black, so the icon is drawn full-bleed on
the SVG's own background colour. Debian's Chromium renders ``favicon.svg`` (the same
browser the tests use); the PNG keeps the SVG's SHA-256 in a ``source-sha256`` text chunk,
and ``tests/unit/test_favicon.py`` fails when the SVG changed and this was not run again.

Run from the repository root after editing favicon.svg:
    .venv/bin/python scripts/favicon_png.py
"""

from __future__ import annotations

import hashlib
import io
import re
import sys
from pathlib import Path

from PIL import Image
from PIL.PngImagePlugin import PngInfo

STATIC = Path(__file__).resolve().parent.parent / "src" / "wenxing" / "web" / "static"
SVG = STATIC / "favicon.svg"
PNG = STATIC / "apple-touch-icon.png"
SIZE = 180
CHROMIUM = "/usr/bin/chromium"


def render(svg: str, size: int = SIZE) -> bytes:
    """The SVG at ``size``×``size`` pixels on its first fill colour, as PNG bytes."""
    from playwright.sync_api import sync_playwright

    background = re.search(r'fill="(#[0-9a-fA-F]{3,6})"', svg)
    colour = background.group(1) if background else "#ffffff"
    page_html = (
        f"<!doctype html><html><body style='margin:0;background:{colour}'>"
        f"<div style='width:{size}px;height:{size}px'>"
        + svg.replace("<svg ", f'<svg width="{size}" height="{size}" ', 1)
        + "</div></body></html>"
    )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        try:
            page = browser.new_page(viewport={"width": size, "height": size})
            page.set_content(page_html)
            return page.screenshot(clip={"x": 0, "y": 0, "width": size, "height": size})
        finally:
            browser.close()


def source_digest(svg_bytes: bytes) -> str:
    return hashlib.sha256(svg_bytes).hexdigest()


def main() -> int:
    svg_bytes = SVG.read_bytes()
    shot = Image.open(io.BytesIO(render(svg_bytes.decode()))).convert("RGB")
    info = PngInfo()
    info.add_text("source-sha256", source_digest(svg_bytes))
    shot.save(PNG, "PNG", pnginfo=info, optimize=True)
    print(f"wrote {PNG.relative_to(Path.cwd()) if PNG.is_relative_to(Path.cwd()) else PNG}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
