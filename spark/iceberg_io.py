"""Native Iceberg reads and writes through Spark's catalog (the platform path).

Used by ``spark/submit.py`` and by the staging IO manager when Spark has the Iceberg runtime
(the platform's Spark Connect server and Spark image). A write replaces exactly what the run
computed: the partition window when there is one, every row otherwise. Given an audit branch it
commits there instead of ``main`` (``spark/branches.py``); publishing is the lakehouse's.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from pyspark.errors import AnalysisException
from pyspark.sql import Column, DataFrame, DataFrameWriterV2, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.functions import partitioning

from spark.branches import branch_identifier, start_branch_statements

Window = tuple[dt.datetime, dt.datetime]
# Iceberg's Spark writer copies options with this prefix into the snapshot summary.
SNAPSHOT_PROPERTY_PREFIX = "snapshot-property."


def qualified_name(catalog: str, identifier: tuple[str, ...]) -> str:
    """``("raw", "faker_users")`` in catalog ``lakehouse`` -> ``lakehouse.raw.faker_users``."""
    return ".".join((catalog, *identifier))


def window_condition(column: str, window: Window) -> Column:
    """``start <= column < end``: the rows of a partition window (bounds are instants)."""
    start, end = (_utc(bound) for bound in window)
    return (F.col(column) >= F.lit(start)) & (F.col(column) < F.lit(end))


def _utc(value: dt.datetime) -> dt.datetime:
    # A naive bound is taken as UTC, as the pyiceberg path does; Spark would use the session zone.
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def read_table(
    spark: SparkSession, name: str, *, time_column: str | None = None, window: Window | None = None
) -> DataFrame:
    """The table, or only the window's rows (Iceberg prunes files by the filter)."""
    table = spark.table(name)
    if window is None:
        return table
    if time_column is None:
        raise ValueError(f"{name}: a window needs the time column it applies to")
    return table.where(window_condition(time_column, window))


def write_table(
    df: DataFrame,
    name: str,
    *,
    partition_column: str | None = None,
    window: Window | None = None,
    properties: Mapping[str, str] | None = None,
    branch: str | None = None,
) -> None:
    """Create the table (day-partitioned on ``partition_column``) or replace the run's rows, on
    ``branch`` (restarted at main's head) when given, else on ``main``.

    With a window, ``overwrite`` by the window's condition rather than ``overwritePartitions``:
    a day whose new output is empty must be emptied too, and dynamic overwrite would keep it.
    A new table written to a branch is created empty first, so ``main`` holds no row of it
    until the audit publishes the branch.
    """
    if window is not None and partition_column is None:
        raise ValueError(f"{name}: a window needs the partition column it applies to")
    session = df.sparkSession
    if not session.catalog.tableExists(name):
        # Iceberg creates no namespace for a table (pyiceberg's side does; spark-submit may run first).
        session.sql(f"CREATE NAMESPACE IF NOT EXISTS {name.rsplit('.', 1)[0]}")
        if branch is None:
            if _create(df, name, partition_column, properties):
                return
        else:  # empty, and without the run's properties: it is main's, not the batch's
            _create(df.limit(0), name, partition_column, None)
    target = name
    if branch is not None:
        for statement in start_branch_statements(name, branch):
            session.sql(statement)
        target = branch_identifier(name, branch)
    writer = _writer(df, target, properties, partition_column)
    if window is not None:
        assert partition_column is not None
        writer.overwrite(window_condition(partition_column, window))
    else:
        writer.overwritePartitions()


def _create(
    df: DataFrame, name: str, partition_column: str | None, properties: Mapping[str, str] | None
) -> bool:
    """Create the table with ``df``'s rows; False if a concurrent run created it first."""
    # A fresh writer per attempt: partitionedBy mutates the writer it is called on.
    creator = _writer(df, name, properties, partition_column)
    if partition_column is not None:
        creator = creator.partitionedBy(partitioning.days(partition_column))
    try:
        creator.create()
    except AnalysisException as error:
        if "already exists" not in str(error).lower():
            raise
        return False
    return True


def _writer(
    df: DataFrame,
    name: str,
    properties: Mapping[str, str] | None,
    partition_column: str | None = None,
) -> DataFrameWriterV2:
    if partition_column is None:
        writer = df.writeTo(name)
    else:
        # Iceberg's default for a write that requests no ordering is its fanout writer: one open
        # Parquet writer (and its buffers) per day in each task, so a first run over years of
        # days ran out of heap. Rows sorted by day in each task let one writer at a time do it.
        writer = df.sortWithinPartitions(partition_column).writeTo(name)
        writer = writer.option("fanout-enabled", "false")
    for key, value in (properties or {}).items():
        writer = writer.option(f"{SNAPSHOT_PROPERTY_PREFIX}{key}", value)
    return writer
