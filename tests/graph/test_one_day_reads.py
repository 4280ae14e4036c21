"""One month's partition touches only that month's files, in every table the transforms job reads.

Three consecutive days, each in a month of its own, land in raw as source-faker's first sync
does (one commit holding every day), a single-run backfill builds them, then the transforms
job runs for the middle day's month
with real Spark and dbt-duckdb. Every data file the run reads is recorded: pyiceberg scans
planned in this process (staging reads, gates) and files DuckDB opened in the dbt process (its
file log, ``bench/incremental.py``'s ``tracking_reads``). Only the small dimension tables may be
read whole; every other file read must hold the run's day. And dbt does not re-parse the
project for the day: its partial-parse state is the one ``prepare`` saved.
"""

from __future__ import annotations

import datetime as dt
import sys
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import pyarrow as pa
import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"
sys.path.insert(0, str(BENCH))

from incremental import FileReads, file_day, run_day, tracking_reads  # noqa: E402
from synthetic import build_synthetic_raw_asset, products, purchases, users  # noqa: E402

from lakehouse.analytics.prepare import DBT_PROJECT_DIR  # noqa: E402
from lakehouse.analytics.resources import INVOCATIONS_DIR  # noqa: E402
from lakehouse.definitions import build_definitions  # noqa: E402
from lakehouse.io_manager import IcebergIOManager  # noqa: E402
from lakehouse.settings import load_settings  # noqa: E402

pytestmark = pytest.mark.slow

# The run's day is alone in its month partition, with history on the days before and after it.
FIRST = dt.datetime(2024, 5, 31, tzinfo=dt.UTC)
DAY = dt.datetime(2024, 6, 15, tzinfo=dt.UTC)
LAST = dt.datetime(2024, 7, 1, tzinfo=dt.UTC)
USERS = 40
# Unpartitioned by design: every run reads them whole (dimensions, not history).
WHOLE_TABLES = {
    "raw.faker_users",
    "raw.faker_products",
    "staging.users",
    "staging.products",
    "analytics.dim_customers",
    "analytics.dim_products",
}


@dataclass(frozen=True)
class OneDay:
    reads: FileReads
    run_id: str


@pytest.fixture(scope="module")
def one_day(tmp_path_factory: pytest.TempPathFactory) -> OneDay:
    home = tmp_path_factory.mktemp("one-day-reads")
    environ = {"LAKEHOUSE_HOME": str(home / "lakehouse")}
    io_manager = IcebergIOManager(settings=load_settings(environ))
    days = [
        purchases(30, start=start, end=start + dt.timedelta(days=1), users=USERS,
                  first_id=1 + 30 * number, seed=number)
        for number, start in enumerate((FIRST, DAY, LAST))
    ]  # fmt: skip
    batches: dict[str, pa.Table] = {
        "users": users(USERS, before=FIRST),
        "products": products(before=FIRST),
        "purchases": pa.concat_tables(days),  # the first sync: every day in one commit
    }
    raw = dg.materialize([build_synthetic_raw_asset(batches)], resources={"io_manager": io_manager})
    assert raw.success
    defs = build_definitions(environ)
    assert run_day(defs, FIRST, LAST).success, "the backfill of the three days failed"
    with tracking_reads(home / "duckdb-file-logs") as recorded:
        result = run_day(defs, DAY, DAY)
        assert result.success, "the one-day run failed"
    return OneDay(recorded, result.run_id)


@pytest.fixture(scope="module")
def reads(one_day: OneDay) -> FileReads:
    return one_day.reads


def test_every_file_read_of_a_partitioned_table_holds_the_runs_day(reads: FileReads) -> None:
    other_days = {
        table: sorted({day for path in paths if (day := file_day(path)) != DAY.date().isoformat()})
        for table, paths in reads.items()
        if table not in WHOLE_TABLES
    }
    assert {table: days for table, days in other_days.items() if days} == {}


def test_only_the_dimension_tables_are_read_whole(reads: FileReads) -> None:
    read_whole = {
        table for table, paths in reads.items() if any(file_day(path) is None for path in paths)
    }
    assert read_whole <= WHOLE_TABLES


def test_the_purchases_chain_is_read_in_both_processes(reads: FileReads) -> None:
    # Guards the two above from passing vacuously: the raw and staging reads are pyiceberg
    # plans in this process; the fact is only ever read by DuckDB in the dbt process.
    for table in ("raw.faker_purchases", "staging.purchases", "analytics.fct_purchases"):
        assert reads.get(table), f"no read of {table} was recorded"


def test_the_days_dbt_invocations_reuse_the_prepared_parse(one_day: OneDay) -> None:
    # dagster-dbt names each invocation's target directory <op>-<run id[:7]>-<random>.
    logs = sorted(
        (DBT_PROJECT_DIR / "target" / INVOCATIONS_DIR).glob(
            f"analytics_*-{one_day.run_id[:7]}-*/dbt.log"
        )
    )
    assert len(logs) == 2, "the partitioned and the unpartitioned analytics steps each ran dbt"
    for log in logs:
        text = log.read_text()
        assert "Partial parsing enabled, no changes found, skipping parsing" in text, log
        assert "Starting full parse" not in text, log
