"""The staging layer: cleaned, typed, deduplicated raw tables, built by Spark transforms.

Importing it teaches the Iceberg IO manager to store Spark DataFrames (streamed through
Parquet from a local session, ``toArrow()`` from Spark Connect; ``spill``);
the converter is keyed by class name, so pyspark itself is not imported for it.
"""

from lakehouse.iceberg import register_arrow_converter
from lakehouse.staging.assets import (
    SPARK_RESOURCE_KEY,
    STAGING_IO_MANAGER_KEY,
    build_staging_assets,
)
from lakehouse.staging.checks import build_staging_checks
from lakehouse.staging.io_manager import SparkIcebergIOManager
from lakehouse.staging.resources import SparkResource, build_spark_resource
from lakehouse.staging.spill import spark_to_arrow
from lakehouse.staging.tables import STAGING_TABLES, STAGING_TABLES_BY_NAME

# Classic and Spark Connect DataFrames both subclass this one; the IO manager matches the MRO.
register_arrow_converter("pyspark.sql.dataframe.DataFrame", spark_to_arrow)

__all__ = [
    "SPARK_RESOURCE_KEY",
    "STAGING_IO_MANAGER_KEY",
    "STAGING_TABLES",
    "STAGING_TABLES_BY_NAME",
    "SparkIcebergIOManager",
    "SparkResource",
    "build_spark_resource",
    "build_staging_assets",
    "build_staging_checks",
]
