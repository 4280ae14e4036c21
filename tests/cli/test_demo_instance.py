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


def test_the_demo_instance_books_events_without_syncing_and_the_catalog_keeps_its_syncs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Dagster's per-event commits skip the fsync (the first demo's bookkeeping cost); the
    Iceberg catalog's commits, in the same process and directory tree, stay durable."""
    from lakehouse.catalog import build_catalog

    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    settings = load_settings({"LAKEHOUSE_HOME": str(tmp_path)})
    instance = demo_instance(settings)
    with instance.event_log_storage.index_connection() as connection:  # type: ignore[attr-defined]
        assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == 0  # OFF
    catalog = build_catalog(settings)
    with catalog.engine.connect() as connection:  # type: ignore[attr-defined]
        assert connection.exec_driver_sql("PRAGMA synchronous").scalar() != 0
