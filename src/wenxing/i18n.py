"""One translation catalogue for every string a member, visitor or editor sees.

Messages are written in Chinese in the code and templates and marked with ``_()`` (Python)
or ``{{ _("…") }}`` / ``{% trans %}`` (Jinja2). ``scripts/dev i18n`` extracts them with Babel
into ``locale/wenxing.pot`` and updates each ``locale/<LANG>/LC_MESSAGES/wenxing.po``; the
site's language is ``WENXING_LOCALE`` (``zh_CN`` by default, whose catalogue is the source
text itself). The catalogues are compiled in memory when first used, so no compiled ``.mo``
file is kept in the repository. Log lines and the CLI's machine output stay English and are
not marked.
"""

from __future__ import annotations

import io
from functools import lru_cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "wenxing"
SOURCE_LOCALE = "zh_CN"

_locale = SOURCE_LOCALE


def available_locales() -> list[str]:
    """Languages with a catalogue (the source language always has one)."""
    found = {p.parent.parent.name for p in LOCALE_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.po")}
    return sorted(found | {SOURCE_LOCALE})


@lru_cache(maxsize=8)
def translations(locale: str) -> NullTranslations:
    """The compiled catalogue of ``locale``; the source text itself for ``zh_CN``."""
    po = LOCALE_DIR / locale / "LC_MESSAGES" / f"{DOMAIN}.po"
    if not po.is_file():
        if locale != SOURCE_LOCALE:
            raise ValueError(f"no translation catalogue for locale {locale!r}")
        return NullTranslations()
    with po.open("rb") as f:
        catalog = read_po(f, locale=locale, domain=DOMAIN)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(buffer, domain=DOMAIN)


def set_locale(locale: str) -> None:
    """Choose the site's language for this process (from ``Settings.locale``)."""
    global _locale
    translations(locale)  # fails here, at start-up, on a language without a catalogue
    _locale = locale


def current() -> NullTranslations:
    return translations(_locale)


def language_tag() -> str:
    """The current language as an HTML ``lang`` / BCP 47 tag (``zh_CN`` -> ``zh-CN``)."""
    return _locale.replace("_", "-")


def _(message: str) -> str:
    """The current language's text for ``message`` (written in Chinese in the source)."""
    return current().gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return current().ngettext(singular, plural, n)


def N_(message: str) -> str:
    """Marks a module-level constant for extraction without translating it at import;
    translate it where it is shown, with ``_(CONSTANT)``."""
    return message
