"""raw.faker_purchases is laid out by day of created_at, so a daily read plans that day only.

The write goes through the Iceberg IO manager with the embedded asset's write metadata
(``write_metadata``: upsert on the key, ``partition_expr``), as the raw ingest writes it.
"""

from __future__ import annotations

import datetime as dt

import dagster as dg
import pyarrow as pa
import pyarrow.compute as pc
from pyiceberg.catalog import Catalog
from raw_batches import T0, purchases

from lakehouse.catalog import build_catalog
from lakehouse.iceberg import WriteRequest, write
from lakehouse.iceberg.writes import window_filter
from lakehouse.io_manager import IcebergIOManager
from lakehouse.raw.streams import STREAMS_BY_NAME, write_metadata
from lakehouse.settings import load_settings

STREAM = STREAMS_BY_NAME["purchases"]
DAY = dt.timedelta(days=1)


def _ingest(environ: dict[str, str], batch: pa.Table) -> None:
    """One raw ingest of ``batch`` as the embedded raw asset writes it."""

    @dg.asset(key=STREAM.asset_key, metadata=write_metadata(STREAM))
    def faker_purchases() -> pa.Table:
        return batch

    io_manager = IcebergIOManager(settings=load_settings(environ))
    assert dg.materialize([faker_purchases], resources={"io_manager": io_manager}).success


def _planned_for(catalog: Catalog, day: dt.datetime) -> int:
    table = catalog.load_table(STREAM.identifier)
    return len(
        list(table.scan(row_filter=window_filter("created_at", (day, day + DAY))).plan_files())
    )


def test_a_sync_holding_many_days_is_read_one_day_at_a_time(tmp_path) -> None:
    environ = {"LAKEHOUSE_HOME": str(tmp_path)}
    _ingest(environ, purchases([1, 2, 3], [T0, T0 + DAY, T0 + 2 * DAY]))  # one first sync
    catalog = build_catalog(load_settings(environ))
    table = catalog.load_table(STREAM.identifier)
    assert [(f.name, str(f.transform)) for f in table.spec().fields] == [("created_at_day", "day")]
    assert [_planned_for(catalog, T0 + n * DAY) for n in range(3)] == [1, 1, 1]
    # The upsert still replaces by key: purchase 2 again (moved to a later time), 4 new.
    _ingest(environ, purchases([2, 4], [T0 + DAY + dt.timedelta(hours=5), T0 + DAY]))
    rows = catalog.load_table(STREAM.identifier).scan().to_arrow()
    assert sorted(rows["id"].to_pylist()) == [1, 2, 3, 4]
    moved = rows.filter(pc.equal(rows["id"], 2))["created_at"][0].as_py()
    assert moved == T0 + DAY + dt.timedelta(hours=5)


def test_a_table_created_unpartitioned_gets_the_day_spec_at_its_next_write(tmp_path) -> None:
    environ = {"LAKEHOUSE_HOME": str(tmp_path)}
    catalog = build_catalog(load_settings(environ))
    # As the raw ingest wrote it before: no partition_expr, one file holding two days.
    old = purchases([1, 2], [T0, T0 + DAY])
    write(catalog, old, WriteRequest(STREAM.identifier, "upsert", upsert_keys=("id",)))
    _ingest(environ, purchases([3], [T0 + 2 * DAY]))
    table = catalog.load_table(STREAM.identifier)
    assert str(table.spec().fields[0].transform) == "day"
    # New files are by day; the file written before keeps its layout until it is rewritten.
    assert _planned_for(catalog, T0 + 2 * DAY) == 1
    assert _planned_for(catalog, T0) == 1
    assert table.scan().to_arrow().num_rows == 3
