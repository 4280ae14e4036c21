"""Time-partitioned assets: one partition replaced per commit, backfills, partition inputs."""

from __future__ import annotations

import datetime as dt

import dagster as dg
import pyarrow as pa
import pytest
from pyiceberg.catalog import Catalog
from pyiceberg.transforms import DayTransform

from lakehouse.iceberg import WriteRequestError, latest_snapshot_property
from lakehouse.iceberg.commits import COMMIT_ID_PROPERTY

DAILY = dg.DailyPartitionsDefinition(start_date="2024-01-01", end_date="2024-01-10")


def _day_rows(day: str, ids: list[int]) -> pa.Table:
    start = dt.datetime.fromisoformat(day).replace(tzinfo=dt.UTC)
    times = [start + dt.timedelta(hours=i % 24) for i in range(len(ids))]
    return pa.table(
        {
            "id": pa.array(ids, pa.int64()),
            "created_at": pa.array(times, pa.timestamp("us", tz="UTC")),
        }
    )


def _events_asset(rows: dict[str, list[int]], **metadata: object) -> dg.AssetsDefinition:
    """A daily asset emitting ``rows[partition key]`` into raw.events."""

    @dg.asset(
        key=["raw", "events"],
        partitions_def=DAILY,
        metadata={"partition_expr": "created_at", **metadata},
    )
    def events(context) -> pa.Table:
        return pa.concat_tables(_day_rows(key, rows[key]) for key in context.partition_keys)

    return events


def _ids(catalog: Catalog, name: str = "raw.events") -> list[int]:
    return sorted(catalog.load_table(name).scan().to_arrow()["id"].to_pylist())


# 4. Time partitions


def test_partition_replaces_exactly_its_rows_in_one_commit(
    materialize, iceberg_catalog, output_metadata
) -> None:
    rows = {"2024-01-01": [1, 2], "2024-01-02": [3, 4, 5]}
    events = _events_asset(rows)
    materialize([events], partition_key="2024-01-01")
    materialize([events], partition_key="2024-01-02")
    table = iceberg_catalog.load_table("raw.events")
    assert [(f.name, f.transform) for f in table.spec().fields] == [
        ("created_at_day", DayTransform())
    ]
    metadata_versions = len(table.metadata.metadata_log)

    rows["2024-01-02"] = [6]
    result = materialize([events], partition_key="2024-01-02")

    assert _ids(iceberg_catalog) == [1, 2, 6]
    table = iceberg_catalog.load_table("raw.events")
    assert len(table.metadata.metadata_log) == metadata_versions + 1  # one catalog commit
    commit_ids = {s.summary[COMMIT_ID_PROPERTY] for s in table.snapshots()[-2:]}
    assert len(commit_ids) == 1  # the delete and the append are one commit
    assert output_metadata(result, ["raw", "events"])["dagster/partition_row_count"] == 1


def test_rows_outside_the_partition_are_an_error_naming_it(materialize, iceberg_catalog) -> None:
    @dg.asset(
        key=["raw", "events"], partitions_def=DAILY, metadata={"partition_expr": "created_at"}
    )
    def events() -> pa.Table:
        return _day_rows("2024-01-03", [1, 2])  # the wrong day

    with pytest.raises(WriteRequestError, match=r"2 of 2 rows .* partition 2024-01-02"):
        materialize([events], partition_key="2024-01-02")
    assert not iceberg_catalog.table_exists("raw.events")


def test_backfill_replaces_the_range(materialize, iceberg_catalog) -> None:
    rows = {f"2024-01-0{day}": [day * 10] for day in range(1, 6)}
    events = _events_asset(rows)
    for day in range(1, 6):
        materialize([events], partition_key=f"2024-01-0{day}")
    rows.update({"2024-01-02": [21, 22], "2024-01-03": [], "2024-01-04": [41]})

    result = materialize(
        [events],
        tags={
            "dagster/asset_partition_range_start": "2024-01-02",
            "dagster/asset_partition_range_end": "2024-01-04",
        },
    )

    assert result.success
    assert _ids(iceberg_catalog) == [10, 21, 22, 41, 50]
    summary = iceberg_catalog.load_table("raw.events").current_snapshot().summary
    assert summary["dagster.partition-key"] == "2024-01-02...2024-01-04"


def test_partitioned_asset_needs_partition_expr(materialize) -> None:
    @dg.asset(key=["raw", "events"], partitions_def=DAILY)
    def events() -> pa.Table:
        return _day_rows("2024-01-02", [1])

    with pytest.raises(WriteRequestError, match="partition_expr"):
        materialize([events], partition_key="2024-01-02")


# Snapshot summary


def test_snapshot_summary_carries_dagster_and_asset_properties(
    materialize, iceberg_catalog
) -> None:
    @dg.asset(
        key=["raw", "events"], partitions_def=DAILY, metadata={"partition_expr": "created_at"}
    )
    def events(context) -> dg.Output[pa.Table]:
        context.add_output_metadata({"iceberg/snapshot_properties": {"airbyte.state": "s1"}})
        return dg.Output(_day_rows("2024-01-02", [1]), metadata={"note": "kept"})

    result = materialize([events], partition_key="2024-01-02")
    summary = iceberg_catalog.load_table("raw.events").current_snapshot().summary
    assert summary["dagster.run-id"] == result.run_id
    assert summary["dagster.asset-key"] == "raw/events"
    assert summary["dagster.partition-key"] == "2024-01-02"
    assert summary["airbyte.state"] == "s1"

    @dg.asset(
        key=["raw", "events"], partitions_def=DAILY, metadata={"partition_expr": "created_at"}
    )
    def events_again() -> dg.Output[pa.Table]:
        return dg.Output(
            _day_rows("2024-01-03", [2]),
            metadata={"iceberg/snapshot_properties": {"airbyte.state": "s2"}},
        )

    materialize([events_again], partition_key="2024-01-03")
    materialize([_events_asset({"2024-01-04": [3]})], partition_key="2024-01-04")
    table = iceberg_catalog.load_table("raw.events")
    assert "airbyte.state" not in table.current_snapshot().summary.additional_properties
    assert latest_snapshot_property(table, "airbyte.state") == "s2"
    assert latest_snapshot_property(table, "no.such.key") is None


def test_only_time_partitions_are_supported(materialize) -> None:
    @dg.asset(
        key=["raw", "regions"],
        partitions_def=dg.StaticPartitionsDefinition(["eu", "us"]),
        metadata={"partition_expr": "region"},
    )
    def regions() -> pa.Table:
        return pa.table({"region": ["eu"]})

    with pytest.raises(WriteRequestError, match="only time-window partitions"):
        materialize([regions], partition_key="eu")


# Inputs: projection and the partition's rows


def test_input_projects_columns_and_filters_the_partition(materialize) -> None:
    rows = {"2024-01-01": [1, 2], "2024-01-02": [3]}
    events = _events_asset(rows)
    seen: list[pa.Table] = []

    @dg.asset(
        key=["staging", "event_ids"],
        partitions_def=DAILY,
        metadata={"partition_expr": "created_at"},
        ins={"events": dg.AssetIn(["raw", "events"], metadata={"columns": ["id"]})},
    )
    def event_ids(events: pa.Table) -> pa.Table:
        seen.append(events)
        return _day_rows("2024-01-02", events["id"].to_pylist())

    materialize([events], partition_key="2024-01-01")
    assert materialize([events, event_ids], partition_key="2024-01-02").success
    assert seen[0].column_names == ["id"]
    assert seen[0]["id"].to_pylist() == [3]
