"""``lakehouse demo``: materialise every asset on the configured runtime and show what landed.

One run cannot mix partitioned and unpartitioned assets over many partitions, so the demo runs
the graph in stages, each after the previous one succeeded: raw, then staging and analytics
over the months not yet built (in runs of bounded size, ``lakehouse/automation/backfills.py``),
then ml (with the whole-history model customer_lifetime_value, which the transforms job leaves
out). Upkeep is left to its own scheduled jobs: retention would purge faker's old purchases.

The months are what is not yet done: every month never materialised (the whole history, 324
months, on a fresh warehouse) and every month holding a purchase this run's ingest
(re)extracted, through the current month. A second demo with nothing new rebuilds the current
month only. The runs land in the Dagster instance ``make dev`` opens (DAGSTER_HOME, default
``<LAKEHOUSE_HOME>/dagster``), so the UI shows what the demo built.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import threading
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dagster as dg

from lakehouse.automation.backfills import MonthRun, partitioned_keys, plan_runs
from lakehouse.automation.jobs import DAILY_TRANSFORMS_JOB, ML_JOB, RAW_INGEST_JOB
from lakehouse.catalog import build_catalog
from lakehouse.cli.abandoned_runs import fail_abandoned_runs
from lakehouse.cli.console import DemoConsole, Stage, engine_output_to
from lakehouse.cli.demo_report import failure_lines, print_report
from lakehouse.cli.doctor import writable_local_warehouse
from lakehouse.cli.sqlite_durability import skip_fsync_under
from lakehouse.partitions import month_of
from lakehouse.settings import Settings, get_settings, load_settings
from lakehouse.staging.resources import build_spark_resource

# Every Dagster event in the log file (the console logger writes to the redirected stderr).
DEBUG_LOGS = {"loggers": {"console": {"config": {"log_level": "DEBUG"}}}}
INSTANCE_CONFIG = "dagster.yaml"
# The demo's own instance: no telemetry, so no banner (a user's own dagster.yaml is kept).
DEMO_INSTANCE_YAML = "# Written by `lakehouse demo`.\ntelemetry:\n  enabled: false\n"


@dataclass
class DemoRuns:
    """The demo's runs, in order; ``failed`` is the label of the stage that failed, if any."""

    results: list[dg.ExecuteInProcessResult] = field(default_factory=list)
    months: list[MonthRun] = field(default_factory=list)
    failed: str | None = None

    @property
    def run_ids(self) -> set[str]:
        return {result.run_id for result in self.results}


def demo_instance(settings: Settings) -> dg.DagsterInstance:
    """DAGSTER_HOME's instance, or ``<home>/dagster``; telemetry off where we create the config."""
    home = Path(os.environ.get("DAGSTER_HOME") or settings.home_dir / "dagster")
    home.mkdir(parents=True, exist_ok=True)
    config = home / INSTANCE_CONFIG
    if not config.exists():
        config.write_text(DEMO_INSTANCE_YAML)
    skip_fsync_under(home)  # the demo's bookkeeping: thousands of events, each synced otherwise
    return dg.DagsterInstance.from_config(str(home))


def _execute(
    job: dg.JobDefinition,
    instance: dg.DagsterInstance,
    stage: Stage,
    *,
    tags: Mapping[str, str] | None = None,
    selection: Sequence[dg.AssetKey] | None = None,
) -> dg.ExecuteInProcessResult:
    """One run, its events feeding the stage's bar: a step starting, a partition booked."""
    run_id = str(uuid.uuid4())

    def on_event(entry: dg.EventLogEntry) -> None:
        event = entry.dagster_event
        if event is None:
            return
        if event.event_type_value == "STEP_START" and event.step_key:
            stage.doing(event.step_key.replace("__", "/"))
        elif event.event_type_value == "ASSET_MATERIALIZATION" and event.partition:
            stage.advance()

    instance.add_event_listener(run_id, on_event)
    return job.execute_in_process(
        instance=instance,
        run_id=run_id,
        run_config=DEBUG_LOGS,
        tags=dict(tags or {}),
        asset_selection=list(selection) if selection else None,
        raise_on_error=False,
    )


def _warm_spark(settings: Settings) -> threading.Thread:
    """Start the process's Spark session while raw extracts: its start-up (16-50 s here) then
    overlaps the extraction instead of opening the transforms stage."""

    def start() -> None:
        # A failure here is the staging step's to report, with its own message.
        with contextlib.suppress(Exception):
            _ = build_spark_resource(settings).spark_session

    thread = threading.Thread(target=start, name="spark-warm-up", daemon=True)
    thread.start()
    return thread


def _months_text(runs: Sequence[MonthRun]) -> str:
    months = sum(run.months for run in runs)
    span = f"{runs[0].first[:7]} to {runs[-1].last[:7]}" if months > 1 else runs[0].first[:7]
    count = f"{len(runs)} runs" if len(runs) > 1 else "1 run"
    return f"{months} month{'s' if months > 1 else ''}, {span}, in {count}"


