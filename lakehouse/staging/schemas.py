"""pandera contracts for the staging tables, generated from ``spark/contracts.py`` plus rules.

Types, nullability and unique keys come from the column contracts (one source of truth);
the value rules a contract cannot express (formats, ranges, status logic) are added here.
Imported only when a check runs: pandera is slow to import (``lakehouse.quality``).
"""

from __future__ import annotations

import pandas as pd
import pandera.pandas as pa
from pandera.engines import pandas_engine

from spark.contracts import CONTRACTS, PURCHASE_STATUSES, Contract

# Spark SQL type -> the pandas dtype of the Arrow batch (``lakehouse.quality.validate_table``).
_DTYPES = {
    "bigint": "Int64",
    "int": "Int32",
    "double": "float64",
    "string": str,
    "timestamp": "datetime64[us, UTC]",
    "date": pandas_engine.Date,
}


def _trimmed(series: pd.Series) -> pd.Series:
    return series.isna() | (series == series.str.strip())


def _lower_case(series: pd.Series) -> pd.Series:
    return series.isna() | (series == series.str.lower())


RULES: dict[str, dict[str, list[pa.Check]]] = {
    "users": {
        "user_id": [pa.Check.gt(0)],
        "email": [
            pa.Check.str_matches(r"^[^@\s]+@[^@\s]+$"),
            pa.Check(_trimmed, name="trimmed"),
            pa.Check(_lower_case, name="lower_case"),
        ],
        "full_name": [pa.Check(_trimmed, name="trimmed")],
        "age": [pa.Check.in_range(0, 130)],
    },
    "products": {
        "product_id": [pa.Check.gt(0)],
        "make": [pa.Check(_trimmed, name="trimmed")],
        "model": [pa.Check(_trimmed, name="trimmed")],
        "year": [pa.Check.in_range(1900, 2100)],
        "price": [pa.Check.ge(0)],
    },
    "purchases": {
        "purchase_id": [pa.Check.gt(0)],
        "status": [pa.Check.isin(PURCHASE_STATUSES)],
    },
}


def _purchase_date_is_utc_date(df: pd.DataFrame) -> pd.Series:
    return df["created_at"].dt.tz_convert("UTC").dt.date == df["purchase_date"]


def _status_matches_times(df: pd.DataFrame) -> pd.Series:
    expected = (
        df["returned_at"]
        .notna()
        .map({True: "returned", False: None})
        .fillna(df["purchased_at"].notna().map({True: "purchased", False: "in_cart"}))
    )
    return df["status"] == expected


TABLE_RULES: dict[str, list[pa.Check]] = {
    "purchases": [
        pa.Check(_purchase_date_is_utc_date, name="purchase_date_is_utc_date_of_created_at"),
        pa.Check(_status_matches_times, name="status_matches_returned_and_purchased_at"),
    ],
}


def schema_for(contract: Contract) -> pa.DataFrameSchema:
    """The contract's exact columns (strict) with their types, nulls, keys and rules."""
    rules = RULES.get(contract.table, {})
    return pa.DataFrameSchema(
        {
            column.name: pa.Column(
                _DTYPES[column.type],
                checks=rules.get(column.name, []),
                nullable=column.nullable,
                unique=column.unique,
                coerce=column.type == "timestamp",
            )
            for column in contract.columns
        },
        checks=TABLE_RULES.get(contract.table, []),
        name=f"staging.{contract.table}",
        strict=True,
    )


SCHEMAS: dict[str, pa.DataFrameSchema] = {
    name: schema_for(contract) for name, contract in CONTRACTS.items()
}
