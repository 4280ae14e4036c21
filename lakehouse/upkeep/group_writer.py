"""Write one compaction group as one data file.

Fast path: the group's files were read ahead (``file_reads.Prefetch``) and already have the
table's schema; rows are streamed into the Parquet writer one row group at a time, so writing
the first row group overlaps reading the rest (both in Arrow, off the GIL), and columns whose
dictionary would overflow are written plain from the start (``encoding``). Otherwise the rows
are read whole (Arrow or pyiceberg's projection) and written by pyiceberg's ``write_file``.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterable

import pyarrow as pa
from pyiceberg.io.pyarrow import ParquetFormatWriter, pyarrow_to_schema, write_file
from pyiceberg.manifest import DataFile, DataFileContent, FileFormat
from pyiceberg.table import FileScanTask, Table, TableProperties, WriteTask
from pyiceberg.typedef import Record

from lakehouse.iceberg.files import split_by_partition
from lakehouse.upkeep.encoding import dictionary_columns
from lakehouse.upkeep.file_reads import Prefetch, SchemaChanged, read_files

# Row groups of compacted files, unless the table sets write.parquet.row-group-limit: half of
# pyiceberg's 1,048,576, so a reader splits a compacted file over two threads (DuckDB scanned
# 1M rows in half the time); smaller groups cost more to write (256k rows: 1.5x the time).
ROW_GROUP_ROWS = 524_288


def _properties(table: Table) -> dict[str, str]:
    return {TableProperties.PARQUET_ROW_GROUP_LIMIT: str(ROW_GROUP_ROWS), **table.properties}


class _PlannedWriter(ParquetFormatWriter):
    """pyiceberg's Parquet writer (the table's codec, page and dictionary settings, Iceberg
    statistics), choosing dictionary columns from the first row group it is given."""

    def write(self, table: pa.Table) -> None:
        if self._writer is None:
            kwargs = self._parquet_writer_kwargs
            kwargs["use_dictionary"] = dictionary_columns(
                table,
                row_group_rows=self._row_group_size,
                dictionary_bytes=kwargs["dictionary_pagesize_limit"],
            )
        super().write(table)


class _PartitionPath:
    """What the location provider asks of a partition key: its path."""

    def __init__(self, path: str) -> None:
        self.path = path

    def to_path(self) -> str:
        return self.path


def _stream(
    table: Table, chunks: Iterable[pa.Table], partition: Record, write_uuid: uuid.UUID, task_id: int
) -> DataFile:
    metadata, properties = table.metadata, _properties(table)
    limit = int(properties[TableProperties.PARQUET_ROW_GROUP_LIMIT])
    spec, schema = metadata.spec(), metadata.schema()
    name = WriteTask(write_uuid, task_id, schema, []).generate_data_file_filename("parquet")
    key = (
        None
        if spec.is_unpartitioned()
        else _PartitionPath(spec.partition_to_path(partition, schema))
    )
    path = table.location_provider().new_data_location(name, key)  # type: ignore[arg-type]
    output = table.io.new_output(path)
    writer = _PlannedWriter(output, schema, properties)
    pending: list[pa.Table] = []
    rows = 0
    try:
        for chunk in chunks:
            pending.append(chunk)
            rows += chunk.num_rows
            while rows >= limit:  # exactly one row group per write
                combined = pa.concat_tables(pending)
                writer.write(combined.slice(0, limit))
                pending, rows = [combined.slice(limit)], rows - limit
        if rows:
            writer.write(pa.concat_tables(pending))
        statistics = writer.close()
    except SchemaChanged:  # finish the partial file so it can be deleted, then fall back
        with contextlib.suppress(Exception):
            writer.close()
        if output.exists():
            table.io.delete(path)
        raise
    return DataFile.from_args(
        content=DataFileContent.DATA,
        file_path=path,
        file_format=FileFormat.PARQUET,
        partition=partition,
        file_size_in_bytes=len(output),
        sort_order_id=None,
        spec_id=metadata.default_spec_id,
        equality_ids=None,
        key_metadata=None,
        **statistics.to_serialized_dict(),
    )


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
    (written,) = write_file(table.io, metadata, iter([task]))
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
