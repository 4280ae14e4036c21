"""Hostile raw batches for property-based tests.

A batch starts as valid rows of one stream (as the extraction worker would hand them over) and
gets one to three corruptions: wrong types, nulls in required columns, NaN and infinities,
megabyte strings, invalid UTF-8 and odd Unicode, out-of-range or zone-less timestamps,
duplicate keys, missing and extra columns, or no rows at all. The oracle that judges them is
``hostile_oracle.violations``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pyarrow as pa
import pyarrow.compute as pc
from hypothesis import strategies as st

from lakehouse.raw.schemas import MAX_TEXT_CHARS
from lakehouse.raw.streams import STREAMS_BY_NAME, RawStream

T0 = dt.datetime(2024, 5, 1, tzinfo=dt.UTC)
UTC = pa.timestamp("us", tz="UTC")
# Columns the contracts require (besides the Airbyte columns, non-nullable in the Arrow schema).
REQUIRED = {
    "users": ("id", "created_at", "updated_at", "name", "email"),
    "products": ("id", "created_at", "updated_at", "make", "model", "price"),
    "purchases": ("id", "user_id", "product_id", "created_at", "updated_at"),
}
RANGES = {
    "users": {"age": (0, 130), "weight": (1, 500)},
    "products": {"year": (1900, 2100), "price": (0, float("inf"))},
    "purchases": {},
}
ODD_TEXT = [
    "\u200b",  # zero-width space
    "\u202eevil",  # right-to-left override
    "e\u0301",  # combining accent
    "a\x00b",  # NUL inside
    "\U0001f4a9",  # outside the BMP
    "\ufeff",  # byte-order mark
    "İ",  # lower-cases to two code points
    " ",
]


def valid_batch(stream: RawStream, rows: int) -> dict[str, pa.Array]:
    """``rows`` rows that satisfy the stream's contract, as columns."""
    ids = list(range(1, rows + 1))
    times = [T0 + dt.timedelta(minutes=i) for i in ids]
    columns: dict[str, pa.Array] = {
        "id": pa.array(ids, pa.int64()),
        "created_at": pa.array(times, UTC),
        "updated_at": pa.array(times, UTC),
        "_airbyte_raw_id": pa.array([f"raw-{i}" for i in ids]),
        "_airbyte_extracted_at": pa.array([T0] * rows, UTC),
    }
    if stream.name == "users":
        columns |= {
            "name": pa.array([f"User {i}" for i in ids]),
            "email": pa.array([f"user{i}@example.com" for i in ids]),
            "age": pa.array([20 + i % 50 for i in ids], pa.int64()),
            "weight": pa.array([60 + i % 40 for i in ids], pa.int64()),
            "gender": pa.array(["female"] * rows),
        }
    elif stream.name == "products":
        columns |= {
            "make": pa.array(["Audi"] * rows),
            "model": pa.array([f"A{i}" for i in ids]),
            "year": pa.array([2000 + i % 20 for i in ids], pa.int64()),
            "price": pa.array([100.0 + i for i in ids], pa.float64()),
        }
    else:
        columns |= {
            "user_id": pa.array([i % 5 + 1 for i in ids], pa.int64()),
            "product_id": pa.array([i % 3 + 1 for i in ids], pa.int64()),
            "added_to_cart_at": pa.array(times, UTC),
            "purchased_at": pa.array([t + dt.timedelta(minutes=5) for t in times], UTC),
            "returned_at": pa.array([None] * rows, UTC),
        }
    return columns


def _text_columns(stream: RawStream) -> list[str]:
    return [f.name for f in stream.schema if pa.types.is_string(f.type)]


def _invalid_utf8(values: int) -> pa.Array:
    """A *string* array whose bytes are not UTF-8 (as a buggy producer could hand over)."""
    payload = b"\xff\xfe\xc3("
    offsets = pa.array([i * len(payload) for i in range(values + 1)], pa.int32())
    data = pa.py_buffer(payload * values)
    return pa.Array.from_buffers(pa.string(), values, [None, offsets.buffers()[1], data])


Corruption = Callable[[dict[str, pa.Array], int], None]


