"""Retention: rows past their table's age are archived, verified, and only then deleted, by
the table's time column; rules in one place; every step in the audit trail and OpenLineage."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json

import dagster as dg
import pyarrow as pa
import pytest
from openlineage_schema import validate_event
from upkeep_tables import DAY0, events, rows_of

from lakehouse.governance.archive import (
    LATEST_PROPERTY,
    ArchiveError,
    content_digest,
    list_archives,
    restore_archive,
)
from lakehouse.governance.audit import AuditRecord, audit_store
from lakehouse.settings import load_settings
from lakehouse.upkeep.resource import UpkeepResource
from lakehouse.upkeep.retention import apply as retention_apply
from lakehouse.upkeep.retention.apply import ARCHIVE_PROPERTY, apply_retention, time_column
from lakehouse.upkeep.retention.assets import retention
from lakehouse.upkeep.rules import Override, rules_for


def test_the_seed_retention_rules_apply_per_layer():
    settings = load_settings({})
    assert rules_for(settings, ("raw", "faker_users")).retention == dt.timedelta(days=90)
    assert rules_for(settings, ("analytics", "orders")).retention == dt.timedelta(days=365)
    assert rules_for(settings, ("raw", "faker_users")).subject_column == "id"
    custom = {"raw": Override(retention=dt.timedelta(days=1)), "raw.t": Override(min_small_files=9)}
    rules = rules_for(settings, ("raw", "t"), custom)
    assert (rules.retention, rules.min_small_files) == (dt.timedelta(days=1), 9)


def test_rows_older_than_the_retention_are_deleted(catalog, settings, append):
    for day in range(5):
        append(events(day * 10, 10, day=day * 30), partition_column="created_at")
    table = ("raw", "events")
    rules = dataclasses.replace(rules_for(settings, table), time_column="created_at")
    now = DAY0 + dt.timedelta(days=150)  # 90 days back: days 60 onwards survive

    root = settings.archive_root
    dry = apply_retention(catalog, table, rules, now, archive_root=root, dry_run=True)
    assert dry.rows_deleted == 20 and len(rows_of(catalog.load_table(table))) == 50
    assert list_archives(root) == []
    result = apply_retention(catalog, table, rules, now, archive_root=root)

    assert (result.column, result.rows_deleted) == ("created_at", 20)
    assert [r[0] for r in rows_of(catalog.load_table(table))] == list(range(20, 50))
    assert apply_retention(catalog, table, rules, now, archive_root=root).rows_deleted == 0


def test_the_time_column_falls_back_to_the_time_partition(catalog, settings, append):
    append(events(0, 3), ("analytics", "events"), partition_column="created_at")
    table = catalog.load_table(("analytics", "events"))
    assert time_column(table, rules_for(settings, ("analytics", "events"))) == "created_at"
    append(events(0, 3), ("staging", "plain"))
    result = apply_retention(
        catalog, ("staging", "plain"), rules_for(settings, ("staging", "plain")), archive_root=None
    )
    assert result.skipped and result.rows_deleted == 0


def _old_and_new(append, now: dt.datetime, table=("raw", "events")) -> None:
    """10 rows 200 days before ``now`` (past the raw 90 days) and 10 rows 10 days before."""
    old = events(0, 10).set_column(3, "created_at", pa.array([now - dt.timedelta(days=200)] * 10))
    new = events(10, 10).set_column(3, "created_at", pa.array([now - dt.timedelta(days=10)] * 10))
    append(old, table, partition_column="created_at")
    append(new, table, partition_column="created_at")


def _rules(settings):
    return dataclasses.replace(rules_for(settings, ("raw", "events")), time_column="created_at")


def test_what_retention_deletes_is_archived_first_and_restores_identical(catalog, settings, append):
    now = DAY0 + dt.timedelta(days=365)
    _old_and_new(append, now)
    table = ("raw", "events")
    expired = catalog.load_table(table).scan(row_filter="id < 10").to_arrow()

    result = apply_retention(
        catalog, table, _rules(settings), now, archive_root=settings.archive_root
    )

    assert result.rows_deleted == 10 and result.archive is not None
    (manifest,) = list_archives(settings.archive_root, table="raw.events")
    assert manifest.rows == 10 and manifest.range["column"] == "created_at"
    after = catalog.load_table(table)
    assert after.properties[LATEST_PROPERTY] == result.archive.manifest_uri
    delete = after.current_snapshot()
    assert delete.summary.additional_properties[ARCHIVE_PROPERTY] == result.archive.manifest_uri
    restored = restore_archive(catalog, settings.archive_root, manifest)
    assert content_digest(catalog.load_table(restored).scan().to_arrow()) == content_digest(expired)


def test_a_row_arriving_between_archive_and_delete_stops_the_delete(
    catalog, settings, append, monkeypatch
):
    now = DAY0 + dt.timedelta(days=365)
    _old_and_new(append, now)
    real = retention_apply.archive_rows

    def archive_then_late_row(*args, **kwargs):
        receipt = real(*args, **kwargs)
        late = events(99, 1).set_column(3, "created_at", pa.array([now - dt.timedelta(days=300)]))
        append(late, ("raw", "events"), partition_column="created_at")
        return receipt

    monkeypatch.setattr(retention_apply, "archive_rows", archive_then_late_row)
    with pytest.raises(
        ArchiveError, match=r"changed since they were archived to .*; nothing deleted"
    ):
        apply_retention(
            catalog, ("raw", "events"), _rules(settings), now, archive_root=settings.archive_root
        )
    assert len(rows_of(catalog.load_table(("raw", "events")))) == 21


def test_an_archive_that_cannot_be_written_deletes_nothing(catalog, settings, append, tmp_path):
    now = DAY0 + dt.timedelta(days=365)
    _old_and_new(append, now)
    blocked = tmp_path / "not-a-directory"
    blocked.write_text("a file where the archive root should be")
    with pytest.raises(ArchiveError, match="nothing may be deleted"):
        apply_retention(
            catalog, ("raw", "events"), _rules(settings), now, archive_root=str(blocked)
        )
    with pytest.raises(ArchiveError, match="LAKEHOUSE_ARCHIVE_LOCATION"):
        apply_retention(catalog, ("raw", "events"), _rules(settings), now, archive_root=None)
    assert len(rows_of(catalog.load_table(("raw", "events")))) == 20


def test_the_retention_job_audits_archives_and_deletes_purges_old_audit_rows_and_exports_lineage(
    catalog, settings, append
):
    now = dt.datetime.now(dt.UTC)  # the job reads the clock itself: the rows lie months around it
    _old_and_new(append, now, ("raw", "faker_users"))  # raw: 90 days by the airbyte column
    with catalog.load_table(("raw", "faker_users")).transaction() as txn:
        txn.set_properties({"lakehouse.time-column": "created_at"})
    store = audit_store(settings)
    eight_years_ago = now - dt.timedelta(days=8 * 366)
    store.append([AuditRecord("dagster.run.success", "old_job", "service:x", eight_years_ago)])

    result = dg.materialize([retention], resources={"upkeep": UpkeepResource(settings=settings)})

    assert result.success
    rows = [r.record for r in store.list()]
    assert [r.action for r in rows] == ["retention.archive", "retention.delete", "audit.purge"]
    archive, delete, purge = rows
    assert purge.details["purged_rows"] == 1  # the eight-year-old row; the checkpoint stays
    assert (archive.object, archive.run_id, archive.details["rows"]) == (
        "raw.faker_users", result.run_id, 10,
    )  # fmt: skip
    assert delete.details["rows_deleted"] == 10
    assert delete.details["archive_manifest"] == archive.details["manifest"]
    assert store.verify().ok
    events = [json.loads(line) for line in settings.lineage_file.read_text().splitlines()]
    for event in events:
        validate_event(event)
    complete = events[-1]
    assert (complete["eventType"], complete["job"]["name"]) == ("COMPLETE", "upkeep_retention")
    outputs = {o["facets"]["symlinks"]["identifiers"][0]["name"] for o in complete["outputs"]}
    assert outputs == {"raw.faker_users", "archive.raw.faker_users"}
