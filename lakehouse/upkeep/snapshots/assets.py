"""Snapshot expiry (with stale audit branches) and orphan removal as assets."""

# No `from __future__ import annotations`: Dagster inspects the context annotation itself.

import datetime as dt

import dagster as dg

from lakehouse.upkeep.asset import each_table, upkeep_asset
from lakehouse.upkeep.resource import UpkeepResource
from lakehouse.upkeep.snapshots.audit_branches import remove_stale_audit_branches
from lakehouse.upkeep.snapshots.expiry import expire_table
from lakehouse.upkeep.snapshots.orphans import remove_orphans


@upkeep_asset(
    "snapshot_expiry",
    "Removes stale audit branches, expires old snapshots and deletes the files only they reached.",
)
def snapshot_expiry(
    context: dg.AssetExecutionContext, upkeep: UpkeepResource
) -> dg.MaterializeResult:
    settings, catalog = upkeep.settings, upkeep.catalog()
    timeout = settings.commit_timeout_seconds
    branch_age = dt.timedelta(hours=settings.audit_branch_retention_hours)

    def work(identifier: tuple[str, ...]) -> dict[str, int]:
        removed = remove_stale_audit_branches(
            catalog, identifier, branch_age, timeout_seconds=timeout
        )
        result = expire_table(
            catalog, identifier, upkeep.rules(identifier), timeout_seconds=timeout
        )
        return {
            "audit_branches_removed": len(removed),
            "snapshots_expired": len(result.expired),
            "files_deleted": len(result.deleted_files),
            "bytes_freed": result.bytes_freed,
        }

    return dg.MaterializeResult(metadata=dict(each_table(context, upkeep, work)))


class OrphanConfig(dg.Config):
    dry_run: bool = False


@upkeep_asset("orphan_files", "Removes files no metadata references, older than the safety window.")
def orphan_files(
    context: dg.AssetExecutionContext, config: OrphanConfig, upkeep: UpkeepResource
) -> dg.MaterializeResult:
    catalog, storage = upkeep.catalog(), upkeep.storage()
    locations = [catalog.load_table(i).location() for i in upkeep.tables()]
    listed: list[str] = []

    def work(identifier: tuple[str, ...]) -> dict[str, int]:
        result = remove_orphans(
            catalog,
            identifier,
            upkeep.rules(identifier),
            storage,
            other_locations=locations,
            dry_run=config.dry_run,
        )
        listed.extend(entry.uri for entry in result.orphans)
        return {
            "orphans": len(result.orphans),
            "orphan_bytes": result.bytes,
            "deleted": result.deleted,
            "protected_by_window": result.young_unreferenced,
        }

    totals = each_table(context, upkeep, work)
    return dg.MaterializeResult(
        metadata={**totals, "dry_run": config.dry_run, "orphan_files": listed[:1000]}
    )
