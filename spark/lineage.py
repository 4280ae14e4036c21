"""Column lineage of the staging transforms (``spark/transforms.py``), declared as data.

Kept apart from the transforms so that the code location reads it without importing pyspark:
``lakehouse/governance/lineage/spark_columns.py`` puts it on the staging assets
(``dagster/column_lineage``) and in the OpenLineage ``columnLineage`` facet. Each transform's
declaration sits under the transform's name; ``tests/governance/test_spark_lineage_matches.py``
holds it to what the transform does, ``test_spark_lineage_covers_every_column`` to the contracts.
Pure Python: no pyspark import.
"""

from __future__ import annotations

from spark.contracts import PRODUCTS, PURCHASES, USERS

# staging column -> a raw column copied as is (renamed at most), or a tuple of the raw columns it
# is computed from (a struct field as ``struct.field``).
Lineage = dict[str, str | tuple[str, ...]]

# stage_users
USERS_LINEAGE: Lineage = {
    "user_id": "id",
    "full_name": ("name",),
    "email": ("email",),
    "telephone": ("telephone",),
    "age": ("age",),
    **{
        name: (name,)
        for name in ("gender", "occupation", "nationality", "language", "academic_degree")
    },
    **{name: (f"address.{name}",) for name in ("city", "state", "postal_code", "country_code")},
    "created_at": "created_at",
    "updated_at": "updated_at",
}


# stage_products
PRODUCTS_LINEAGE: Lineage = {
    "product_id": "id",
    "make": ("make",),
    "model": ("model",),
    "year": "year",
    "price": ("price",),
    "created_at": "created_at",
    "updated_at": "updated_at",
}


# stage_purchases: these columns are selected unchanged (the transform uses the same tuple)
PURCHASE_COLUMNS_AS_IS = (
    "user_id",
    "product_id",
    "created_at",
    "updated_at",
    "added_to_cart_at",
    "purchased_at",
    "returned_at",
)


PURCHASES_LINEAGE: Lineage = {
    "purchase_id": "id",
    **{name: name for name in PURCHASE_COLUMNS_AS_IS},
    "purchase_date": ("created_at",),
    "status": ("returned_at", "purchased_at"),
}


COLUMN_LINEAGE: dict[str, Lineage] = {
    USERS.table: USERS_LINEAGE,
    PRODUCTS.table: PRODUCTS_LINEAGE,
    PURCHASES.table: PURCHASES_LINEAGE,
}
