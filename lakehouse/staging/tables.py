"""The staging tables as analysts see them: what each holds, who owns it, how sensitive it is.

Columns, keys and PII marks come from the contracts in ``spark/contracts.py`` (the transforms
select exactly those columns), so the Dagster column schema cannot drift from the data.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import dagster as dg

from lakehouse.governance.lineage.columns import ColumnLineage, column_lineage_metadata
from lakehouse.governance.lineage.spark_columns import spark_column_lineage
from lakehouse.partitions import MONTHLY
from lakehouse.raw.streams import STREAMS
from spark.contracts import PRODUCTS, PURCHASES, USERS, Contract

NAMESPACE = "staging"
GROUP = "staging"
OWNERS = ("team:data-engineering",)
KINDS = frozenset({"spark", "iceberg"})

# Spark SQL type -> the Iceberg type the table stores (Spark's timestamp is an instant).
_ICEBERG_TYPES = {
    "bigint": "long",
    "int": "int",
    "double": "double",
    "string": "string",
    "timestamp": "timestamptz",
    "date": "date",
}
_RAW_KEYS = {stream.table: stream.asset_key for stream in STREAMS}


@dataclass(frozen=True)
class StagingTable:
    """One staging asset: its contract plus the catalogue entries analysts search by."""

    contract: Contract
    description: str
    domain: str
    classification: Literal["public", "internal", "confidential"]

    @property
    def identifier(self) -> tuple[str, str]:
        return (NAMESPACE, self.contract.table)

    @property
    def asset_key(self) -> dg.AssetKey:
        return dg.AssetKey(list(self.identifier))

    @property
    def source_key(self) -> dg.AssetKey:
        return _RAW_KEYS[self.contract.source]

    @property
    def source_identifier(self) -> tuple[str, str]:
        return (self.source_key.path[0], self.source_key.path[-1])

    @property
    def partitions_def(self) -> dg.PartitionsDefinition | None:
        return MONTHLY if self.contract.partition_column else None

    @property
    def pii(self) -> bool:
        return any(column.pii for column in self.contract.columns)

    @property
    def tags(self) -> dict[str, str]:
        tags = {"layer": "staging", "domain": self.domain, "classification": self.classification}
        return tags | ({"pii": "true"} if self.pii else {})

    def column_schema(self) -> dg.TableSchema:
        return dg.TableSchema(
            columns=[
                dg.TableColumn(
                    name=column.name,
                    type=_ICEBERG_TYPES[column.type],
                    description=column.description,
                    constraints=dg.TableColumnConstraints(
                        nullable=column.nullable, unique=column.unique
                    ),
                    tags={"pii": "true"} if column.pii else {},
                )
                for column in self.contract.columns
            ]
        )

    def column_lineage(self) -> ColumnLineage:
        """Each column's raw sources, as ``spark/lineage.py`` declares them."""
        declared = spark_column_lineage(self.source_identifier[0], self.identifier[0])
        return declared[".".join(self.identifier)]

    def metadata(self) -> dict[str, Any]:
        metadata: dict[str, Any] = {
            "dagster/column_schema": self.column_schema(),
            "source_table": ".".join(self.source_identifier),
            "primary_key": self.contract.key,
            "transform": f"spark/transforms.py: stage_{self.contract.table}",
            # The UI's column lineage; the run sensors send the same as OpenLineage's facet.
            "dagster/column_lineage": column_lineage_metadata(self.column_lineage()),
        }
        if self.contract.partition_column:
            # The Iceberg IO manager replaces exactly the run's days of this column.
            metadata["partition_expr"] = self.contract.partition_column
        return metadata


STAGING_TABLES: tuple[StagingTable, ...] = (
    StagingTable(
        USERS,
        description="Users of the shop, cleaned and typed from raw.faker_users: one row per "
        "user_id (its latest updated_at), e-mail trimmed and lower-case, the address flattened "
        "to city, state, postal_code and country_code. Personal data: confidential.",
        domain="customers",
        classification="confidential",
    ),
    StagingTable(
        PRODUCTS,
        description="Products (car models) from raw.faker_products: one row per product_id (its "
        "latest version), make and model trimmed, a negative price set to null.",
        domain="products",
        classification="internal",
    ),
    StagingTable(
        PURCHASES,
        description="Purchases from raw.faker_purchases: one row per purchase_id (its latest "
        "version) with purchase_date (UTC date of created_at) and status (returned, purchased "
        "or in_cart). Laid out by day of created_at and partitioned by month: a run reads and "
        "replaces only its month's days.",
        domain="sales",
        classification="internal",
    ),
)
STAGING_TABLES_BY_NAME: dict[str, StagingTable] = {t.contract.table: t for t in STAGING_TABLES}
