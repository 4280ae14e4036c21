"""Write-audit-publish fixtures: a raw products table, its gate, and independent readers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import dagster as dg
import duckdb
import pyarrow as pa
import pytest
from pyiceberg.catalog import Catalog

from lakehouse.analytics.duckdb_iceberg import load_iceberg_extension, local_metadata_path
from lakehouse.io_manager import IcebergIOManager
from lakehouse.raw.checks import build_raw_checks
from lakehouse.raw.streams import ASSET_KEYS
from lakehouse.settings import Settings

PRODUCTS = ASSET_KEYS["products"]
TABLE = "raw.faker_products"


def main_ids_by_duckdb(catalog: Catalog, identifier: str = TABLE) -> list[int]:
    """Ids on main as DuckDB's iceberg_scan reads them from the table's metadata file alone."""
    table = catalog.load_table(identifier)
    path = local_metadata_path(table)
    assert path is not None
    with duckdb.connect() as connection:
        load_iceberg_extension(connection)
        rows = connection.execute(f"SELECT id FROM iceberg_scan('{path}') ORDER BY id").fetchall()
    return [row[0] for row in rows]


@pytest.fixture
def run_products(
    settings: Settings,
) -> Callable[..., tuple[dg.ExecuteInProcessResult, list[int]]]:
    """Materialise raw/faker_products (and its gate) with a batch; return the run and the ids a
    downstream asset read from main (empty when it did not run)."""

    def run(
        batch: pa.Table, *, metadata: dict[str, Any] | None = None, with_gate: bool = True
    ) -> tuple[dg.ExecuteInProcessResult, list[int]]:
        seen: list[int] = []

        @dg.asset(
            key=PRODUCTS,
            metadata={"write_mode": "append"} | (metadata or {}),
        )
        def faker_products() -> pa.Table:
            return batch

        @dg.asset(key=["staging", "products_probe"], ins={"rows": dg.AssetIn(PRODUCTS)})
        def downstream(rows: pa.Table) -> None:
            seen.extend(sorted(rows["id"].to_pylist()))

        gate = build_raw_checks({"products": PRODUCTS}) if with_gate else []
        result = dg.materialize(
            [faker_products, downstream, *gate],
            resources={"io_manager": IcebergIOManager(settings=settings)},
            raise_on_error=False,
        )
        return result, seen

    return run
