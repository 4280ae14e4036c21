"""The core settings (runtime, catalog, storage, engines, raw and dbt), part of
``lakehouse.settings.Settings``.

Apart only to keep each file about one thing, as ``settings_upkeep.py``; they are read with every
other setting, from ``LAKEHOUSE_<FIELD>``, by ``lakehouse.settings.load_settings``.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr


class CoreSettings(BaseModel):
    """Runtime, catalog, storage and engine settings (the upkeep's are in settings_upkeep.py)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    runtime: Literal["embedded", "platform"] = Field(
        "embedded", description="embedded (laptop, CI, tests) or platform (Kubernetes)"
    )
    home: Path = Field(
        Path(".lakehouse"), description="directory for the embedded catalog, warehouse and state"
    )

    # Iceberg catalog
    catalog_name: str = Field("lakehouse", description="Iceberg catalog name (shared by engines)")
    catalog_type: Literal["sql", "rest"] = Field("sql", description="sql or rest")
    catalog_uri: str | None = Field(
        None,
        description="SQLAlchemy URL of the SQL catalog (sqlite:///... or postgresql+psycopg2://...)"
        " or the REST catalog's http(s) URL",
    )
    warehouse: str | None = Field(
        None,
        description="warehouse location: file:///..., s3://bucket/prefix, or a REST warehouse name",
    )
    catalog_oauth2_server_uri: str | None = Field(
        None, description="Keycloak token endpoint for the REST catalog's OAuth2 client credentials"
    )
    catalog_client_id: str | None = Field(None, description="OAuth2 client id for the REST catalog")
    catalog_client_secret: SecretStr | None = Field(
        None, description="OAuth2 client secret for the REST catalog"
    )
    catalog_scope: str = Field("lakehouse", description="OAuth2 scope for the REST catalog")

    # S3 (MinIO on the platform)
    s3_endpoint: str | None = Field(None, description="S3 endpoint URL, e.g. http://minio:9000")
    s3_access_key_id: SecretStr | None = Field(None, description="S3 access key id")
    s3_secret_access_key: SecretStr | None = Field(None, description="S3 secret access key")
    s3_region: str = Field("us-east-1", description="S3 region")
    s3_path_style: bool = Field(True, description="path-style S3 access (MinIO needs it)")

    # Commits
    commit_timeout_seconds: float = Field(
        120.0, gt=0, description="bounded wait for an Iceberg commit under contention"
    )

    # Raw layer (Airbyte)
    faker_count: int = Field(1000, ge=1, description="records per source-faker run (embedded)")
    faker_seed: int = Field(42, description="source-faker seed (embedded)")
    faker_now: dt.datetime | None = Field(
        None,
        description="instant source-faker takes as now, ISO 8601 (its dates run from 2000 to it); "
        "unset follows the wall clock. Pins the demo data for reproducible runs and tests",
    )
    faker_executable: Path | None = Field(
        None, description="source-faker executable of the connector environment (embedded)"
    )
    raw_ingestion: Literal["connector", "airbyte-server"] | None = Field(
        None,
        description="how raw data is extracted: connector (the Airbyte connector run locally, every record counted) or "
        "airbyte-server (dagster-airbyte; default on the platform runtime)",
    )
    airbyte_api_url: str | None = Field(
        None, description="Airbyte server base URL, e.g. http://airbyte-server:8001 (platform)"
    )
    airbyte_workspace_id: str | None = Field(None, description="Airbyte workspace id (platform)")
    airbyte_client_id: str | None = Field(None, description="Airbyte API client id (platform)")
    airbyte_client_secret: SecretStr | None = Field(
        None, description="Airbyte API client secret (platform)"
    )

    # dbt (analytics): dbt/profiles.yml reads the same LAKEHOUSE_TRINO_* names with these defaults
    dbt_target: Literal["duckdb", "trino"] | None = Field(
        None,
        description="dbt target: duckdb or trino (default: duckdb embedded, trino on platform)",
    )
    trino_host: str = Field(
        "trino.data-platform-processing.svc.cluster.local", description="Trino coordinator host"
    )
    trino_port: int = Field(
        8443, ge=1, le=65535, description="Trino coordinator HTTPS port (OAuth2 needs HTTPS)"
    )
    trino_user: str = Field("lakehouse-pipelines", description="Trino user dbt runs as")
    trino_catalog: str = Field(
        "iceberg",
        description="Trino catalog serving the lakehouse's Iceberg catalog (dbt's database, the "
        "upkeep's optimize, `lakehouse sql`)",
    )
    # Platform access fetched at run time, never a static token: dbt's Keycloak client
    # (client-credentials grant, lakehouse/analytics/dbt_entry.py); Trino's CA is
    # LAKEHOUSE_UPKEEP_TRINO_CA_BUNDLE (dbt's `cert`).
    trino_token_uri: str | None = Field(
        None, description="Keycloak token endpoint for dbt's client-credentials grant on Trino"
    )
    trino_client_id: str | None = Field(None, description="OAuth2 client id dbt uses on Trino")
    trino_client_secret: SecretStr | None = Field(
        None, description="OAuth2 client secret dbt uses on Trino"
    )

    @property
    def raw_ingestion_mode(self) -> Literal["connector", "airbyte-server"]:
        """How raw data is extracted: the setting, else the local connector embedded and the Airbyte server
        on the platform."""
        if self.raw_ingestion is not None:
            return self.raw_ingestion
        return "airbyte-server" if self.runtime == "platform" else "connector"

    @property
    def analytics_target(self) -> Literal["duckdb", "trino"]:
        """The dbt target: embedded DuckDB unless on the platform or set explicitly."""
        return self.dbt_target or ("trino" if self.runtime == "platform" else "duckdb")

    # Spark (staging): a local session unless spark_remote names a Spark Connect server.
    spark_remote: str | None = Field(
        None,
        pattern=r"^sc://",
        description="Spark Connect URL for staging, e.g. sc://spark-connect:15002 (platform); "
        "unset runs a local session",
    )
    spark_master: str = Field("local[*]", description="master of the local Spark session")
    spark_shuffle_partitions: int = Field(
        4, ge=1, description="spark.sql.shuffle.partitions of the local session (small batches)"
    )
    spark_driver_memory: str = Field("1g", description="driver memory of the local Spark session")
    duckdb_memory_limit: str = Field(
        "2GB",
        description="memory_limit of dbt-duckdb's DuckDB (embedded analytics); larger joins and "
        "sorts spill to dbt/target/duckdb_tmp (dbt/profiles.yml)",
    )
    backfill_rows_per_run: int = Field(
        2_000_000,
        ge=1,
        description="raw purchases one transforms run of `lakehouse demo` reads at most: a "
        "longer range of months is split into runs (lakehouse/automation/backfills.py)",
    )
