"""Audit rows for a finished Dagster run: its outcome, each step's, what it materialised and
checked. Keyed by the event's storage id, so a sensor re-reading a run adds nothing twice."""

from __future__ import annotations

from typing import Any

from lakehouse.governance.audit.chain import AuditRecord
from lakehouse.governance.dagster_runs import FinishedRun, RunEvent

_ACTIONS = {
    "RUN_SUCCESS": "dagster.run.success",
    "RUN_FAILURE": "dagster.run.failure",
    "RUN_CANCELED": "dagster.run.canceled",
    "STEP_SUCCESS": "dagster.step.success",
    "STEP_FAILURE": "dagster.step.failure",
    "ASSET_MATERIALIZATION": "dagster.asset.materialized",
}
_KEPT_TAGS = (
    "dagster/partition",
    "dagster/schedule_name",
    "dagster/sensor_name",
    "dagster/backfill",
)
_KEPT_METADATA = ("snapshot_id", "dagster/row_count", "rows_written", "wap/published")


def _plain(value: Any) -> Any:
    return getattr(value, "value", value)


def _details(run: FinishedRun, event: RunEvent) -> dict[str, Any]:
    details: dict[str, Any] = {"job": run.job_name}
    if event.kind.startswith("RUN_"):
        details["status"] = run.status
        details["tags"] = {k: v for k, v in run.tags.items() if k in _KEPT_TAGS}
    if event.step_key:
        details["step"] = event.step_key
    if event.partition:
        details["partition"] = event.partition
    if event.error:
        details["error"] = event.error
    if event.check_name:
        details["check"] = event.check_name
        details["passed"] = event.passed
    kept = {k: _plain(event.metadata[k]) for k in _KEPT_METADATA if k in event.metadata}
    return details | ({"metadata": kept} if kept else {})


def run_audit_records(run: FinishedRun) -> list[AuditRecord]:
    """One row per run outcome, step outcome, materialisation and check evaluation."""
    records = []
    for event in run.events:
        if event.kind == "ASSET_CHECK_EVALUATION":
            action = "dagster.check.passed" if event.passed else "dagster.check.failed"
        elif event.kind in _ACTIONS:
            action = _ACTIONS[event.kind]
        else:
            continue
        records.append(
            AuditRecord(
                action=action,
                object=event.asset_key or event.step_key or run.job_name,
                actor=run.actor,
                at=event.at,
                run_id=run.run_id,
                details=_details(run, event),
                key=f"dagster:{run.run_id}:{event.storage_id}",
            )
        )
    return records
