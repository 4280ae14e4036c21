"""Which columns of a Parquet data file are worth a dictionary.

Arrow's Parquet writer dictionary-encodes every column. Two cases waste that work, and Arrow
has no way to predict either, so this module does, by hand:

- the dictionary outgrows ``write.parquet.dict-size-bytes`` (2 MB in Iceberg): the writer then
  falls back to plain encoding for the rest of the row group, after hashing hundreds of
  thousands of values into a dictionary it throws away (a third of a compaction's write);
- the dictionary fits but does not pay: for a (near-)unique column the dictionary holds every
  value and the indices come on top, so the file is bigger than plain and slower to write
  (a 33,000-row daily partition: 25% bigger, 70% slower). parquet-mr drops such a dictionary
  after the first page (``isCompressionSatisfying``); ORC's writer decides from a first look
  at the data (``orc.dictionary.key.threshold``).

Both are judged from the distinct values of a fixed sample of the first row group, scaled up
by the birthday count: ``k`` draws from ``n`` equally likely values give about
``n (1 - (1 - 1/n)^k)`` distinct ones. Skewed columns repeat more and keep their dictionary. A
wrong guess costs only speed or size: the file holds the same values.
"""

from __future__ import annotations

import functools
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
    """Bytes one plain value (and one dictionary entry) takes, or None for types left alone."""
    kind = column.type
    if pa.types.is_boolean(kind) or pa.types.is_nested(kind) or pa.types.is_null(kind):
        return None
    if any(check(kind) for check in _VARIABLE_WIDTH):
        if len(column) == 0:
            return None
        mean: float = pc.mean(pc.binary_length(column)).as_py()
        return mean + 4  # Parquet's length prefix
    try:
        width: int = kind.bit_width
        return width / 8
    except ValueError:  # variable-width types not listed above
        return None


def _expected_distinct(values: float, draws: int) -> float:
    """Distinct values expected among ``draws`` picks from ``values`` equally likely ones."""
    if values <= 1:
        return min(values, draws)
    return values * -math.expm1(draws * math.log1p(-1 / values))


def estimate_distinct(seen: int, draws: int, rows: int) -> float:
    """Distinct values among ``rows`` when a sample of ``draws`` of them held ``seen``."""
    if draws >= rows or seen <= 1:
        return float(seen)
    if seen >= draws:  # no value repeated: as many as there could be
        return float(rows)
    low, high = float(seen), float(rows)  # _expected_distinct grows with the values
    for _ in range(60):
        middle = math.sqrt(low * high)
        if _expected_distinct(middle, draws) < seen:
            low = middle
        else:
            high = middle
    return high


def plain_columns(rows: pa.Table, *, dictionary_bytes: int) -> set[str]:
    """Top-level columns of ``rows`` (one row group's rows) better written without a
    dictionary: it would outgrow ``dictionary_bytes``, or not be smaller than plain values."""
    if rows.num_rows == 0:
        return set()
    rng = np.random.default_rng(_SEED)
    picks = rng.choice(rows.num_rows, size=min(SAMPLE_ROWS, rows.num_rows), replace=False)
    sample = rows.take(pa.array(np.sort(picks)))
    plain = set()
    for name in rows.column_names:
        valid = sample[name].drop_null()
        width = _value_bytes(valid)
        if width is None or len(valid) == 0:
            continue
        valid_rows = rows.num_rows * len(valid) / len(sample)
        distinct = estimate_distinct(pc.count_distinct(valid).as_py(), len(valid), rows.num_rows)
        distinct = min(distinct, valid_rows)
        dictionary = distinct * width
        indices = valid_rows * max(1, math.ceil(math.log2(max(distinct, 1)))) / 8
        if dictionary > dictionary_bytes or dictionary + indices >= valid_rows * width:
            plain.add(name)
    return plain


@functools.lru_cache(maxsize=64)
def leaf_paths(schema: pa.Schema) -> tuple[str, ...]:
    """Parquet column paths of ``schema`` (``address.city``, ``tags.list.element``), the names
    Arrow's writer takes per column, read off the footer of an empty file."""
    sink = pa.BufferOutputStream()
    pq.write_table(schema.empty_table(), sink)
    parquet_schema = pq.read_metadata(pa.BufferReader(sink.getvalue())).schema
    return tuple(parquet_schema.column(i).path for i in range(len(parquet_schema)))


def dictionary_columns(rows: pa.Table, *, dictionary_bytes: int) -> list[str] | None:
    """Arrow's ``use_dictionary`` for a file whose first row group is ``rows``: None (every
    column, Arrow's default) unless some column is better written plain."""
    plain = plain_columns(rows, dictionary_bytes=dictionary_bytes)
    if not plain:
        return None
    return [path for path in leaf_paths(rows.schema) if path not in plain]  # plain: primitives
