"""What write-audit-publish tells governance: each batch it kept off ``main`` becomes an audit
row (seed §5.1), and each contract rule an OpenLineage data-quality assertion (§3.1)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc
from pyiceberg.expressions import EqualTo

from lakehouse.governance.audit.chain import AuditRecord
from lakehouse.governance.audit.recorders import quarantine_record
from lakehouse.governance.audit.store import AuditStoreError
from lakehouse.governance.lineage.assertions import pandera_assertions
from lakehouse.governance.lineage.dagster_lineage import assertions_metadata
from lakehouse.quality import QualityReport
from lakehouse.wap.audit import AuditOutcome
from lakehouse.wap.quarantine import BATCH, COLUMN, RULE, quarantine_identifier
from lakehouse.wap.target import AuditTarget

if TYPE_CHECKING:
    import logging

    import dagster as dg


def quarantine_records(target: AuditTarget, outcome: AuditOutcome) -> list[AuditRecord]:
    """One row per quarantined batch: its rows and how many broke each rule first."""
    if not outcome.quarantine_batches:
        return []
    table = target.catalog.load_table(quarantine_identifier(target.identifier))
    records = []
    for batch in outcome.quarantine_batches:
        rows = table.scan(row_filter=EqualTo(BATCH, batch), selected_fields=(COLUMN, RULE))
        held = rows.to_arrow()
        # The quarantine's text columns may be large_string; the join needs one string type.
        column, rule = (held[name].cast(pa.string()) for name in (COLUMN, RULE))
        labels = pc.binary_join_element_wise(column, rule, ": ")
        rules = {r["values"]: r["counts"] for r in pc.value_counts(labels).to_pylist()}
        records.append(
            quarantine_record(target.name, batch, held.num_rows, rules, run_id=target.run_id)
        )
    return records


def record_quarantines(
    target: AuditTarget, outcome: AuditOutcome, log: logging.Logger | dg.DagsterLogManager
) -> bool:
    """Append the outcome's quarantines to the target's audit trail; an unreachable trail is
    logged as an error, never a reason to undo what the audit decided."""
    if target.audit_trail is None or not outcome.quarantine_batches:
        return False
    try:
        store = target.audit_trail()
        try:
            store.append(quarantine_records(target, outcome))
        finally:
            store.close()
    except AuditStoreError as error:
        log.error(f"{target.name}: quarantine not recorded in the audit trail: {error}")
        return False
    return True


def contract_assertions(schema: Any, report: QualityReport) -> dict[str, Any]:
    """The contract's every rule, passed or failed, as the check's assertion metadata."""
    failures = [(failure.column, failure.check) for failure in report.failures]
    return assertions_metadata(pandera_assertions(schema, failures))
