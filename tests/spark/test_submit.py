"""The spark-submit entry point and its native Iceberg writes to main.

Spark 4 has no Iceberg runtime here, so the native write is checked against a recording
writer: which DataFrameWriterV2 calls it makes for a new table, a partition window, a rebuild.
Writes to an audit branch: ``test_branch_writes.py``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from pyspark.sql import DataFrame, SparkSession

from lakehouse.engine_conf import spark_catalog_conf
from lakehouse.settings import load_settings
from spark import iceberg_io, submit
from spark.contracts import PURCHASES
from tests.spark.recording import names, recording_frame

Frame = Callable[[str, list[tuple]], DataFrame]  # the ``frame`` fixture (tests/spark/conftest.py)
DAY = (dt.datetime(2024, 3, 2, tzinfo=dt.UTC), dt.datetime(2024, 3, 3, tzinfo=dt.UTC))
PLATFORM = {
    "LAKEHOUSE_RUNTIME": "platform",
    "LAKEHOUSE_CATALOG_TYPE": "rest",
    "LAKEHOUSE_CATALOG_URI": "http://lakekeeper:8181/catalog",
    "LAKEHOUSE_WAREHOUSE": "lakehouse",
    "LAKEHOUSE_AIRBYTE_API_URL": "http://airbyte:8001",
    "LAKEHOUSE_AIRBYTE_WORKSPACE_ID": "ws-1",
}


def test_a_new_table_is_created_day_partitioned_with_the_snapshot_properties(
    spark: SparkSession,
) -> None:
    frame, calls = recording_frame(exists=False)
    iceberg_io.write_table(
        frame, "lakehouse.staging.purchases", partition_column="created_at", window=DAY,
        properties={"dagster.run-id": "r1"},
    )  # fmt: skip
    assert names(calls) == ["sql", "partitionedBy", "create"]
    assert calls[0] == ("sql", "CREATE NAMESPACE IF NOT EXISTS lakehouse.staging")
    [partitioning] = [call[1] for call in calls if call[0] == "partitionedBy"]
    assert "days(created_at)" in partitioning
    assert ("option", "snapshot-property.dagster.run-id", "r1") in calls


def test_a_window_replaces_exactly_the_window_and_a_rebuild_every_partition(
    spark: SparkSession,
) -> None:
    frame, calls = recording_frame(exists=True)
    iceberg_io.write_table(frame, "t", partition_column="created_at", window=DAY)
    assert names(calls) == ["overwrite"]
    assert ">=(created_at, 2024-03-02 00:00:00" in calls[-1][1]
    frame, calls = recording_frame(exists=True)
    iceberg_io.write_table(frame, "t")
    assert names(calls) == ["overwritePartitions"]


def test_a_table_created_concurrently_is_overwritten_instead(spark: SparkSession) -> None:
    frame, calls = recording_frame(exists=False, fail_create=True)
    iceberg_io.write_table(frame, "t", partition_column="created_at", window=DAY)
    assert names(calls) == ["sql", "partitionedBy", "overwrite"]


def test_a_window_keeps_its_rows_whatever_the_session_zone(frame: Frame) -> None:
    df = frame(
        "id bigint, created_at timestamp",
        [(1, dt.datetime(2024, 3, 1, 23, 59, tzinfo=dt.UTC)), (2, DAY[0]), (3, DAY[1])],
    )
    naive = (DAY[0].replace(tzinfo=None), DAY[1].replace(tzinfo=None))  # naive means UTC
    kept = df.where(iceberg_io.window_condition("created_at", naive)).toArrow()
    assert kept["id"].to_pylist() == [2]


def test_arguments_name_a_table_and_an_optional_window() -> None:
    args = submit.parse_args(["purchases", "--start", "2024-03-02", "--end", "2024-03-03"])
    assert (args.table, (args.start, args.end)) == ("purchases", DAY)
    assert submit.parse_args(["users"]).start is None
    with pytest.raises(SystemExit):
        submit.parse_args(["users", "--start", "2024-03-02", "--end", "2024-03-03"])
    with pytest.raises(SystemExit):
        submit.parse_args(["purchases", "--start", "2024-03-02"])


def test_the_catalog_conf_is_generated_from_the_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in PLATFORM.items():
        monkeypatch.setenv(key, value)
    conf = submit.catalog_conf()
    assert conf == spark_catalog_conf(load_settings(PLATFORM))
    assert submit._catalog_name(conf) == "lakehouse"


def test_run_reads_raw_transforms_and_writes_staging(
    frame: Frame, monkeypatch: pytest.MonkeyPatch, spark: SparkSession
) -> None:
    raw = frame(
        "id bigint not null, user_id bigint, product_id bigint, created_at timestamp, "
        "updated_at timestamp, added_to_cart_at timestamp, purchased_at timestamp, "
        "returned_at timestamp",
        [(1, 2, 3, DAY[0], DAY[0], DAY[0], None, None)],
    )
    reads: list[tuple] = []
    writes: list[tuple] = []
    monkeypatch.setattr(
        iceberg_io, "read_table", lambda spark, name, **kw: reads.append((name, kw)) or raw
    )
    monkeypatch.setattr(
        iceberg_io, "write_table", lambda df, name, **kw: writes.append((df, name, kw))
    )
    submit.run(spark, "purchases", window=DAY)
    assert reads == [
        ("lakehouse.raw.faker_purchases", {"time_column": "created_at", "window": DAY})
    ]
    [(staged, name, options)] = writes
    assert name == "lakehouse.staging.purchases"
    assert (options["partition_column"], options["window"]) == ("created_at", DAY)
    assert staged.columns == PURCHASES.names
