"""Cast an extracted Arrow batch to its stream's declared schema, so raw tables never drift.

The worker hands back whatever types PyAirbyte's cache produced (naive UTC timestamps,
DECIMAL prices, JSON objects as text); this turns them into the explicit schema of
``lakehouse.raw.streams`` and reports columns the schema does not know.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from lakehouse.raw.streams import DROPPED_COLUMNS


class SchemaMismatchError(ValueError):
    """A batch cannot be cast to its stream's schema; the message names the column."""


@dataclass(frozen=True)
class NormalisedBatch:
    table: pa.Table
    unexpected_columns: tuple[str, ...] = ()


def normalise(table: pa.Table, schema: pa.Schema, *, stream: str) -> NormalisedBatch:
    """``table`` with exactly ``schema``'s columns and types; unknown columns are reported."""
    columns = [_column(table, field, stream) for field in schema]
    unexpected = tuple(
        name
        for name in table.column_names
        if name not in schema.names and name not in DROPPED_COLUMNS
    )
    return NormalisedBatch(pa.Table.from_arrays(columns, schema=schema), unexpected)


def _column(table: pa.Table, field: pa.Field, stream: str) -> pa.ChunkedArray:
    if field.name not in table.column_names:
        if not field.nullable:
            raise SchemaMismatchError(f"{stream}: required column {field.name!r} is missing")
        return pa.chunked_array([pa.nulls(table.num_rows, field.type)], type=field.type)
    column = table[field.name]
    try:
        cast = _cast(column, field.type)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError, ValueError) as error:
        raise SchemaMismatchError(
            f"{stream}: column {field.name!r} of type {column.type} cannot become {field.type}: "
            f"{error}"
        ) from None
    if not field.nullable and cast.null_count:
        raise SchemaMismatchError(f"{stream}: column {field.name!r} has {cast.null_count} nulls")
    try:  # a string array built from raw buffers can hold bytes that are not UTF-8
        cast.validate(full=True)
    except pa.ArrowInvalid as error:
        raise SchemaMismatchError(
            f"{stream}: column {field.name!r} is not valid: {error}"
        ) from None
    return cast


def _cast(column: pa.ChunkedArray, target: pa.DataType) -> pa.ChunkedArray:
    if isinstance(column.type, pa.ExtensionType):
        column = pa.chunked_array(
            [chunk.storage for chunk in column.chunks], column.type.storage_type
        )
    if pa.types.is_struct(target) and pa.types.is_string(column.type):
        # Nested objects arrive as JSON text; keys the struct does not declare are ignored.
        values = [None if value is None else json.loads(value) for value in column.to_pylist()]
        return pa.chunked_array([pa.array(values, type=target)], type=target)
    if pa.types.is_timestamp(target) and pa.types.is_timestamp(column.type) and not column.type.tz:
        # PyAirbyte's DuckDB cache stores Airbyte's timestamp_with_timezone as naive UTC.
        column = pc.assume_timezone(column, "UTC")
    if pa.types.is_floating(target) and pa.types.is_decimal(column.type):
        # Arrow's decimal->float cast multiplies by an inexact 1e-9 (15001.5 -> 15001.500000000002);
        # parsing the decimal's text rounds correctly.
        column = pc.cast(column, pa.string())
    return pc.cast(column, target, safe=True)
