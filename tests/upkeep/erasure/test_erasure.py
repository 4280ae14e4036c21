"""GDPR erasure: afterwards no snapshot, no tag and no file on disk holds the subject."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from upkeep_tables import appender, events

from lakehouse.catalog import build_catalog, catalog_properties
from lakehouse.governance.pii import PII_PROPERTY, SUBJECT_COLUMN_PROPERTY, subject_hash
from lakehouse.settings import load_settings
from lakehouse.upkeep.backup.table_backup import run_backup
from lakehouse.upkeep.erasure.erase import AUDIT_TABLE, erase_subject
from lakehouse.upkeep.storage import Storage

SUBJECT = 3  # user_id % 7 == 3 in raw.events; id == 3 in raw.faker_users


def _parquet_holding(warehouse: Path, column: str, value: int) -> list[str]:
    """Every parquet file under the warehouse that has ``value`` in ``column``."""
    found = []
    for path in warehouse.rglob("*.parquet"):
        data = pq.read_table(path)
        if column in data.column_names and pc.any(pc.equal(data[column], value)).as_py():
            found.append(str(path))
    return found


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_a_subject_is_gone_from_every_snapshot_and_file(backend, tmp_path, request):
    environment = {"LAKEHOUSE_HOME": str(tmp_path)}
    if backend == "postgres":
        environment["LAKEHOUSE_CATALOG_URI"] = request.getfixturevalue("pg_catalog_uri")
    settings = load_settings(environment)
    catalog = build_catalog(settings)
    append = appender(catalog)
    for batch in range(3):
        append(events(batch * 10, 10), ("raw", "events"))
    append(events(0, 10), ("raw", "faker_users"))  # declared PII (id) in rules.py
    append(events(100, 10, users=1), ("raw", "not_pii"))
    events_table = catalog.load_table(("raw", "events"))
    with events_table.transaction() as txn:
        txn.set_properties({PII_PROPERTY: "true", SUBJECT_COLUMN_PROPERTY: "user_id"})
    run_backup(catalog, settings, Storage(catalog_properties(settings)), settings.backup_root)

    report = erase_subject(catalog, str(SUBJECT), "dpo@example.org")

    assert report.tables["raw.events"].rows_deleted == 4  # user ids 3, 10, 17, 24 -> % 7 == 3
    assert report.tables["raw.faker_users"].rows_deleted == 1
    assert report.tables["raw.events"].tags_removed  # the backup tag held the subject
    for name, column in (("raw.events", "user_id"), ("raw.faker_users", "id")):
        table = catalog.load_table(tuple(name.split(".")))
        for snapshot in table.metadata.snapshots:  # current and every retained snapshot
            rows = table.scan(snapshot_id=snapshot.snapshot_id).to_arrow()
            assert not pc.any(pc.equal(rows[column], SUBJECT)).as_py()
    warehouse = tmp_path / "warehouse"  # every parquet file on disk, any table, any snapshot
    assert _parquet_holding(warehouse, "user_id", SUBJECT) == []
    assert _parquet_holding(warehouse, "id", SUBJECT) == []
    assert len(catalog.load_table(("raw", "events")).scan().to_arrow()) == 26
    assert len(catalog.load_table(("raw", "not_pii")).scan().to_arrow()) == 10  # untouched

    audit = catalog.load_table(AUDIT_TABLE).scan().to_arrow().to_pylist()
    assert [(a["subject_sha256"], a["requested_by"], a["rows_deleted"]) for a in audit] == [
        (subject_hash(str(SUBJECT)), "dpo@example.org", 5)
    ]
    assert "raw.events" in audit[0]["tables"]


def test_a_restore_from_an_older_backup_replays_the_erasure(
    catalog, settings, append, storage, tmp_path
):
    append(events(0, 14), ("raw", "faker_users"))
    backup = run_backup(catalog, settings, storage, settings.backup_root)
    erase_subject(catalog, str(SUBJECT), "dpo@example.org")
    from lakehouse.upkeep.backup.restore import restore_table
    from lakehouse.upkeep.erasure.replay import reapply_erasures

    target = ("recovered", "faker_users")
    restore_table(catalog, storage, settings.backup_root, backup.table("raw.faker_users"), target)
    assert reapply_erasures(catalog, target, backup.created, ("raw", "faker_users")) == 1

    restored = catalog.load_table(target)
    assert len(restored.scan().to_arrow()) == 13 and len(restored.snapshots()) == 1
    location = Path(restored.location().removeprefix("file://"))
    assert _parquet_holding(location, "id", SUBJECT) == []


def test_quarantined_rows_of_a_pii_table_are_erased_too(catalog, settings, append, tmp_path):
    """Rows held back by write-audit-publish are the same personal data as their source's."""
    from lakehouse.upkeep.rules import rules_for
    from lakehouse.wap.quarantine import AT, quarantine_identifier

    quarantine = quarantine_identifier(("raw", "faker_users"))
    append(events(0, 10), ("raw", "faker_users"))
    append(events(0, 10), quarantine)

    report = erase_subject(catalog, str(SUBJECT), "dpo@example.org")

    assert report.tables[".".join(quarantine)].rows_deleted == 1
    rows = catalog.load_table(quarantine).scan().to_arrow()
    assert len(rows) == 9 and not pc.any(pc.equal(rows["id"], SUBJECT)).as_py()
    assert _parquet_holding(tmp_path / "warehouse", "id", SUBJECT) == []
    # Retention too: the source's rules, aged from the time the rows were quarantined.
    rules = rules_for(settings, quarantine)
    assert rules.retention == rules_for(settings, ("raw", "faker_users")).retention
    assert rules.time_column == AT


