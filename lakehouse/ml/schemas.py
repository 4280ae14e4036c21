"""The pandera contract of ml.customer_features; imported only when its check runs."""

from __future__ import annotations

import pandera.pandas as pa

AGE_BANDS = ["under_25", "25_34", "35_44", "45_54", "55_64", "65_plus", "unknown"]

CUSTOMER_FEATURES = pa.DataFrameSchema(
    {
        "user_id": pa.Column("Int64", pa.Check.gt(0), nullable=False, unique=True),
        "tenure_days": pa.Column("Int64", pa.Check.ge(0), nullable=False),
        "age_band": pa.Column(str, pa.Check.isin(AGE_BANDS), nullable=False),
        "recency_days": pa.Column("Int64", pa.Check.ge(0), nullable=True),
        "frequency": pa.Column("Int64", pa.Check.ge(0), nullable=False),
        "monetary_value": pa.Column(float, nullable=False),
        "average_order_value": pa.Column(float, pa.Check.ge(0), nullable=True),
        "returns": pa.Column("Int64", pa.Check.ge(0), nullable=False),
        "return_rate": pa.Column(float, pa.Check.in_range(0.0, 1.0), nullable=False),
        "open_carts": pa.Column("Int64", pa.Check.ge(0), nullable=False),
    },
    # A customer who never paid has no recency; one who paid has returns <= purchases.
    checks=[pa.Check(lambda df: df["returns"] <= df["frequency"], name="returns_le_frequency")],
    name="ml.customer_features",
    strict=False,
)
