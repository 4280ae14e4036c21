"""Write an Arrow table as Iceberg data files, split by partition in one pass.

pyiceberg 0.12 splits a batch with one full-table filter per partition (30 passes for 30 days,
~90% of its write time). Here each row's partition is computed once, rows are ordered by it
with one sort and one take, and each partition is a zero-copy slice handed to pyiceberg's own
file writer, which keeps its statistics, field ids and file naming.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pyiceberg.io.pyarrow import bin_pack_arrow_table, pyarrow_to_schema, write_file
from pyiceberg.manifest import DataFile
from pyiceberg.partitioning import PartitionFieldValue, PartitionKey, PartitionSpec
from pyiceberg.schema import Schema
from pyiceberg.table import Table, TableProperties, WriteTask
from pyiceberg.utils.properties import property_as_int


def split_by_partition(
    spec: PartitionSpec, schema: Schema, data: pa.Table
) -> Iterator[tuple[PartitionKey, pa.Table]]:
    """Yield ``(partition key, rows)`` per partition of ``spec``, computing each row's key once."""
    codes: list[np.ndarray] = []
    dictionaries: list[pa.Array] = []
    for field in spec.fields:
        source = schema.find_field(field.source_id)
        column = data.column(schema.find_column_name(field.source_id)).combine_chunks()
        values = field.transform.pyarrow_transform(source.field_type)(column)
        encoded = pc.dictionary_encode(values, null_encoding="encode")
        codes.append(encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64, copy=False))
        dictionaries.append(encoded.dictionary)

    # One dense int64 code per row combines the fields; bincount gives each group's size in
    # code order, which is also the order of a sort by code.
    key = codes[0]
    for code, dictionary in zip(codes[1:], dictionaries[1:], strict=True):
        key = key * len(dictionary) + code
    order = pc.sort_indices(pa.array(key))
    ordered = data.take(order)
    counts = np.bincount(key)

    offset = 0
    for combined, count in enumerate(counts.tolist()):
        if count == 0:
            continue
        values = []
        for dictionary in reversed(dictionaries):
            combined, index = divmod(combined, len(dictionary))
            values.append(dictionary[index].as_py())
        partition_key = PartitionKey(
            field_values=[
                PartitionFieldValue(field=field, value=value)
                for field, value in zip(spec.fields, reversed(values), strict=True)
            ],
            partition_spec=spec,
            schema=schema,
        )
        yield partition_key, ordered.slice(offset, count)
        offset += count


def write_data_files(table: Table, data: pa.Table) -> list[DataFile]:
    """Write ``data`` (already normalised and schema-compatible) as data files of ``table``."""
    if data.num_rows == 0:
        return []
    metadata = table.metadata
    schema = metadata.schema()
    task_schema = pyarrow_to_schema(
        data.schema, name_mapping=schema.name_mapping, format_version=metadata.format_version
    )
    target_file_size: int = property_as_int(  # type: ignore[assignment]
        metadata.properties,
        TableProperties.WRITE_TARGET_FILE_SIZE_BYTES,
        TableProperties.WRITE_TARGET_FILE_SIZE_BYTES_DEFAULT,
    )
    write_uuid = uuid.uuid4()
    spec = metadata.spec()
    parts: Iterator[tuple[PartitionKey | None, pa.Table]] = (
        iter([(None, data)]) if spec.is_unpartitioned() else split_by_partition(spec, schema, data)
    )
    tasks = [
        WriteTask(
            write_uuid=write_uuid,
            task_id=task_id,
            schema=task_schema,
            record_batches=batches,
            partition_key=partition_key,
        )
        for task_id, (partition_key, batches) in enumerate(
            (partition_key, batches)
            for partition_key, rows in parts
            for batches in bin_pack_arrow_table(rows, target_file_size)
        )
    ]
    return list(write_file(table.io, metadata, iter(tasks)))
