"""Settings, two sources with one declaration each.

* :mod:`wenxing.config.process`: :class:`Settings`, what a process needs before it can open
  the database, from ``WENXING_*`` environment variables.
* :mod:`wenxing.config.publisher`: :class:`PublisherSettings`, the typed model of the
  ``settings`` table (masthead, groups, import rules, plans and quotas), one field and one
  validator per setting. Changing one is ``wenxing.settings.change`` (checked, audited).

``docs/settings.md`` is generated from both (``python -m wenxing.docgen``).
"""

from wenxing.config.process import DEFAULT_DATABASE_URL, Settings
from wenxing.config.publisher import (
    DEFAULT_MASTHEAD,
    PUBLISHER_SETTINGS,
    PublisherSettings,
    SettingSpec,
    UnknownSetting,
    parse_setting,
    settings_changes_here,
)

__all__ = [
    "DEFAULT_DATABASE_URL",
    "DEFAULT_MASTHEAD",
    "PUBLISHER_SETTINGS",
    "PublisherSettings",
    "SettingSpec",
    "Settings",
    "UnknownSetting",
    "parse_setting",
    "settings_changes_here",
]
