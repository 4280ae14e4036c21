"""Compacted files skip the dictionaries a Parquet writer would throw away, and nothing else
changes: same rows, nested columns and evolved schemas included."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from pyiceberg.types import StringType
from upkeep_tables import data_files

from lakehouse.iceberg import WriteRequest, write
from lakehouse.upkeep.compaction import compact_table
from lakehouse.upkeep.encoding import dictionary_columns, leaf_paths, plain_columns
from lakehouse.upkeep.rules import rules_for

TABLE = ("raw", "orders")
DICTIONARY_BYTES = 4096  # 512 int64 values: small enough to overflow in a test


def orders(start: int, count: int) -> pa.Table:
    rng = np.random.default_rng(start)
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


def test_near_unique_columns_are_planned_plain_and_repetitive_ones_keep_a_dictionary():
    rows = orders(0, 20_000)
    plain = plain_columns(rows, row_group_rows=20_000, dictionary_bytes=DICTIONARY_BYTES)
    assert plain == {"id", "amount"}  # 50 users and 3 statuses fit; nested columns untouched
    # a row group that cannot outgrow the dictionary keeps it, however unique its values
    assert plain_columns(rows, row_group_rows=400, dictionary_bytes=DICTIONARY_BYTES) == set()
    assert plain_columns(rows.slice(0, 0), row_group_rows=1, dictionary_bytes=1) == set()
    nulls = pa.table({"id": pa.nulls(5_000, pa.int64())})
    assert plain_columns(nulls, row_group_rows=5_000, dictionary_bytes=64) == set()


def test_unique_text_is_planned_plain_by_its_length_and_repeated_text_is_not():
    rows = pa.table(
        {
            "key": pa.array([f"order-{i:08d}" for i in range(20_000)], pa.large_string()),
            "kind": [f"kind-{i % 7}" for i in range(20_000)],
            "blob": pa.array([f"{i:012d}".encode() for i in range(20_000)], pa.large_binary()),
        }
    )
    # 18-byte entries: about 900 fit in 16 KB, far fewer than 20,000 distinct keys
    plain = plain_columns(rows, row_group_rows=20_000, dictionary_bytes=16_384)
    assert plain == {"key", "blob"}


def test_skewed_values_keep_their_dictionary():
    # 1,000 distinct values, but nine rows in ten are one of ten: a dictionary pays
    rng = np.random.default_rng(1)
    common = rng.integers(0, 10, 18_000)
    rare = rng.integers(10, 1_000, 2_000)
    rows = pa.table({"code": np.concatenate([common, rare])})
    assert plain_columns(rows, row_group_rows=20_000, dictionary_bytes=DICTIONARY_BYTES) == set()


def test_dictionary_columns_name_every_nested_leaf_but_the_plain_ones(tmp_path):
    rows = orders(0, 20_000)
    assert leaf_paths(rows.schema) == [
        "id",
        "amount",
        "status",
        "user_id",
        "address.city",
        "address.zip",
        "tags.list.element",
    ]
    chosen = dictionary_columns(rows, row_group_rows=20_000, dictionary_bytes=DICTIONARY_BYTES)
    assert chosen == ["status", "user_id", "address.city", "address.zip", "tags.list.element"]
    assert (
        dictionary_columns(rows.slice(0, 100), row_group_rows=100, dictionary_bytes=1 << 20) is None
    )
    pq.write_table(rows, tmp_path / "f.parquet", use_dictionary=chosen)
    assert _dictionary_pages(tmp_path / "f.parquet") == {
        path: path in chosen for path in leaf_paths(rows.schema)
    }


def _dictionary_pages(path) -> dict[str, bool]:
    metadata = pq.read_metadata(path)
    chunks = [metadata.row_group(0).column(i) for i in range(metadata.num_columns)]
    return {chunk.path_in_schema: chunk.dictionary_page_offset is not None for chunk in chunks}


def _append(catalog, data: pa.Table):
    return write(catalog, data, WriteRequest(TABLE, mode="append")).table


def test_a_compacted_file_has_the_same_rows_and_drops_only_doomed_dictionaries(catalog, settings):
    table = _append(catalog, orders(0, 2_000))
    with table.transaction() as transaction:
        transaction.set_properties({"write.parquet.dict-size-bytes": str(DICTIONARY_BYTES)})
    for batch in range(1, 6):
        _append(catalog, orders(batch * 2_000, 2_000))
    before = catalog.load_table(TABLE).scan().to_arrow().sort_by("id")

    result = compact_table(catalog, TABLE, rules_for(settings, TABLE))

    after = catalog.load_table(TABLE)
    assert (result.files_removed, result.files_added) == (6, 1)
    assert after.scan().to_arrow().sort_by("id").equals(before)
    (compacted,) = data_files(after)
    pages = _dictionary_pages(compacted.removeprefix("file://"))
    assert pages == {
        "id": False,
        "amount": False,
        "status": True,
        "user_id": True,
        "address.city": True,
        "address.zip": True,
        "tags.list.element": True,
    }


def test_files_written_before_a_schema_change_are_compacted_into_the_new_schema(catalog, settings):
    for batch in range(3):
        _append(catalog, orders(batch * 100, 100))
    with catalog.load_table(TABLE).update_schema() as update:
        update.add_column("note", StringType())
    for batch in range(3, 6):
        _append(catalog, orders(batch * 100, 100).append_column("note", pa.array(["x"] * 100)))

    result = compact_table(catalog, TABLE, rules_for(settings, TABLE))

    after = catalog.load_table(TABLE).scan().to_arrow().sort_by("id")
    assert (result.files_removed, result.files_added) == (6, 1)
    assert after.num_rows == 600
    assert after["note"].to_pylist() == [None] * 300 + ["x"] * 300
    assert after["address"].to_pylist()[:2] == [
        {"city": "city-0", "zip": 0},
        {"city": "city-1", "zip": 1},
    ]
