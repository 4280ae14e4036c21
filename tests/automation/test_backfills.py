"""Backfills in runs of bounded size: which months to build and how they are split into runs."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest
from pyiceberg.catalog import Catalog

from lakehouse.automation.backfills import (
    RANGE_END_TAG,
    RANGE_START_TAG,
    MonthRun,
    first_new_month,
    months_to_build,
    rows_per_month,
    split_runs,
)
from lakehouse.iceberg import WriteRequest, write

TS = pa.timestamp("us", tz="UTC")


def _at(day: str) -> dt.datetime:
    return dt.datetime.fromisoformat(f"{day}T12:00:00+00:00")


def test_months_are_split_into_runs_of_at_most_the_row_budget() -> None:
    months = ["2024-01-01", "2024-02-01", "2024-03-01", "2024-04-01", "2024-05-01"]
    rows = {"2024-01-01": 40, "2024-02-01": 50, "2024-03-01": 30, "2024-05-01": 120}
    runs = split_runs(months, rows, rows_per_run=100)
    assert runs == [
        MonthRun("2024-01-01", "2024-02-01", months=2, rows=90),
        MonthRun("2024-03-01", "2024-04-01", months=2, rows=30),  # an empty month joins in
        MonthRun("2024-05-01", "2024-05-01", months=1, rows=120),  # too large: a run alone
    ]
    assert runs[0].tags == {RANGE_START_TAG: "2024-01-01", RANGE_END_TAG: "2024-02-01"}
    # Every month in exactly one run, in order.
    covered = [m for run in runs for m in months if run.first <= m <= run.last]
    assert covered == months


def test_one_run_when_everything_fits() -> None:
    months = ["2023-11-01", "2023-12-01", "2024-01-01"]
    assert split_runs(months, {}, rows_per_run=1) == [
        MonthRun("2023-11-01", "2024-01-01", months=3, rows=0)
    ]


@pytest.mark.clock
def test_a_fresh_warehouse_builds_every_month_and_a_built_one_the_current_month(
    pinned_clock: dt.datetime,
) -> None:
    current = pinned_clock.date().replace(day=1).isoformat()
    everything = months_to_build(done=[], first_new=None)
    assert everything[0] == "2000-01-01" and everything[-1] == current
    assert len(everything) == len(set(everything))
    # Everything built and nothing new: the current month only (it keeps filling).
    assert months_to_build(done=everything, first_new=None) == [current]
    # A month missing in the middle: from there on.
    missing = everything[100]
    done = [m for m in everything if m != missing]
    assert months_to_build(done=done, first_new=None) == everything[100:]
    # New purchases in an old month: from that month on.
    assert months_to_build(done=everything, first_new=everything[-5]) == everything[-5:]
    # The floor leaves older months out, even when they are missing or hold new rows.
    floor = everything[-3]
    assert months_to_build(done=[], first_new=everything[0], floor=floor) == everything[-3:]


def _raw_purchases(catalog: Catalog, rows: list[tuple[str, str]]) -> None:
    created, extracted = zip(*rows, strict=True)
    table = pa.table(
        {
            "id": pa.array(range(len(rows)), pa.int64()),
            "created_at": pa.array([_at(day) for day in created], TS),
            "_airbyte_extracted_at": pa.array([_at(day) for day in extracted], TS),
        }
    )
    write(catalog, table, WriteRequest(("raw", "faker_purchases"), "append", "created_at"))


def test_rows_per_month_come_from_the_raw_tables_partitions(catalog: Catalog) -> None:
    assert rows_per_month(catalog) == {}  # no raw table yet
    _raw_purchases(
        catalog,
        [
            ("2024-01-03", "2024-06-01"),
            ("2024-01-30", "2024-06-01"),
            ("2024-02-01", "2024-06-01"),
            ("2024-03-31", "2024-06-02"),
        ],
    )
    assert rows_per_month(catalog) == {"2024-01-01": 2, "2024-02-01": 1, "2024-03-01": 1}


def test_the_first_new_month_is_that_of_the_oldest_purchase_extracted_since(
    catalog: Catalog,
) -> None:
    assert first_new_month(catalog, _at("2024-06-01")) is None  # no raw table yet
    _raw_purchases(
        catalog,
        [("2023-07-04", "2024-06-01"), ("2024-02-10", "2024-06-03"), ("2024-05-10", "2024-06-04")],
    )
    assert first_new_month(catalog, _at("2024-06-02")) == "2024-02-01"
    assert first_new_month(catalog, _at("2024-06-05")) is None
