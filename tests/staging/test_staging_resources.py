"""The staging Spark resource and IO manager: conf from settings, one session, the two paths."""

from __future__ import annotations

import datetime as dt
from typing import Any

import dagster as dg
import pyarrow as pa
import pytest
from pyiceberg.catalog import Catalog
from pyspark.sql import SparkSession

from lakehouse.engine_conf import spark_catalog_conf
from lakehouse.iceberg import WriteRequest, to_arrow, write
from lakehouse.settings import SettingsError, load_settings
from lakehouse.staging import SparkIcebergIOManager, build_spark_resource
from lakehouse.staging import resources as staging_resources
from lakehouse.staging.resources import DRIVER_JAVA_OPTIONS, spark_config
from spark import iceberg_io

PLATFORM = {
    "LAKEHOUSE_RUNTIME": "platform",
    "LAKEHOUSE_CATALOG_TYPE": "rest",
    "LAKEHOUSE_CATALOG_URI": "http://lakekeeper:8181/catalog",
    "LAKEHOUSE_WAREHOUSE": "lakehouse",
    "LAKEHOUSE_S3_ENDPOINT": "http://minio:9000",
    "LAKEHOUSE_AIRBYTE_API_URL": "http://airbyte:8001",
    "LAKEHOUSE_AIRBYTE_WORKSPACE_ID": "ws-1",
    "LAKEHOUSE_SPARK_REMOTE": "sc://spark-connect:15002",
}


def test_embedded_runs_a_small_local_session_without_the_iceberg_catalog(tmp_path) -> None:
    conf = spark_config(load_settings({"LAKEHOUSE_HOME": str(tmp_path)}))
    assert conf["spark.master"] == "local[*]"
    assert conf["spark.driver.extraJavaOptions"] == DRIVER_JAVA_OPTIONS
    assert conf["spark.sql.shuffle.partitions"] == "4"
    assert conf["spark.sql.session.timeZone"] == "UTC"
    assert not any(key.startswith("spark.sql.catalog.") for key in conf)


def test_a_remote_url_selects_spark_connect(tmp_path) -> None:
    settings = load_settings(
        {"LAKEHOUSE_HOME": str(tmp_path), "LAKEHOUSE_SPARK_REMOTE": "sc://127.0.0.1:15002"}
    )
    conf = spark_config(settings)
    assert conf["spark.remote"] == "sc://127.0.0.1:15002"
    assert "spark.master" not in conf and "spark.driver.extraJavaOptions" not in conf


def test_the_platform_resource_uses_the_generated_catalog_conf() -> None:
    resource = build_spark_resource(load_settings(PLATFORM))
    generated = spark_catalog_conf(load_settings(PLATFORM))
    # Static confs are the Spark Connect server's own (a client cannot change them).
    static = {"spark.sql.extensions"}
    assert generated.keys() - resource.spark_config.keys() == static
    assert {k: v for k, v in generated.items() if k not in static}.items() <= (
        resource.spark_config.items()
    )
    assert resource.spark_config["spark.remote"] == "sc://spark-connect:15002"
    assert (
        resource.spark_config["spark.sql.catalog.lakehouse.uri"]
        == PLATFORM["LAKEHOUSE_CATALOG_URI"]
    )


def test_the_platform_without_a_connect_url_fails_on_first_use_not_at_load() -> None:
    platform = {k: v for k, v in PLATFORM.items() if k != "LAKEHOUSE_SPARK_REMOTE"}
    resource = build_spark_resource(load_settings(platform))  # the location still loads
    with pytest.raises(SettingsError, match="LAKEHOUSE_SPARK_REMOTE"):
        resource.spark_session  # noqa: B018 (the property starts the session)


def test_the_resource_starts_no_session_until_first_use_then_shares_the_process_one(
    environment: dict[str, str], spark: SparkSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    started: list[Any] = []
    real = staging_resources.process_session
    monkeypatch.setattr(
        staging_resources, "process_session", lambda conf: started.append(conf) or real(conf)
    )
    resource = build_spark_resource(load_settings(environment))
    with dg.build_resources({"spark": resource}) as resources:
        assert started == []  # run start: nothing yet
        assert resources.spark.spark_session is spark
    assert len(started) == 1
    assert build_spark_resource(load_settings(environment)).spark_session is spark


def test_embedded_reads_only_the_window_through_pyiceberg(
    environment: dict[str, str], catalog: Catalog, spark: SparkSession
) -> None:
    times = [dt.datetime(2024, 3, day, 23, 59, tzinfo=dt.UTC) for day in (1, 2, 2, 3)]
    write(
        catalog,
        pa.table({"id": [1, 2, 3, 4], "created_at": pa.array(times, pa.timestamp("us", "UTC"))}),
        WriteRequest(("raw", "events")),
    )
    day = (dt.datetime(2024, 3, 2, tzinfo=dt.UTC), dt.datetime(2024, 3, 3, tzinfo=dt.UTC))
    df = build_spark_resource(load_settings(environment)).read_table(
        ("raw", "events"), time_column="created_at", window=day
    )
    assert sorted(df.toArrow()["id"].to_pylist()) == [2, 3]


def test_spark_dataframes_convert_with_their_column_comments(spark: SparkSession) -> None:
    import pyspark.sql.functions as F

    df = spark.range(2).select(F.col("id").alias("user_id", metadata={"comment": "the key"}))
    table = to_arrow(df)
    assert table["user_id"].to_pylist() == [0, 1]
    assert table.schema.field("user_id").metadata == {b"doc": b"the key"}


def test_on_the_platform_spark_writes_its_dataframes_itself(
    environment: dict[str, str],
    catalog: Catalog,
    spark: SparkSession,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Spark has no Iceberg runtime here: record the native write, let pyiceberg stand in for it.
    writes: list[dict[str, Any]] = []

    def write_table(df: Any, name: str, **kwargs: Any) -> None:
        writes.append({"name": name, **kwargs})
        write(catalog, df.toArrow(), WriteRequest(("staging", "events")))

    monkeypatch.setattr(iceberg_io, "write_table", write_table)
    monkeypatch.setattr("lakehouse.staging.io_manager.native_iceberg", lambda settings: True)

    @dg.asset(key=["staging", "events"], io_manager_key="spark_io_manager")
    def events() -> Any:
        return spark.range(3)

    result = dg.materialize(
        [events],
        resources={"spark_io_manager": SparkIcebergIOManager(settings=load_settings(environment))},
    )
    assert result.success
    [call] = writes
    assert call["name"] == "lakehouse.staging.events"
    assert call["window"] is None
    assert call["properties"]["dagster.run-id"] == result.run_id
    [materialization] = result.asset_materializations_for_node("staging__events")
    assert materialization.metadata["written_by"].value == "spark"
    assert materialization.metadata["dagster/row_count"].value == 3
