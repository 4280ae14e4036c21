"""pandera reports: every broken column and check is named with its count of bad rows."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest

from lakehouse.quality import validate_rows, validate_table
from lakehouse.raw.schemas import PRODUCTS, PURCHASES, USERS

T0 = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)


def _ts(values):
    return pa.array(values, pa.timestamp("us", "UTC"))


def users(**overrides) -> pa.Table:
    columns = {
        "id": [1, 2, 3],
        "created_at": _ts([T0] * 3),
        "updated_at": _ts([T0] * 3),
        "_airbyte_extracted_at": _ts([T0] * 3),
        "name": ["Ada", "Bo", "Cy"],
        "email": ["a@x.org", "b@x.org", "c@x.org"],
        "age": [31, 42, None],
        "gender": ["female", "male", None],
        "weight": [60, 80, 70],
    }
    columns.update(overrides)
    return pa.table(columns)


def test_a_valid_batch_passes_with_nullable_integers():
    report = validate_table(USERS, users())
    assert report.passed, report.summary()
    assert report.rows == 3


def test_each_broken_rule_is_named_with_its_bad_row_count():
    report = validate_table(
        USERS, users(id=[1, 1, -3], email=["no-at-sign", "b@x.org", "c@x.org"], age=[31, 400, 5])
    )
    found = {(f.column, f.check.split("(")[0]): f.bad_rows for f in report.failures}
    assert found == {
        ("id", "field_uniqueness"): 2,
        ("id", "greater_than"): 1,
        ("email", "str_matches"): 1,
        ("age", "in_range"): 1,
    }
    assert "id: field_uniqueness failed on 2 row(s)" in report.summary()
    assert report.bad_rows == 5


@pytest.mark.parametrize("chunk_rows", [1, 2, 4])
def test_a_table_validated_in_chunks_gets_the_whole_tables_report(chunk_rows):
    """Duplicates across chunks are found, and row positions count from the table's start."""
    table = users(
        id=[1, 2, -3, 2, 5],
        created_at=_ts([T0] * 5),
        updated_at=_ts([T0] * 5),
        _airbyte_extracted_at=_ts([T0] * 5),
        name=["Ada", "Bo", "Cy", "Di", "Ed"],
        email=["a@x.org", "no-at-sign", "c@x.org", "a@x.org", "e@x.org"],
        age=[31, 400, None, 5, 6],
        gender=["female", "male", None, None, None],
        weight=[60, 80, 70, 70, 70],
    ).drop(["gender"])
    whole = validate_rows(USERS, table, chunk_rows=len(table))
    chunked = validate_rows(USERS, table, chunk_rows=chunk_rows)
    assert chunked == whole
    # Chunks given in order (an audit streaming its table), an empty one first, say the same.
    given = [table.slice(0, 0), *(table.slice(at, chunk_rows) for at in range(0, 5, chunk_rows))]
    assert validate_rows(USERS, iter(given)) == whole
    assert chunked.by_row[3] == [("email", "field_uniqueness"), ("id", "field_uniqueness")]
    assert {(f.column, f.check.split("(")[0]) for f in chunked.report.failures} >= {
        ("id", "field_uniqueness"),
        ("email", "field_uniqueness"),
        ("email", "str_matches"),
    }


def test_a_missing_required_column_is_named():
    report = validate_table(USERS, users().drop(["email"]))
    assert [(f.column, f.check) for f in report.failures] == [("email", "column_in_dataframe")]


def test_nulls_in_a_required_timestamp_fail():
    report = validate_table(USERS, users(created_at=_ts([None, T0, T0])))
    assert [(f.column, f.check, f.bad_rows) for f in report.failures] == [
        ("created_at", "not_nullable", 1)
    ]


def test_a_purchase_returned_before_it_was_bought_fails_the_table_check():
    purchases = pa.table(
        {
            "id": [1, 2],
            "user_id": [1, 1],
            "product_id": [5, 6],
            "created_at": _ts([T0, T0]),
            "updated_at": _ts([T0, T0]),
            "_airbyte_extracted_at": _ts([T0, T0]),
            "added_to_cart_at": _ts([T0, T0]),
            "purchased_at": _ts([T0 + dt.timedelta(days=1), None]),
            "returned_at": _ts([T0, None]),
        }
    )
    report = validate_table(PURCHASES, purchases)
    assert [(f.column, f.check, f.bad_rows) for f in report.failures] == [
        ("<row>", "returned_after_purchase", 1)
    ]


@pytest.mark.parametrize("price", [-1.0, None])
def test_product_price_must_be_present_and_not_negative(price):
    products = pa.table(
        {
            "id": [1],
            "created_at": _ts([T0]),
            "updated_at": _ts([T0]),
            "_airbyte_extracted_at": _ts([T0]),
            "make": ["Audi"],
            "model": ["A4"],
            "year": [2010],
            "price": pa.array([price], pa.float64()),
        }
    )
    report = validate_table(PRODUCTS, products)
    assert [f.column for f in report.failures] == ["price"]
