"""One day's run with 30 days of history over the same run with 1 day (target <= 1.2).

A partition should cost the same whatever the history: the transforms job (staging with
Spark, analytics with dbt-duckdb) for one month must read and replace that month only. The
timed day is the first of its month, so its month's run holds that one day. Two lakehouses are seeded alike (same users and products, ``--per-day`` purchases a day;
raw purchases land as source-faker's first sync does, every day in one commit), one with 1 day
of history and one with ``--history`` days, and both built once by a single-run backfill
(untimed). Then the job for the last day runs in each,
interleaved with the order alternating, ``--reps`` times, in one process with one Spark session
(as a long-lived run worker would); we print the medians and the median of per-rep ratios.

Files read, per table: every pyiceberg scan the run plans (the staging reads, the IO manager's
loads, the gates) is recorded by wrapping ``DataScan.plan_files``; the dbt process's DuckDB
logs every file it opens (``DAGSTER_DBT_FILE_LOG_DIR``, its FileSystem log), so dbt's reads
are measured, not inferred. For each table we print the data files read and the days they hold:
both must be the same with 1 day and with 30 days of history.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
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
import pyarrow as pa
from pyiceberg.table import DataScan

sys.path.insert(0, str(Path(__file__).resolve().parent))  # run as a script: sibling modules

from synthetic import build_synthetic_raw_asset, products, purchases, users

from lakehouse.analytics.duckdb_iceberg import files_opened
from lakehouse.analytics.duckdb_plugin import FILE_LOG_ENV
from lakehouse.automation.jobs import DAILY_TRANSFORMS_JOB
from lakehouse.catalog import build_catalog  # noqa: F401 (tests/bench reaches it here)
from lakehouse.definitions import build_definitions
from lakehouse.io_manager import IcebergIOManager
from lakehouse.partitions import month_of
from lakehouse.settings import load_settings

# The day every timed run rebuilds: the first of its month partition, so the history lies in
# the months before and the month's run holds that one day in both lakehouses.
DAY = dt.datetime(2024, 6, 1, tzinfo=dt.UTC)
ONE_DAY = dt.timedelta(days=1)
Scans = dict[str, tuple[int, int]]  # table -> (files, rows in them), the largest plan per table
FileReads = dict[str, set[str]]  # table -> every data file planned (pyiceberg) or opened (DuckDB)
# pyiceberg's Hive-style partition directory of a day transform: ``<column>_day=2024-06-30``.
_DAY_DIRECTORY = re.compile(r"/data/(?:[^/]+/)*[^/=]+_day=(\d{4}-\d{2}-\d{2})/")
_TABLE_DATA = re.compile(r"/([^/]+)/([^/]+)/data/")


@contextmanager
def counting_scans() -> Iterator[Scans]:
    """Record every pyiceberg scan planned inside the block: files and rows per table."""
    seen: dict[str, tuple[int, int]] = defaultdict(lambda: (0, 0))
    original: Callable[..., Any] = DataScan.plan_files

    def plan_files(scan: DataScan) -> Any:
        tasks = list(original(scan))
        files, rows = len(tasks), sum(task.file.record_count for task in tasks)
        seen[_name(scan)] = max(seen[_name(scan)], (files, rows))
        return tasks

    DataScan.plan_files = plan_files  # type: ignore[method-assign]
    try:
        yield seen
    finally:
        DataScan.plan_files = original  # type: ignore[method-assign]


@contextmanager
def tracking_reads(log_dir: Path) -> Iterator[FileReads]:
    """Every data file read inside the block, per table: planned by pyiceberg in this process,
    or opened by DuckDB in a dbt process started inside it (filled in when the block exits)."""
    reads: FileReads = defaultdict(set)
    original: Callable[..., Any] = DataScan.plan_files

    def plan_files(scan: DataScan) -> Any:
        tasks = list(original(scan))
        reads[_name(scan)].update(_local(task.file.file_path) for task in tasks)
        return tasks

    previous = os.environ.get(FILE_LOG_ENV)
    os.environ[FILE_LOG_ENV] = str(log_dir)  # dagster-dbt copies os.environ into dbt's process
    DataScan.plan_files = plan_files  # type: ignore[method-assign]
    try:
        yield reads
    finally:
        DataScan.plan_files = original  # type: ignore[method-assign]
        if previous is None:
            os.environ.pop(FILE_LOG_ENV, None)
        else:
            os.environ[FILE_LOG_ENV] = previous
        for path in files_opened(log_dir):
            table = _TABLE_DATA.search(path)
            if table and path.endswith(".parquet"):
                reads[".".join(table.groups())].add(path)


def _name(scan: DataScan) -> str:
    """``namespace.table`` from the table location (``.../warehouse/<ns>/<table>``)."""
    parts = scan.table_metadata.location.rstrip("/").split("/")
    return ".".join(parts[-2:])


def _local(path: str) -> str:
    return path.removeprefix("file://")


def file_day(path: str) -> str | None:
    """The day a data file holds, from its partition directory; None if not day-partitioned."""
    found = _DAY_DIRECTORY.search(path)
    return found.group(1) if found else None


def summarise(reads: FileReads) -> dict[str, tuple[int, str]]:
    """Per table: files read and the days they hold (``whole`` for unpartitioned files)."""
    summary = {}
    for table, paths in reads.items():
        days = {file_day(path) or "whole" for path in paths}
        summary[table] = (len(paths), ",".join(sorted(days)))
    return summary


def _write_raw(io_manager: IcebergIOManager, batches: dict[str, pa.Table]) -> None:
    dg.materialize([build_synthetic_raw_asset(batches)], resources={"io_manager": io_manager})


def seed(home: Path, history: int, per_day: int, user_count: int) -> dg.Definitions:
    """Raw tables as a first sync leaves them, then every day built once."""
    environ = {"LAKEHOUSE_HOME": str(home)}
    io_manager = IcebergIOManager(settings=load_settings(environ))
    first = DAY - (history - 1) * ONE_DAY
    dimensions = {"users": users(user_count, before=first), "products": products(before=first)}
    _write_raw(io_manager, dimensions)
    days = []
    for number in range(history):
        start = first + number * ONE_DAY
        # The same seed each day: both lakehouses get identical rows for the timed day.
        days.append(
            purchases(
                per_day, start=start, end=start + ONE_DAY, users=user_count,
                first_id=1 + number * per_day, seed=start.toordinal(),
            )
        )  # fmt: skip
    # The first sync: one commit holding every day, so only the table's layout (day
    # partitions) keeps a one-day read from planning the whole history.
    _write_raw(io_manager, {"purchases": pa.concat_tables(days)})
    defs = build_definitions(environ)
    backfill = run_day(defs, first, DAY)
    assert backfill.success, f"backfill of {history} days failed"
    return defs


def run_day(
    defs: dg.Definitions, first: dt.datetime, last: dt.datetime
) -> dg.ExecuteInProcessResult:
    """The transforms job over the months of ``[first, last]`` (one month, or a single-run
    backfill of several)."""
    keys = {"start": month_of(first.date()), "end": month_of(last.date())}
    tags = {f"dagster/asset_partition_range_{side}": key for side, key in keys.items()}
    job = defs.resolve_job_def(DAILY_TRANSFORMS_JOB)
    return job.execute_in_process(instance=dg.DagsterInstance.ephemeral(), tags=tags)


def timed_run(defs: dg.Definitions, log_dir: Path) -> tuple[float, FileReads]:
    with tracking_reads(log_dir) as reads:
        started = time.perf_counter()
        result = run_day(defs, DAY, DAY)
        seconds = time.perf_counter() - started
    assert result.success
    return seconds, dict(reads)


def report(reads: dict[int, FileReads], large: int) -> bool:
    """Print files read per table for 1 day vs ``large`` days; True if all are constant."""
    small_summary, large_summary = summarise(reads[1]), summarise(reads[large])
    print(f"\ndata files read for the day {DAY.date()}: files [days they hold], 1 day vs "
          f"{large} days of history")  # fmt: skip
    constant = True
    for table in sorted(set(small_summary) | set(large_summary)):
        a, b = small_summary.get(table, (0, "-")), large_summary.get(table, (0, "-"))
        same = "constant" if a == b else "GROWS"
        constant &= same == "constant"
        print(f"  {table:<32} {a[0]:>5} [{a[1]:<10}] {b[0]:>5} [{b[1]:<10}]  {same}")
    print(f"files read constant with history: {'YES' if constant else 'NO'}")
    return constant


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
        logs = Path(scratch) / "duckdb-file-logs"
        started = time.perf_counter()
        defs = {h: seed(homes[h], h, args.per_day, args.users) for h in histories}
        print(f"seeded and backfilled both lakehouses in {time.perf_counter() - started:.0f} s")
        timed_run(defs[1], logs / "warm-up")  # the Spark session starts here, in neither
        times: dict[int, list[float]] = {h: [] for h in histories}
        reads: dict[int, FileReads] = {}
        for rep in range(args.reps):
            for history in histories if rep % 2 == 0 else histories[::-1]:
                seconds, reads[history] = timed_run(defs[history], logs / f"{history}-{rep}")
                times[history].append(seconds)
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
    report(reads, large)


if __name__ == "__main__":
    main()
