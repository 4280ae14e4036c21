"""What the seed asks to log becomes chained audit rows: schema changes of Iceberg tables
(found in the table's own history, whoever changed it), erasures, retention with its archive,
quarantine and replay, GDPR exports."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
from pyiceberg.types import LongType

from lakehouse.governance.audit.recorders import (
    archive_record,
    erasure_record,
    gdpr_export_record,
    quarantine_record,
    replay_record,
    retention_record,
    schema_change_records,
    schema_history,
)
from lakehouse.governance.audit.sqlite_store import SqliteAuditStore
from lakehouse.iceberg.write_request import WriteRequest
from lakehouse.iceberg.writes import write

T = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)


def _write(catalog, data: pa.Table, run_id: str) -> None:
    request = WriteRequest(
        ("raw", "t"), mode="append", snapshot_properties={"dagster.run-id": run_id}
    )
    write(catalog, data, request)


def test_schema_changes_are_read_from_the_table_history_and_recorded_once(catalog, tmp_path):
    catalog.create_namespace_if_not_exists("raw")
    _write(catalog, pa.table({"id": pa.array([1], pa.int32()), "name": ["a"]}), "run-1")
    _write(
        catalog,
        pa.table({"id": pa.array([2], pa.int32()), "name": ["b"], "tier": ["gold"]}),
        "run-2",
    )
    table = catalog.load_table(("raw", "t"))
    with table.update_schema() as update:  # another engine widening a column
        update.update_column("id", LongType())
    _write(
        catalog, pa.table({"id": pa.array([3], pa.int64()), "name": ["c"], "tier": [None]}), "run-3"
    )
    table = catalog.load_table(("raw", "t"))

    history = schema_history(table)
    assert [v.schema.schema_id for v in history] == [0, 1, 2]
    assert [v.run_id for v in history] == ["run-1", "run-2", "run-3"]
    records = schema_change_records(table)
    assert [(r.object, r.run_id) for r in records] == [("raw.t", "run-2"), ("raw.t", "run-3")]
    assert [c["kind"] for c in records[0].details["changes"]] == ["added"]
    assert records[0].details["changes"][0]["column"] == "tier"
    assert [c["kind"] for c in records[1].details["changes"]] == ["widened"]
    assert records[1].details["old_schema"]["fields"][0]["type"] == "int"
    assert records[1].details["new_schema"]["fields"][0]["type"] == "long"
    assert records[0].at == history[1].first_seen_at
    assert schema_change_records(table, after_schema_id=1) == records[1:]

    store = SqliteAuditStore(tmp_path / "audit.db")
    assert store.append(records) == 2
    assert store.append(schema_change_records(table)) == 0  # a second sweep adds nothing
    assert store.verify().ok


def test_governance_operations_are_recorded_and_chained(tmp_path):
    manifest = {"archive_id": "a1", "range": {"column": "at"}, "rows": 5, "sha256": "f" * 64,
                "content_sha256": "e" * 64, "snapshot_id": 9, "schema": {"big": "dropped"}}  # fmt: skip
    export = {"export_id": "x1", "subject_sha256": "d" * 64,
              "tables": [{"table": "staging.users", "rows": 1}]}  # fmt: skip
    records = [
        erasure_record("r1", "d" * 64, "dpo@example.com", {"staging.users": {"rows_deleted": 2}}, at=T),
        archive_record("raw.events", "s3://archive/raw/events/a1/manifest.json", manifest, at=T),
        retention_record("raw.events", "at", T, 5, archive_manifest="s3://archive/.../manifest.json", at=T),
        quarantine_record("raw.t", "b1", 3, {"not_nullable": 3}, run_id="run-1", at=T),
        replay_record("raw.t", 1, 3, 0, actor="user:alice", at=T),
        gdpr_export_record(export, "s3://exports/x1", actor="user:dpo", at=T),
    ]  # fmt: skip
    store = SqliteAuditStore(tmp_path / "audit.db")
    assert store.append(records) == 6
    rows = store.list()
    assert [r.record.action for r in rows] == [
        "gdpr.erasure",
        "retention.archive",
        "retention.delete",
        "wap.quarantine",
        "wap.replay",
        "gdpr.export",
    ]
    assert rows[0].record.actor == "user:dpo@example.com"
    assert rows[0].record.details["rows_deleted"] == 2
    assert "schema" not in rows[1].record.details and rows[1].record.details["rows"] == 5
    assert rows[5].record.details["rows"] == {"staging.users": 1}
    assert [r.seq for r in store.list(object="raw.events")] == [2, 3]
    assert store.verify().ok
