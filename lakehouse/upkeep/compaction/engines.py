"""Compaction delegated to the platform's engine: Trino's ``optimize`` or Spark's
``rewrite_data_files``, one statement per partition the planner picked.

The statements are plain strings built by pure functions (tested as SQL); the clients only
send them. Partitions of identity and time transforms become a WHERE clause; others (bucket,
truncate) fall back to the whole table, where the engine's own size threshold still applies.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol
from urllib.parse import urlsplit

from pyiceberg.catalog import Catalog
from pyiceberg.partitioning import PartitionSpec
from pyiceberg.schema import Schema
from pyiceberg.table import Table
from pyiceberg.transforms import (
    DayTransform,
    HourTransform,
    IdentityTransform,
    MonthTransform,
    YearTransform,
)
from pyiceberg.types import DateType, TimestamptzType
from trino.auth import Authentication

from lakehouse.iceberg.commits import retry_on_conflict
from lakehouse.settings import Settings
from lakehouse.trino_auth import (
    ClientCredentials,
    ClientCredentialsAuthentication,
    https_session,
    tls_verify,
)
from lakehouse.upkeep.compaction.bin_packing import (
    LAST_COMPACTION_PROPERTY,
    CompactionGroup,
    file_infos,
    plan_compaction,
)
from lakehouse.upkeep.rules import TableRules

Dialect = Literal["trino", "spark"]
_EPOCH = dt.datetime(1970, 1, 1)


def _quote(dialect: Dialect, name: str) -> str:
    return f'"{name}"' if dialect == "trino" else f"`{name}`"


def _literal(value: Any) -> str:
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, dt.datetime):
        return f"TIMESTAMP '{value.isoformat(sep=' ')}'"
    if isinstance(value, dt.date):
        return f"DATE '{value.isoformat()}'"
    return "'" + str(value).replace("'", "''") + "'"


def _time_bounds(transform: Any, value: int) -> tuple[dt.datetime, dt.datetime]:
    if isinstance(transform, HourTransform):
        start = _EPOCH + dt.timedelta(hours=value)
        return start, start + dt.timedelta(hours=1)
    if isinstance(transform, DayTransform):
        start = _EPOCH + dt.timedelta(days=value)
        return start, start + dt.timedelta(days=1)
    year, month = divmod(value, 12) if isinstance(transform, MonthTransform) else (value, 0)
    start = dt.datetime(1970 + year, month + 1, 1)
    if isinstance(transform, MonthTransform):
        end = dt.datetime(start.year + start.month // 12, start.month % 12 + 1, 1)
    else:
        end = dt.datetime(start.year + 1, 1, 1)
    return start, end


def _bound(column_type: Any, instant: dt.datetime) -> str:
    if isinstance(column_type, DateType):
        return _literal(instant.date())
    text = instant.isoformat(sep=" ")
    return (
        f"TIMESTAMP '{text} UTC'" if isinstance(column_type, TimestamptzType) else _literal(instant)
    )


def partition_predicate(
    dialect: Dialect, spec: PartitionSpec, schema: Schema, partition: Sequence[Any]
) -> str | None:
    """The SQL predicate selecting exactly one partition, or None when a transform has none."""
    clauses = []
    for spec_field, value in zip(spec.fields, partition, strict=True):
        source = schema.find_field(spec_field.source_id)
        column = _quote(dialect, source.name)
        transform = spec_field.transform
        if value is None:
            clauses.append(f"{column} IS NULL")
        elif isinstance(transform, IdentityTransform):
            clauses.append(f"{column} = {_literal(value)}")
        elif isinstance(transform, HourTransform | DayTransform | MonthTransform | YearTransform):
            if isinstance(value, dt.date):  # a day partition may come back as a date
                value = value.toordinal() - dt.date(1970, 1, 1).toordinal()
            start, end = _time_bounds(transform, value)
            lower, upper = _bound(source.field_type, start), _bound(source.field_type, end)
            clauses.append(f"{column} >= {lower} AND {column} < {upper}")
        else:
            return None
    return " AND ".join(clauses) if clauses else None


def trino_optimize(
    catalog_name: str, identifier: Sequence[str], rules: TableRules, where: str | None
) -> str:
    table = ".".join(_quote("trino", part) for part in (catalog_name, *identifier))
    threshold = f"{rules.small_file_bytes}B"
    sql = f"ALTER TABLE {table} EXECUTE optimize(file_size_threshold => '{threshold}')"
    return f"{sql} WHERE {where}" if where else sql


def spark_rewrite(
    catalog_name: str, identifier: Sequence[str], rules: TableRules, where: str | None
) -> str:
    options = {
        "target-file-size-bytes": rules.target_file_size_bytes,
        "min-input-files": rules.min_small_files,
        "max-file-size-bytes": rules.small_file_bytes,
    }
    rendered = ", ".join(f"'{key}', '{value}'" for key, value in options.items())
    args = [f"table => '{'.'.join(identifier)}'", "strategy => 'binpack'"]
    if where:
        args.append('where => "' + where.replace('"', '\\"') + '"')
    args.append(f"options => map({rendered})")
    return f"CALL {_quote('spark', catalog_name)}.system.rewrite_data_files({', '.join(args)})"


def compaction_statements(
    dialect: Dialect,
    catalog_name: str,
    identifier: Sequence[str],
    spec: PartitionSpec,
    schema: Schema,
    groups: Sequence[CompactionGroup],
    rules: TableRules,
) -> list[str]:
    """One statement per planned partition; a single whole-table one if any is inexpressible."""
    build = trino_optimize if dialect == "trino" else spark_rewrite
    if not groups:
        return []
    predicates = {partition_predicate(dialect, spec, schema, g.partition) for g in groups}
    if None in predicates or spec.is_unpartitioned():
        return [build(catalog_name, identifier, rules, None)]
    return [build(catalog_name, identifier, rules, p) for p in sorted(p for p in predicates if p)]


class EngineClient(Protocol):
    def execute(self, sql: str) -> None: ...


@dataclass
class TrinoClient:
    """Sends statements to the Trino coordinator over its HTTP protocol."""

    url: str
    user: str
    catalog: str
    auth: Authentication | None = None
    verify: bool | str = True  # TLS: verify with the system CAs, a CA bundle path, or not at all

    def execute(self, sql: str) -> None:
        import trino.dbapi

        # A chosen CA bundle or verify=false wins over the pod's REQUESTS_CA_BUNDLE.
        session = https_session(self.verify)
        parts = urlsplit(self.url)
        with trino.dbapi.connect(
            host=parts.hostname,
            port=parts.port or (443 if parts.scheme == "https" else 8080),
            http_scheme=parts.scheme or "http",
            user=self.user,
            catalog=self.catalog,
            auth=self.auth,
            http_session=session,
        ) as connection:
            cursor = connection.cursor()
            cursor.execute(sql)
            cursor.fetchall()


@dataclass
class SparkConnectClient:
    """Runs statements on a Spark Connect server (the session is opened on first use)."""

    remote: str

    def execute(self, sql: str) -> None:
        from pyspark.sql import SparkSession

        SparkSession.builder.remote(self.remote).getOrCreate().sql(sql).collect()


def trino_auth(settings: Settings, verify: bool | str) -> Authentication | None:
    """Keycloak client credentials when the upkeep client is configured, else none (embedded)."""
    if not (settings.upkeep_trino_client_id and settings.upkeep_trino_client_secret):
        return None
    return ClientCredentialsAuthentication(
        ClientCredentials(
            token_uri=settings.upkeep_trino_token_uri or "",
            client_id=settings.upkeep_trino_client_id,
            client_secret=settings.upkeep_trino_client_secret.get_secret_value(),
            scope=settings.upkeep_trino_scope,
            verify=verify,
        )
    )


def engine_client(settings: Settings) -> EngineClient:
    """The client of the engine the settings choose for compaction."""
    if settings.upkeep_compaction_engine == "trino":
        if not settings.upkeep_trino_url:
            raise ValueError("LAKEHOUSE_UPKEEP_TRINO_URL is needed to compact through Trino")
        verify = tls_verify(settings)
        return TrinoClient(
            settings.upkeep_trino_url,
            settings.upkeep_trino_user,
            settings.trino_catalog,
            auth=trino_auth(settings, verify),
            verify=verify,
        )
    if not settings.upkeep_spark_remote:
        raise ValueError("LAKEHOUSE_UPKEEP_SPARK_REMOTE is needed to compact through Spark")
    return SparkConnectClient(settings.upkeep_spark_remote)


def compact_with_engine(
    catalog: Catalog,
    identifier: tuple[str, ...],
    rules: TableRules,
    settings: Settings,
    client: EngineClient | None = None,
) -> list[str]:
    """Plan with the table's file sizes, let the engine rewrite, stamp the compaction time."""
    table = catalog.load_table(identifier)
    if table.current_snapshot() is None:
        return []
    infos, _ = file_infos(table)
    groups = plan_compaction(
        infos,
        target_bytes=rules.target_file_size_bytes,
        small_bytes=rules.small_file_bytes,
        min_small_files=rules.min_small_files,
    )
    dialect: Dialect = "trino" if settings.upkeep_compaction_engine == "trino" else "spark"
    # Each engine names the catalog its own way: Trino's catalog file, Spark's catalog conf.
    engine_catalog = settings.trino_catalog if dialect == "trino" else settings.catalog_name
    statements = compaction_statements(
        dialect, engine_catalog, identifier, table.spec(), table.schema(), groups, rules
    )
    client = client or engine_client(settings)
    for sql in statements:
        client.execute(sql)
    if statements:
        stamp = {LAST_COMPACTION_PROPERTY: dt.datetime.now(dt.UTC).isoformat()}

        def change(current: Table) -> None:
            with current.transaction() as txn:
                txn.set_properties(stamp)

        retry_on_conflict(
            catalog, identifier, change, timeout_seconds=settings.commit_timeout_seconds
        )
    return statements
