"""Hostile connector output for property-based tests: protocol lines as a source would send them.

A sync starts as valid RECORD lines of one stream (as source-faker writes them) and gets one to
three corruptions: wrong JSON types, nulls in required columns, NaN and infinities, megabyte
strings, invalid UTF-8, lone surrogates and odd Unicode, control characters, out-of-range,
zone-less or unparseable timestamps, duplicate keys, missing and extra columns, a struct
replaced by a scalar, lines that are not JSON, ``data`` that is not an object, a record of a
stream nobody asked for, or no records at all. The oracle that judges the published rows is
``hostile_oracle``.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from typing import Any

import pyarrow as pa
from hypothesis import strategies as st

from lakehouse.raw.schemas import MAX_TEXT_CHARS
from lakehouse.raw.streams import STREAMS_BY_NAME, RawStream

T0 = dt.datetime(2024, 5, 1, tzinfo=dt.UTC)
EMITTED_AT = 1_714_521_600_000
# Columns the contracts require (the typing refuses a null only where the Arrow schema does).
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
    "\U0001f4a9",  # outside the BMP
    "\ufeff",  # byte-order mark
    "İ",  # lower-cases to two code points
    " ",
    "",
]
CONTROL_TEXT = ["a\x00b", "Bob\x1b[31mred", "bell\x07", "\x9b31m", "del\x7f"]
WRONG_VALUES: list[Any] = [
    "abc",
    "12",
    1.5,
    2.0,
    True,
    7,
    -3,
    "2024-05-01T00:00:00Z",
    {"a": 1},
    [1],
]
TIMESTAMPS = [
    "0001-01-01T00:00:00+00:00",
    "1899-12-31T23:59:59+00:00",
    "2100-01-01T00:00:00+00:00",
    "9999-12-31T23:59:00+00:00",
    "2024-05-01 10:00:00",  # no zone: read as UTC
    "2024-05-01T10:00:00+02:00",
    "soon",
    "2024-13-45T00:00:00Z",
]


def _iso(instant: dt.datetime) -> str:
    return instant.isoformat()


def valid_records(stream: RawStream, rows: int) -> list[dict[str, Any]]:
    """``rows`` records' ``data`` that satisfy the stream's contract, as source-faker sends them."""
    records = []
    for i in range(1, rows + 1):
        at = _iso(T0 + dt.timedelta(minutes=i))
        data: dict[str, Any] = {"id": i, "created_at": at, "updated_at": at}
        if stream.name == "users":
            data |= {
                "name": f"User {i}",
                "email": f"user{i}@example.com",
                "age": 20 + i % 50,
                "weight": 60 + i % 40,
                "gender": "female",
                "address": {"city": "Lyon", "country_code": "FR"},
            }
        elif stream.name == "products":
            data |= {"make": "Audi", "model": f"A{i}", "year": 2000 + i % 20, "price": 100.5 + i}
        else:
            purchased = _iso(T0 + dt.timedelta(minutes=i + 5))
            data |= {
                "user_id": i % 5 + 1,
                "product_id": i % 3 + 1,
                "added_to_cart_at": at,
                "purchased_at": purchased,
                "returned_at": None,
            }
        records.append(data)
    return records


def record_line(stream: str, data: Any, *, ascii_only: bool = False) -> bytes:
    """One RECORD line; NaN and infinities spelled as Python's (and faker's) JSON writer does,
    and a lone surrogate as a ``\\ud800`` escape (``ascii_only``) or as the bytes it encodes."""
    message = {"type": "RECORD", "record": {"stream": stream, "data": data}}
    message["record"]["emitted_at"] = EMITTED_AT
    return json.dumps(message, ensure_ascii=ascii_only).encode("utf-8", "surrogatepass")


def _columns(stream: RawStream, *kinds: str) -> list[str]:
    wanted = {
        "text": pa.types.is_string,
        "timestamp": pa.types.is_timestamp,
        "number": lambda t: pa.types.is_integer(t) or pa.types.is_floating(t),
        "struct": pa.types.is_struct,
        "any": lambda t: True,
    }
    return [
        f.name
        for f in stream.schema
        if not f.name.startswith("_airbyte") and any(wanted[k](f.type) for k in kinds)
    ]


@st.composite
def _corrupt(draw: st.DrawFn, stream: RawStream, records: list[Any], lines: list[bytes]) -> str:
    """Corrupt ``records`` (their ``data``) or ``lines`` (extra raw lines) in place; the label."""
    kind = draw(
        st.sampled_from(
            [
                "wrong_type",
                "null",
                "nan_inf",
                "huge_string",
                "odd_unicode",
                "control_characters",
                "timestamp",
                "duplicate_key",
                "missing_column",
                "extra_column",
                "struct_scalar",
                "lone_surrogate",
                "invalid_utf8",
                "malformed_json",
                "data_not_object",
                "unknown_stream",
            ]
        )
    )
    objects = [i for i, data in enumerate(records) if type(data) is dict]
    row = draw(st.sampled_from(objects)) if objects else -1
    column = draw(st.sampled_from(_columns(stream, "any")))
    text = draw(st.sampled_from(_columns(stream, "text") or _columns(stream, "any")))
    if not objects and kind not in ("malformed_json", "invalid_utf8", "unknown_stream"):
        return f"{kind}:nothing to corrupt"
    if kind == "wrong_type":
        records[row][column] = draw(st.sampled_from(WRONG_VALUES))
    elif kind == "null":
        records[row][column] = None
    elif kind == "nan_inf":
        column = draw(st.sampled_from(_columns(stream, "number")))
        records[row][column] = draw(st.sampled_from([math.nan, math.inf, -math.inf]))
    elif kind == "huge_string":
        size = draw(st.integers(MAX_TEXT_CHARS + 1, 3 * 1024 * 1024))
        records[row][text] = draw(st.sampled_from(["x", "é", "\u200b"])) * size
    elif kind == "odd_unicode":
        records[row][text] = draw(st.sampled_from(ODD_TEXT))
    elif kind == "control_characters":
        records[row][text] = draw(st.sampled_from(CONTROL_TEXT))
    elif kind == "timestamp":
        column = draw(st.sampled_from(_columns(stream, "timestamp")))
        records[row][column] = draw(st.sampled_from(TIMESTAMPS))
    elif kind == "duplicate_key":
        copy = dict(records[row])
        if draw(st.booleans()):  # a later version, or the same cursor with other content
            copy["updated_at"] = _iso(T0 + dt.timedelta(days=1))
        else:
            copy[text] = "another"
        records.append(copy)
    elif kind == "missing_column":
        records[row].pop(column, None)
    elif kind == "extra_column":
        records[row][draw(st.sampled_from(["surprise", "_airbyte_meta", "ID", ""]))] = "?"
    elif kind == "struct_scalar":
        structs = _columns(stream, "struct")
        column = structs[0] if structs else column
        records[row][column] = "12 Main Street"
    elif kind == "lone_surrogate":
        records[row][text] = "a\ud800b"
    elif kind == "data_not_object":
        records[row] = draw(st.sampled_from(["a string", [1, 2], 42, None]))
    elif kind == "invalid_utf8":
        lines.append(record_line(stream.name, {"id": 99}).replace(b'"id"', b'"\xff\xfe"', 1))
    elif kind == "malformed_json":
        lines.append(record_line(stream.name, {"id": 98})[:-7])
    else:
        lines.append(record_line("invoices", {"id": 97}))
    return f"{kind}:{column if kind in ('wrong_type', 'null', 'missing_column') else text}"


@st.composite
def hostile_sync(draw: st.DrawFn) -> tuple[RawStream, list[bytes], list[str], list[Any]]:
    """(stream, the connector's stdout lines, the corruptions applied, the records' ``data``
    objects as sent)."""
    stream = STREAMS_BY_NAME[draw(st.sampled_from(sorted(STREAMS_BY_NAME)))]
    records: list[Any] = list(valid_records(stream, draw(st.integers(0, 6))))
    extra: list[bytes] = []
    applied = [draw(_corrupt(stream, records, extra)) for _ in range(draw(st.integers(1, 3)))]
    ascii_only = draw(st.booleans())
    lines = [record_line(stream.name, data, ascii_only=ascii_only) for data in records]
    position = draw(st.integers(0, len(lines)))
    sent = [data for data in records if type(data) is dict]
    return stream, lines[:position] + extra + lines[position:], applied, sent
