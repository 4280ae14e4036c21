"""Backfills in runs of bounded size: which months to (re)build, and how to split them into runs.

A single-run backfill reads its whole range at once: Spark's input, the audit of the gate and
the dbt models all hold it. So a long range is split into runs of consecutive months holding
at most ``rows_per_run`` raw purchases each (a month larger than that is a run of its own);
the row counts come from the raw table's partition statistics (Iceberg manifests, no scan).
``lakehouse demo`` and ``bench/e2e.py`` build their ranges this way.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import dagster as dg
import pyarrow.compute as pc
from pyiceberg.catalog import Catalog
from pyiceberg.exceptions import NoSuchTableError
from pyiceberg.expressions import GreaterThanOrEqual

from lakehouse.partitions import MONTHLY, month_of

RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"
# The partitioned chain ends in the purchases fact: a month it holds went through staging too.
LAST_PARTITIONED_ASSET = dg.AssetKey(["analytics", "fct_purchases"])
RAW_PURCHASES = ("raw", "faker_purchases")
EXTRACTED_AT, PARTITION_TIME = "_airbyte_extracted_at", "created_at"


@dataclass(frozen=True)
class MonthRun:
    """One run of consecutive months: its first and last partition keys and its raw rows."""

    first: str
    last: str
    months: int
    rows: int

    @property
    def tags(self) -> dict[str, str]:
        """The run tags of a single-run backfill over the months."""
        return {RANGE_START_TAG: self.first, RANGE_END_TAG: self.last}


def partitioned_keys(job: dg.JobDefinition) -> list[dg.AssetKey]:
    """The job's partitioned assets: a month run after the first selects these alone, so the
    unpartitioned ones (users, products, dimensions) are rebuilt once, not once per run."""
    graph = job.asset_layer.asset_graph
    return sorted(
        key
        for key in job.asset_layer.executable_asset_keys
        if graph.get(key).partitions_def is not None
    )


def rows_per_month(catalog: Catalog, identifier: Sequence[str] = RAW_PURCHASES) -> dict[str, int]:
    """Rows of the day-partitioned raw table per month partition key, from its manifests."""
    try:
        table = catalog.load_table(tuple(identifier))
    except NoSuchTableError:
        return {}
    if table.current_snapshot() is None:
        return {}
    counts: dict[str, int] = {}
    for row in table.inspect.partitions().to_pylist():
        day = (row["partition"] or {}).get(f"{PARTITION_TIME}_day")
        if isinstance(day, dt.date):  # rows written before the day spec have no month: unknown
            key = month_of(day)
            counts[key] = counts.get(key, 0) + row["record_count"]
    return counts


def split_runs(months: Sequence[str], rows: Mapping[str, int], rows_per_run: int) -> list[MonthRun]:
    """Consecutive ``months`` in runs of at most ``rows_per_run`` rows (one month at least)."""
    groups: list[list[str]] = []
    total = 0
    for month in months:
        size = rows.get(month, 0)
        if not groups or total + size > rows_per_run:
            groups.append([])
            total = 0
        groups[-1].append(month)
        total += size
    return [
        MonthRun(group[0], group[-1], len(group), sum(rows.get(m, 0) for m in group))
        for group in groups
    ]


def first_new_month(catalog: Catalog, since: dt.datetime) -> str | None:
    """The earliest month holding a purchase extracted at or after ``since``, if any."""
    try:
        table = catalog.load_table(RAW_PURCHASES)
    except NoSuchTableError:
        return None
    new = table.scan(
        row_filter=GreaterThanOrEqual(EXTRACTED_AT, since.isoformat()),
        selected_fields=(PARTITION_TIME,),
    ).to_arrow()
    earliest = pc.min(new[PARTITION_TIME]).as_py() if new.num_rows else None
    return None if earliest is None else month_of(earliest.date())


def months_to_build(
    done: Iterable[str], first_new: str | None, floor: str | None = None
) -> list[str]:
    """Every month from the first one not done (or holding new purchases) to the current one.

    ``done`` are the months ``LAST_PARTITIONED_ASSET`` holds; ``floor`` (a month key) leaves
    older months out. With nothing missing and nothing new, the current month alone: it keeps
    filling until it ends.
    """
    keys = MONTHLY.get_partition_keys()
    floor = max(floor or keys[0], keys[0])
    built = set(done)
    missing = next((key for key in keys if key >= floor and key not in built), None)
    starts = [month for month in (missing, first_new) if month is not None]
    start = max(min(starts, default=keys[-1]), floor)
    return [key for key in keys if key >= min(start, keys[-1])]


def plan_runs(
    instance: dg.DagsterInstance,
    catalog: Catalog,
    *,
    since: dt.datetime,
    rows_per_run: int,
    floor: str | None = None,
) -> list[MonthRun]:
    """The runs that bring the partitioned assets up to date, oldest first."""
    done = instance.get_materialized_partitions(LAST_PARTITIONED_ASSET)
    months = months_to_build(done, first_new_month(catalog, since), floor)
    return split_runs(months, rows_per_month(catalog), rows_per_run)
