"""Upkeep as assets: thin Dagster wrappers over the planners and executors of this package.

Each asset visits every table, records numbers as metadata, and fails the run (after visiting
all tables) when any table failed, naming them, so one bad table never hides the others.
"""

# No `from __future__ import annotations`: Dagster inspects the context annotation itself.

import datetime as dt
from collections import Counter
from collections.abc import Callable
from typing import Any

import dagster as dg

from lakehouse.upkeep.audit_branches import remove_stale_audit_branches
from lakehouse.upkeep.compaction import compact_table
from lakehouse.upkeep.engines import compact_with_engine
from lakehouse.upkeep.expiry import expire_table
from lakehouse.upkeep.health import table_health
from lakehouse.upkeep.metrics import publish
from lakehouse.upkeep.orphans import remove_orphans
from lakehouse.upkeep.resource import UpkeepResource
from lakehouse.upkeep.retention import apply_retention

GROUP = "upkeep"


def upkeep_key(name: str) -> dg.AssetKey:
    return dg.AssetKey(["upkeep", name])


def _each_table(
    context: dg.AssetExecutionContext,
    upkeep: UpkeepResource,
    work: Callable[[tuple[str, ...]], dict[str, int]],
) -> Counter[str]:
    """Run ``work`` per table, summing its counts; raise once at the end if any table failed."""
    totals: Counter[str] = Counter()
    failures: dict[str, str] = {}
    for identifier in upkeep.tables():
        try:
            totals.update(work(identifier))
            totals["tables"] += 1
        except Exception as error:  # collected and reported below, after every table ran
            context.log.exception("%s failed on %s", context.asset_key.to_user_string(), identifier)
            failures[".".join(identifier)] = f"{type(error).__name__}: {error}"
    if failures:
        raise dg.Failure(
            description=f"{len(failures)} table(s) failed: {', '.join(sorted(failures))}",
            metadata={"failures": dg.MetadataValue.json(failures), **dict(totals)},
        )
    return totals


def upkeep_asset(name: str, description: str, **kwargs: Any) -> Callable[..., dg.AssetsDefinition]:
    return dg.asset(
        key=upkeep_key(name),
        group_name=GROUP,
        kinds={"iceberg"},
        description=description,
        **kwargs,
    )


@upkeep_asset(
    "compaction", "Bin-packs partitions' small data files into files near the target size."
)
def compaction(context: dg.AssetExecutionContext, upkeep: UpkeepResource) -> dg.MaterializeResult:
    settings, catalog = upkeep.settings(), upkeep.catalog()

    def work(identifier: tuple[str, ...]) -> dict[str, int]:
        rules = upkeep.rules(identifier)
        if settings.upkeep_compaction_engine != "pyiceberg":
            statements = compact_with_engine(catalog, identifier, rules, settings)
            return {"statements": len(statements), "tables_compacted": int(bool(statements))}
        result = compact_table(
            catalog, identifier, rules, timeout_seconds=settings.commit_timeout_seconds
        )
        return {
            "tables_compacted": int(result.files_added > 0),
            "files_removed": result.files_removed,
            "files_added": result.files_added,
            "bytes_rewritten": result.bytes_rewritten,
        }

    return dg.MaterializeResult(metadata=dict(_each_table(context, upkeep, work)))


@upkeep_asset(
    "snapshot_expiry",
    "Removes stale audit branches, expires old snapshots and deletes the files only they reached.",
)
def snapshot_expiry(
    context: dg.AssetExecutionContext, upkeep: UpkeepResource
) -> dg.MaterializeResult:
    settings, catalog = upkeep.settings(), upkeep.catalog()
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

    return dg.MaterializeResult(metadata=dict(_each_table(context, upkeep, work)))


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

    totals = _each_table(context, upkeep, work)
    return dg.MaterializeResult(
        metadata={**totals, "dry_run": config.dry_run, "orphan_files": listed[:1000]}
    )


@upkeep_asset("retention", "Deletes rows past their table's retention (raw 90 days, others 365).")
def retention(context: dg.AssetExecutionContext, upkeep: UpkeepResource) -> dg.MaterializeResult:
    catalog, timeout = upkeep.catalog(), upkeep.settings().commit_timeout_seconds

    def work(identifier: tuple[str, ...]) -> dict[str, int]:
        rules = upkeep.rules(identifier)
        result = apply_retention(catalog, identifier, rules, timeout_seconds=timeout)
        return {"rows_deleted": result.rows_deleted, "skipped": int(result.skipped is not None)}

    return dg.MaterializeResult(metadata=dict(_each_table(context, upkeep, work)))


@upkeep_asset(
    "table_health", "Files, small-file ratio, snapshots, bytes and upkeep ages per table."
)
def table_health_asset(
    context: dg.AssetExecutionContext, upkeep: UpkeepResource
) -> dg.MaterializeResult:
    catalog, now, samples = upkeep.catalog(), dt.datetime.now(dt.UTC), []

    def work(identifier: tuple[str, ...]) -> dict[str, int]:
        health = table_health(catalog.load_table(identifier), upkeep.rules(identifier), now)
        context.log_event(
            dg.AssetObservation(asset_key=dg.AssetKey(list(identifier)), metadata=health.metadata())
        )
        samples.extend(health.samples())
        return {"data_files": health.data_files, "small_files": health.small_files}

    totals = _each_table(context, upkeep, work)
    path = publish(upkeep.settings(), "table_health", samples)
    return dg.MaterializeResult(
        metadata={**totals, "metrics_file": dg.MetadataValue.path(str(path))}
    )