def run_stages(
    defs: dg.Definitions,
    instance: dg.DagsterInstance,
    settings: Settings,
    console: DemoConsole,
    floor: str | None = None,
) -> DemoRuns:
    """raw, transforms (month runs of bounded size), ml; stops at the first that fails."""
    catalog = build_catalog(settings)
    started = dt.datetime.now(dt.UTC)
    runs = DemoRuns()

    def finish(stage: Stage, result: dg.ExecuteInProcessResult, outcome: str) -> bool:
        runs.results.append(result)
        if result.success:
            stage.done(outcome)
            return True
        stage.failed("FAILED")
        runs.failed = stage.label
        return False

    _warm_spark(settings)
    raw = console.stage(
        "[1/3] raw", "extract source-faker's users, products and purchases (PyAirbyte)"
    )
    result = _execute(defs.resolve_job_def(RAW_INGEST_JOB), instance, raw)
    if not finish(raw, result, _new_records(result)):
        return runs

    transforms_job = defs.resolve_job_def(DAILY_TRANSFORMS_JOB)
    partitioned = partitioned_keys(transforms_job)
    runs.months = plan_runs(
        instance,
        catalog,
        since=started,
        rows_per_run=settings.backfill_rows_per_run,
        floor=floor,
    )
    transforms = console.stage(
        "[2/3] transforms",
        f"staging (Spark) and analytics (dbt) over {_months_text(runs.months)}",
        total=sum(run.months for run in runs.months) * len(partitioned),
    )
    for number, month_run in enumerate(runs.months):
        # The unpartitioned assets (users, products, dimensions) once, in the first run.
        selection = None if number == 0 else partitioned
        result = _execute(
            transforms_job, instance, transforms, tags=month_run.tags, selection=selection
        )
        if number < len(runs.months) - 1 and result.success:
            runs.results.append(result)
            continue
        purchases = sum(run.rows for run in runs.months)
        if not finish(transforms, result, f"{purchases:,} raw purchases"):
            return runs

    ml = console.stage(
        "[3/3] ml", "customer lifetime value (dbt), customer features and churn set (pandas)"
    )
    result = _execute(defs.resolve_job_def(ML_JOB), instance, ml)
    finish(ml, result, _ml_rows(result))
    return runs


def _output_metadata(result: dg.ExecuteInProcessResult) -> dict[str, Mapping[str, Any]]:
    """Each asset's materialisation metadata in the run (one entry per asset)."""
    return {
        event.asset_key.to_user_string(): event.step_materialization_data.materialization.metadata
        for event in result.get_asset_materialization_events()
        if event.asset_key is not None
    }


def _count(metadata: Mapping[str, Any], key: str) -> int:
    value = metadata.get(key)
    return int(value.value) if value is not None else 0


def _new_records(result: dg.ExecuteInProcessResult) -> str:
    counts = {
        key.split("/")[-1].removeprefix("faker_"): _count(meta, "airbyte/new_records")
        or _count(meta, "rows_written")
        for key, meta in _output_metadata(result).items()
    }
    if not counts:
        return "no new records"
    parts = ", ".join(f"{name} {count:,}" for name, count in sorted(counts.items()))
    return f"{sum(counts.values()):,} new records ({parts})"


def _ml_rows(result: dg.ExecuteInProcessResult) -> str:
    rows = {
        key.split("/")[-1]: _count(meta, "dagster/row_count")
        for key, meta in _output_metadata(result).items()
        if key.startswith("ml/")
    }
    return ", ".join(f"{name} {count:,} rows" for name, count in sorted(rows.items()))


def run_demo(
    environ: Mapping[str, str] | None = None,
    instance: dg.DagsterInstance | None = None,
    console: DemoConsole | None = None,
    since: str | None = None,
    log_path: Path | None = None,
) -> int:
    """0 when every stage succeeded. ``environ`` replaces the process settings (tests);
    ``since`` (YYYY-MM-DD) leaves the months before its month out, for a quicker look."""
    from lakehouse.definitions import build_definitions

    console = console or DemoConsole()
    settings = get_settings() if environ is None else load_settings(dict(environ))
    # A warehouse it cannot write fails here in one line, not in every step's traceback.
    writable_local_warehouse(settings)
    defs = build_definitions(environ)
    instance = instance or demo_instance(settings)
    for run_id in fail_abandoned_runs(instance):
        console.line(f"run {run_id}: its process was killed mid-run; marked failed")
    floor = month_of(dt.date.fromisoformat(since)) if since else None
    runs = run_stages(defs, instance, settings, console, floor)
    if runs.failed is not None:
        for line in failure_lines(runs.results[-1], log_path):
            console.line(line)
        return 1
    print_report(console, build_catalog(settings), runs.results)
    return 0


def demo_command(since: str | None = None, verbose: bool = False) -> int:
    """The ``lakehouse demo`` command: the engines' output to a log file unless ``verbose``."""
    settings = get_settings()
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    log_path = settings.home_dir / "logs" / f"demo-{stamp}.log"
    if verbose:
        console = DemoConsole(live=False)
        console.line(f"lakehouse demo: {settings.runtime} runtime, warehouse under {settings.home}")
        return run_demo(console=console, since=since)
    with engine_output_to(log_path) as terminal:
        console = DemoConsole(terminal)
        console.line(
            f"lakehouse demo: {settings.runtime} runtime; the engines' log (Spark, dbt, "
            f"Dagster) goes to {log_path}"
        )
        return run_demo(console=console, since=since, log_path=log_path)
