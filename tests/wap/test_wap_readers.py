"""Readers see main; an audit branch is read only by name. Raw state moves only with main."""

from __future__ import annotations

import json

import dagster as dg
import duckdb
import pyarrow as pa

from lakehouse.analytics.duckdb_iceberg import expose_table, load_iceberg_extension
from lakehouse.iceberg.branches import audit_branch
from lakehouse.io_manager import SNAPSHOT_PROPERTIES_KEY, IcebergIOManager
from lakehouse.raw.checks import build_raw_checks
from lakehouse.raw.embedded import read_state
from lakehouse.raw.streams import STREAMS_BY_NAME
from lakehouse.settings import load_settings
from tests.raw.raw_batches import products
from tests.wap.conftest import PRODUCTS, TABLE


def _ingest(environment, batch: pa.Table, cursor: int, **metadata) -> dg.ExecuteInProcessResult:
    """A raw products run that commits the Airbyte state with its batch, as the embedded one."""

    @dg.asset(key=PRODUCTS, metadata={"write_mode": "append", **metadata})
    def faker_products() -> dg.Output:
        state = {"cursor": cursor}
        return dg.Output(
            batch, metadata={SNAPSHOT_PROPERTIES_KEY: {"airbyte.state": json.dumps(state)}}
        )

    return dg.materialize(
        [faker_products, *build_raw_checks({"products": PRODUCTS})],
        resources={"io_manager": IcebergIOManager(settings=load_settings(environment))},
        raise_on_error=False,
    )


def test_a_rejected_raw_batch_does_not_advance_the_airbyte_state(environment, catalog):
    stream = STREAMS_BY_NAME["products"]
    assert _ingest(environment, products([1], [1.0]), cursor=1).success
    assert read_state(catalog, stream) == {"cursor": 1}

    assert not _ingest(environment, products([2], [-2.0]), cursor=2).success
    assert read_state(catalog, stream) == {"cursor": 1}, "the next run re-reads the batch"

    # Publishing the good rows moves the cursor: the bad ones wait in quarantine for a replay.
    policy = {"wap/on_bad_rows": "publish_good_rows", "wap/max_bad_fraction": 0.5}
    assert _ingest(environment, products([2, 3], [2.0, -3.0]), cursor=3, **policy).success
    assert read_state(catalog, stream) == {"cursor": 3}


def test_readers_see_main_and_read_a_branch_only_by_name(environment, catalog, run_products):
    assert run_products(products([1], [1.0]))[0].success
    rejected, _ = run_products(products([2], [-2.0]))
    branch = audit_branch(rejected.run_id)
    table = catalog.load_table(TABLE)

    with duckdb.connect() as connection:  # how the dbt sources see raw and staging tables
        load_iceberg_extension(connection)
        assert expose_table(connection, "raw", "faker_products", table) == "iceberg_scan"
        assert connection.execute("SELECT id FROM raw.faker_products").fetchall() == [(1,)]

    seen: dict[str, list[int]] = {}

    @dg.asset(ins={"rows": dg.AssetIn(PRODUCTS)})
    def from_main(rows: pa.Table) -> None:
        seen["main"] = rows["id"].to_pylist()

    @dg.asset(ins={"rows": dg.AssetIn(PRODUCTS, metadata={"branch": branch})})
    def from_branch(rows: pa.Table) -> None:
        seen["branch"] = sorted(rows["id"].to_pylist())

    io_manager = IcebergIOManager(settings=load_settings(environment))
    source = dg.SourceAsset(PRODUCTS, io_manager_key="io_manager")
    assert dg.materialize(
        [source, from_main, from_branch], resources={"io_manager": io_manager}
    ).success
    assert seen == {"main": [1], "branch": [1, 2]}
