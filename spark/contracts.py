"""The staging tables' column contracts: names, types, keys, descriptions and PII marks.

One list per table, read by the transforms (which select exactly these columns, in this order,
with these types and column comments) and by Dagster (column schema, pandera contract), so the
columns analysts and dbt build on are written down once. Pure Python: no pyspark import.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Column:
    """One staging column; ``type`` is a Spark SQL type name."""

    name: str
    type: str
    description: str
    nullable: bool = True
    unique: bool = False
    pii: bool = False


@dataclass(frozen=True)
class Contract:
    """A staging table: the raw table it is built from, its key, columns and time partitioning."""

    table: str
    source: str
    key: str
    columns: tuple[Column, ...]
    partition_column: str | None = None

    @property
    def names(self) -> list[str]:
        return [column.name for column in self.columns]

    def column(self, name: str) -> Column:
        return next(column for column in self.columns if column.name == name)


def _key(name: str, what: str) -> Column:
    return Column(name, "bigint", f"{what} id from the source; one row per id", False, True)


def _audit() -> tuple[Column, ...]:
    return (
        Column("created_at", "timestamp", "when the source created the record (UTC)"),
        Column("updated_at", "timestamp", "last update in the source; the latest version is kept"),
    )


def _text(name: str, description: str, *, pii: bool = False) -> Column:
    return Column(name, "string", description, pii=pii)


USERS = Contract(
    table="users",
    source="faker_users",
    key="user_id",
    columns=(
        _key("user_id", "user"),
        _text("full_name", "full name, trimmed", pii=True),
        _text("email", "e-mail address, trimmed and lower-case", pii=True),
        _text("telephone", "telephone number as given", pii=True),
        Column("age", "int", "age in years", pii=True),
        _text("gender", "gender as given", pii=True),
        _text("occupation", "occupation"),
        _text("nationality", "nationality", pii=True),
        _text("language", "preferred language"),
        _text("academic_degree", "highest academic degree"),
        _text("city", "city of the postal address", pii=True),
        _text("state", "state of the postal address"),
        _text("postal_code", "postal code of the address", pii=True),
        _text("country_code", "country code of the address"),
        *_audit(),
    ),
)

PRODUCTS = Contract(
    table="products",
    source="faker_products",
    key="product_id",
    columns=(
        _key("product_id", "product"),
        _text("make", "car make, trimmed"),
        _text("model", "car model, trimmed"),
        Column("year", "int", "model year"),
        Column("price", "double", "list price; a negative source price becomes null (>= 0)"),
        *_audit(),
    ),
)

PURCHASES = Contract(
    table="purchases",
    source="faker_purchases",
    key="purchase_id",
    columns=(
        _key("purchase_id", "purchase"),
        Column("user_id", "bigint", "buyer, staging.users.user_id"),
        Column("product_id", "bigint", "product bought, staging.products.product_id"),
        Column(
            "created_at",
            "timestamp",
            "when the purchase was created (UTC); partition column",
            False,
        ),
        Column("updated_at", "timestamp", "last update in the source; the latest version is kept"),
        Column("added_to_cart_at", "timestamp", "when the product was added to the cart"),
        Column("purchased_at", "timestamp", "when it was paid; null if never"),
        Column("returned_at", "timestamp", "when it was returned; null if never"),
        Column("purchase_date", "date", "UTC date of created_at", False),
        Column("status", "string", "returned, purchased or in_cart (latest step reached)", False),
    ),
    partition_column="created_at",
)

CONTRACTS: dict[str, Contract] = {c.table: c for c in (USERS, PRODUCTS, PURCHASES)}
PURCHASE_STATUSES = ("returned", "purchased", "in_cart")
