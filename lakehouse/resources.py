"""Resources and the executor, picked from settings at the edge so asset code never branches."""

from __future__ import annotations

from typing import Any

import dagster as dg

from lakehouse.analytics.resources import build_dbt_resource
from lakehouse.catalog import IcebergCatalogResource
from lakehouse.io_manager import IcebergIOManager
from lakehouse.settings import Settings
from lakehouse.staging import (
    SPARK_RESOURCE_KEY,
    STAGING_IO_MANAGER_KEY,
    SparkIcebergIOManager,
    build_spark_resource,
)
from lakehouse.upkeep.resource import UpkeepResource


def build_resources(settings: Settings) -> dict[str, Any]:
    """Every resource, each built from the one typed ``settings`` (read at the edge)."""
    resources: dict[str, Any] = {
        "io_manager": IcebergIOManager(settings=settings),
        "catalog": IcebergCatalogResource(settings=settings),
        # Staging: a lazy process-wide Spark session; Spark DataFrames stored in Iceberg.
        SPARK_RESOURCE_KEY: build_spark_resource(settings),
        STAGING_IO_MANAGER_KEY: SparkIcebergIOManager(settings=settings),
        # Upkeep jobs (lakehouse/upkeep): catalog, warehouse and backup storage.
        "upkeep": UpkeepResource(settings=settings),
        # Analytics: dbt (DuckDB embedded, Trino on the platform) over the Iceberg tables.
        "dbt": build_dbt_resource(settings),
    }
    if settings.raw_ingestion_mode == "airbyte-server":
        # Raw (platform): the Airbyte server's syncs. Imported here: dagster-airbyte costs ~1.5 s
        # of load that the embedded runtime never uses.
        from lakehouse.raw.platform import airbyte_workspace

        resources["airbyte"] = airbyte_workspace(settings)
    return resources


def build_executor(settings: Settings) -> dg.ExecutorDefinition:
    """In-process on the embedded runtime (no re-import of the location per step: 2.4x faster);
    multiprocess inside each run pod on the platform."""
    return dg.in_process_executor if settings.runtime == "embedded" else dg.multiprocess_executor
