"""Reference docs are generated from the code; this fails when they were not regenerated."""

from tests.helpers import REPO
from wenxing import docgen


def test_generated_docs_are_current():
    for name, text in docgen.generated().items():
        on_disk = (REPO / "docs" / name).read_text(encoding="utf-8")
        assert on_disk == text, f"docs/{name} is stale: run `python -m wenxing.docgen`"


def test_every_command_and_setting_is_documented():
    from wenxing.cli import cli
    from wenxing.config import PUBLISHER_SETTINGS, Settings

    cli_doc = (REPO / "docs" / "cli.md").read_text(encoding="utf-8")
    for name in cli.commands:
        assert f"## `wenxing {name}`" in cli_doc
    settings_doc = (REPO / "docs" / "settings.md").read_text(encoding="utf-8")
    for name in Settings.model_fields:
        assert f"`WENXING_{name.upper()}`" in settings_doc
    for spec in PUBLISHER_SETTINGS:
        assert f"| `{spec.name}` |" in settings_doc and spec.help


def test_changing_a_setting_value_leaves_the_default_alone():
    from wenxing.config import PublisherSettings

    plans = PublisherSettings.defaults().plans
    plans[0]["daily_quota"] = 999
    assert PublisherSettings.defaults().plans[0]["daily_quota"] != 999
