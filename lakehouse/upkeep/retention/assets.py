"""Data retention as an asset: rows past their table's retention archived, then deleted, each
step in the audit trail; audit rows past their seven years purged; an OpenLineage upkeep run
from the tables to their archives."""

# No `from __future__ import annotations`: Dagster inspects the context annotation itself.

import dataclasses
import datetime as dt
from collections import Counter

import dagster as dg

from lakehouse.governance.audit import AuditRecord
from lakehouse.governance.audit.configured import audit_retention_store
from lakehouse.governance.audit.recorders import archive_record, retention_record
from lakehouse.governance.audit.store import retention_cutoff
from lakehouse.governance.lineage.describe import describe_archive, describe_table
from lakehouse.governance.lineage.events import upkeep_events
from lakehouse.governance.lineage.facets import TableDescription, output_dataset
from lakehouse.governance.lineage.transport import emit, lineage_client
from lakehouse.upkeep.asset import each_table, upkeep_asset
from lakehouse.upkeep.resource import UpkeepResource
from lakehouse.upkeep.retention.apply import RetentionResult, apply_retention

ACTOR = "service:lakehouse-upkeep"
LINEAGE_JOB = "upkeep_retention"


def retention_records(result: RetentionResult, run_id: str) -> list[AuditRecord]:
    """The archive, then the delete it covered, as audit rows."""
    receipt = result.archive
    if receipt is None or receipt.manifest is None or receipt.manifest_uri is None:
        return []
    assert result.column is not None and result.cutoff is not None
    manifest = dataclasses.asdict(receipt.manifest)
    return [
        archive_record(result.table, receipt.manifest_uri, manifest, actor=ACTOR, run_id=run_id),
        retention_record(
            result.table, result.column, result.cutoff, result.rows_deleted,
            archive_manifest=receipt.manifest_uri, actor=ACTOR, run_id=run_id,
        ),
    ]  # fmt: skip


@upkeep_asset(
    "retention",
    "Archives, then deletes, rows past their table's retention (raw 90 days, others 365); "
    "purges audit rows older than seven years.",
)
def retention(context: dg.AssetExecutionContext, upkeep: UpkeepResource) -> dg.MaterializeResult:
    settings, catalog = upkeep.settings, upkeep.catalog()
    started = dt.datetime.now(dt.UTC)
    maintained: list[TableDescription] = []
    archives: list[TableDescription] = []
    audit = upkeep.audit_store()

    def work(identifier: tuple[str, ...]) -> dict[str, int]:
        result = apply_retention(
            catalog,
            identifier,
            upkeep.rules(identifier),
            archive_root=settings.archive_root,
            timeout_seconds=settings.commit_timeout_seconds,
        )
        if (receipt := result.archive) and receipt.manifest and receipt.manifest_uri:
            audit.append(retention_records(result, context.run_id))
            maintained.append(describe_table(catalog.load_table(identifier)))
            archives.append(describe_archive(receipt.manifest, receipt.manifest_uri))
        return {
            "rows_deleted": result.rows_deleted,
            "rows_archived": result.archive.rows if result.archive else 0,
            "skipped": int(result.skipped is not None),
        }

    failure: dg.Failure | None = None
    try:
        totals = each_table(context, upkeep, work)
    except dg.Failure as error:  # the other tables' archives are recorded and purged anyway
        failure, totals = error, Counter()
    finally:
        audit.close()
    purger = audit_retention_store(settings)
    try:
        purged = purger.purge(retention_cutoff(started), actor=ACTOR)
    finally:
        purger.close()
    events = upkeep_events(
        settings.openlineage_namespace, context.run_id, LINEAGE_JOB, started,
        dt.datetime.now(dt.UTC), succeeded=True, tables=maintained,
        outputs=[output_dataset(archive) for archive in archives],
        description="archive, then delete, rows past retention",
    )  # fmt: skip
    sent = emit(lineage_client(settings), events if maintained else [])
    if failure is not None:
        raise failure
    return dg.MaterializeResult(
        metadata={**totals, "audit_rows_purged": purged.rows, "lineage_events": sent}
    )
