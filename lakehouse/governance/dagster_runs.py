"""A finished Dagster run, read back from the instance's event log, as governance sees it:
its outcome, its steps, what it materialised and checked, and who launched it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import dagster as dg
from dagster._core.events import DagsterEventType

RECORDED = {
    DagsterEventType.RUN_START,
    DagsterEventType.RUN_SUCCESS,
    DagsterEventType.RUN_FAILURE,
    DagsterEventType.RUN_CANCELED,
    DagsterEventType.STEP_START,
    DagsterEventType.STEP_SUCCESS,
    DagsterEventType.STEP_FAILURE,
    DagsterEventType.ASSET_MATERIALIZATION,
    DagsterEventType.ASSET_CHECK_EVALUATION,
    DagsterEventType.ASSET_MATERIALIZATION_PLANNED,
}
# Tags Dagster puts on runs launched by something other than a person.
_LAUNCHERS = (
    ("dagster/schedule_name", "schedule"),
    ("dagster/sensor_name", "sensor"),
    ("dagster/backfill", "backfill"),
)


@dataclass(frozen=True)
class RunEvent:
    """One event of the run, with the storage id that makes it unique in the instance."""

    storage_id: int
    kind: str  # DagsterEventType name, e.g. "STEP_SUCCESS", "RUN_FAILURE"
    at: dt.datetime
    step_key: str | None = None
    asset_key: str | None = None  # user string, "staging/users"
    partition: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    check_name: str | None = None
    passed: bool | None = None
    error: str | None = None


@dataclass(frozen=True)
class FinishedRun:
    run_id: str
    job_name: str
    status: str  # SUCCESS, FAILURE, CANCELED
    tags: dict[str, str]
    events: Sequence[RunEvent]

    @property
    def actor(self) -> str:
        """A person when Dagster knows one, else the schedule, sensor or backfill; a run
        launched from the UI or CLI of an OSS instance carries no user."""
        if user := self.tags.get("dagster/user") or self.tags.get("user"):
            return f"user:{user}"
        for tag, kind in _LAUNCHERS:
            if value := self.tags.get(tag):
                return f"service:dagster-{kind}/{value}"
        return "dagster:unattributed"

    def started_at(self) -> dt.datetime | None:
        return next((e.at for e in self.events if e.kind == "RUN_START"), None)

    def ended_at(self) -> dt.datetime | None:
        ends = [
            e.at for e in self.events if e.kind in ("RUN_SUCCESS", "RUN_FAILURE", "RUN_CANCELED")
        ]
        return ends[-1] if ends else None


def _error(event: dg.DagsterEvent) -> str | None:
    """The first line of the root cause (Dagster wraps the user's exception in its own)."""
    error = getattr(event.event_specific_data, "error", None)
    while getattr(error, "cause", None) is not None:
        error = getattr(error, "cause", None)
    message = getattr(error, "message", None)
    return message.strip().splitlines()[0] if message else None


def _event(record: Any) -> RunEvent | None:
    entry = record.event_log_entry
    event = entry.dagster_event
    if event is None:
        return None
    common = {
        "storage_id": record.storage_id,
        "kind": event.event_type.name,  # RUN_START (its value is the legacy PIPELINE_START)
        "at": dt.datetime.fromtimestamp(entry.timestamp, dt.UTC),
        "step_key": event.step_key,
        "error": _error(event),
    }
    if event.event_type == DagsterEventType.ASSET_MATERIALIZATION:
        materialization = event.step_materialization_data.materialization
        return RunEvent(
            **common,
            asset_key=materialization.asset_key.to_user_string(),
            partition=materialization.partition,
            metadata=dict(materialization.metadata),
        )
    if event.event_type == DagsterEventType.ASSET_MATERIALIZATION_PLANNED:
        return RunEvent(**common, asset_key=event.asset_key.to_user_string())
    if event.event_type == DagsterEventType.ASSET_CHECK_EVALUATION:
        evaluation = event.event_specific_data
        return RunEvent(
            **common,
            asset_key=evaluation.asset_key.to_user_string(),
            metadata=dict(evaluation.metadata),
            check_name=evaluation.check_name,
            passed=evaluation.passed,
        )
    return RunEvent(**common)


def read_run(instance: dg.DagsterInstance, run: dg.DagsterRun) -> FinishedRun:
    """The run's recorded events, oldest first."""
    connection = instance.get_records_for_run(run.run_id, of_type=RECORDED, ascending=True)
    events = [e for e in (_event(r) for r in connection.records) if e is not None]
    return FinishedRun(run.run_id, run.job_name, run.status.value, dict(run.tags), events)
