"""``lakehouse demo``: materialise every asset on the configured runtime and print what landed.

One run cannot mix partitioned and unpartitioned assets over many partitions, so the demo runs
the graph in stages, each after the previous one succeeded: raw, then staging and analytics
over a range of daily partitions (one single-run backfill), then ml (with the whole-history
model customer_lifetime_value, which the daily job leaves out). Upkeep is left to its own
scheduled jobs: retention would purge faker's old purchases (dated back to 2000).

The range is what is not yet done: every day never materialised (the whole history, ~9,800
days, on a fresh warehouse) and every day holding a purchase this run's ingest (re)extracted,
through today. Dagster books each partition of a backfill (~6 ms per asset and partition
here), so a second demo with nothing new runs one day, not 26 years.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Mapping
from typing import Any

import dagster as dg
import pyarrow.compute as pc
from pyiceberg.catalog import Catalog
from pyiceberg.exceptions import NoSuchTableError
from pyiceberg.expressions import GreaterThanOrEqual

from lakehouse.automation.jobs import DAILY_TRANSFORMS_JOB, ML_JOB, RAW_INGEST_JOB
from lakehouse.catalog import build_catalog
from lakehouse.cli.abandoned_runs import fail_abandoned_runs
from lakehouse.cli.inventory import list_tables
from lakehouse.partitions import DAILY
from lakehouse.raw.streams import ASSET_KEYS
from lakehouse.settings import get_settings, load_settings

RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"
# Step-level progress only: Dagster's DEBUG events (one per partition of a backfill) would
# print tens of thousands of lines.
QUIET = {"loggers": {"console": {"config": {"log_level": "INFO"}}}}


# The daily chain ends in the purchases fact: a day it holds went through staging too.
LAST_DAILY_ASSET = dg.AssetKey(["analytics", "fct_purchases"])
EXTRACTED_AT, PARTITION_TIME = "_airbyte_extracted_at", "created_at"


def first_new_day(catalog: Catalog, since: dt.datetime) -> str | None:
    """The earliest partition day among purchases extracted at or after ``since``, if any."""
    try:
        table = catalog.load_table(tuple(ASSET_KEYS["purchases"].path))
    except NoSuchTableError:
        return None
    new = table.scan(
        row_filter=GreaterThanOrEqual(EXTRACTED_AT, since.isoformat()),
        selected_fields=(PARTITION_TIME,),
    ).to_arrow()
    earliest = pc.min(new[PARTITION_TIME]).as_py() if new.num_rows else None
    return None if earliest is None else earliest.date().isoformat()


def transform_range(
    instance: dg.DagsterInstance, catalog: Catalog, since: dt.datetime, first_day: str | None
) -> tuple[str, str]:
    """(first, last) partition key for staging and analytics: what is not yet done, to today."""
    keys = DAILY.get_partition_keys()
    floor = max(first_day or keys[0], keys[0])
    done = instance.get_materialized_partitions(LAST_DAILY_ASSET)
    missing = next((key for key in keys if key >= floor and key not in done), None)
    starts = [day for day in (missing, first_new_day(catalog, since)) if day is not None]
    start = max(min(starts, default=keys[-1]), floor)
    return min(start, keys[-1]), keys[-1]


def _instance() -> dg.DagsterInstance:
    # With DAGSTER_HOME (set by the Makefile) the runs show up in `make dev`'s UI.
    return dg.DagsterInstance.get() if os.getenv("DAGSTER_HOME") else dg.DagsterInstance.ephemeral()


def run_stages(
    defs: dg.Definitions,
    instance: dg.DagsterInstance,
    catalog: Catalog,
    echo: Callable[[str], None] = print,
    first_day: str | None = None,
) -> list[dg.ExecuteInProcessResult]:
    """raw, staging+analytics, ml; stops at the first stage that fails."""
    started = dt.datetime.now(dt.UTC)
    stages: list[tuple[str, str, Callable[[], dict[str, Any]]]] = [
        ("raw", RAW_INGEST_JOB, dict),
        (
            "staging+analytics",
            DAILY_TRANSFORMS_JOB,
            lambda: _range_tags(instance, catalog, started, first_day),
        ),
        ("ml", ML_JOB, dict),
    ]
    results = []
    for label, job_name, tags in stages:
        run_tags = tags()
        days = f" {run_tags[RANGE_START_TAG]}..{run_tags[RANGE_END_TAG]}" if run_tags else ""
        echo(f"{label}{days}: running{_partition_count(run_tags)}")
        result = defs.resolve_job_def(job_name).execute_in_process(
            instance=instance, raise_on_error=False, run_config=QUIET, tags=run_tags
        )
        results.append(result)
        echo(f"run {result.run_id} ({label}{days}): {'succeeded' if result.success else 'FAILED'}")
        if not result.success:
            break
    return results


def _partition_count(tags: dict[str, str]) -> str:
    if not tags:
        return ""
    keys = DAILY.get_partition_keys()
    count = keys.index(tags[RANGE_END_TAG]) - keys.index(tags[RANGE_START_TAG]) + 1
    return f" ({count} daily partitions)"


def _range_tags(
    instance: dg.DagsterInstance, catalog: Catalog, since: dt.datetime, first_day: str | None
) -> dict[str, str]:
    start, end = transform_range(instance, catalog, since, first_day)
    return {RANGE_START_TAG: start, RANGE_END_TAG: end}


def run_demo(
    environ: Mapping[str, str] | None = None,
    instance: dg.DagsterInstance | None = None,
    echo: Callable[[str], None] = print,
    first_day: str | None = None,
) -> int:
    """0 when every stage succeeded. ``environ`` replaces the process settings (tests);
    ``first_day`` (YYYY-MM-DD) leaves older partitions out, for a quicker look."""
    from lakehouse.definitions import build_definitions

    defs = build_definitions(environ)
    settings = get_settings() if environ is None else load_settings(dict(environ))
    catalog = build_catalog(settings)
    instance = instance or _instance()
    for run_id in fail_abandoned_runs(instance):
        echo(f"run {run_id}: its process was killed mid-run; marked failed")
    results = run_stages(defs, instance, catalog, echo, first_day)
    materialised = {
        event.asset_key.to_user_string(): event.step_materialization_data.materialization.metadata
        for result in results
        for event in result.get_asset_materialization_events()
        if event.asset_key is not None
    }
    gated = {
        check.asset_key.to_user_string(): check.metadata
        for result in results
        for check in result.get_asset_check_evaluations()
    }
    echo(f"{'table':<28}{'rows':>8}{'published':>10}{'quarantined':>12}  snapshot_id")
    for row in list_tables(catalog):
        key = f"{row['namespace']}/{row['table']}"
        published, quarantined = published_and_quarantined(
            materialised.get(key, {}), gated.get(key, {})
        )
        name = f"{row['namespace']}.{row['table']}"
        echo(f"{name:<28}{row['rows']:>8}{published:>10}{quarantined:>12}  {row['snapshot_id']}")
    for result in results:
        for check in result.get_asset_check_evaluations():
            if not check.passed:
                echo(f"check failed: {check.asset_key.to_user_string()} {check.check_name}")
    return 0 if all(result.success for result in results) else 1


def published_and_quarantined(
    materialised: Mapping[str, Any], gate: Mapping[str, Any]
) -> tuple[int, int]:
    """What a run did to one table: rows now on main, rows now in quarantine. Written rows
    are published only when the gate says so (a write-audit-publish write lands on a branch);
    records the raw reader refused went to quarantine before the write."""

    def value(metadata: Mapping[str, Any], name: str) -> int:
        found = metadata.get(name)
        return int(getattr(found, "value", found) or 0)

    refused = value(materialised, "airbyte/records_refused")
    if "rows_published" in gate:
        return value(gate, "rows_published"), value(gate, "rows_quarantined") + refused
    return value(materialised, "rows_written"), refused
