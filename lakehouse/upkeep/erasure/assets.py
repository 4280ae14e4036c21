"""GDPR erasure as an asset: subjects from run config plus the queued requests."""

# No `from __future__ import annotations`: Dagster inspects the context annotation itself.

import dagster as dg
from pydantic import Field

from lakehouse.upkeep.asset import upkeep_asset
from lakehouse.upkeep.erasure import requests as erasure_requests
from lakehouse.upkeep.erasure.erase import erase_subject
from lakehouse.upkeep.erasure.versions import record_versions_gone, s3_version_counter
from lakehouse.upkeep.resource import UpkeepResource


class ErasureConfig(dg.Config):
    subject_ids: list[str] = Field(default_factory=list)
    requested_by: str = "erasure request inbox"


@upkeep_asset(
    "gdpr_erasure", "Erases data subjects from every PII table, snapshots and files included."
)
def gdpr_erasure(
    context: dg.AssetExecutionContext, config: ErasureConfig, upkeep: UpkeepResource
) -> dg.MaterializeResult:
    settings, storage, catalog = upkeep.settings, upkeep.storage(), upkeep.catalog()
    root = settings.erasure_inbox
    queued = erasure_requests.pending(storage, root)
    work: list[tuple[str | None, str, str]] = [
        (None, s, config.requested_by) for s in config.subject_ids
    ]
    work += [(uri, r.subject_id, r.requested_by) for uri, r in queued]
    rows, audit = 0, upkeep.audit_store()
    try:
        for uri, subject, requested_by in work:
            report = erase_subject(
                catalog,
                subject,
                requested_by,
                timeout_seconds=settings.commit_timeout_seconds,
                audit=audit,
                run_id=context.run_id,
            )
            rows += report.rows_deleted
            context.log.info("erasure %s: %d rows", report.request_id, report.rows_deleted)
            if uri is not None:
                storage.delete(uri)
        # Earlier erasures whose files' last versions have now expired get their closing row.
        versions = s3_version_counter(catalog.properties)
        waiting = record_versions_gone(audit, versions, run_id=context.run_id)
    finally:
        audit.close()
    for request_id, left in sorted(waiting.items()):
        context.log.info("erasure %s: %d object version(s) still stored", request_id, left)
    return dg.MaterializeResult(
        metadata={
            "requests": len(work),
            "rows_deleted": rows,
            "erasures_awaiting_version_expiry": len(waiting),
        }
    )
