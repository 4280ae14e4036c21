"""The settings page's table (docs/settings.md) is the settings model's, row for row."""

from __future__ import annotations

from pathlib import Path

import pytest

from lakehouse.settings import PREFIX, Settings
from lakehouse.settings_table import BEGIN, END, markdown, replace_block

PAGE = Path(__file__).resolve().parent.parent / "docs" / "settings.md"


def test_the_settings_page_lists_every_setting_as_the_model_declares_it() -> None:
    text = PAGE.read_text()
    block = text.split(BEGIN, 1)[1].split(END, 1)[0].strip()
    assert block == markdown(), (
        "docs/settings.md is stale: python -m lakehouse.settings_table --write docs/settings.md"
    )
    for name in Settings.model_fields:
        assert f"`{PREFIX}{name.upper()}`" in block


def test_secrets_have_no_default_shown_and_replacing_needs_the_markers() -> None:
    table = markdown()
    assert "| `LAKEHOUSE_S3_SECRET_ACCESS_KEY` | secret" in table
    assert replace_block(f"a\n{BEGIN}\nold\n{END}\nb", "new") == f"a\n{BEGIN}\nnew\n{END}\nb"
    with pytest.raises(ValueError, match="markers"):
        replace_block("no markers here", table)
