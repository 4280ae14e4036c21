"""What analysts and the scheduler see of staging, checked without running Spark."""

from __future__ import annotations

import datetime as dt
import warnings

import dagster as dg
import pytest

from lakehouse.definitions import build_definitions
from lakehouse.partitions import MONTHLY, SINGLE_RUN
from lakehouse.staging import (
    SPARK_RESOURCE_KEY,
    STAGING_IO_MANAGER_KEY,
    STAGING_TABLES_BY_NAME,
    SparkIcebergIOManager,
    SparkResource,
    build_staging_assets,
)
from lakehouse.staging import resources as staging_resources
from spark.contracts import CONTRACTS

KEYS = {name: dg.AssetKey(["staging", name]) for name in ("users", "products", "purchases")}


def spec(table: str) -> dg.AssetSpec:
    [asset] = [a for a in build_staging_assets() if a.key == KEYS[table]]
    return asset.specs_by_key[asset.key]


def test_every_staging_asset_carries_the_analyst_metadata() -> None:
    for table in KEYS:
        asset_spec = spec(table)
        assert asset_spec.group_name == "staging"
        assert asset_spec.owners == ["team:data-engineering"]
        assert asset_spec.kinds == {"spark", "iceberg"}
        assert asset_spec.description
        assert asset_spec.tags["layer"] == "staging"
        assert asset_spec.tags["domain"] == STAGING_TABLES_BY_NAME[table].domain
        assert asset_spec.deps[0].asset_key == dg.AssetKey(["raw", f"faker_{table}"])
        columns = asset_spec.metadata["dagster/column_schema"].columns
        assert [column.name for column in columns] == CONTRACTS[table].names
        assert all(column.description for column in columns)


def test_users_are_confidential_pii_and_their_pii_columns_are_marked() -> None:
    tags = spec("users").tags
    assert (tags["classification"], tags["pii"]) == ("confidential", "true")
    columns = {c.name: c for c in spec("users").metadata["dagster/column_schema"].columns}
    assert columns["email"].tags == {"pii": "true"}
    assert columns["user_id"].tags == {}
    assert not columns["user_id"].constraints.nullable and columns["user_id"].constraints.unique
    for table in ("products", "purchases"):
        assert spec(table).tags["classification"] == "internal"
        assert "pii" not in spec(table).tags


def test_purchases_are_partitioned_by_month_of_created_at_and_backfill_in_one_run() -> None:
    [purchases] = [a for a in build_staging_assets() if a.key == KEYS["purchases"]]
    assert purchases.partitions_def is MONTHLY
    assert purchases.backfill_policy == SINGLE_RUN == dg.BackfillPolicy.single_run()
    assert spec("purchases").metadata["partition_expr"] == "created_at"
    for table in ("users", "products"):
        [asset] = [a for a in build_staging_assets() if a.key == KEYS[table]]
        assert asset.partitions_def is None


@pytest.mark.clock
def test_month_partitions_run_from_fakers_first_day_to_the_current_month(
    pinned_clock: dt.datetime,
) -> None:
    # mimesis Datetime().datetime() draws years 2000..current year.
    assert MONTHLY.start == dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
    assert MONTHLY.end_offset == 1
    assert MONTHLY.get_last_partition_key() == pinned_clock.date().replace(day=1).isoformat()
    assert MONTHLY.get_first_partition_key() == "2000-01-01"


def test_building_the_partitioned_assets_prints_no_beta_warning() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        build_staging_assets()


def test_the_location_wires_staging_without_starting_spark(
    tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(conf: object) -> None:
        raise AssertionError("a Spark session was started while loading the code location")

    monkeypatch.setattr(staging_resources, "process_session", refuse)
    defs = build_definitions({"LAKEHOUSE_HOME": str(tmp_path)})
    defs.resolve_all_job_defs()
    for key in KEYS.values():
        assert defs.resolve_assets_def(key).key == key
    check_keys = {check.asset_key for check in defs.resolve_asset_graph().asset_check_keys}
    assert set(KEYS.values()) <= check_keys
    assert isinstance(defs.resources[SPARK_RESOURCE_KEY], SparkResource)
    assert isinstance(defs.resources[STAGING_IO_MANAGER_KEY], SparkIcebergIOManager)