def _bounds_naming(table, column: str, value: int) -> list[str]:
    """Manifest entries on disk (any status, any manifest the table still lists) whose column
    bounds are exactly ``value``: a file holding only the subject's rows leaves its id there."""
    from pyiceberg.conversions import from_bytes

    from lakehouse.upkeep.manifests import read_entries

    field = table.schema().find_field(column)
    found = []
    for snapshot in table.metadata.snapshots:
        for manifest in snapshot.manifests(table.io):
            for entry in read_entries(manifest, table.io, discard_deleted=False):
                stats = entry.data_file
                for bounds in (stats.lower_bounds or {}, stats.upper_bounds or {}):
                    raw = bounds.get(field.field_id)
                    if raw is not None and from_bytes(field.field_type, raw) == value:
                        found.append(f"{manifest.manifest_path}: {entry.status.name}")
    return found


def test_a_subject_on_another_branch_leaves_no_trace_in_its_manifests(catalog, append):
    """An audit branch holding a file of only the subject's rows: its delete's manifests keep
    the removed file's entry, with the subject's id as both bounds, unless they are rewritten."""
    from lakehouse.iceberg import WriteRequest, write

    identifier = ("raw", "faker_users")
    append(events(0, 10), identifier)  # main: ids 0..9
    only_subject = events(SUBJECT, 1).set_column(0, "id", pa.array([SUBJECT], pa.int64()))
    write(catalog, only_subject, WriteRequest(identifier, mode="append", branch="audit-run"))
    table = catalog.load_table(identifier)
    assert table.snapshot_by_name("audit-run") is not None
    assert _bounds_naming(table, "id", SUBJECT)  # the branch's own file: [3, 3]

    report = erase_subject(catalog, str(SUBJECT), "dpo@example.org")

    table = catalog.load_table(identifier)
    # The branch started at main's head: main's row of the subject, and its own file.
    assert report.tables["raw.faker_users"].rows_deleted == 1 + 2
    for ref in ("main", "audit-run"):
        rows = table.scan(snapshot_id=table.snapshot_by_name(ref).snapshot_id).to_arrow()
        assert not pc.any(pc.equal(rows["id"], SUBJECT)).as_py(), ref
    assert _bounds_naming(table, "id", SUBJECT) == []


def test_the_erasure_job_records_each_erasure_in_the_audit_trail(catalog, settings, append):
    import dagster as dg

    from lakehouse.governance.audit import audit_store
    from lakehouse.upkeep.erasure.assets import gdpr_erasure
    from lakehouse.upkeep.resource import UpkeepResource

    append(events(0, 10), ("raw", "faker_users"))
    result = dg.materialize(
        [gdpr_erasure],
        resources={"upkeep": UpkeepResource(settings=settings)},
        run_config={
            "ops": {
                "upkeep__gdpr_erasure": {
                    "config": {"subject_ids": [str(SUBJECT)], "requested_by": "dpo@example.org"}
                }
            }
        },
    )

    # Embedded files keep no versions: the same run closes the erasure (versions.py).
    row, gone = audit_store(settings).list()
    assert (gone.record.action, gone.record.run_id) == ("gdpr.erasure.versions_gone", result.run_id)
    assert gone.record.details["request_id"] == row.record.details["request_id"]
    assert (row.record.action, row.record.actor, row.record.run_id) == (
        "gdpr.erasure",
        "user:dpo@example.org",
        result.run_id,
    )
    assert row.record.details["subject_sha256"] == subject_hash(str(SUBJECT))
    assert row.record.details["rows_deleted"] == 1
    assert row.record.details["tables"]["raw.faker_users"]["rows_deleted"] == 1
    assert set(row.record.details) == {"request_id", "subject_sha256", "tables", "rows_deleted"}
