"""Raw -> staging transforms: plain DataFrame -> DataFrame functions, one per staging table.

They only use the DataFrame API, so they run on a local session, on Spark Connect and under
spark-submit alike, and are tested on tiny hand-made DataFrames. Each ends with ``conform``,
which fixes the output to the table's contract (``spark/contracts.py``).
"""

from __future__ import annotations

from collections.abc import Callable

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from spark.contracts import PRODUCTS, PURCHASES, USERS, Contract
from spark.lineage import PURCHASE_COLUMNS_AS_IS

Transform = Callable[[DataFrame], DataFrame]

_MICROS_PER_DAY = 86_400_000_000
# Newest first; the Airbyte columns break ties when the source re-sent an unchanged record.
_RECENCY = ("updated_at", "_airbyte_extracted_at", "_airbyte_raw_id")


def latest_per_key(df: DataFrame, key: str) -> DataFrame:
    """One row per non-null ``key``: the latest ``updated_at`` wins (Airbyte may re-send rows)."""
    order = [F.col(name).desc_nulls_last() for name in _RECENCY if name in df.columns]
    window = Window.partitionBy(key).orderBy(*order)
    return (
        df.where(F.col(key).isNotNull())
        .withColumn("_version", F.row_number().over(window))
        .where(F.col("_version") == 1)
        .drop("_version")
    )


def clean_text(column: str | Column) -> Column:
    """Trimmed text; blank becomes null, so "no value" has one spelling downstream."""
    value = F.trim(F.col(column) if isinstance(column, str) else column)
    return F.nullif(value, F.lit(""))


def utc_date(column: str) -> Column:
    """The UTC calendar date of a timestamp, whatever the session time zone is."""
    days = F.floor(F.unix_micros(F.col(column)) / F.lit(_MICROS_PER_DAY)).cast("int")
    return F.date_from_unix_date(days)


def conform(df: DataFrame, contract: Contract) -> DataFrame:
    """Exactly the contract's columns, in order, cast, with their descriptions as comments."""
    return df.select(
        *[
            F.col(column.name)
            .cast(column.type)
            .alias(column.name, metadata={"comment": column.description})
            for column in contract.columns
        ]
    )


def stage_users(raw: DataFrame) -> DataFrame:
    """raw.faker_users -> staging.users: latest version per user, address flattened."""
    users = latest_per_key(raw, "id")
    return conform(
        users.select(
            F.col("id").alias("user_id"),
            clean_text("name").alias("full_name"),
            F.lower(clean_text("email")).alias("email"),
            clean_text("telephone").alias("telephone"),
            # Out-of-range ages are source noise, not people: null rather than wrong.
            F.when(F.col("age").between(0, 130), F.col("age")).alias("age"),
            *[
                clean_text(name).alias(name)
                for name in ("gender", "occupation", "nationality", "language", "academic_degree")
            ],
            *[
                clean_text(f"address.{name}").alias(name)
                for name in ("city", "state", "postal_code", "country_code")
            ],
            "created_at",
            "updated_at",
        ),
        USERS,
    )


def stage_products(raw: DataFrame) -> DataFrame:
    """raw.faker_products -> staging.products: latest version per product, prices >= 0."""
    products = latest_per_key(raw, "id")
    return conform(
        products.select(
            F.col("id").alias("product_id"),
            clean_text("make").alias("make"),
            clean_text("model").alias("model"),
            F.col("year"),
            F.when(F.col("price") >= 0, F.col("price")).alias("price"),
            "created_at",
            "updated_at",
        ),
        PRODUCTS,
    )


def purchase_status(returned_at: str, purchased_at: str) -> Column:
    """The furthest step a purchase reached: returned, then purchased, else still in the cart."""
    return (
        F.when(F.col(returned_at).isNotNull(), F.lit("returned"))
        .when(F.col(purchased_at).isNotNull(), F.lit("purchased"))
        .otherwise(F.lit("in_cart"))
    )


def stage_purchases(raw: DataFrame) -> DataFrame:
    """raw.faker_purchases -> staging.purchases: latest version per purchase, with its status.

    Rows without ``created_at`` are dropped: they belong to no daily partition.
    """
    purchases = latest_per_key(raw.where(F.col("created_at").isNotNull()), "id")
    return conform(
        purchases.select(
            F.col("id").alias("purchase_id"),
            *PURCHASE_COLUMNS_AS_IS,
            utc_date("created_at").alias("purchase_date"),
            purchase_status("returned_at", "purchased_at").alias("status"),
        ),
        PURCHASES,
    )


TRANSFORMS: dict[str, Transform] = {
    USERS.table: stage_users,
    PRODUCTS.table: stage_products,
    PURCHASES.table: stage_purchases,
}
