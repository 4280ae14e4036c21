"""Extracted batches are cast to the declared stream schema, whatever types PyAirbyte produced."""

from __future__ import annotations

import datetime as dt
import decimal
import json

import pyarrow as pa
import pytest

from lakehouse.raw.normalise import SchemaMismatchError, normalise
from lakehouse.raw.streams import STREAMS_BY_NAME

PRODUCTS = STREAMS_BY_NAME["products"]
USERS = STREAMS_BY_NAME["users"]
NAIVE = pa.timestamp("us")
T0 = dt.datetime(2024, 4, 8, 18, 7, 20)


def _cache_products(**overrides: pa.Array) -> pa.Table:
    """Products as PyAirbyte's DuckDB cache types them."""
    columns = {
        "id": pa.array([1, 2], pa.int64()),
        "make": ["Mazda", "Audi"],
        "model": ["MX-5", "A4"],
        "year": pa.array([2023, None], pa.int64()),
        "price": pa.array([decimal.Decimal("15001.5"), None], pa.decimal128(38, 9)),
        "created_at": pa.array([T0, T0], NAIVE),
        "updated_at": pa.array([T0, None], NAIVE),
        "_airbyte_raw_id": ["a", "b"],
        "_airbyte_extracted_at": pa.array([T0, T0], NAIVE),
        "_airbyte_meta": ["{}", "{}"],
    }
    return pa.table(columns | overrides)


def test_cache_types_become_the_declared_schema_with_utc_timestamps():
    batch = normalise(_cache_products(), PRODUCTS.schema, stream="products")

    assert batch.table.schema == PRODUCTS.schema
    assert batch.unexpected_columns == ()  # _airbyte_meta is dropped on purpose
    row = batch.table.to_pylist()[0]
    assert row["price"] == 15001.5
    assert row["created_at"] == T0.replace(tzinfo=dt.UTC)


def test_json_objects_become_structs_and_undeclared_keys_are_ignored():
    address = {"street_number": "79", "city": "Savage", "planet": "Earth"}
    raw = pa.table(
        {
            "id": [1, 2],
            "address": [json.dumps(address), None],
            "_airbyte_raw_id": ["a", "b"],
            "_airbyte_extracted_at": pa.array([T0, T0], NAIVE),
        }
    )
    table = normalise(raw, USERS.schema, stream="users").table

    assert table.schema == USERS.schema
    first, second = table.column("address").to_pylist()
    assert first["city"] == "Savage" and first["street_name"] is None and "planet" not in first
    assert second is None
    assert table.column("email").null_count == 2  # a missing nullable column is all nulls


def test_new_connector_columns_are_reported_not_silently_written():
    batch = normalise(
        _cache_products(colour=pa.array(["red", "blue"])), PRODUCTS.schema, stream="p"
    )
    assert batch.unexpected_columns == ("colour",)
    assert "colour" not in batch.table.column_names


def test_a_missing_primary_key_fails_naming_stream_and_column():
    with pytest.raises(SchemaMismatchError, match="products: required column 'id'"):
        normalise(_cache_products().drop_columns(["id"]), PRODUCTS.schema, stream="products")


def test_a_null_primary_key_fails():
    ids = pa.array([1, None], pa.int64())
    with pytest.raises(SchemaMismatchError, match="'id' has 1 nulls"):
        normalise(_cache_products(id=ids), PRODUCTS.schema, stream="products")


def test_an_uncastable_value_fails_naming_the_column():
    with pytest.raises(SchemaMismatchError, match="column 'year' of type string"):
        normalise(_cache_products(year=pa.array(["soon", "2020"])), PRODUCTS.schema, stream="p")
