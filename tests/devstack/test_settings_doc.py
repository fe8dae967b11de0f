"""docs/configuration.md is generated from the settings classes and must follow them."""

from pathlib import Path

import pytest

from devstack import settings_doc

DOC = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"


def test_configuration_doc_is_up_to_date():
    assert DOC.read_text(encoding="utf-8") == settings_doc.render(), (
        "docs/configuration.md is out of date: run `python -m devstack.settings_doc > docs/configuration.md`"
    )


@pytest.mark.parametrize("section", settings_doc.SECTIONS, ids=lambda s: s.settings.__name__)
def test_every_setting_has_a_description(section):
    missing = [name for name, field in section.settings.model_fields.items() if not (field.description or "").strip()]
    assert not missing, f"{section.settings.__name__} fields without a description: {missing}"


def test_every_section_lists_something_and_check_mode_agrees(tmp_path):
    for section in settings_doc.SECTIONS:
        assert "| `" in settings_doc.render_section(section), section.title
    assert settings_doc.main(["--check", str(DOC)]) == 0
    stale = tmp_path / "configuration.md"
    stale.write_text(settings_doc.render() + "\n", encoding="utf-8")
    assert settings_doc.main(["--check", str(stale)]) == 1
