"""A RecordBatchReader is written chunk by chunk, still as one commit with the same checks."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import dagster as dg
import pyarrow as pa
import pytest

from lakehouse.iceberg import WriteRequestError
from lakehouse.iceberg.arrow import table_chunks
from lakehouse.iceberg.write_request import WriteRequest
from lakehouse.iceberg.writes import write

DAY = dt.datetime(2024, 3, 1, tzinfo=dt.UTC)
SCHEMA = pa.schema([("id", pa.int64()), ("v", pa.string()), ("at", pa.timestamp("us", "UTC"))])


def _reader(*id_lists: list[int], label: str = "a") -> pa.RecordBatchReader:
    batches = [
        pa.record_batch(
            [ids, [f"{label}{i}" for i in ids], [DAY + dt.timedelta(days=i % 3) for i in ids]],
            schema=SCHEMA,
        )
        for ids in id_lists
    ]
    return pa.RecordBatchReader.from_batches(SCHEMA, batches)


def _rows(catalog, name: str) -> list[tuple[int, str]]:
    table = catalog.load_table(name).scan().to_arrow().sort_by("id")
    return list(zip(table["id"].to_pylist(), table["v"].to_pylist(), strict=True))


def test_a_reader_is_gathered_into_chunks_of_about_the_given_size() -> None:
    reader = _reader([1, 2], [3, 4], [5])
    batch_bytes = pa.record_batch([[1, 2], ["a1", "a2"], [DAY, DAY]], schema=SCHEMA).nbytes
    chunks = list(table_chunks(reader, max_bytes=batch_bytes * 2))
    assert [chunk.num_rows for chunk in chunks] == [4, 1]
    table = pa.table({"id": [1]})
    assert list(table_chunks(table, max_bytes=1)) == [table]


def test_a_streamed_upsert_is_one_commit_of_every_chunk(iceberg_catalog) -> None:
    request = WriteRequest(("raw", "streamed"), mode="upsert", upsert_keys=("id",))
    partitioned = WriteRequest(
        ("raw", "by_day"), mode="upsert", upsert_keys=("id",), partition_column="at"
    )
    for target in (request, partitioned):
        write(iceberg_catalog, _reader([1, 2], [3]), target, chunk_bytes=1)
        result = write(iceberg_catalog, _reader([2], [3, 4], label="b"), target, chunk_bytes=1)
        assert result.rows_written == 3
        assert _rows(iceberg_catalog, target.name) == [(1, "a1"), (2, "b2"), (3, "b3"), (4, "b4")]
        table = iceberg_catalog.load_table(target.name)
        # Each write is one append snapshot however many chunks (the second's delete before it).
        operations = [s.summary.operation.value for s in table.snapshots()]
        assert operations.count("append") == 2 and operations[-1] == "append", operations
        assert len(table.inspect.files()) >= 3  # files of several chunks, one commit


def test_keys_repeated_across_chunks_refuse_the_write_and_leave_no_file(
    iceberg_catalog, tmp_path: Path
) -> None:
    request = WriteRequest(("raw", "twice"), mode="upsert", upsert_keys=("id",))
    write(iceberg_catalog, _reader([1]), request)
    files = set(iceberg_catalog.load_table("raw.twice").inspect.files()["file_path"].to_pylist())
    data_dir = Path(next(iter(files)).removeprefix("file://")).parent
    before = set(data_dir.rglob("*.parquet"))
    with pytest.raises(WriteRequestError, match="duplicate rows"):
        write(iceberg_catalog, _reader([2, 3], [3]), request, chunk_bytes=1)
    assert _rows(iceberg_catalog, "raw.twice") == [(1, "a1")]
    assert set(data_dir.rglob("*.parquet")) == before


def test_the_io_manager_streams_a_reader_output(materialize, iceberg_catalog) -> None:
    @dg.asset(key=["raw", "from_reader"], metadata={"write_mode": "upsert", "upsert_keys": ["id"]})
    def from_reader() -> pa.RecordBatchReader:
        return _reader([1, 2], [3])

    materialize([from_reader])
    assert _rows(iceberg_catalog, "raw.from_reader") == [(1, "a1"), (2, "a2"), (3, "a3")]
