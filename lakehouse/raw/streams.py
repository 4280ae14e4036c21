"""The raw layer's Airbyte streams: one list shared by the embedded and the platform runtime.

Both runtimes derive asset keys, group, kinds and descriptions from here, so a stream is the
same asset (``raw/faker_users``) and the same Iceberg table (``raw.faker_users``) on either.
The Arrow schemas are what the embedded runtime writes; the platform's Airbyte destination
writes the same columns plus its own ``_airbyte_meta``/``_airbyte_generation_id``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import dagster as dg
import pyarrow as pa

CONNECTOR = "source-faker"
RAW_NAMESPACE = "raw"
RAW_GROUP = "raw"
KINDS = frozenset({"airbyte", "iceberg"})
OWNERS = ("team:data-engineering",)
TABLE_PREFIX = "faker_"
# Snapshot-summary property holding the stream's Airbyte state message (JSON) after each commit.
STATE_PROPERTY = "airbyte.state"

UTC_TIMESTAMP = pa.timestamp("us", tz="UTC")
# Personal data in raw.faker_users: direct identifiers and special categories.
USER_PII_COLUMNS = frozenset(
    {"name", "email", "telephone", "address", "age", "gender", "nationality"}
    | {"height", "weight", "blood_type"}
)

# Airbyte's per-record columns, kept on every stream: the record's id and extraction time.
# ``_airbyte_meta`` (a destination's per-record change notes) is not kept.
AIRBYTE_META_FIELDS = (
    pa.field("_airbyte_raw_id", pa.string(), nullable=False),
    pa.field("_airbyte_extracted_at", UTC_TIMESTAMP, nullable=False),
)


def _schema(*fields: pa.Field) -> pa.Schema:
    return pa.schema([*fields, *AIRBYTE_META_FIELDS])


def _id(name: str = "id") -> pa.Field:
    return pa.field(name, pa.int64(), nullable=False)


def _ts(*names: str) -> list[pa.Field]:
    return [pa.field(name, UTC_TIMESTAMP) for name in names]


ADDRESS = pa.struct(
    [
        pa.field(name, pa.string())
        for name in (
            "street_number",
            "street_name",
            "city",
            "state",
            "province",
            "postal_code",
            "country_code",
        )
    ]
)


@dataclass(frozen=True)
class RawStream:
    """One Airbyte stream and the raw Iceberg table it lands in."""

    name: str
    description: str
    schema: pa.Schema
    primary_key: tuple[str, ...] = ("id",)
    cursor_field: str = "updated_at"
    # Event-time column the table is laid out by (Iceberg ``day(column)``), so a daily read of
    # one day plans only that day's files; None for tables read whole (users, products).
    partition_column: str | None = None
    # Catalog entries analysts filter by; pii_columns are tagged pii in the column schema.
    domain: str = ""
    classification: str = "internal"
    pii_columns: frozenset[str] = frozenset()
    # Text columns that may hold control characters (NUL, C0 but tab/newline/return, ANSI
    # escapes), and number columns that may hold NaN or infinities: none so far
    # (lakehouse/raw/records.py refuses them everywhere else).
    control_characters_allowed: frozenset[str] = frozenset()
    non_finite_allowed: frozenset[str] = frozenset()

    @property
    def table(self) -> str:
        return f"{TABLE_PREFIX}{self.name}"

    @property
    def identifier(self) -> tuple[str, str]:
        return (RAW_NAMESPACE, self.table)

    @property
    def asset_key(self) -> dg.AssetKey:
        return dg.AssetKey([RAW_NAMESPACE, self.table])

    @property
    def tags(self) -> dict[str, str]:
        tags = {"layer": "raw", "domain": self.domain, "classification": self.classification}
        return tags | ({"pii": "true"} if self.pii_columns else {})

    def column_schema(self) -> dg.TableSchema:
        return dg.TableSchema(
            columns=[
                dg.TableColumn(
                    name=field.name,
                    type="struct" if pa.types.is_struct(field.type) else str(field.type),
                    constraints=dg.TableColumnConstraints(nullable=field.nullable),
                    tags={"pii": "true"} if field.name in self.pii_columns else {},
                )
                for field in self.schema
            ]
        )


STREAMS: tuple[RawStream, ...] = (
    RawStream(
        name="users",
        description="Fake users from Airbyte's source-faker, one row per user id (latest version).",
        domain="customers",
        classification="restricted",
        pii_columns=USER_PII_COLUMNS,
        schema=_schema(
            _id(),
            *_ts("created_at", "updated_at"),
            *[pa.field(name, pa.string()) for name in ("name", "title")],
            pa.field("age", pa.int64()),
            *[
                pa.field(name, pa.string())
                for name in (
                    "email",
                    "telephone",
                    "gender",
                    "language",
                    "academic_degree",
                    "nationality",
                    "occupation",
                    "height",
                    "blood_type",
                )
            ],
            pa.field("weight", pa.int64()),
            pa.field("address", ADDRESS),
        ),
    ),
    RawStream(
        name="products",
        description="Fake car models with prices from source-faker, one row per product id.",
        domain="products",
        schema=_schema(
            _id(),
            pa.field("make", pa.string()),
            pa.field("model", pa.string()),
            pa.field("year", pa.int64()),
            pa.field("price", pa.float64()),
            *_ts("created_at", "updated_at"),
        ),
    ),
    RawStream(
        name="purchases",
        description="Fake purchases of products by users from source-faker, with cart, purchase "
        "and return times; one row per purchase id. Partitioned by day of created_at, so a "
        "daily staging run reads only its day's files.",
        domain="sales",
        partition_column="created_at",
        schema=_schema(
            _id(),
            pa.field("user_id", pa.int64()),
            pa.field("product_id", pa.int64()),
            *_ts("created_at", "updated_at", "added_to_cart_at", "purchased_at", "returned_at"),
        ),
    ),
)

STREAMS_BY_NAME: dict[str, RawStream] = {stream.name: stream for stream in STREAMS}
# Stream name -> asset key, e.g. for the pandera checks in ``lakehouse.raw.checks``.
ASSET_KEYS: dict[str, dg.AssetKey] = {stream.name: stream.asset_key for stream in STREAMS}


# A source that sends more bad rows than this in one sync is held back whole (see write_metadata).
MAX_BAD_FRACTION = 0.1


def write_metadata(stream: RawStream) -> dict[str, Any]:
    """How the Iceberg IO manager writes a stream's batches (the embedded runtime's raw writes).

    Upsert on the primary key: a re-read (lost state, a source re-emitting updated rows)
    replaces rows instead of duplicating them. ``partition_expr`` on an unpartitioned asset
    lays the table out by ``day(column)``: a table created before gets the spec at its next
    write (``lakehouse.iceberg.schema.evolve``); only files written from then on are by day.

    Row faults stay row faults: the good rows are published and the bad ones quarantined, unless
    more than ``MAX_BAD_FRACTION`` of the sync is bad. The Airbyte columns differ at each
    extraction of the same record, so the quarantine's fingerprint leaves them out.
    """
    metadata: dict[str, Any] = {
        "write_mode": "upsert",
        "upsert_keys": list(stream.primary_key),
        "wap/on_bad_rows": "publish_good_rows",
        "wap/max_bad_fraction": MAX_BAD_FRACTION,
        "wap/volatile_columns": [field.name for field in AIRBYTE_META_FIELDS],
    }
    if stream.partition_column:
        metadata["partition_expr"] = stream.partition_column
    return metadata


def raw_asset_spec(stream: RawStream) -> dg.AssetSpec:
    """The attributes both runtimes give a stream's asset; each adds its own metadata."""
    metadata: dict[str, Any] = {
        "dagster/column_schema": stream.column_schema(),
        "dagster/table_name": ".".join(stream.identifier),
        "primary_key": list(stream.primary_key),
    }
    return dg.AssetSpec(
        key=stream.asset_key,
        description=stream.description,
        group_name=RAW_GROUP,
        kinds=set(KINDS),
        owners=list(OWNERS),
        tags=stream.tags,
        metadata=metadata,
    )
