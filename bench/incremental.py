"""One day's run with 30 days of history over the same run with 1 day (target <= 1.2).

A daily partition should cost the same whatever the history: the daily transforms job
(staging with Spark, analytics with dbt-duckdb) for one day must read and replace that day
only. Two lakehouses are seeded alike (same users and products, ``--per-day`` purchases a day,
one raw commit per day as daily ingests would make), one with 1 day of history and one with
``--history`` days, and both built once by a single-run backfill (untimed). Then the job for
the last day runs in each, interleaved with the order alternating, ``--reps`` times, in one
process with one Spark session (as a long-lived run worker would); we print the medians and
the median of per-rep ratios.

Files scanned: every pyiceberg scan the run plans (the staging reads, the IO manager's loads,
the checks) is counted by wrapping ``DataScan.plan_files``; dbt's DuckDB reads happen in the
dbt process, so the script plans the same scans with pyiceberg (staging.purchases for the day,
the tables read whole). Files and the rows in them must not grow with the history.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import dagster as dg
from pyiceberg.catalog import Catalog
from pyiceberg.expressions import AlwaysTrue, BooleanExpression
from pyiceberg.table import DataScan

sys.path.insert(0, str(Path(__file__).resolve().parent))  # run as a script: sibling modules

from synthetic import build_synthetic_raw_asset, products, purchases, users

from lakehouse.automation.jobs import DAILY_TRANSFORMS_JOB
from lakehouse.catalog import build_catalog
from lakehouse.definitions import build_definitions
from lakehouse.iceberg import IcebergIOManager
from lakehouse.iceberg.writes import window_filter
from lakehouse.settings import load_settings

DAY = dt.datetime(2024, 6, 30, tzinfo=dt.UTC)  # the day every timed run rebuilds
ONE_DAY = dt.timedelta(days=1)
Scans = dict[str, tuple[int, int]]  # table -> (files, rows in them), the largest plan per table


@contextmanager
def counting_scans() -> Iterator[Scans]:
    """Record every pyiceberg scan planned inside the block: files and rows per table."""
    seen: dict[str, tuple[int, int]] = defaultdict(lambda: (0, 0))
    original: Callable[..., Any] = DataScan.plan_files

    def plan_files(scan: DataScan) -> Any:
        tasks = list(original(scan))
        name = ".".join(scan.table_metadata.properties.get("name", "") or ()) or _name(scan)
        files, rows = len(tasks), sum(task.file.record_count for task in tasks)
        seen[name] = max(seen[name], (files, rows))
        return tasks

    DataScan.plan_files = plan_files  # type: ignore[method-assign]
    try:
        yield seen
    finally:
        DataScan.plan_files = original  # type: ignore[method-assign]


def _name(scan: DataScan) -> str:
    """``namespace.table`` from the table location (``.../warehouse/<ns>/<table>``)."""
    parts = scan.table_metadata.location.rstrip("/").split("/")
    return ".".join(parts[-2:])


def planned(catalog: Catalog, table: str, row_filter: BooleanExpression) -> tuple[int, int]:
    tasks = list(catalog.load_table(table).scan(row_filter=row_filter).plan_files())
    return len(tasks), sum(task.file.record_count for task in tasks)


def duckdb_reads(catalog: Catalog) -> Scans:
    """What dbt reads for one day, planned with pyiceberg (DuckDB prunes the same way)."""
    day = window_filter("created_at", (DAY, DAY + ONE_DAY))
    return {
        "dbt: staging.purchases (day)": planned(catalog, "staging.purchases", day),
        "dbt: staging.users": planned(catalog, "staging.users", AlwaysTrue()),
        "dbt: staging.products": planned(catalog, "staging.products", AlwaysTrue()),
        "dbt: analytics.fct_purchases (metrics)": planned(
            catalog, "analytics.fct_purchases", AlwaysTrue()
        ),
    }


def seed(home: Path, history: int, per_day: int, user_count: int) -> dg.Definitions:
    """Raw tables as ``history`` daily ingests leave them, then every day built once."""
    environ = {"LAKEHOUSE_HOME": str(home)}
    io_manager = IcebergIOManager(environment=environ)
    first = DAY - (history - 1) * ONE_DAY
    dimensions = {"users": users(user_count, before=first), "products": products(before=first)}
    dg.materialize([build_synthetic_raw_asset(dimensions)], resources={"io_manager": io_manager})
    for number in range(history):
        start = first + number * ONE_DAY
        # The same seed each day: both lakehouses get identical rows for the timed day.
        batch = purchases(
            per_day, start=start, end=start + ONE_DAY, users=user_count,
            first_id=1 + number * per_day, seed=start.toordinal(),
        )  # fmt: skip
        dg.materialize(
            [build_synthetic_raw_asset({"purchases": batch})], resources={"io_manager": io_manager}
        )
    defs = build_definitions(environ)
    backfill = run_day(defs, first, DAY)
    assert backfill.success, f"backfill of {history} days failed"
    return defs


def run_day(
    defs: dg.Definitions, first: dt.datetime, last: dt.datetime
) -> dg.ExecuteInProcessResult:
    """The daily transforms job over ``[first, last]`` (one day, or a single-run backfill)."""
    keys = {"start": first.date().isoformat(), "end": last.date().isoformat()}
    tags = {f"dagster/asset_partition_range_{side}": key for side, key in keys.items()}
    job = defs.resolve_job_def(DAILY_TRANSFORMS_JOB)
    return job.execute_in_process(instance=dg.DagsterInstance.ephemeral(), tags=tags)


def timed_run(defs: dg.Definitions) -> tuple[float, Scans]:
    with counting_scans() as scans:
        started = time.perf_counter()
        result = run_day(defs, DAY, DAY)
        seconds = time.perf_counter() - started
    assert result.success
    return seconds, dict(scans)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--history", type=int, default=30, help="days of history (vs 1)")
    parser.add_argument("--per-day", type=int, default=10_000, help="purchases per day")
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--reps", type=int, default=5)
    args = parser.parse_args()
    histories = (1, args.history)
    with tempfile.TemporaryDirectory(prefix="bench-incremental-") as scratch:
        homes = {history: Path(scratch) / f"history-{history}" for history in histories}
        started = time.perf_counter()
        defs = {h: seed(homes[h], h, args.per_day, args.users) for h in histories}
        print(f"seeded and backfilled both lakehouses in {time.perf_counter() - started:.0f} s")
        timed_run(defs[1])  # warm-up: the Spark session starts here, in neither measurement
        times: dict[int, list[float]] = {h: [] for h in histories}
        scans: dict[int, Scans] = {}
        for rep in range(args.reps):
            for history in histories if rep % 2 == 0 else histories[::-1]:
                seconds, scans[history] = timed_run(defs[history])
                times[history].append(seconds)
        for history in histories:
            catalog = build_catalog(load_settings({"LAKEHOUSE_HOME": str(homes[history])}))
            scans[history] |= duckdb_reads(catalog)
    small, large = histories
    for rep in range(args.reps):
        print(
            f"  rep {rep}: 1 day {times[small][rep]:.2f} s   {large} days {times[large][rep]:.2f} s"
        )
    ratio = statistics.median(b / a for a, b in zip(times[small], times[large], strict=True))
    print(f"\none day's daily_transforms_job, {args.per_day:,} purchases/day, {args.reps} reps")
    print(f"  history 1 day      median {statistics.median(times[small]):7.2f} s")
    print(f"  history {large} days    median {statistics.median(times[large]):7.2f} s")
    print(f"  ratio {large} days / 1 day: {ratio:.2f}   (target <= 1.2)")
    print(f"\nscanned for the day: files (rows in them), 1 day vs {large} days of history")
    constant = True
    for table in sorted(set(scans[small]) | set(scans[large])):
        a, b = scans[small].get(table, (0, 0)), scans[large].get(table, (0, 0))
        same = "constant" if a[0] == b[0] and a[1] == b[1] else "GROWS"
        constant &= same == "constant"
        print(f"  {table:<42} {a[0]:>5} ({a[1]:>9,})  {b[0]:>5} ({b[1]:>9,})  {same}")
    print(f"files scanned constant: {'yes' if constant else 'NO'}")


if __name__ == "__main__":
    main()
