"""Staging fixtures: raw tables written with the IO manager's ``write`` (no Airbyte), the
staging resources on this test's warehouse, and one materialise helper."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any

import dagster as dg
import pyarrow as pa
import pytest
from pyiceberg.catalog import Catalog

from lakehouse.iceberg import WriteRequest, write
from lakehouse.io_manager import IcebergIOManager
from lakehouse.raw.streams import STREAMS_BY_NAME
from lakehouse.settings import Settings
from lakehouse.staging import (
    SPARK_RESOURCE_KEY,
    STAGING_IO_MANAGER_KEY,
    SparkIcebergIOManager,
    build_spark_resource,
    build_staging_assets,
    build_staging_checks,
)

EXTRACTED_AT = dt.datetime(2024, 2, 1, tzinfo=dt.UTC)
WriteRaw = Callable[[str, Sequence[dict[str, Any]]], None]
Materialize = Callable[..., dg.ExecuteInProcessResult]


def raw_batch(stream: str, rows: Sequence[dict[str, Any]]) -> pa.Table:
    """Rows in the raw table's Arrow schema; Airbyte's columns filled in, others null if absent."""
    records = [
        {"_airbyte_raw_id": f"{stream}-{i}", "_airbyte_extracted_at": EXTRACTED_AT, **row}
        for i, row in enumerate(rows)
    ]
    return pa.Table.from_pylist(records, schema=STREAMS_BY_NAME[stream].schema)


@pytest.fixture
def write_raw(catalog: Catalog) -> WriteRaw:
    """``write_raw("purchases", rows)`` replaces raw.faker_purchases with ``rows``."""

    def run(stream: str, rows: Sequence[dict[str, Any]]) -> None:
        write(catalog, raw_batch(stream, rows), WriteRequest(STREAMS_BY_NAME[stream].identifier))

    return run


@pytest.fixture
def staging_resources(settings: Settings, spark: object) -> dict[str, Any]:
    """The staging resources on this test's warehouse (``spark`` starts the shared session)."""
    return {
        SPARK_RESOURCE_KEY: build_spark_resource(settings),
        STAGING_IO_MANAGER_KEY: SparkIcebergIOManager(settings=settings),
        "io_manager": IcebergIOManager(settings=settings),
    }


@pytest.fixture
def materialize(staging_resources: dict[str, Any]) -> Materialize:
    """``materialize("purchases", partition_key=...)``: one staging asset and its pandera check."""

    def run(table: str, **kwargs: Any) -> dg.ExecuteInProcessResult:
        return dg.materialize(
            [*build_staging_assets(), *build_staging_checks()],
            resources=staging_resources,
            selection=dg.AssetSelection.assets(dg.AssetKey(["staging", table])),
            **kwargs,
        )

    return run
