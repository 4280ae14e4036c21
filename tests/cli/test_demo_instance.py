"""The demo's Dagster instance: the one ``make dev`` opens, with telemetry off (no banner)."""

from __future__ import annotations

from pathlib import Path

import pytest

from lakehouse.cli.demo import demo_instance
from lakehouse.settings import load_settings


def test_the_demo_creates_its_instance_with_telemetry_off(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    settings = load_settings({"LAKEHOUSE_HOME": str(tmp_path)})
    instance = demo_instance(settings)
    assert Path(instance.root_directory) == tmp_path / "dagster"
    assert instance.telemetry_enabled is False


def test_a_users_own_instance_config_is_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "mine"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: true\n")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    instance = demo_instance(load_settings({"LAKEHOUSE_HOME": str(tmp_path)}))
    assert Path(instance.root_directory) == home
    assert instance.telemetry_enabled is True
    assert (home / "dagster.yaml").read_text() == "telemetry:\n  enabled: true\n"
