"""Hand-made raw batches in the streams' own schemas, for the contract and WAP tests."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa

from lakehouse.raw.streams import STREAMS_BY_NAME

T0 = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)


def products(ids: list[int], prices: list[float | None]) -> pa.Table:
    """A raw products batch; a negative or null price, or a repeated id, breaks the contract."""
    n = len(ids)
    return pa.table(
        {
            "id": ids,
            "make": ["Audi"] * n,
            "model": ["A4"] * n,
            "year": [2010] * n,
            "price": prices,
            "created_at": [T0] * n,
            "updated_at": [T0] * n,
            "_airbyte_raw_id": [f"r{i}" for i in ids],
            "_airbyte_extracted_at": [T0] * n,
        },
        schema=STREAMS_BY_NAME["products"].schema,
    )


def purchases(ids: list[int], created: list[dt.datetime]) -> pa.Table:
    """A raw purchases batch: purchase ``ids[i]`` created at ``created[i]``, still in the cart."""
    n = len(ids)
    return pa.table(
        {
            "id": ids,
            "user_id": [1] * n,
            "product_id": [1] * n,
            "created_at": created,
            "updated_at": created,
            "added_to_cart_at": created,
            "purchased_at": [None] * n,
            "returned_at": [None] * n,
            "_airbyte_raw_id": [f"p{i}" for i in ids],
            "_airbyte_extracted_at": [T0] * n,
        },
        schema=STREAMS_BY_NAME["purchases"].schema,
    )


def users(ids: list[int], cities: list[str | None]) -> pa.Table:
    """A raw users batch; ``cities[i]`` is user ``ids[i]``'s address city (a struct field)."""
    schema = STREAMS_BY_NAME["users"].schema
    n = len(ids)
    columns = {name: [None] * n for name in schema.names}
    columns |= {
        "id": ids,
        "name": [f"user {i}" for i in ids],
        "email": [f"user{i}@example.org" for i in ids],
        "created_at": [T0] * n,
        "updated_at": [T0] * n,
        "address": [{"city": city, "country_code": "FR"} for city in cities],
        "_airbyte_raw_id": [f"u{i}" for i in ids],
        "_airbyte_extracted_at": [T0] * n,
    }
    return pa.table(columns, schema=schema)
