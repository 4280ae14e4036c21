"""dbt-duckdb plugin ``lakehouse``: DuckDB reads and writes the lakehouse's Iceberg tables.

Loaded by dbt-duckdb inside the dbt process (dbt/profiles.yml, target ``duckdb``), never by the
code location. When dbt opens its connection, every table of the configured namespaces becomes a
DuckDB view at the snapshot current at that moment, so one dbt run reads one consistent state,
the one Dagster just wrote. Each ``external`` model's output is committed through
``lakehouse.iceberg.write`` (schema evolution, partition replacement, commit retries, snapshot
properties), then its view is pointed at the new snapshot for the models downstream.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import duckdb
from dbt.adapters.duckdb.plugins import BasePlugin
from dbt.adapters.duckdb.utils import TargetConfig
from pyiceberg.catalog import Catalog

from lakehouse.analytics.commits import model_write_request
from lakehouse.analytics.duckdb_iceberg import (
    expose_table,
    load_iceberg_extension,
    log_file_reads,
    relation_batches,
)
from lakehouse.catalog import build_catalog
from lakehouse.iceberg.writes import write
from lakehouse.settings import Settings, load_settings

DEFAULT_NAMESPACES = ("staging", "analytics")
# A directory: DuckDB logs every file it opens there (its FileSystem log, as CSV), so a test or
# bench can see which Iceberg data files a dbt run really read. Unset: no logging.
FILE_LOG_ENV = "DAGSTER_DBT_FILE_LOG_DIR"


class Plugin(BasePlugin):
    """Expose Iceberg tables to DuckDB at connection time; commit model outputs in ``store``."""

    def initialize(self, plugin_config: dict[str, Any]) -> None:
        # dbt-duckdb may build the plugin without opening a connection (Dagster does, to
        # inspect the adapter), so nothing here touches the catalog.
        self._namespaces = tuple(plugin_config.get("namespaces") or DEFAULT_NAMESPACES)
        self._conn: duckdb.DuckDBPyConnection | None = None
        self._settings: Settings | None = None
        self._catalog: Catalog | None = None

    def catalog(self) -> Catalog:
        if self._catalog is None:
            # The edge of the dbt process: the settings the dbt resource laid into its
            # environment (Settings.environment), read here once.
            self._settings = load_settings()
            self._catalog = build_catalog(self._settings)
        return self._catalog

    def configure_connection(self, conn: duckdb.DuckDBPyConnection) -> None:
        if self.creds is not None and self.creds.external_root:
            # DuckDB's COPY does not create the directory the external files go to.
            Path(self.creds.external_root).mkdir(parents=True, exist_ok=True)
        load_iceberg_extension(conn)
        if log_dir := os.environ.get(FILE_LOG_ENV):
            log_file_reads(conn, Path(log_dir))
        self._conn = conn
        catalog = self.catalog()
        for namespace in self._namespaces:
            for identifier in catalog.list_tables(namespace):
                expose_table(conn, namespace, identifier[-1], catalog.load_table(identifier))

    def store(self, target_config: TargetConfig) -> None:
        if self._conn is None:
            raise RuntimeError("the lakehouse plugin stores a model before any connection opened")
        relation = target_config.relation
        schema, name = relation.schema, relation.identifier
        if schema is None or name is None:  # dbt names every model's relation
            raise RuntimeError(f"the lakehouse plugin cannot store an unnamed relation {relation}")
        identifier = (schema, name)
        request = model_write_request(identifier, target_config.config, os.environ)
        catalog = self.catalog()
        assert self._settings is not None  # set with the catalog
        with relation_batches(self._conn, relation.render()) as data:  # streamed, not whole
            result = write(
                catalog,
                data,
                request,
                commit_timeout_seconds=self._settings.commit_timeout_seconds,
            )
        expose_table(self._conn, schema, name, result.table)
        if target_config.location is not None:  # the view reads Iceberg now, not the file
            Path(target_config.location.path).unlink(missing_ok=True)
