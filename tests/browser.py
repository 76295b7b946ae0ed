"""One Debian Chromium per test process, shared by the browser tests one after another.

Launching Chromium costs a second or two; a new context per test (its own cookies, storage
and viewport) isolates the tests as well as a new browser did. The browser tests run
together (collection order; one xdist group), so Chromium is launched once per process.

The browser is Debian's ``chromium-headless-shell``: the same Chromium (version, Blink, V8,
Skia) built as the headless shell, which is what Playwright itself launches for a headless
Chromium. The whole browser run headless (``/usr/bin/chromium --headless``) still builds
its user interface, with a renderer of its own for the browser's WebUI beside the pages';
the shell has none. The browser tests took about half the CPU with it (180 → 94 s over
21 of them, the rest of the test's work included), every browser test passing alike,
screenshots read by OCR included.

Playwright's synchronous API keeps an event loop running in the thread that started it, and
``asyncio.run`` cannot be called there while it lives: so before any test that does not use
the browser, the browser is closed (see ``pytest_runtest_setup`` in tests/conftest.py).
"""

from __future__ import annotations

from pathlib import Path

CHROMIUM = "/usr/bin/chromium-headless-shell"


class SharedChromium:
    def __init__(self) -> None:
        self._playwright = None
        self._browser = None

    def get(self):
        """The running browser, launched on first use."""
        if self._browser is None or not self._browser.is_connected():
            self.close()
            assert Path(CHROMIUM).exists(), (
                "Debian's chromium-headless-shell is missing: run scripts/dev test"
            )
            from playwright.sync_api import sync_playwright

            self._playwright = sync_playwright().start()
            self._browser = self._playwright.chromium.launch(
                executable_path=CHROMIUM, headless=True
            )
        return self._browser

    def close_contexts(self) -> None:
        """End every context a test opened (also those it left open when it failed)."""
        if self._browser is not None and self._browser.is_connected():
            for context in list(self._browser.contexts):
                context.close()

    def close(self) -> None:
        try:
            if self._browser is not None and self._browser.is_connected():
                self._browser.close()
        finally:
            self._browser = None
            if self._playwright is not None:
                self._playwright.stop()
                self._playwright = None


CHROMIUM_PROCESS = SharedChromium()
