"""Backups and the restore check as assets; both publish their success as metrics."""

# No `from __future__ import annotations`: Dagster inspects the context annotation itself.

import datetime as dt
import time
from typing import Any

import dagster as dg

from lakehouse.upkeep.asset import upkeep_asset
from lakehouse.upkeep.backup.restore_check import run_restore_check
from lakehouse.upkeep.backup.store import prune
from lakehouse.upkeep.backup.table_backup import run_backup
from lakehouse.upkeep.metrics import Sample, publish
from lakehouse.upkeep.resource import UpkeepResource


@upkeep_asset(
    "backup", "Copies every table's current snapshot and the catalog to the backup location."
)
def backup(context: dg.AssetExecutionContext, upkeep: UpkeepResource) -> dg.MaterializeResult:
    settings, storage = upkeep.settings, upkeep.storage()
    root, started = settings.backup_root, time.monotonic()
    result = run_backup(upkeep.catalog(), settings, storage, root)
    tables_ok = not any(name != "catalog" for name in result.failed)
    publish(
        settings,
        "backup",
        [
            Sample("lakehouse_backup_success", {"backup": "tables"}, float(tables_ok)),
            Sample(
                "lakehouse_backup_success",
                {"backup": "catalog"},
                float("catalog" not in result.failed),
            ),
        ],
    )
    if result.failed:
        raise dg.Failure(
            description=f"backup {result.backup_id} incomplete: {sorted(result.failed)}",
            metadata={"failures": dg.MetadataValue.json(result.failed)},
        )
    now = dt.datetime.now(dt.UTC)
    retention = dt.timedelta(days=settings.upkeep_backup_retention_days)
    dropped, pruned_files = prune(storage, root, now=now, retention=retention)
    files = [f for table in result.tables for f in table.files]
    return dg.MaterializeResult(
        metadata={
            "backup_id": result.backup_id,
            "tables": len(result.tables),
            "files": len(files),
            "bytes": sum(f.size for f in files),
            "rows": sum(t.row_count for t in result.tables),
            "backups_pruned": len(dropped),
            "files_pruned": pruned_files,
            "duration_seconds": time.monotonic() - started,
            "location": root,
        }
    )


@upkeep_asset(
    "restore_check", "Restores the latest backup into a scratch namespace and verifies it."
)
def restore_check(
    context: dg.AssetExecutionContext, upkeep: UpkeepResource
) -> dg.MaterializeResult:
    settings, storage = upkeep.settings, upkeep.storage()
    report = run_restore_check(
        upkeep.catalog(),
        storage,
        settings.backup_root,
        namespace=settings.upkeep_restore_namespace,
        rpo_limit_seconds=settings.upkeep_rpo_seconds,
        rto_limit_seconds=settings.upkeep_rto_seconds,
    )
    samples = [
        Sample("lakehouse_restore_check_success", {"table": name}, float(not problems))
        for name, problems in report.tables.items()
    ]
    samples += [
        Sample("lakehouse_restore_check_success", {"table": "all"}, float(report.ok)),
        Sample("lakehouse_restore_check_rpo_seconds", {}, report.rpo_seconds),
        Sample("lakehouse_restore_check_rto_seconds", {}, report.rto_seconds),
    ]
    publish(settings, "restore_check", samples)
    metadata: dict[str, Any] = {
        "backup_id": report.backup_id,
        "rpo_seconds": report.rpo_seconds,
        "rto_seconds": report.rto_seconds,
        "tables": len(report.tables),
        "rows": report.rows,
    }
    if not report.ok:
        problems = report.all_problems()
        raise dg.Failure(
            description=f"restore check of backup {report.backup_id} FAILED: {problems[:5]}",
            metadata={**metadata, "problems": dg.MetadataValue.json(problems)},
        )
    return dg.MaterializeResult(metadata=metadata)
