"""``lakehouse demo``: materialise every asset on the configured runtime and print what landed."""

from __future__ import annotations

import os

import dagster as dg

from lakehouse.catalog import get_catalog
from lakehouse.inventory import list_tables


def run_demo() -> int:
    from lakehouse.definitions import defs

    # With DAGSTER_HOME (set by the Makefile) the runs show up in `make dev`'s UI.
    instance = dg.DagsterInstance.get() if os.getenv("DAGSTER_HOME") else dg.DagsterInstance.ephemeral()
    job = defs.resolve_implicit_global_asset_job_def()
    result = job.execute_in_process(instance=instance, raise_on_error=False)
    new_rows = {
        event.asset_key.to_user_string(): event.step_materialization_data.materialization.metadata
        for event in result.get_asset_materialization_events()
    }
    print(f"run {result.run_id}: {'succeeded' if result.success else 'FAILED'}")
    print(f"{'table':<28}{'rows':>8}{'new':>8}  snapshot_id")
    for row in list_tables(get_catalog()):
        key = f"{row['namespace']}/{row['table']}"
        written = new_rows.get(key, {}).get("rows_written")
        new = written.value if written is not None else 0
        print(f"{row['namespace'] + '.' + row['table']:<28}{row['rows']:>8}{new:>8}  {row['snapshot_id']}")
    for check in result.get_asset_check_evaluations():
        if not check.passed:
            print(f"check failed: {check.asset_key.to_user_string()} {check.check_name}")
    return 0 if result.success else 1
