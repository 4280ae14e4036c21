"""Turn asset outputs into Arrow tables Iceberg accepts, and Arrow back into what assets ask for.

Converters are keyed by the value's qualified class name, so pandas (and later Spark) are
imported only by the assets that use them, never at code-location load.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pyarrow as pa

# A converter may stream: a RecordBatchReader is written batch by batch (``to_writable``).
ArrowConverter = Callable[[Any], pa.Table | pa.RecordBatchReader]

PANDAS_DATAFRAME = "pandas.core.frame.DataFrame"


def _from_pandas(frame: Any) -> pa.Table:
    # The index is dropped like dagster-iceberg does; move a meaningful one to a column first.
    return pa.Table.from_pandas(frame, preserve_index=False).replace_schema_metadata(None)


_CONVERTERS: dict[str, ArrowConverter] = {
    "pyarrow.lib.Table": lambda table: table,
    "pyarrow.lib.RecordBatch": lambda batch: pa.Table.from_batches([batch]),
    "pyarrow.lib.RecordBatchReader": lambda reader: reader,
    PANDAS_DATAFRAME: _from_pandas,
}


# A streamed write gathers a reader's batches into tables of about this size: big enough that
# a partition's rows land in few files, small enough that memory holds one at a time.
WRITE_CHUNK_BYTES = 256 * 1024 * 1024


def table_chunks(
    data: pa.Table | pa.RecordBatchReader, max_bytes: int = WRITE_CHUNK_BYTES
) -> Iterator[pa.Table]:
    """A table as it is; a reader's batches gathered into tables of about ``max_bytes``."""
    if isinstance(data, pa.Table):
        yield data
        return
    pending: list[pa.RecordBatch] = []
    size = 0
    for batch in data:
        pending.append(batch)
        size += batch.nbytes
        if size >= max_bytes:
            yield pa.Table.from_batches(pending, schema=data.schema)
            pending, size = [], 0
    if pending:
        yield pa.Table.from_batches(pending, schema=data.schema)


def _qualified_name(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def register_arrow_converter(qualified_class_name: str, converter: ArrowConverter) -> None:
    """Teach the IO manager a new output type, e.g. ``pyspark.sql.DataFrame`` via ``toArrow()``."""
    _CONVERTERS[qualified_class_name] = converter


def to_arrow(value: Any) -> pa.Table:
    """The Arrow table for an asset output (subclasses match their base's converter)."""
    converted = to_writable(value)
    return converted.read_all() if isinstance(converted, pa.RecordBatchReader) else converted


def to_writable(value: Any) -> pa.Table | pa.RecordBatchReader:
    """What a write takes: a ``RecordBatchReader`` (streamed, chunk by chunk) where the value
    or its converter gives one, else an Arrow table."""
    for cls in type(value).__mro__:
        converter = _CONVERTERS.get(_qualified_name(cls))
        if converter is not None:
            return converter(value)
    supported = ", ".join(sorted(_CONVERTERS))
    raise TypeError(
        f"the Iceberg IO manager cannot store a {_qualified_name(type(value))}; "
        f"return one of: {supported}"
    )


def wants_pandas(annotation: Any) -> bool:
    """Whether an input annotation asks for a pandas DataFrame rather than Arrow."""
    return isinstance(annotation, type) and any(
        _qualified_name(cls) == PANDAS_DATAFRAME for cls in annotation.__mro__
    )


def _iceberg_type(arrow_type: pa.DataType) -> pa.DataType:
    """The Arrow type Iceberg stores: microsecond timestamps (UTC when tz-aware), plain values."""
    if pa.types.is_timestamp(arrow_type):
        return pa.timestamp("us", tz="UTC" if arrow_type.tz else None)
    if pa.types.is_dictionary(arrow_type):
        return _iceberg_type(arrow_type.value_type)
    if pa.types.is_struct(arrow_type):
        return pa.struct(
            [_iceberg_field(arrow_type.field(i)) for i in range(arrow_type.num_fields)]
        )
    if pa.types.is_large_list(arrow_type):
        return pa.large_list(_iceberg_field(arrow_type.value_field))
    if pa.types.is_list(arrow_type):
        return pa.list_(_iceberg_field(arrow_type.value_field))
    if pa.types.is_map(arrow_type):
        return pa.map_(_iceberg_field(arrow_type.key_field), _iceberg_field(arrow_type.item_field))
    return arrow_type


def _iceberg_field(field: pa.Field) -> pa.Field:
    return field.with_type(_iceberg_type(field.type))


def normalise(table: pa.Table) -> pa.Table:
    """Cast ns (and s/ms) timestamps to us and decode dictionaries; other columns are untouched.

    Sub-microsecond digits are truncated: Iceberg v2 has no nanosecond type. A tz-aware column
    becomes UTC, which keeps the instant and maps to ``timestamptz``.
    """
    target = pa.schema([_iceberg_field(field) for field in table.schema])
    if target.equals(table.schema):
        return table
    return table.cast(target, safe=False)
