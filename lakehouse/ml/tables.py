"""The ml tables as analysts and data scientists see them: columns, owners, sensitivity."""

from __future__ import annotations

from typing import Any

import dagster as dg
import pyarrow as pa

NAMESPACE = "ml"
GROUP = "ml"
OWNERS = ("team:data-science",)
KINDS = frozenset({"python", "pandas", "iceberg"})
CUSTOMER_FEATURES = dg.AssetKey([NAMESPACE, "customer_features"])
CHURN_TRAINING_SET = dg.AssetKey([NAMESPACE, "churn_training_set"])
# user_id is a pseudonymous key, not a direct identifier: no name, e-mail or address here.
TAGS = {"layer": "ml", "domain": "customers", "classification": "confidential", "pii": "false"}

_FEATURE_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("user_id", "long", "Customer identifier (dim_customers.user_id), pseudonymous."),
    ("as_of", "date", "Reference day: only facts before it count."),
    ("tenure_days", "long", "Whole days from sign-up to as_of."),
    ("age_band", "string", "Age band from dim_customers (unknown when the age is)."),
    ("recency_days", "long", "Whole days since the last paid purchase; null if never paid."),
    ("frequency", "long", "Purchases paid before as_of."),
    ("monetary_value", "double", "Gross revenue paid less refunds made before as_of."),
    ("average_order_value", "double", "Gross revenue per paid purchase; null if never paid."),
    ("returns", "long", "Paid purchases returned before as_of."),
    ("return_rate", "double", "returns / frequency, 0 without purchases."),
    ("open_carts", "long", "Purchases created but not paid before as_of."),
)
_EXTRA_COLUMNS = {
    CUSTOMER_FEATURES: (
        ("value_segment", "string", "Lifetime value segment (customer_lifetime_value)."),
    ),
    CHURN_TRAINING_SET: (
        ("churned", "boolean", "Label: no paid purchase in [as_of, reference_date)."),
        ("reference_date", "date", "End of the label window; as_of = reference - horizon."),
        ("horizon_days", "long", "Length of the label window in days."),
    ),
}


_ARROW_TYPES = {
    "long": pa.int64(),
    "double": pa.float64(),
    "string": pa.string(),
    "date": pa.date32(),
    "boolean": pa.bool_(),
}


def arrow_schema(key: dg.AssetKey) -> pa.Schema:
    """The declared columns as Arrow types: an empty frame has no values to infer them from
    (pandas gives its date columns no type, and Iceberg refuses a null-typed column)."""
    columns = (*_FEATURE_COLUMNS, *_EXTRA_COLUMNS[key])
    return pa.schema([(name, _ARROW_TYPES[kind]) for name, kind, _ in columns])


def to_table(key: dg.AssetKey, frame: Any) -> pa.Table:
    """``frame`` (pandas) in the table's declared column order and types."""
    return pa.Table.from_pandas(frame, schema=arrow_schema(key), preserve_index=False)


def column_schema(key: dg.AssetKey) -> dg.TableSchema:
    columns = (*_FEATURE_COLUMNS, *_EXTRA_COLUMNS[key])
    return dg.TableSchema(
        columns=[
            dg.TableColumn(name=name, type=kind, description=text, tags={"pii": "false"})
            for name, kind, text in columns
        ]
    )


def metadata(key: dg.AssetKey) -> dict[str, Any]:
    return {
        "dagster/column_schema": column_schema(key),
        "primary_key": ["user_id"],
        "write_mode": "overwrite",
        "features": "lakehouse/ml/features.py",
    }
