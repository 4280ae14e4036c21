"""No bad record reaches staging: real Dagster runs of the raw multi-asset (a stand-in connector
printing hostile lines, read by the real extraction), its pandera checks and the real staging
asset (Spark transform, staging IO manager) behind it. The good records of each hostile sync go
on; the bad one is refused at extraction or quarantined by the raw contract, never staged."""

from __future__ import annotations

import math

import dagster as dg
import pytest
import reliability_counts
from hostile_records import record_line, valid_records

from lakehouse.catalog import build_catalog
from lakehouse.io_manager import IcebergIOManager
from lakehouse.raw.assets import build_raw_assets
from lakehouse.raw.checks import build_raw_checks
from lakehouse.raw.streams import ASSET_KEYS, STREAMS_BY_NAME
from lakehouse.settings import load_settings
from lakehouse.staging import (
    SPARK_RESOURCE_KEY,
    STAGING_IO_MANAGER_KEY,
    SparkIcebergIOManager,
    build_spark_resource,
    build_staging_assets,
)
from lakehouse.wap.quarantine import read_quarantine

pytestmark = pytest.mark.slow
PRODUCTS = STREAMS_BY_NAME["products"]
STAGING_PRODUCTS = dg.AssetKey(["staging", "products"])
SECTION = "hostile input (fuzzed connector output)"
ROWS = 20  # one bad record in twenty: under the raw policy's bad-row ceiling, so the rest go on

# Each sync's first record broken one way: refused at extraction, or by the raw contract.
BAD_RECORDS = {
    "infinite price": {"price": math.inf},
    "NaN price": {"price": math.nan},
    "price as text": {"price": "cheap"},
    "megabyte model": {"model": "x" * 2**20},
    "timestamp in year 9999": {"created_at": "9999-01-01T00:00:00+00:00"},
    "negative price": {"price": -5.0},
}


def _sync(first_id: int, broken: dict | None = None) -> list[bytes]:
    records = valid_records(PRODUCTS, ROWS)
    for offset, data in enumerate(records):
        data["id"] = first_id + offset
    if broken is not None:
        records[0] |= broken
    return [record_line("products", data) for data in records]


def _run(lines: list[bytes], home, settings) -> dg.ExecuteInProcessResult:
    (home / "sync.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    staging = [a for a in build_staging_assets() if STAGING_PRODUCTS in a.keys]
    return dg.materialize(
        [*build_raw_assets(settings), *staging, *build_raw_checks(ASSET_KEYS)],
        selection=[PRODUCTS.asset_key, STAGING_PRODUCTS],
        resources={
            "io_manager": IcebergIOManager(settings=settings),
            SPARK_RESOURCE_KEY: build_spark_resource(settings),
            STAGING_IO_MANAGER_KEY: SparkIcebergIOManager(settings=settings),
        },
        raise_on_error=False,
    )


def _staged(catalog) -> set[int]:
    return set(
        catalog.load_table(("staging", "products")).scan().to_arrow()["product_id"].to_pylist()
    )


def test_no_bad_record_reaches_staging_and_the_good_ones_do(spark, tmp_path) -> None:
    connector = tmp_path / "stand-in-connector"
    connector.write_text(f"#!/bin/sh\ncat {tmp_path / 'sync.jsonl'}\n")
    connector.chmod(0o700)
    settings = load_settings(
        {"LAKEHOUSE_HOME": str(tmp_path), "LAKEHOUSE_FAKER_EXECUTABLE": str(connector)}
    )
    catalog = build_catalog(settings)
    assert _run(_sync(1), tmp_path, settings).success
    assert _staged(catalog) == set(range(1, ROWS + 1))

    for number, (name, broken) in enumerate(BAD_RECORDS.items(), start=1):
        first = number * 100
        before = _staged(catalog)
        result = _run(_sync(first, broken), tmp_path, settings)
        assert result.success, name
        reached = _staged(catalog) - before
        assert reached == set(range(first + 1, first + ROWS)), f"{name}: staged {sorted(reached)}"
        quarantined = read_quarantine(catalog, PRODUCTS.identifier)["id"].to_pylist()
        assert first in quarantined, f"{name}: the bad record is not in quarantine"
        reliability_counts.add(SECTION, "hostile syncs run through Dagster to staging")
        reliability_counts.add(SECTION, "bad records reaching staging", int(first in reached))
