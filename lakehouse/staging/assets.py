"""The staging assets: read the raw table (only the run's days), transform with Spark, return.

Each asset is a thin wrapper: the Spark resource reads, a pure function of ``spark/transforms.py``
transforms, and the staging IO manager stores the DataFrame. None of them knows whether Spark
is local or remote, or who writes Iceberg: the resource and the IO manager decide from settings.
"""

# No `from __future__ import annotations`: Dagster inspects the parameter annotations itself.
import dagster as dg

from lakehouse.partitions import SINGLE_RUN, single_run_backfills
from lakehouse.staging.resources import SparkResource
from lakehouse.staging.tables import GROUP, KINDS, OWNERS, STAGING_TABLES, StagingTable

SPARK_RESOURCE_KEY = "spark"  # the name of the assets' resource parameter
STAGING_IO_MANAGER_KEY = "spark_io_manager"


def _staging_asset(table: StagingTable) -> dg.AssetsDefinition:
    contract = table.contract
    partitioned = table.partitions_def is not None

    @dg.asset(
        key=table.asset_key,
        deps=[table.source_key],
        description=table.description,
        group_name=GROUP,
        owners=list(OWNERS),
        kinds=set(KINDS),
        tags=table.tags,
        metadata=table.metadata(),
        partitions_def=table.partitions_def,
        # A backfill of many months is one run: one Spark job and one Iceberg commit.
        backfill_policy=SINGLE_RUN if partitioned else None,
        io_manager_key=STAGING_IO_MANAGER_KEY,
    )
    def _asset(context: dg.AssetExecutionContext, spark: SparkResource):
        from spark.transforms import TRANSFORMS  # the transforms' imports only when one runs

        window = None
        if partitioned:
            time_window = context.partition_time_window  # one month, or a backfill's range
            window = (time_window.start, time_window.end)
        raw = spark.read_table(
            table.source_identifier, time_column=contract.partition_column, window=window
        )
        return TRANSFORMS[contract.table](raw)

    return _asset


def build_staging_assets() -> list[dg.AssetsDefinition]:
    """One asset per staging table."""
    with single_run_backfills():
        return [_staging_asset(table) for table in STAGING_TABLES]
