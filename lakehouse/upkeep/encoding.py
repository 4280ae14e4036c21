"""Which columns of a compacted file are worth a Parquet dictionary.

Parquet writers dictionary-encode every column, then fall back to plain encoding for the rest
of a row group once the dictionary outgrows ``write.parquet.dict-size-bytes`` (2 MB in
Iceberg). For a near-unique column (ids, amounts, event times) that fallback comes after
hashing hundreds of thousands of values into a dictionary that is then thrown away: with two
row groups per compacted file, a third of the write. Arrow has no way to predict it, so this
module does, by hand: ORC's writer makes the same call (``orc.dictionary.key.threshold``)
from a first look at the data.

The estimate is the birthday count. Among ``k`` values drawn at random from ``n`` equally
likely ones, about ``n (1 - (1 - 1/n)^k)`` are distinct; a sample with more distinct values
than that for ``n`` = what the dictionary can hold says the row group has more distinct
values than fit, so the writer would fall back anyway. Skewed columns repeat more and keep
their dictionary. A wrong guess costs only speed or size: the file holds the same values.
"""

from __future__ import annotations

import math

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

SAMPLE_ROWS = 2048
_SEED = 20_240_101  # a fixed sample: the same input gives the same file layout
_VARIABLE_WIDTH = (
    pa.types.is_string,
    pa.types.is_large_string,
    pa.types.is_binary,
    pa.types.is_large_binary,
)


def _value_bytes(column: pa.ChunkedArray) -> float | None:
    """Bytes one dictionary entry takes, or None for types never dictionary-planned here."""
    kind = column.type
    if pa.types.is_boolean(kind) or pa.types.is_nested(kind) or pa.types.is_null(kind):
        return None
    if any(check(kind) for check in _VARIABLE_WIDTH):
        valid = column.drop_null()
        if len(valid) == 0:
            return None
        return pc.mean(pc.binary_length(valid)).as_py() + 4  # Parquet's length prefix
    try:
        return kind.bit_width / 8
    except ValueError:  # variable-width types not listed above
        return None


def plain_columns(rows: pa.Table, *, row_group_rows: int, dictionary_bytes: int) -> set[str]:
    """Top-level columns of ``rows`` (the first row group's rows) whose dictionary would
    outgrow ``dictionary_bytes`` within a row group of ``row_group_rows``."""
    if rows.num_rows == 0:
        return set()
    rng = np.random.default_rng(_SEED)
    picks = rng.choice(rows.num_rows, size=min(SAMPLE_ROWS, rows.num_rows), replace=False)
    sample = rows.take(pa.array(np.sort(picks)))
    plain = set()
    for name in rows.column_names:
        width = _value_bytes(sample[name])
        if width is None:
            continue
        capacity = dictionary_bytes / width  # distinct values the dictionary page holds
        if min(row_group_rows, rows.num_rows) <= capacity:
            continue  # cannot outgrow it, however unique
        valid = sample[name].drop_null()
        if pc.count_distinct(valid).as_py() > _expected_distinct(capacity, len(valid)):
            plain.add(name)
    return plain


def _expected_distinct(values: float, draws: int) -> float:
    """Distinct values expected among ``draws`` picks from ``values`` equally likely ones."""
    values = max(values, 1.0)
    return values * -math.expm1(draws * math.log1p(-1 / values)) if values > 1 else 1.0


def leaf_paths(schema: pa.Schema) -> list[str]:
    """Parquet column paths of ``schema`` (``address.city``, ``tags.list.element``), the names
    Arrow's writer takes per column, read off the footer of an empty file."""
    sink = pa.BufferOutputStream()
    pq.write_table(schema.empty_table(), sink)
    parquet_schema = pq.read_metadata(pa.BufferReader(sink.getvalue())).schema
    return [parquet_schema.column(i).path for i in range(len(parquet_schema))]


def dictionary_columns(
    rows: pa.Table, *, row_group_rows: int, dictionary_bytes: int
) -> list[str] | None:
    """Arrow's ``use_dictionary`` for a file starting with ``rows``: None (every column, the
    default) unless some column is better written plain."""
    plain = plain_columns(rows, row_group_rows=row_group_rows, dictionary_bytes=dictionary_bytes)
    if not plain:
        return None
    return [path for path in leaf_paths(rows.schema) if path not in plain]  # plain: primitives
