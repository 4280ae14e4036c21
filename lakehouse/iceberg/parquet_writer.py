"""Write one Iceberg data file with pyiceberg's Parquet writer and a dictionary plan.

pyiceberg's ``ParquetFormatWriter`` keeps what makes a file Iceberg's (the table's codec, page
and dictionary settings, field ids, column statistics); the subclass only chooses, from the
first row group, which columns get a dictionary (``encoding``). Rows arrive as an iterable of
Arrow tables and are written one row group per call, so a caller still reading the rest
overlaps with the write. A failed write leaves no partial file behind.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Mapping

import pyarrow as pa
from pyiceberg.io import FileIO
from pyiceberg.io.pyarrow import ParquetFormatWriter
from pyiceberg.manifest import DataFile, DataFileContent, FileFormat
from pyiceberg.schema import Schema
from pyiceberg.table import TableProperties
from pyiceberg.table.metadata import TableMetadata
from pyiceberg.typedef import Record

from lakehouse.iceberg.encoding import dictionary_columns


class PlannedParquetWriter(ParquetFormatWriter):
    """pyiceberg's Parquet writer, choosing dictionary columns from its first row group."""

    def write(self, table: pa.Table) -> None:
        if self._writer is None:
            kwargs = self._parquet_writer_kwargs
            kwargs["use_dictionary"] = dictionary_columns(
                table.slice(0, self._row_group_size),
                dictionary_bytes=kwargs["dictionary_pagesize_limit"],
            )
        super().write(table)


def write_parquet(
    io: FileIO,
    metadata: TableMetadata,
    path: str,
    partition: Record,
    chunks: Iterable[pa.Table],
    *,
    file_schema: Schema | None = None,
    properties: Mapping[str, str] | None = None,
) -> DataFile:
    """Write ``chunks`` (in ``file_schema``, the table's by default) as one data file at
    ``path``; ``properties`` default to the table's."""
    properties = dict(metadata.properties if properties is None else properties)
    output = io.new_output(path)
    writer = PlannedParquetWriter(output, file_schema or metadata.schema(), properties)
    limit = writer._row_group_size
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
        statistics = writer.close()  # raises if no row came: an empty file is no data file
    except BaseException:
        with contextlib.suppress(Exception):  # finish the partial file, then delete it
            writer.close()
        with contextlib.suppress(Exception):
            if output.exists():
                io.delete(path)
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


def writes_parquet(metadata: TableMetadata) -> bool:
    """Whether the table's data files are Parquet (``write.format.default``)."""
    file_format = metadata.properties.get(
        TableProperties.WRITE_FILE_FORMAT, TableProperties.WRITE_FILE_FORMAT_DEFAULT
    )
    return FileFormat(file_format) == FileFormat.PARQUET
