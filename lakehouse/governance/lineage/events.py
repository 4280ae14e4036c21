"""OpenLineage run events (START, then COMPLETE or FAIL) for what the code location runs.

Each asset materialisation, asset check and upkeep job is an OpenLineage job with its own
run, whose parent is the Dagster run; run ids are UUIDs derived from the Dagster run id, so
emitting the same events twice names the same runs (catalogs deduplicate them).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field

from openlineage.client.event_v2 import Job, Run, RunEvent, RunState
from openlineage.client.facet_v2 import (
    JobFacet,
    RunFacet,
    column_lineage_dataset,
    data_quality_assertions_dataset,
    documentation_job,
    error_message_run,
    job_type_job,
    ownership_job,
    parent_run,
)

from lakehouse.governance.lineage.facets import (
    PRODUCER,
    TableDescription,
    input_dataset,
    output_dataset,
)

ASSET, CHECK, UPKEEP = "ASSET", "ASSET_CHECK", "UPKEEP"


def run_uuid(dagster_run_id: str, *parts: str) -> str:
    """A stable UUID for one OpenLineage run inside a Dagster run."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "/".join(["dagster", dagster_run_id, *parts])))


@dataclass(frozen=True)
class JobRun:
    """One OpenLineage job run and the Dagster run it belongs to."""

    namespace: str
    name: str
    run_id: str
    job_type: str
    dagster_run_id: str
    dagster_job: str
    description: str | None = None
    owners: Sequence[str] = field(default_factory=tuple)


def _job(job_run: JobRun) -> Job:
    facets: dict[str, JobFacet] = {
        "jobType": job_type_job.JobTypeJobFacet(
            processingType="BATCH", integration="DAGSTER", jobType=job_run.job_type
        )
    }
    if job_run.description:
        facets["documentation"] = documentation_job.DocumentationJobFacet(
            description=job_run.description
        )
    if job_run.owners:
        facets["ownership"] = ownership_job.OwnershipJobFacet(
            owners=[ownership_job.Owner(name=o, type=o.partition(":")[0]) for o in job_run.owners]
        )
    return Job(namespace=job_run.namespace, name=job_run.name, facets=facets)


def _run(job_run: JobRun, error: str | None) -> Run:
    facets: dict[str, RunFacet] = {
        "parent": parent_run.ParentRunFacet(
            run=parent_run.Run(runId=job_run.dagster_run_id),
            job=parent_run.Job(namespace=job_run.namespace, name=job_run.dagster_job),
        )
    }
    if error:
        facets["errorMessage"] = error_message_run.ErrorMessageRunFacet(
            message=error, programmingLanguage="python"
        )
    return Run(runId=job_run.run_id, facets=facets)


def _time(at: dt.datetime) -> str:
    if at.tzinfo is None:
        raise ValueError(f"event time {at!r} has no time zone")
    return at.isoformat()


def run_events(
    job_run: JobRun,
    started: dt.datetime,
    ended: dt.datetime,
    *,
    succeeded: bool,
    inputs: Sequence = (),
    outputs: Sequence = (),
    start_outputs: Sequence | None = None,
    error: str | None = None,
) -> list[RunEvent]:
    """START (datasets as known before the run) and COMPLETE or FAIL (with what it produced)."""
    end_state = RunState.COMPLETE if succeeded else RunState.FAIL
    return [
        RunEvent(
            eventType=RunState.START,
            eventTime=_time(started),
            run=_run(job_run, None),
            job=_job(job_run),
            producer=PRODUCER,
            inputs=list(inputs),
            outputs=list(outputs if start_outputs is None else start_outputs),
        ),
        RunEvent(
            eventType=end_state,
            eventTime=_time(ended),
            run=_run(job_run, None if succeeded else (error or "failed")),
            job=_job(job_run),
            producer=PRODUCER,
            inputs=list(inputs),
            outputs=list(outputs),
        ),
    ]


def materialization_events(
    namespace: str,
    dagster_run_id: str,
    dagster_job: str,
    asset: str,
    started: dt.datetime,
    ended: dt.datetime,
    *,
    succeeded: bool,
    output: TableDescription,
    inputs: Sequence[TableDescription] = (),
    column_lineage: column_lineage_dataset.ColumnLineageDatasetFacet | None = None,
    error: str | None = None,
    job_type: str = ASSET,
) -> list[RunEvent]:
    """One asset's materialisation (job ``<asset key>``) from its inputs to its table; an
    upkeep asset says ``job_type=UPKEEP``."""
    job_run = JobRun(
        namespace,
        asset,
        run_uuid(dagster_run_id, asset),
        job_type,
        dagster_run_id,
        dagster_job,
        output.description,
        tuple(output.owners),
    )
    before = TableDescription(output.table, output.location, output.catalog, output.columns)
    return run_events(
        job_run,
        started,
        ended,
        succeeded=succeeded,
        inputs=[input_dataset(t) for t in inputs],
        outputs=[output_dataset(output, column_lineage)] if succeeded else [],
        start_outputs=[output_dataset(before)],
        error=error,
    )


def check_events(
    namespace: str,
    dagster_run_id: str,
    dagster_job: str,
    asset: str,
    check: str,
    at: dt.datetime,
    *,
    passed: bool,
    table: TableDescription,
    assertions: Sequence[data_quality_assertions_dataset.Assertion],
) -> list[RunEvent]:
    """An asset check (job ``<asset key>.<check>``): the table as input, with its assertions.
    A failed check is a completed run that found issues (``success`` false), not a FAIL."""
    name = f"{asset}.{check}"
    job_run = JobRun(
        namespace, name, run_uuid(dagster_run_id, name), CHECK, dagster_run_id, dagster_job
    )
    assertions = list(assertions) or [
        data_quality_assertions_dataset.Assertion(assertion=check, success=passed)
    ]
    return run_events(job_run, at, at, succeeded=True, inputs=[input_dataset(table, assertions)])


def upkeep_events(
    namespace: str,
    dagster_run_id: str,
    job: str,
    started: dt.datetime,
    ended: dt.datetime,
    *,
    succeeded: bool,
    tables: Sequence[TableDescription],
    outputs: Sequence = (),
    description: str | None = None,
    error: str | None = None,
) -> list[RunEvent]:
    """An upkeep job (compaction, expiry, retention, erasure, ...): it reads and rewrites the
    tables it maintains; ``outputs`` adds others (an archive's Parquet file)."""
    job_run = JobRun(
        namespace, job, run_uuid(dagster_run_id, job), UPKEEP, dagster_run_id, job, description
    )
    return run_events(
        job_run,
        started,
        ended,
        succeeded=succeeded,
        inputs=[input_dataset(t) for t in tables],
        outputs=[*(output_dataset(t) for t in tables), *outputs],
        error=error,
    )
