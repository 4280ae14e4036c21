"""Dictionary planning: a Parquet dictionary only where it fits and pays, in the files the IO
manager writes and in compacted ones, with every value kept."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pyiceberg.types import StringType

from lakehouse.iceberg import WriteRequest, write
from lakehouse.iceberg.encoding import (
    dictionary_columns,
    estimate_distinct,
    leaf_paths,
    plain_columns,
)
from lakehouse.upkeep.compaction.bin_packing import compact_table
from lakehouse.upkeep.rules import rules_for

TABLE = ("raw", "orders")
# dictionary pages of an ``orders`` file: not for unique ids and amounts, for the rest
PLANNED_PAGES = {
    "id": False,
    "amount": False,
    "status": True,
    "user_id": True,
    "address.city": True,
    "address.zip": True,
    "tags.list.element": True,
}
SMALL_DICTIONARY = 4096  # 512 int64 values: small enough to overflow in a test
ICEBERG_DICTIONARY = 2 * 1024 * 1024


def orders(count: int, start: int = 0) -> pa.Table:
    rng = np.random.default_rng(start + count)
    ids = np.arange(start, start + count, dtype=np.int64)
    return pa.table(
        {
            "id": ids,
            "amount": rng.random(count) * 100,
            "status": pa.array(np.array(["new", "paid", "shipped"])[ids % 3]),
            "user_id": ids % 50,
            "address": pa.array(
                [{"city": f"city-{i % 4}", "zip": int(i % 9)} for i in ids],
                pa.struct([("city", pa.string()), ("zip", pa.int64())]),
            ),
            "tags": pa.array([[f"t{i % 5}"] for i in ids], pa.list_(pa.string())),
        }
    )


def dictionary_pages(path) -> dict[str, bool]:
    metadata = pq.read_metadata(path)
    chunks = [metadata.row_group(0).column(i) for i in range(metadata.num_columns)]
    return {chunk.path_in_schema: chunk.dictionary_page_offset is not None for chunk in chunks}


def test_unique_columns_go_plain_whether_their_dictionary_overflows_or_just_does_not_pay():
    rows = orders(20_000)
    # 50 users and 3 statuses pay; nested columns are left to Arrow
    assert plain_columns(rows, dictionary_bytes=SMALL_DICTIONARY) == {"id", "amount"}
    assert plain_columns(rows, dictionary_bytes=ICEBERG_DICTIONARY) == {"id", "amount"}
    assert plain_columns(rows.slice(0, 0), dictionary_bytes=1) == set()
    nulls = pa.table({"id": pa.nulls(5_000, pa.int64())})
    assert plain_columns(nulls, dictionary_bytes=64) == set()


def test_a_column_with_many_repeats_keeps_its_dictionary_until_it_would_overflow():
    rng = np.random.default_rng(3)
    rows = pa.table({"user_id": rng.integers(0, 20_000, 200_000)})  # ~10 rows a user
    assert plain_columns(rows, dictionary_bytes=ICEBERG_DICTIONARY) == set()
    assert plain_columns(rows, dictionary_bytes=64 * 1024) == {"user_id"}  # 8k entries max


def test_unique_text_is_planned_plain_and_repeated_text_is_not():
    rows = pa.table(
        {
            "key": pa.array([f"order-{i:08d}" for i in range(20_000)], pa.large_string()),
            "kind": [f"kind-{i % 7}" for i in range(20_000)],
            "blob": pa.array([f"{i:012d}".encode() for i in range(20_000)], pa.large_binary()),
        }
    )
    assert plain_columns(rows, dictionary_bytes=ICEBERG_DICTIONARY) == {"key", "blob"}


def test_skewed_values_keep_their_dictionary():
    # 1,000 distinct values, but nine rows in ten are one of ten: a dictionary pays
    rng = np.random.default_rng(1)
    common = rng.integers(0, 10, 18_000)
    rare = rng.integers(10, 1_000, 2_000)
    rows = pa.table({"code": np.concatenate([common, rare])})
    assert plain_columns(rows, dictionary_bytes=SMALL_DICTIONARY) == set()


@pytest.mark.parametrize("distinct", [1_000, 30_000, 100_000, 400_000])
def test_the_distinct_estimate_from_a_sample_is_close(distinct):
    rng = np.random.default_rng(distinct)
    values = rng.integers(0, distinct, 1_000_000)
    sample = rng.choice(values, 2048, replace=False)
    truth = len(np.unique(values))
    estimate = estimate_distinct(len(np.unique(sample)), 2048, len(values))
    assert 0.75 * truth <= estimate <= 1.35 * truth


def test_the_distinct_estimate_is_exact_on_a_whole_table_and_capped_by_its_rows():
    assert estimate_distinct(seen=37, draws=500, rows=500) == 37
    assert estimate_distinct(seen=2048, draws=2048, rows=90_000) == 90_000
    assert estimate_distinct(seen=1, draws=2048, rows=90_000) == 1


def test_dictionary_columns_name_every_nested_leaf_but_the_plain_ones(tmp_path):
    rows = orders(20_000)
    assert leaf_paths(rows.schema) == (
        "id",
        "amount",
        "status",
        "user_id",
        "address.city",
        "address.zip",
        "tags.list.element",
    )
    chosen = dictionary_columns(rows, dictionary_bytes=SMALL_DICTIONARY)
    assert chosen == ["status", "user_id", "address.city", "address.zip", "tags.list.element"]
    repetitive = rows.select(["status", "user_id", "address"])
    assert dictionary_columns(repetitive, dictionary_bytes=ICEBERG_DICTIONARY) is None
    pq.write_table(rows, tmp_path / "f.parquet", use_dictionary=chosen)
    assert dictionary_pages(tmp_path / "f.parquet") == {
        path: path in chosen for path in leaf_paths(rows.schema)
    }


def test_the_io_manager_write_plans_dictionaries_and_keeps_every_value(catalog):
    rows = orders(5_000)
    result = write(catalog, rows, WriteRequest(("raw", "orders"), mode="append"))
    (task,) = result.table.scan().plan_files()
    assert dictionary_pages(task.file.file_path.removeprefix("file://")) == PLANNED_PAGES
    assert result.table.scan().to_arrow().sort_by("id").equals(rows)


def _append(catalog, data: pa.Table):
    return write(catalog, data, WriteRequest(TABLE, mode="append")).table


def test_a_compacted_file_has_the_same_rows_and_keeps_only_dictionaries_that_pay(catalog, settings):
    table = _append(catalog, orders(2_000))
    with table.transaction() as transaction:
        transaction.set_properties({"write.parquet.dict-size-bytes": str(SMALL_DICTIONARY)})
    for batch in range(1, 6):
        _append(catalog, orders(2_000, start=batch * 2_000))
    before = catalog.load_table(TABLE).scan().to_arrow().sort_by("id")

    result = compact_table(catalog, TABLE, rules_for(settings, TABLE))

    after = catalog.load_table(TABLE)
    assert (result.files_removed, result.files_added) == (6, 1)
    assert after.scan().to_arrow().sort_by("id").equals(before)
    (compacted,) = after.scan().plan_files()
    pages = dictionary_pages(compacted.file.file_path.removeprefix("file://"))
    assert pages == PLANNED_PAGES


def test_files_written_before_a_schema_change_are_compacted_into_the_new_schema(catalog, settings):
    for batch in range(3):
        _append(catalog, orders(100, start=batch * 100))
    with catalog.load_table(TABLE).update_schema() as update:
        update.add_column("note", StringType())
    for batch in range(3, 6):
        _append(
            catalog, orders(100, start=batch * 100).append_column("note", pa.array(["x"] * 100))
        )

    result = compact_table(catalog, TABLE, rules_for(settings, TABLE))

    after = catalog.load_table(TABLE).scan().to_arrow().sort_by("id")
    assert (result.files_removed, result.files_added) == (6, 1)
    assert after.num_rows == 600
    assert after["note"].to_pylist() == [None] * 300 + ["x"] * 300
    assert after["address"].to_pylist()[:2] == [
        {"city": "city-0", "zip": 0},
        {"city": "city-1", "zip": 1},
    ]
