"""Write one compaction group as one data file.

Fast path: the group's files were read ahead (``file_reads.Prefetch``) and already have the
table's schema; rows are streamed into the Parquet writer one row group at a time, so writing
the first row group overlaps reading the rest (both in Arrow, off the GIL), through the
project's Parquet writer (``iceberg.parquet_writer``). Otherwise the rows
are read whole (Arrow or pyiceberg's projection) and written like any batch (``files``).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

import pyarrow as pa
from pyiceberg.io.pyarrow import pyarrow_to_schema
from pyiceberg.manifest import DataFile
from pyiceberg.table import FileScanTask, Table, TableProperties, WriteTask
from pyiceberg.typedef import Record

from lakehouse.iceberg.files import split_by_partition, write_tasks
from lakehouse.iceberg.parquet_writer import write_parquet
from lakehouse.upkeep.compaction.file_reads import Prefetch, SchemaChanged, read_files

# Row groups of compacted files, unless the table sets write.parquet.row-group-limit: half of
# pyiceberg's 1,048,576, so a reader splits a compacted file over two threads (DuckDB scanned
# 1M rows in half the time); smaller groups cost more to write (256k rows: 1.5x the time).
ROW_GROUP_ROWS = 524_288


def _properties(table: Table) -> dict[str, str]:
    return {TableProperties.PARQUET_ROW_GROUP_LIMIT: str(ROW_GROUP_ROWS), **table.properties}


class _PartitionPath:
    """What the location provider asks of a partition key: its path."""

    def __init__(self, path: str) -> None:
        self.path = path

    def to_path(self) -> str:
        return self.path


def _stream(
    table: Table, chunks: Iterable[pa.Table], partition: Record, write_uuid: uuid.UUID, task_id: int
) -> DataFile:
    metadata = table.metadata
    spec, schema = metadata.spec(), metadata.schema()
    name = WriteTask(write_uuid, task_id, schema, []).generate_data_file_filename("parquet")
    key = (
        None
        if spec.is_unpartitioned()
        else _PartitionPath(spec.partition_to_path(partition, schema))
    )
    path = table.location_provider().new_data_location(name, key)  # type: ignore[arg-type]
    return write_parquet(table.io, metadata, path, partition, chunks, properties=_properties(table))


def _write_whole(table: Table, data: pa.Table, write_uuid: uuid.UUID, task_id: int) -> DataFile:
    metadata = table.metadata.model_copy(update={"properties": _properties(table)})
    schema, spec = metadata.schema(), metadata.spec()
    partition_key = None
    if not spec.is_unpartitioned():
        ((partition_key, data),) = split_by_partition(spec, schema, data)
    task_schema = pyarrow_to_schema(
        data.schema, name_mapping=schema.name_mapping, format_version=metadata.format_version
    )
    task = WriteTask(
        write_uuid=write_uuid,
        task_id=task_id,
        schema=task_schema,
        record_batches=data.combine_chunks().to_batches(),  # one conversion, not one per file
        partition_key=partition_key,
    )
    (written,) = write_tasks(table.io, metadata, [task])
    return written


def write_group(
    table: Table,
    tasks: list[FileScanTask],
    prefetch: Prefetch | None,
    write_uuid: uuid.UUID,
    task_id: int,
) -> DataFile:
    """The group's rows (one partition, table's current schema) as one new data file."""
    chunks = prefetch.stream(tasks) if prefetch is not None else None
    if chunks is not None:
        try:
            return _stream(table, chunks, tasks[0].file.partition, write_uuid, task_id)
        except SchemaChanged:
            pass  # a file had another schema after all: read it the careful way
    return _write_whole(table, read_files(table, tasks), write_uuid, task_id)
