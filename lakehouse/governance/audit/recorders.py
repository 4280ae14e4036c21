"""The audit rows of what the seed asks to log (§5.1): schema changes, erasures, retention
deletions and archives, quarantines and replays, GDPR exports. Plain constructors: the jobs
that do the work call them with what they did and append the rows to the store.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pyiceberg.schema import Schema
from pyiceberg.table import Table
from pyiceberg.table.snapshots import Snapshot

from lakehouse.governance.audit.chain import AuditRecord
from lakehouse.governance.schema_contracts import SchemaContract, classify

RUN_ID_PROPERTY = "dagster.run-id"  # what the Iceberg IO manager stamps on its snapshots


def _now(at: dt.datetime | None) -> dt.datetime:
    return at or dt.datetime.now(dt.UTC)


def _schema_json(schema: Schema) -> dict[str, Any]:
    return json.loads(schema.model_dump_json())


def schema_change_record(
    table: str,
    old: Schema,
    new: Schema,
    *,
    actor: str,
    run_id: str | None = None,
    at: dt.datetime | None = None,
) -> AuditRecord:
    """Old and new schema of an Iceberg table, and the classified changes between them."""
    changes = classify(SchemaContract(table, old), new)
    return AuditRecord(
        action="iceberg.schema_change",
        object=table,
        actor=actor,
        at=_now(at),
        run_id=run_id,
        details={
            "old_schema_id": old.schema_id,
            "new_schema_id": new.schema_id,
            "changes": [c.as_dict() for c in changes.changes],
            "breaking": changes.blocked,
            "old_schema": _schema_json(old),
            "new_schema": _schema_json(new),
        },
        key=f"schema:{table}:{old.schema_id}->{new.schema_id}",
    )


@dataclass(frozen=True)
class SchemaVersion:
    schema: Schema
    first_snapshot_id: int | None
    first_seen_at: dt.datetime | None
    run_id: str | None


def schema_history(table: Table) -> list[SchemaVersion]:
    """Each schema the table had, in order, with the first snapshot written under it (any
    engine's: Spark, Trino and dbt commits count as much as the IO manager's)."""
    first: dict[int, Snapshot] = {}
    for snapshot in sorted(table.metadata.snapshots, key=lambda s: s.timestamp_ms):
        if snapshot.schema_id is not None:
            first.setdefault(snapshot.schema_id, snapshot)
    versions = []
    for schema in sorted(table.metadata.schemas, key=lambda s: s.schema_id):
        under = first.get(schema.schema_id)
        summary = under.summary.additional_properties if under and under.summary else {}
        versions.append(
            SchemaVersion(
                schema,
                under.snapshot_id if under else None,
                dt.datetime.fromtimestamp(under.timestamp_ms / 1000, dt.UTC) if under else None,
                summary.get(RUN_ID_PROPERTY),
            )
        )
    return versions


def schema_change_records(
    table: Table, *, after_schema_id: int = -1, actor: str = "service:lakehouse"
) -> list[AuditRecord]:
    """A row per schema change of ``table`` after ``after_schema_id`` (keys make re-recording
    a change harmless, so a sensor can simply go over every table)."""
    versions = schema_history(table)
    name = ".".join(table.name()[-2:])
    records = []
    for old, new in itertools.pairwise(versions):
        if new.schema.schema_id <= after_schema_id:
            continue
        records.append(
            schema_change_record(
                name,
                old.schema,
                new.schema,
                actor=actor,
                run_id=new.run_id,
                at=new.first_seen_at or dt.datetime.now(dt.UTC),
            )
        )
    return records


def erasure_record(
    request_id: str,
    subject_sha256: str,
    requested_by: str,
    tables: Mapping[str, Mapping[str, Any]],
    *,
    run_id: str | None = None,
    at: dt.datetime | None = None,
) -> AuditRecord:
    """A GDPR erasure: who asked, the subject by hash, and what each table lost."""
    return AuditRecord(
        action="gdpr.erasure",
        object="gdpr",
        actor=f"user:{requested_by}",
        at=_now(at),
        run_id=run_id,
        details={
            "request_id": request_id,
            "subject_sha256": subject_sha256,
            "tables": {name: dict(done) for name, done in tables.items()},
            "rows_deleted": sum(int(done.get("rows_deleted", 0)) for done in tables.values()),
        },
        key=f"erasure:{request_id}",
    )


def retention_record(
    table: str,
    column: str,
    cutoff: dt.datetime,
    rows_deleted: int,
    *,
    archive_manifest: str | None,
    actor: str = "service:lakehouse-upkeep",
    run_id: str | None = None,
    at: dt.datetime | None = None,
) -> AuditRecord:
    """Rows deleted past retention, and the verified archive they went to first."""
    return AuditRecord(
        action="retention.delete",
        object=table,
        actor=actor,
        at=_now(at),
        run_id=run_id,
        details={
            "column": column,
            "cutoff": cutoff.isoformat(),
            "rows_deleted": rows_deleted,
            "archive_manifest": archive_manifest,
        },
    )


def archive_record(
    table: str,
    manifest_uri: str,
    manifest: Mapping[str, Any],
    *,
    action: str = "retention.archive",
    actor: str = "service:lakehouse-upkeep",
    run_id: str | None = None,
    at: dt.datetime | None = None,
) -> AuditRecord:
    """An archive written and verified (or restored, ``action="archive.restore"``)."""
    keep = ("archive_id", "range", "rows", "sha256", "content_sha256", "snapshot_id")
    return AuditRecord(
        action=action,
        object=table,
        actor=actor,
        at=_now(at),
        run_id=run_id,
        details={"manifest": manifest_uri, **{k: manifest[k] for k in keep if k in manifest}},
    )


def quarantine_record(
    table: str,
    batch: str,
    rows: int,
    rules: Mapping[str, int],
    *,
    run_id: str,
    actor: str = "service:lakehouse",
    at: dt.datetime | None = None,
) -> AuditRecord:
    """A batch (or its bad rows) kept off ``main``: how many rows and which rules they broke."""
    return AuditRecord(
        action="wap.quarantine",
        object=table,
        actor=actor,
        at=_now(at),
        run_id=run_id,
        details={"batch": batch, "rows": rows, "rules": dict(rules)},
        key=f"quarantine:{table}:{batch}",
    )


def replay_record(
    table: str,
    batches: int,
    published_rows: int,
    still_failing_rows: int,
    *,
    actor: str,
    run_id: str | None = None,
    at: dt.datetime | None = None,
) -> AuditRecord:
    return AuditRecord(
        action="wap.replay",
        object=table,
        actor=actor,
        at=_now(at),
        run_id=run_id,
        details={
            "batches": batches,
            "published_rows": published_rows,
            "still_failing_rows": still_failing_rows,
        },
    )


def gdpr_export_record(
    manifest: Mapping[str, Any],
    location: str,
    *,
    actor: str,
    run_id: str | None = None,
    at: dt.datetime | None = None,
) -> AuditRecord:
    """A portability export: the subject by hash, where it went, rows per table."""
    return AuditRecord(
        action="gdpr.export",
        object="gdpr",
        actor=actor,
        at=_now(at),
        run_id=run_id,
        details={
            "export_id": manifest["export_id"],
            "subject_sha256": manifest["subject_sha256"],
            "location": location,
            "rows": {t["table"]: t["rows"] for t in manifest["tables"]},
        },
        key=f"gdpr-export:{manifest['export_id']}",
    )