@st.composite
def corruption(draw: st.DrawFn, stream: RawStream, rows: int) -> tuple[str, Corruption]:
    names = [f.name for f in stream.schema if not pa.types.is_struct(f.type)]
    column = draw(st.sampled_from(names))
    text = draw(st.sampled_from(_text_columns(stream)))
    row = draw(st.integers(0, max(rows - 1, 0)))
    kind = draw(
        st.sampled_from(
            [
                "wrong_type",
                "null",
                "nan_inf",
                "huge_string",
                "invalid_utf8",
                "binary_text",
                "odd_unicode",
                "timestamp_range",
                "naive_timestamp",
                "timestamp_text",
                "duplicate_key",
                "missing_column",
                "extra_column",
            ]
        )
    )

    def put(columns: dict[str, pa.Array], name: str, value: object, type_: pa.DataType) -> None:
        """Set one row of ``name`` to ``value`` (Arrow-side: values may be beyond Python's)."""
        old = columns.get(name)
        if old is None or old.type != type_:
            old = pa.nulls(rows, type_)
        if rows:
            mask = pa.array([i == row for i in range(rows)])
            old = pc.replace_with_mask(old, mask, pa.array([value], type_))
        columns[name] = old

    if kind == "wrong_type":
        replacement = draw(
            st.sampled_from(
                [
                    ("abc", pa.string()),
                    ("12", pa.string()),
                    (1.5, pa.float64()),
                    (2.0, pa.float64()),
                    (True, pa.bool_()),
                    (7, pa.int64()),
                    (-3, pa.int32()),
                    ("2024-05-01T00:00:00Z", pa.string()),
                ]
            )
        )

        def apply(columns: dict[str, pa.Array], _: int) -> None:
            value, type_ = replacement
            columns[column] = pa.array([value] * rows, type_)

    elif kind == "null":

        def apply(columns: dict[str, pa.Array], _: int) -> None:
            type_ = columns[column].type if column in columns else stream.schema.field(column).type
            put(columns, column, None, type_)

    elif kind == "nan_inf":
        target = draw(st.sampled_from(["price", "age", "year", "weight", "id"]))
        value = draw(st.sampled_from([float("nan"), float("inf"), float("-inf")]))

        def apply(columns: dict[str, pa.Array], _: int) -> None:
            base = columns.get(target, pa.nulls(rows, pa.float64())).cast(pa.float64())
            columns[target] = base
            put(columns, target, value, pa.float64())

    elif kind == "huge_string":
        size = draw(st.integers(MAX_TEXT_CHARS + 1, 3 * 1024 * 1024))
        char = draw(st.sampled_from(["x", "é", "\u200b"]))

        def apply(columns: dict[str, pa.Array], _: int) -> None:
            put(columns, text, char * size, pa.string())

    elif kind == "invalid_utf8":

        def apply(columns: dict[str, pa.Array], _: int) -> None:
            columns[text] = _invalid_utf8(rows)

    elif kind == "binary_text":

        def apply(columns: dict[str, pa.Array], _: int) -> None:
            columns[text] = pa.array([b"\xc3\x28"] * rows, pa.binary())

    elif kind == "odd_unicode":
        odd = draw(st.sampled_from(ODD_TEXT))

        def apply(columns: dict[str, pa.Array], _: int) -> None:
            put(columns, text, odd, pa.string())

    elif kind in ("timestamp_range", "naive_timestamp", "timestamp_text"):
        stamps = [f.name for f in stream.schema if pa.types.is_timestamp(f.type)]
        stamp = draw(st.sampled_from(stamps))
        extreme = draw(
            st.sampled_from(
                [
                    dt.datetime(1, 1, 1, tzinfo=dt.UTC),
                    dt.datetime(1899, 12, 31, tzinfo=dt.UTC),
                    dt.datetime(2100, 1, 1, tzinfo=dt.UTC),
                    dt.datetime(9999, 12, 31, 23, 59, tzinfo=dt.UTC),
                ]
            )
        )
        as_text = draw(
            st.sampled_from(["2024-05-01 10:00:00", "2024-05-01T10:00:00+02:00", "soon"])
        )
        seconds = draw(st.sampled_from([2**62, -(2**62), 10**12]))

        def apply(columns: dict[str, pa.Array], _: int) -> None:
            if kind == "timestamp_range":
                put(columns, stamp, extreme, UTC)
            elif kind == "naive_timestamp":
                old = columns.get(stamp)
                columns[stamp] = (
                    pc.cast(old, pa.timestamp("us"), safe=False)
                    if old is not None and pa.types.is_timestamp(old.type)
                    else pa.nulls(rows, pa.timestamp("us"))
                )
                if rows and draw_seconds:
                    columns[stamp] = pa.array([seconds] * rows, pa.timestamp("s"))
            else:
                put(columns, stamp, as_text, pa.string())

        draw_seconds = draw(st.booleans()) and kind == "naive_timestamp"

    elif kind == "duplicate_key":

        def apply(columns: dict[str, pa.Array], _: int) -> None:
            if rows >= 2:
                for name, values in list(columns.items()):
                    columns[name] = pa.concat_arrays(
                        [values.slice(0, rows - 1), values.slice(0, 1)]
                    )

    elif kind == "missing_column":

        def apply(columns: dict[str, pa.Array], _: int) -> None:
            columns.pop(column, None)

    else:
        extra = draw(st.sampled_from(["surprise", "_airbyte_meta", "ID", ""]))

        def apply(columns: dict[str, pa.Array], _: int) -> None:
            columns[extra] = pa.array(["?"] * rows)

    return f"{kind}:{column if kind in ('wrong_type', 'null', 'missing_column') else text}", apply


@st.composite
def hostile_batch(draw: st.DrawFn) -> tuple[RawStream, pa.Table, list[str]]:
    """(stream, batch as the extraction hands it to ``normalise``, the corruptions applied)."""
    stream = STREAMS_BY_NAME[draw(st.sampled_from(sorted(STREAMS_BY_NAME)))]
    rows = draw(st.integers(0, 6))
    columns = valid_batch(stream, rows)
    applied = []
    for _ in range(draw(st.integers(1, 3))):
        label, apply = draw(corruption(stream, rows))
        apply(columns, rows)
        applied.append(label)
    return stream, pa.table(columns), applied
