"""Our one-pass partition split gives the files pyiceberg's own split would."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pyiceberg.catalog import Catalog
from pyiceberg.io.pyarrow import _determine_partitions
from pyiceberg.transforms import IdentityTransform

from lakehouse.iceberg.files import split_by_partition, write_data_files
from lakehouse.iceberg.schema import add_day_partition


def _events(rows: int = 2_000, days: int = 5, seed: int = 1) -> pa.Table:
    rng = np.random.default_rng(seed)
    start = np.datetime64("2024-01-01T00:00:00", "us")
    offsets = rng.integers(0, days * 86_400_000_000, rows).astype("timedelta64[us]")
    created_at = pa.array(start + offsets, pa.timestamp("us"))
    created_at = pc.if_else(pa.array(rng.random(rows) < 0.01), None, created_at)  # a few nulls
    return pa.table(
        {
            "id": np.arange(rows, dtype=np.int64),
            "status": pa.array(rng.choice(["new", "paid", "sent"], rows)),
            "created_at": created_at,
        }
    )


def _table(catalog: Catalog, data: pa.Table, *, by_status: bool = False):  # type: ignore[no-untyped-def]
    catalog.create_namespace_if_not_exists("raw")
    with catalog.create_table_transaction("raw.events", schema=data.schema) as txn:
        add_day_partition(txn, "created_at")
        if by_status:
            with txn.update_spec() as spec:
                spec.add_field("status", IdentityTransform(), "status")
    return catalog.load_table("raw.events")


def _groups(parts) -> dict[tuple, list[int]]:  # type: ignore[no-untyped-def]
    return {tuple(key.partition): sorted(rows["id"].to_pylist()) for key, rows in parts}


def test_split_matches_pyiceberg(catalog: Catalog) -> None:
    for by_status in (False, True):
        data = _events()
        table = _table(catalog, data, by_status=by_status)
        ours = _groups(split_by_partition(table.spec(), table.schema(), data))
        theirs = _groups(
            (part.partition_key, part.arrow_table_partition)
            for part in _determine_partitions(table.spec(), table.schema(), data)
        )
        assert ours == theirs
        assert sum(len(ids) for ids in ours.values()) == data.num_rows
        assert (None,) in ours or any(None in key for key in ours)  # nulls have a partition
        catalog.drop_table("raw.events")


def test_one_data_file_per_day_with_partition_values(catalog: Catalog) -> None:
    data = _events(rows=500, days=3)
    table = _table(catalog, data.filter(pc.is_valid(data["created_at"])))
    files = write_data_files(table, data.filter(pc.is_valid(data["created_at"])))
    epoch = dt.date(1970, 1, 1)
    days = sorted((epoch + dt.timedelta(days=f.partition[0])).isoformat() for f in files)
    assert days == ["2024-01-01", "2024-01-02", "2024-01-03"]
    assert sum(f.record_count for f in files) == pc.sum(pc.is_valid(data["created_at"])).as_py()


def test_empty_batches_write_no_files(catalog: Catalog) -> None:
    data = _events()
    table = _table(catalog, data)
    assert write_data_files(table, data.slice(0, 0)) == []
