"""Backups and restore checks: incremental copies, verified restores, caught corruption."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from upkeep_tables import appender, events

from lakehouse.catalog import build_catalog, catalog_properties
from lakehouse.settings import load_settings
from lakehouse.upkeep.backup.restore_check import run_restore_check
from lakehouse.upkeep.backup.store import TAG_PREFIX, list_backups, prune
from lakehouse.upkeep.backup.table_backup import run_backup
from lakehouse.upkeep.storage import Storage

TABLE = ("raw", "events")


def _check(catalog, settings, storage, **kwargs):
    return run_restore_check(
        catalog,
        storage,
        settings.backup_root,
        namespace=settings.upkeep_restore_namespace,
        rpo_limit_seconds=kwargs.pop("rpo", settings.upkeep_rpo_seconds),
        rto_limit_seconds=settings.upkeep_rto_seconds,
        **kwargs,
    )


@pytest.fixture
def backed_up(catalog, settings, append, storage):
    """Two tables (one day-partitioned) and a first backup of them."""
    for batch in range(3):
        append(events(batch * 10, 10, day=batch), partition_column="created_at")
    append(events(0, 5), ("analytics", "users"))
    return run_backup(catalog, settings, storage, settings.backup_root)


def test_a_backup_restores_and_reads_back_identically(backed_up, catalog, settings, storage):
    assert not backed_up.failed and backed_up.catalog.kind == "sqlite"
    table = backed_up.table("raw.events")
    assert (table.row_count, len([f for f in table.files if f.kind == "data"])) == (30, 3)
    assert f"{TAG_PREFIX}{backed_up.backup_id}" in catalog.load_table(TABLE).metadata.refs

    report = _check(catalog, settings, storage)

    assert report.ok, report.all_problems()
    assert report.rows == 35 and 0 <= report.rpo_seconds < 3600 and report.rto_seconds > 0
    assert catalog.list_tables(settings.upkeep_restore_namespace) == []  # cleaned up


def test_backups_are_incremental_and_keep_two_tags(
    backed_up, catalog, settings, storage, append, monkeypatch
):
    append(events(100, 10, day=5), partition_column="created_at")
    copied: list[str] = []
    real_copy = Storage.copy

    def counting_copy(self, source, target):
        copied.append(source)
        return real_copy(self, source, target)

    monkeypatch.setattr(Storage, "copy", counting_copy)
    second = run_backup(catalog, settings, storage, settings.backup_root)
    data = [s for s in copied if s.endswith(".parquet")]
    assert len(data) == 1  # only the new file; the three older ones are already backed up
    assert second.table("raw.events").row_count == 40
    run_backup(catalog, settings, storage, settings.backup_root)
    tags = [n for n in catalog.load_table(TABLE).metadata.refs if n.startswith(TAG_PREFIX)]
    assert len(tags) == 2 and len(list_backups(storage, settings.backup_root)) == 3


def test_pruning_drops_old_backups_but_never_the_latest(backed_up, catalog, settings, storage):
    run_backup(catalog, settings, storage, settings.backup_root)
    later = backed_up.created + dt.timedelta(days=60)  # from the backup's clock, not today's
    dropped, files = prune(
        storage, settings.backup_root, now=later, retention=dt.timedelta(days=30)
    )
    # the first backup's catalog dump and its two metadata copies (tagging changed them since)
    assert len(dropped) == 1 and files == 3
    assert _check(catalog, settings, storage).ok


def _backup_file(settings, backup, kind: str) -> Path:
    entry = next(f for f in backup.table("raw.events").files if f.kind == kind)
    return Path(settings.backup_root.removeprefix("file://")) / entry.path


def test_a_flipped_byte_in_the_backup_is_caught(backed_up, catalog, settings, storage):
    path = _backup_file(settings, backed_up, "data")
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 2] ^= 0x01
    path.write_bytes(bytes(raw))

    report = _check(catalog, settings, storage)

    assert not report.ok
    assert any("sha256" in p for p in report.tables["raw.events"])
    assert report.tables["analytics.users"] == []


def test_a_missing_backup_file_is_caught(backed_up, catalog, settings, storage):
    _backup_file(settings, backed_up, "manifest").unlink()
    report = _check(catalog, settings, storage)
    assert any("missing" in p for p in report.tables["raw.events"])


def test_a_backup_older_than_the_rpo_fails_the_check(backed_up, catalog, settings, storage):
    later = backed_up.created + dt.timedelta(hours=2)  # the RPO limit is one hour
    report = _check(catalog, settings, storage, now=later)
    assert not report.ok and any(p.startswith("RPO") for p in report.problems)
    assert report.rpo_seconds == 7200


@pytest.mark.postgres
def test_a_postgresql_catalog_is_dumped_and_read_back(pg_catalog_uri, tmp_path):
    settings = load_settings(
        {"LAKEHOUSE_HOME": str(tmp_path), "LAKEHOUSE_CATALOG_URI": pg_catalog_uri}
    )
    catalog = build_catalog(settings)
    appender(catalog)(events(0, 10))
    storage = Storage(catalog_properties(settings))
    backup = run_backup(catalog, settings, storage, settings.backup_root)
    assert backup.catalog.kind == "postgresql" and backup.catalog.size > 0
    assert _check(catalog, settings, storage).ok


def test_the_restore_command_restores_a_table_for_an_operator(
    backed_up, environment, monkeypatch, capsys
):
    from lakehouse.cli import main
    from lakehouse.settings import get_settings

    monkeypatch.setenv("LAKEHOUSE_HOME", environment["LAKEHOUSE_HOME"])
    get_settings.cache_clear()
    try:
        assert main(["restore", "--list"]) == 0
        assert backed_up.backup_id in capsys.readouterr().out
        assert main(["restore", "--table", "raw.events", "--into", "recovered"]) == 0
        assert "raw.events -> recovered.raw__events: 30 rows" in capsys.readouterr().out
        assert main(["restore", "--check"]) == 0
    finally:
        get_settings.cache_clear()
    catalog = build_catalog(load_settings(environment))
    assert len(catalog.load_table(("recovered", "raw__events")).scan().to_arrow()) == 30
