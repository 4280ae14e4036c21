"""Blocked batches never reach staging: real Dagster runs of a raw asset, its blocking pandera
check and the real staging asset (Spark transform, staging IO manager) behind it."""

from __future__ import annotations

import datetime as dt

import dagster as dg
import pyarrow as pa
import pytest
import reliability_counts
from hostile_batches import valid_batch

from lakehouse.catalog import build_catalog
from lakehouse.io_manager import IcebergIOManager
from lakehouse.raw.checks import build_raw_checks
from lakehouse.raw.normalise import normalise
from lakehouse.raw.streams import ASSET_KEYS, STREAMS_BY_NAME
from lakehouse.settings import load_settings
from lakehouse.staging import (
    SPARK_RESOURCE_KEY,
    STAGING_IO_MANAGER_KEY,
    SparkIcebergIOManager,
    build_spark_resource,
    build_staging_assets,
)

pytestmark = pytest.mark.slow
PRODUCTS = STREAMS_BY_NAME["products"]
SECTION = "hostile input (fuzzed raw batches)"


def _products(first_id: int, **broken: pa.Array) -> pa.Table:
    columns = valid_batch(PRODUCTS, 4)
    columns["id"] = pa.array(range(first_id, first_id + 4), pa.int64())
    return pa.table(columns | broken)


BAD_BATCHES = {
    "infinite price": _products(100, price=pa.array([1.0, float("inf"), 2.0, 3.0])),
    "NaN price": _products(200, price=pa.array([float("nan"), 1.0, 2.0, 3.0])),
    "megabyte model": _products(300, model=pa.array(["x" * 2**20, "a", "b", "c"])),
    "timestamp in year 9999": _products(
        400,
        created_at=pa.array(
            [dt.datetime(9999, 1, 1, tzinfo=dt.UTC)] * 4, pa.timestamp("us", tz="UTC")
        ),
    ),
    "binary make": _products(500, make=pa.array([b"\xc3\x28"] * 4, pa.binary())),
    "duplicate ids": _products(600, id=pa.array([600, 600, 601, 602], pa.int64())),
}


def _run(batch: pa.Table, environment: dict[str, str]) -> dg.ExecuteInProcessResult:
    @dg.asset(
        key=ASSET_KEYS["products"],
        metadata={"write_mode": "upsert", "upsert_keys": ["id"]},
    )
    def faker_products() -> pa.Table:
        # What the extraction does to every batch before the asset returns it.
        return normalise(batch, PRODUCTS.schema, stream="products").table

    (staging_products,) = [
        a for a in build_staging_assets() if a.key == dg.AssetKey(["staging", "products"])
    ]
    return dg.materialize(
        [faker_products, staging_products, *build_raw_checks({"products": ASSET_KEYS["products"]})],
        resources={
            "io_manager": IcebergIOManager(settings=load_settings(environment)),
            SPARK_RESOURCE_KEY: build_spark_resource(load_settings(environment)),
            STAGING_IO_MANAGER_KEY: SparkIcebergIOManager(settings=load_settings(environment)),
        },
        raise_on_error=False,
    )


def test_no_row_of_a_blocked_batch_reaches_staging(spark, tmp_path) -> None:
    environment = {"LAKEHOUSE_HOME": str(tmp_path)}
    catalog = build_catalog(load_settings(environment))
    good = _run(_products(1), environment)
    assert good.success
    staged = catalog.load_table(("staging", "products")).scan().to_arrow()
    assert sorted(staged["product_id"].to_pylist()) == [1, 2, 3, 4]

    for name, batch in BAD_BATCHES.items():
        result = _run(batch, environment)
        assert not result.success, f"{name}: the run succeeded"
        staged_keys = [event.asset_key for event in result.get_asset_materialization_events()]
        assert dg.AssetKey(["staging", "products"]) not in staged_keys, f"{name} reached staging"
        after = catalog.load_table(("staging", "products")).scan().to_arrow()
        reached = set(after["product_id"].to_pylist()) - {1, 2, 3, 4}
        assert not reached, f"{name}: rows {sorted(reached)} reached staging"
        assert after.equals(staged), f"{name}: staging changed"
        reliability_counts.add(SECTION, "bad batches run through Dagster")
        reliability_counts.add(SECTION, "bad rows reaching staging", len(reached))
