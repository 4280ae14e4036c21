"""pandera contracts for the raw tables: what a batch must satisfy before anything downstream reads it.

Types, nullability, ranges and key uniqueness per stream. They validate the pandas view of the
Arrow batch; failures are collected lazily so one report names every bad column at once.
"""

from __future__ import annotations

import pandera.pandas as pa

_TS = "datetime64[us, UTC]"


def _id(unique: bool = True) -> pa.Column:
    return pa.Column("Int64", pa.Check.gt(0), nullable=False, unique=unique)


def _timestamps(*names: str, nullable: bool = False) -> dict[str, pa.Column]:
    return {name: pa.Column(_TS, nullable=nullable, coerce=True) for name in names}


USERS = pa.DataFrameSchema(
    {
        "id": _id(),
        **_timestamps("created_at", "updated_at"),
        "name": pa.Column(str, pa.Check.str_length(min_value=1), nullable=False),
        "email": pa.Column(
            str, pa.Check.str_matches(r"^[^@\s]+@[^@\s]+$"), nullable=False, unique=True
        ),
        "age": pa.Column("Int64", pa.Check.in_range(0, 130), nullable=True),
        "gender": pa.Column(str, nullable=True),
        "weight": pa.Column("Int64", pa.Check.in_range(1, 500), nullable=True),
    },
    name="raw.faker_users",
    strict=False,
)

PRODUCTS = pa.DataFrameSchema(
    {
        "id": _id(),
        **_timestamps("created_at", "updated_at"),
        "make": pa.Column(str, pa.Check.str_length(min_value=1), nullable=False),
        "model": pa.Column(str, nullable=False),
        "year": pa.Column("Int64", pa.Check.in_range(1900, 2100), nullable=True),
        "price": pa.Column("float64", pa.Check.ge(0), nullable=False),
    },
    name="raw.faker_products",
    strict=False,
)

PURCHASES = pa.DataFrameSchema(
    {
        "id": _id(),
        "user_id": _id(unique=False),
        "product_id": _id(unique=False),
        **_timestamps("created_at", "updated_at"),
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
