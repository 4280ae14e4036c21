"""The write-audit-publish gate: a blocking Dagster asset check per asset that validates the
run's audit branch against the asset's pandera contract (``lakehouse/quality.py``) and only then
publishes it (``lakehouse/wap/audit.py``); a failed contract keeps the batch off ``main``.
"""

import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING

import dagster as dg

from lakehouse.quality import QualityReport, validate_rows
from lakehouse.wap.audit import AuditOutcome, run_audit
from lakehouse.wap.target import GATE_KEY, AuditTarget
from lakehouse.wap.trail import contract_assertions, record_quarantines

if TYPE_CHECKING:
    import pandera.pandas as pa


def report_metadata(report: QualityReport) -> dict[str, dg.MetadataValue]:
    metadata: dict[str, dg.MetadataValue] = {
        "rows_checked": dg.MetadataValue.int(report.rows),
        "bad_rows": dg.MetadataValue.int(report.bad_rows),
        "summary": dg.MetadataValue.text(report.summary()),
    }
    if not report.passed:
        metadata["failures"] = dg.MetadataValue.md(report.markdown())
    return metadata


def _audit_metadata(outcome: AuditOutcome) -> dict[str, dg.MetadataValue]:
    metadata = report_metadata(outcome.report)
    metadata |= {
        "wap/branch": dg.MetadataValue.text(outcome.branch or "main"),
        "wap/snapshot_id": dg.MetadataValue.int(outcome.audited_snapshot_id or 0),
        "wap/main_snapshot_id": dg.MetadataValue.int(outcome.main_snapshot_id or 0),
        "wap/published": dg.MetadataValue.bool(outcome.published),
        "wap/quarantined_rows": dg.MetadataValue.int(outcome.quarantined_rows),
        "wap/attempts": dg.MetadataValue.int(outcome.attempts),
        # What the run changed, for summaries: rows now on main, rows now in quarantine.
        "rows_published": dg.MetadataValue.int(outcome.published_rows),
        "rows_quarantined": dg.MetadataValue.int(outcome.quarantined_rows),
    }
    if outcome.quarantine_batches:
        metadata["wap/quarantine_batches"] = dg.MetadataValue.json(outcome.quarantine_batches)
    return metadata


def build_pandera_check(
    asset_key: dg.AssetKey,
    schema: "Callable[[], pa.DataFrameSchema]",
    *,
    description: str,
    name: str = "pandera_contract",
    partitions_def: dg.PartitionsDefinition | None = None,
) -> dg.AssetChecksDefinition:
    """The asset's write-audit-publish gate: a blocking check that validates the run's audit
    branch against ``schema()`` and only then moves ``main`` to it (``lakehouse/wap/audit.py``).

    A partitioned asset's gate takes the asset's ``partitions_def``: an unpartitioned check's
    input spans every partition, so it would validate the whole table on each daily run.

    A batch kept off main fails the check (ERROR: downstream waits). Good rows published with
    bad ones quarantined, as the asset's policy allows, is a WARN: downstream runs.
    """

    def _check(context: dg.AssetCheckExecutionContext, audit: AuditTarget) -> dg.AssetCheckResult:
        outcome = run_audit(audit, lambda table: validate_rows(schema(), table))
        record_quarantines(audit, outcome, context.log)  # the audit trail (seed §5.1)
        clean = outcome.passed and outcome.quarantined_rows == 0
        if not outcome.passed:
            context.log.error(f"{asset_key.to_user_string()}: {outcome.reason}")
        elif not clean:
            context.log.warning(f"{asset_key.to_user_string()}: {outcome.reason}")
        return dg.AssetCheckResult(
            passed=clean,
            severity=dg.AssetCheckSeverity.ERROR
            if not outcome.passed
            else dg.AssetCheckSeverity.WARN,
            metadata=_audit_metadata(outcome) | contract_assertions(schema(), outcome.report),
            description=outcome.reason or outcome.report.summary(),
        )

    with warnings.catch_warnings():
        # Partitioned checks are a Dagster preview (1.13); the gate needs the run's window.
        warnings.simplefilter("ignore", dg.PreviewWarning)
        return dg.asset_check(
            asset=asset_key,
            name=name,
            blocking=True,
            description=description,
            metadata={GATE_KEY: True},
            partitions_def=partitions_def,
        )(_check)
