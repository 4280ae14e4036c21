"""``lakehouse demo``: materialise every asset on the configured runtime and print what landed.

One run cannot mix partitioned and unpartitioned assets over many partitions, so the demo runs
the graph in stages, each after the previous one succeeded: raw, then staging and analytics
over every daily partition (one single-run backfill), then ml. Upkeep is left to its own
scheduled jobs: retention would purge faker's old purchases (dated back to 2000) right away.
"""

from __future__ import annotations

import os

import dagster as dg

from lakehouse.automation.jobs import DAILY_TRANSFORMS_JOB, ML_JOB, RAW_INGEST_JOB
from lakehouse.catalog import get_catalog
from lakehouse.inventory import list_tables
from lakehouse.partitions import DAILY

RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"


def _stages(defs: dg.Definitions) -> list[tuple[str, dg.JobDefinition, dict]]:
    """(label, job, execute_in_process kwargs) in dependency order."""
    every_day = {
        RANGE_START_TAG: DAILY.get_first_partition_key(),
        RANGE_END_TAG: DAILY.get_last_partition_key(),
    }
    return [
        ("raw", defs.resolve_job_def(RAW_INGEST_JOB), {}),
        ("staging+analytics", defs.resolve_job_def(DAILY_TRANSFORMS_JOB), {"tags": every_day}),
        ("ml", defs.resolve_job_def(ML_JOB), {}),
    ]


def run_demo() -> int:
    from lakehouse.definitions import defs

    # With DAGSTER_HOME (set by the Makefile) the runs show up in `make dev`'s UI.
    instance = (
        dg.DagsterInstance.get() if os.getenv("DAGSTER_HOME") else dg.DagsterInstance.ephemeral()
    )
    results = []
    for label, job, kwargs in _stages(defs):
        result = job.execute_in_process(instance=instance, raise_on_error=False, **kwargs)
        results.append(result)
        print(f"run {result.run_id} ({label}): {'succeeded' if result.success else 'FAILED'}")
        if not result.success:
            break
    new_rows = {
        event.asset_key.to_user_string(): event.step_materialization_data.materialization.metadata
        for result in results
        for event in result.get_asset_materialization_events()
    }
    print(f"{'table':<28}{'rows':>8}{'new':>8}  snapshot_id")
    for row in list_tables(get_catalog()):
        key = f"{row['namespace']}/{row['table']}"
        written = new_rows.get(key, {}).get("rows_written")
        new = written.value if written is not None else 0
        print(
            f"{row['namespace'] + '.' + row['table']:<28}{row['rows']:>8}{new:>8}  {row['snapshot_id']}"
        )
    for result in results:
        for check in result.get_asset_check_evaluations():
            if not check.passed:
                print(f"check failed: {check.asset_key.to_user_string()} {check.check_name}")
    return 0 if all(result.success for result in results) else 1
