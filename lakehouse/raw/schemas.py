"""pandera contracts for the raw tables: what a batch must satisfy before anything downstream reads it.

Types, nullability, ranges and key uniqueness per stream. They validate the pandas view of the
Arrow batch; failures are collected lazily so one report names every bad column at once.
Hostile input (tests/reliability) set the outer bounds: every timestamp lies in
``TIMESTAMP_RANGE``, every text column (declared or not, and the text fields of a struct) is
at most ``MAX_TEXT_CHARS`` long (e-mail ``MAX_EMAIL_CHARS``), and a price is a finite number.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pandera.pandas as pa
import pyarrow

from lakehouse.raw.streams import STREAMS_BY_NAME

_TS = "datetime64[us, UTC]"
# Source-faker dates lie in 2000..this year; anything outside these bounds is a broken record.
TIMESTAMP_RANGE = (dt.datetime(1900, 1, 1, tzinfo=dt.UTC), dt.datetime(2100, 1, 1, tzinfo=dt.UTC))
MAX_TEXT_CHARS = 4096
MAX_EMAIL_CHARS = 254  # RFC 5321's limit on a forward path


def _id(unique: bool = True) -> pa.Column:
    return pa.Column("Int64", pa.Check.gt(0), nullable=False, unique=unique)


def _in_time_range() -> pa.Check:
    low, high = (pd.Timestamp(bound) for bound in TIMESTAMP_RANGE)
    return pa.Check(lambda s: (s >= low) & (s < high), name="timestamp_in_range")


def _timestamps(*names: str, nullable: bool = False) -> dict[str, pa.Column]:
    return {
        name: pa.Column(_TS, _in_time_range(), nullable=nullable, coerce=True) for name in names
    }


def _finite() -> pa.Check:
    return pa.Check(lambda s: np.isfinite(s.astype("float64")), name="finite")


def _text(stream: str, *declared: str) -> dict[str, pa.Column]:
    """A length bound on every text column of the stream not declared with its own rules, and
    on the text fields of its struct columns (users' ``address``)."""
    text = {
        field.name: pa.Column(
            str, pa.Check.str_length(max_value=MAX_TEXT_CHARS), nullable=True, required=False
        )
        for field in STREAMS_BY_NAME[stream].schema
        if pyarrow.types.is_string(field.type) and field.name not in declared
    }
    structs = {
        field.name: pa.Column(object, _struct_text_bounded(), nullable=True, required=False)
        for field in STREAMS_BY_NAME[stream].schema
        if pyarrow.types.is_struct(field.type) and field.name not in declared
    }
    return text | structs


def _short_fields(record: object) -> bool:
    # pandas holds an Arrow struct value as a dict (None when the struct is null).
    if not isinstance(record, dict):
        return True
    return all(len(v) <= MAX_TEXT_CHARS for v in record.values() if isinstance(v, str))


def _struct_text_bounded() -> pa.Check:
    return pa.Check(_short_fields, element_wise=True, name=f"text_fields_at_most_{MAX_TEXT_CHARS}")


def _bounded(*checks: pa.Check) -> list[pa.Check]:
    return [*checks, pa.Check.str_length(max_value=MAX_TEXT_CHARS)]


USERS = pa.DataFrameSchema(
    {
        "id": _id(),
        **_timestamps("created_at", "updated_at", "_airbyte_extracted_at"),
        **_text("users", "name", "email"),
        "name": pa.Column(str, _bounded(pa.Check.str_length(min_value=1)), nullable=False),
        "email": pa.Column(
            str,
            [
                pa.Check.str_matches(r"^[^@\s]+@[^@\s]+$"),
                pa.Check.str_length(max_value=MAX_EMAIL_CHARS),
            ],
            nullable=False,
            unique=True,
        ),
        "age": pa.Column("Int64", pa.Check.in_range(0, 130), nullable=True),
        "gender": pa.Column(str, _bounded(), nullable=True),
        "weight": pa.Column("Int64", pa.Check.in_range(1, 500), nullable=True),
    },
    name="raw.faker_users",
    strict=False,
)

PRODUCTS = pa.DataFrameSchema(
    {
        "id": _id(),
        **_timestamps("created_at", "updated_at", "_airbyte_extracted_at"),
        **_text("products", "make", "model"),
        "make": pa.Column(str, _bounded(pa.Check.str_length(min_value=1)), nullable=False),
        "model": pa.Column(str, _bounded(), nullable=False),
        "year": pa.Column("Int64", pa.Check.in_range(1900, 2100), nullable=True),
        "price": pa.Column("float64", [pa.Check.ge(0), _finite()], nullable=False),
    },
    name="raw.faker_products",
    strict=False,
)

PURCHASES = pa.DataFrameSchema(
    {
        **_text("purchases"),
        "id": _id(),
        "user_id": _id(unique=False),
        "product_id": _id(unique=False),
        **_timestamps("created_at", "updated_at", "_airbyte_extracted_at"),
        **_timestamps("added_to_cart_at", "purchased_at", "returned_at", nullable=True),
    },
    checks=[
        pa.Check(
            lambda df: df["returned_at"].isna() | (df["returned_at"] >= df["purchased_at"]),
            name="returned_after_purchase",
        ),
    ],
    name="raw.faker_purchases",
    strict=False,
)

SCHEMAS: dict[str, pa.DataFrameSchema] = {
    "users": USERS,
    "products": PRODUCTS,
    "purchases": PURCHASES,
}
